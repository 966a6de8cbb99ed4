"""Prometheus metrics: ``promtool check metrics`` (Debian's prometheus package) accepts the
exposition; the kea_dhcp4_* series are the ones kea-exporter (PyPI, the exporter Grafana
dashboards for Kea are built on) publishes for kea-dhcp4 2.2 after the same traffic, with the same
labels and values; kea-exporter itself reads fastdhcp's unix socket; and a real Prometheus server
scrapes fastdhcp and answers a query with the statistic's value."""

from __future__ import annotations

import http.client
import json
import os
import shutil
import subprocess
import sys
import time
import urllib.parse

import pytest
from prometheus_client.parser import text_string_to_metric_families

from e2e import (NET, UNDER_TEST, control, control_config, in_netns, mixed_traffic,
                 spawn_client, wait_log, MARKS)
from e2e import servers, topo  # noqa: F401  (fixtures)
from fastdhcp._lab import netlab

pytestmark = [pytest.mark.root,
              pytest.mark.skipif(UNDER_TEST == "kea", reason="fastdhcp's /metrics; the "
                                 "differential test below runs kea-dhcp4 2.2 itself")]
lab = netlab.lab_fixture(scope="module", keep_dir=bool(os.environ.get("FASTDHCP_E2E_KEEP")))

METRICS_PORT, EXPORTER_PORT, PROMETHEUS_PORT = 9547, 9548, 9549
POOL = (f"{NET}.100", f"{NET}.103")
KEA_EXPORTER = (shutil.which("kea-exporter", path=os.path.dirname(sys.executable))  # (the venv's)
                or shutil.which("kea-exporter"))


def metrics_config(lab, topo, name):
    sock = lab.path(f"{name}.sock")
    cfg = control_config(topo, lab.path(f"{name}-leases4.csv"), sock, authoritative=True)
    cfg["Dhcp4"]["subnet4"][0]["pools"] = [{"pool": f"{POOL[0]} - {POOL[1]}"}]
    return cfg, sock


def get(topo, port, path="/metrics", timeout=10.0):
    with in_netns(topo.srv):
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
        conn.connect()
    try:
        conn.request("GET", path)
        r = conn.getresponse()
        return r.status, r.getheader("Content-Type"), r.read().decode()
    finally:
        conn.close()


