"""The status page in a real browser: Debian's chromium, headless, loads it from fastdhcp's HTTP
control socket (basic authentication on) while `fastdhcp bench` loads the server, and the
numbers the page shows are checked against statistic-get-all. A screenshot is kept as a test
artefact (``FASTDHCP_ARTEFACTS`` or the lab directory)."""

from __future__ import annotations

import html.parser
import json
import os
import re
import shutil
import sys

import pytest

from e2e import REPO, not_in_kea22
from fastdhcp._lab import netlab

pytestmark = [pytest.mark.root, not_in_kea22("kea-dhcp4 2.2 has no HTTP socket and no status page")]
lab = netlab.lab_fixture(scope="module", keep_dir=bool(os.environ.get("FASTDHCP_E2E_KEEP")))

SERVER_IP, GEN_IP, RELAY_IP = "198.18.0.1", "198.18.0.2", "198.19.0.1"
PORT = 8044
USER, PASSWORD = "operator", "s3cret-page"


class Values(html.parser.HTMLParser):
    """Every element's data-stat and data-value, and the rate canvas's DORA/s."""

    def __init__(self):
        super().__init__()
        self.stats: dict[str, int] = {}
        self.attrs_by_id: dict[str, dict] = {}
        self.histograms: dict[str, int] = {}

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if "data-stat" in a:
            self.stats[a["data-stat"]] = int(float(a["data-value"]))
        if "data-hist" in a:
            self.histograms[a["data-hist"]] = int(a["data-count"])
        if "id" in a:
            self.attrs_by_id[a["id"]] = a


def http_command(ns, name):
    """statistic-get-all and friends over the HTTP socket, from inside the server namespace."""
    body = json.dumps({"command": name, "service": ["dhcp4"]})
    cp = netlab_run(ns, [sys.executable, "-c", f"""
import base64, json, sys, urllib.request
req = urllib.request.Request("http://127.0.0.1:{PORT}/", data={body!r}.encode(),
    headers={{"Content-Type": "application/json",
             "Authorization": "Basic " + base64.b64encode(b"{USER}:{PASSWORD}").decode()}})
print(urllib.request.urlopen(req, timeout=10).read().decode())
"""])
    return json.loads(cp.stdout)[0]


def netlab_run(ns, argv, timeout=60):
    return LAB[0].run(ns, argv, timeout=timeout, check=True)


LAB: list = []


@pytest.fixture(scope="module")
def loaded_server(lab):
    LAB[:] = [lab]
    srv, gen = lab.netns("pgsrv"), lab.netns("pggen")
    link = lab.link(srv, gen, f"{SERVER_IP}/30", f"{GEN_IP}/30")
    lab.addr(gen, link.if_b, f"{RELAY_IP}/16")
    lab.ip(srv, "route", "add", "198.19.0.0/16", "via", GEN_IP)
    lab.ip(srv, "link", "set", "lo", "up")
    cfg = {"Dhcp4": {
        "interfaces-config": {"interfaces": [link.if_a], "dhcp-socket-type": "udp"},
        "lease-database": {"type": "memfile", "name": lab.path("page-leases4.csv"),
                           "lfc-interval": 0},
        "control-sockets": [{"socket-type": "http", "socket-address": "127.0.0.1",
                             "socket-port": PORT,
                             "authentication": {"type": "basic", "realm": "fastdhcp",
                                                "clients": [{"user": USER,
                                                             "password": PASSWORD}]}}],
        "valid-lifetime": 3600,
        "subnet4": [{"id": 1, "subnet": "198.19.0.0/16",
                     "pools": [{"pool": "198.19.1.0 - 198.19.40.255"},
                               {"pool": "198.19.41.0 - 198.19.41.255"}]},
                    {"id": 2, "subnet": "198.20.0.0/24", "pools": [{"pool": "198.20.0.10 - 198.20.0.20"}]}],
        "loggers": [{"name": "kea-dhcp4", "severity": "WARN",
                     "output_options": [{"output": lab.path("page.log")}]}],
    }}
    path = lab.path("page.json")
    with open(path, "w") as f:
        json.dump(cfg, f)
    proc = lab.start_server(srv, path, name="page")
    load = lab.spawn(gen, [sys.executable, "-m", "fastdhcp", "bench", SERVER_IP, "--giaddr",
                           RELAY_IP, "--rate", "400", "--duration", "40", "--clients", "3000",
                           "-q"], env=dict(os.environ, PYTHONPATH=REPO), cwd=REPO,
                     log=lab.path("page-bench.out"))
    yield srv, proc
    lab.stop(load)
    lab.stop(proc)