def series(text, prefix="kea_dhcp4_"):
    """{(name, sorted labels): value} of the samples whose name starts with prefix."""
    out = {}
    for fam in text_string_to_metric_families(text):
        for s in fam.samples:
            if s.name.startswith(prefix):
                out[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return out


def wait_http(topo, port, path="/metrics", timeout=20.0):
    def up():
        try:
            return get(topo, port, path, timeout=2)[0] == 200
        except OSError:
            return False
    deadline = time.monotonic() + timeout
    while not up():
        assert time.monotonic() < deadline, f"nothing answered HTTP on 127.0.0.1:{port}"
        time.sleep(0.2)


def exporter(lab, topo, socket_path, port):
    """kea-exporter reading a unix control socket, serving on 127.0.0.1:port in the srv
    namespace."""
    assert KEA_EXPORTER, "kea-exporter is not installed (.ci/setup installs it from PyPI)"
    proc = spawn_client(lab, topo.srv, [KEA_EXPORTER, "-a", "127.0.0.1", "-p", str(port),
                                        "-i", "0", socket_path],
                        log=lab.path(f"kea-exporter-{port}.log"))
    wait_http(topo, port)
    return proc


@pytest.fixture
def ours(lab, topo, servers):
    cfg, sock = metrics_config(lab, topo, f"metrics-{time.monotonic_ns()}")
    proc = servers.start(cfg, args=["--metrics", f"127.0.0.1:{METRICS_PORT}"])
    wait_http(topo, METRICS_PORT)
    proc.sock = sock
    return proc


def test_promtool_accepts_the_exposition(ours, topo, lab):
    mixed_traffic(topo)
    status, ctype, text = get(topo, METRICS_PORT)
    assert status == 200 and ctype.startswith("text/plain; version=0.0.4")
    check = subprocess.run(["promtool", "check", "metrics"], input=text, text=True,
                           capture_output=True)
    assert check.returncode == 0, check.stdout + check.stderr
    # fastdhcp's own: histograms of batches, commit groups, fdatasync and reply latency
    names = {f.name for f in text_string_to_metric_families(text)}
    for name in ("fastdhcp_batch_size_datagrams", "fastdhcp_commit_group_batches",
                 "fastdhcp_fsync_latency_seconds", "fastdhcp_reply_latency_seconds",
                 "fastdhcp_lease_rows_written", "fastdhcp_lease_bytes_written"):
        assert name in names, name


def test_the_kea_series_equal_kea_exporters_view_of_kea(lab, topo, servers):
    """The differential test: kea-dhcp4 2.2 with kea-exporter in front, then fastdhcp, after
    the same traffic; every kea_dhcp4_* series kea-exporter publishes for Kea, fastdhcp's
    /metrics publishes with the same labels and value, and kea-exporter reading fastdhcp's unix
    socket publishes the same again."""
    cfg, sock = metrics_config(lab, topo, "metrics-kea")
    kea = servers.launch(cfg, kind="kea")
    wait_log(lab, kea, MARKS["started"], timeout=20)
    mixed_traffic(topo)
    time.sleep(0.3)
    ex = exporter(lab, topo, sock, EXPORTER_PORT)
    kea_view = series(get(topo, EXPORTER_PORT)[2])
    lab.stop(ex)
    servers.stop(kea)

    cfg, sock = metrics_config(lab, topo, "metrics-fastdhcp")
    proc = servers.start(cfg, kind="fastdhcp", args=["--metrics", f"127.0.0.1:{METRICS_PORT}"])
    mixed_traffic(topo)
    time.sleep(1.2)                  # (the statistics manager's once-a-second sample)
    ours_view = series(get(topo, METRICS_PORT)[2])
    ex = exporter(lab, topo, sock, EXPORTER_PORT + 10)
    exporter_on_ours = series(get(topo, EXPORTER_PORT + 10)[2])
    lab.stop(ex)

    assert len(kea_view) >= 20, sorted(kea_view)      # (22 with this traffic)
    assert kea_view, "kea-exporter published nothing for Kea"
    assert {k[0] for k in kea_view} >= {"kea_dhcp4_packets_received_total",
                                        "kea_dhcp4_packets_sent_total",
                                        "kea_dhcp4_addresses_assigned_total"}
    missing = {k: v for k, v in kea_view.items() if k not in ours_view}
    assert not missing, f"series kea-exporter has for Kea and fastdhcp lacks: {missing}"
    differ = {k: (v, ours_view[k]) for k, v in kea_view.items() if ours_view[k] != v}
    assert not differ, f"(kea, fastdhcp) values: {differ}"
    extra = set(ours_view) - set(kea_view)
    assert not extra, f"kea_dhcp4_* series only fastdhcp publishes: {extra}"
    assert exporter_on_ours == kea_view
    assert proc.poll() is None


def test_a_real_prometheus_scrapes_and_answers_a_query(ours, topo, lab):
    mixed_traffic(topo)
    d = lab.path("prometheus")
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "prometheus.yml"), "w") as f:
        f.write("global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n"
                "scrape_configs:\n  - job_name: fastdhcp\n    static_configs:\n"
                f"      - targets: ['127.0.0.1:{METRICS_PORT}']\n")
    spawn_client(lab, topo.srv, ["prometheus", f"--config.file={d}/prometheus.yml",
                                 f"--storage.tsdb.path={d}/data",
                                 f"--web.listen-address=127.0.0.1:{PROMETHEUS_PORT}"],
                 log=lab.path("prometheus.log"))
    wait_http(topo, PROMETHEUS_PORT, "/-/ready", timeout=60)
    acks = control(ours.sock, "statistic-get", {"name": "pkt4-ack-sent"})["arguments"][
        "pkt4-ack-sent"][0][0]
    assert acks > 0
    query = urllib.parse.quote('kea_dhcp4_packets_sent_total{operation="ack"}')
    answer = {}

    def answered():
        nonlocal answer
        status, _, body = get(topo, PROMETHEUS_PORT, f"/api/v1/query?query={query}")
        answer = json.loads(body)
        return status == 200 and answer["data"]["result"]
    lab.wait_for(answered, 30, interval=0.5, what="Prometheus to have scraped fastdhcp")
    [result] = answer["data"]["result"]
    assert result["metric"]["job"] == "fastdhcp" and result["metric"]["operation"] == "ack"
    assert float(result["value"][1]) == acks
    # and the scrape itself is healthy
    status, _, body = get(topo, PROMETHEUS_PORT, "/api/v1/targets")
    [target] = json.loads(body)["data"]["activeTargets"]
    assert target["health"] == "up", target