def chromium(lab, ns, url, *extra, budget_ms=7000):
    exe = shutil.which("chromium")
    assert exe, "chromium is not installed: .ci/setup installs Debian's chromium"
    profile = lab.path(f"chromium-{len(extra)}")
    return lab.run(ns, [exe, "--headless=new", "--no-sandbox", "--disable-gpu",
                        "--no-first-run", f"--user-data-dir={profile}",
                        f"--virtual-time-budget={budget_ms}", *extra, url], timeout=90)


def test_the_page_shows_what_statistic_get_all_says_under_load(lab, loaded_server):
    srv, _ = loaded_server
    before = http_command(srv, "statistic-get-all")["arguments"]
    dom = chromium(lab, srv, f"http://{USER}:{PASSWORD}@127.0.0.1:{PORT}/", "--dump-dom").stdout
    after = http_command(srv, "statistic-get-all")["arguments"]
    page = Values()
    page.feed(dom)
    assert int(page.attrs_by_id["updated"].get("data-polls", 0)) >= 2, dom[:2000]
    error = re.search(r'id="error"[^>]*>([^<]*)<', dom)
    assert error and error.group(1) == "", error and error.group(1)
    shown = page.stats
    for name in ("subnet[1].total-addresses", "subnet[2].total-addresses",
                 "subnet[1].pool[0].total-addresses", "subnet[1].pool[1].total-addresses"):
        if name in after:
            assert shown[name] == after[name][0][0], name
    for name in ("pkt4-received", "pkt4-ack-sent", "pkt4-offer-sent",
                 "subnet[1].assigned-addresses"):
        assert before[name][0][0] <= shown[name] <= after[name][0][0], (name, shown[name])
    assert after["pkt4-ack-sent"][0][0] > before["pkt4-ack-sent"][0][0]   # it was under load
    assert int(page.attrs_by_id["rate"].get("data-dora-per-second", 0)) > 0
    # the commit picture: every ACK'd batch was fdatasync'd (--durability fsync, the default)
    assert page.histograms["fastdhcp_fsync_latency_seconds"] > 0, page.histograms
    assert page.histograms["fastdhcp_reply_latency_seconds"] > 0


def test_a_screenshot_is_kept(lab, loaded_server):
    srv, _ = loaded_server
    out_dir = os.environ.get("FASTDHCP_ARTEFACTS") or lab.dir
    os.makedirs(out_dir, exist_ok=True)
    shot = os.path.join(out_dir, "status-page.png")
    chromium(lab, srv, f"http://{USER}:{PASSWORD}@127.0.0.1:{PORT}/",
             f"--screenshot={shot}", "--window-size=1280,900")
    with open(shot, "rb") as f:
        assert f.read(8) == b"\x89PNG\r\n\x1a\n"
    assert os.path.getsize(shot) > 20_000          # a drawn page, not a blank one


def test_without_credentials_the_page_is_refused(lab, loaded_server):
    srv, _ = loaded_server
    cp = lab.run(srv, [sys.executable, "-c", f"""
import urllib.request, urllib.error
try:
    urllib.request.urlopen("http://127.0.0.1:{PORT}/", timeout=10)
    print("200")
except urllib.error.HTTPError as e:
    print(e.code, e.headers.get("WWW-Authenticate"))
"""], timeout=30, check=True)
    assert cp.stdout.strip() == '401 Basic realm="fastdhcp"'
