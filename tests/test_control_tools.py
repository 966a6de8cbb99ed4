"""The operator's own tools against the control channel: Debian's kea-ctrl-agent 2.2 forwarding
to the server's unix socket, kea-shell (through the agent, and straight to fastdhcp's HTTP
socket), socat as Kea's documentation uses it, and kea-exporter through the agent. Against the
server under test (FASTDHCP_E2E_SERVER=kea runs the same against kea-dhcp4 2.2), except what
needs an HTTP socket in the DHCP server itself, which kea-dhcp4 2.2 does not have."""

from __future__ import annotations

import http.client
import json
import os
import shutil
import sys
import time

import pytest

from e2e import (NET, ClientSock, control, control_config, crafted_dora, in_netns,
                 not_in_kea22, spawn_client, wait_listening, write_json)
from e2e import servers, topo  # noqa: F401  (fixtures)
from fastdhcp._lab import netlab

pytestmark = pytest.mark.root
lab = netlab.lab_fixture(scope="module", keep_dir=bool(os.environ.get("FASTDHCP_E2E_KEEP")))

AGENT_PORT, DIRECT_PORT, EXPORTER_PORT = 8070, 8071, 8072
KEA_EXPORTER = (shutil.which("kea-exporter", path=os.path.dirname(sys.executable))
                or shutil.which("kea-exporter"))


@pytest.fixture
def srv(lab, topo, servers):
    sock = lab.path("tools.sock")
    cfg = control_config(topo, lab.path("tools-leases4.csv"), sock)
    proc = servers.start(cfg)
    proc.sock = sock
    return proc


@pytest.fixture
def agent(lab, topo, srv):
    """kea-ctrl-agent on 127.0.0.1 in the server's namespace, its dhcp4 service the server's
    unix socket; pid and lock files in the lab dir."""
    d = lab.path("agent")
    os.makedirs(d, exist_ok=True)
    cfg_path = os.path.join(d, "kea-ctrl-agent.json")
    write_json(cfg_path, {"Control-agent": {
        "http-host": "127.0.0.1", "http-port": AGENT_PORT,
        "control-sockets": {"dhcp4": {"socket-type": "unix", "socket-name": srv.sock}},
        "loggers": [{"name": "kea-ctrl-agent", "severity": "INFO",
                     "output_options": [{"output": "stderr"}]}]}})
    env = dict(os.environ, KEA_PIDFILE_DIR=d, KEA_LOCKFILE_DIR=d)
    proc = spawn_client(lab, topo.srv, ["kea-ctrl-agent", "-c", cfg_path], env=env,
                        log=os.path.join(d, "agent.log"))
    wait_listening(topo.srv, AGENT_PORT)
    yield proc
    lab.stop(proc)


def post(topo, port, doc):
    with in_netns(topo.srv):
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        conn.connect()
    try:
        conn.request("POST", "/", body=json.dumps(doc), headers={"Content-Type":
                                                                  "application/json"})
        r = conn.getresponse()
        return r.status, json.loads(r.read())
    finally:
        conn.close()


def kea_shell(topo, port, command, arguments=None, *, service="dhcp4"):
    argv = ["kea-shell", "--host", "127.0.0.1", "--port", str(port)]
    if service:
        argv += ["--service", service]
    out = lab_run(topo, argv + [command], input=json.dumps(arguments)[1:-1] if arguments else "")
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)



def lab_run(topo, argv, **kw):
    return topo.lab.run(topo.srv, argv, **kw)


def dora(topo):
    ns, ifname, mac = topo.client()
    with ClientSock(ns, ifname) as sock:
        _, ack = crafted_dora(sock, mac)
    assert ack is not None
    return mac, ack.pkt.yiaddr


def test_kea_ctrl_agent_forwards_to_the_unix_socket(srv, agent, topo):
    mac, addr = dora(topo)
    status, answer = post(topo, AGENT_PORT, {"command": "lease4-get", "service": ["dhcp4"],
                                             "arguments": {"ip-address": addr}})
    assert status == 200
    [a] = answer
    assert a["result"] == 0 and a["arguments"]["hw-address"] == mac
    assert a == {**control(srv.sock, "lease4-get", {"ip-address": addr})}
    # the agent's own commands stay the agent's
    status, [own] = post(topo, AGENT_PORT, {"command": "config-get"})
    assert own["result"] == 0 and "Control-agent" in own["arguments"]
    # a change through the agent is seen by the server's next packet
    status, [added] = post(topo, AGENT_PORT, {
        "command": "lease4-add", "service": ["dhcp4"],
        "arguments": {"ip-address": f"{NET}.190", "hw-address": "1e:70:00:00:00:01"}})
    assert added["result"] == 0
    assert control(srv.sock, "lease4-get", {"ip-address": f"{NET}.190"})["result"] == 0


def test_kea_shell_through_the_agent(srv, agent, topo):
    mac, addr = dora(topo)
    [a] = kea_shell(topo, AGENT_PORT, "lease4-get", {"ip-address": addr})
    assert a["result"] == 0 and a["arguments"]["ip-address"] == addr
    [a] = kea_shell(topo, AGENT_PORT, "list-commands")
    assert a["result"] == 0 and "lease4-get" in a["arguments"]


@not_in_kea22("kea-dhcp4 2.2 has no HTTP socket of its own (Kea 3 has)")
def test_kea_shell_straight_to_fastdhcps_http_socket(lab, topo, servers):
    sock = lab.path("direct.sock")
    cfg = control_config(topo, lab.path("direct-leases4.csv"), sock)
    del cfg["Dhcp4"]["control-socket"]
    cfg["Dhcp4"]["control-sockets"] = [
        {"socket-type": "unix", "socket-name": sock},
        {"socket-type": "http", "socket-address": "127.0.0.1", "socket-port": DIRECT_PORT}]
    servers.start(cfg)
    wait_listening(topo.srv, DIRECT_PORT)
    mac, addr = dora(topo)
    for service in ("dhcp4", None):              # (kea-shell without --service sends none)
        [a] = kea_shell(topo, DIRECT_PORT, "lease4-get", {"ip-address": addr}, service=service)
        assert a["result"] == 0 and a["arguments"]["hw-address"] == mac
    [a] = kea_shell(topo, DIRECT_PORT, "statistic-get", {"name": "pkt4-ack-sent"})
    assert a["result"] == 0 and a["arguments"]["pkt4-ack-sent"][0][0] >= 1


def test_socat_as_keas_documentation_uses_it(srv, topo):
    mac, addr = dora(topo)
    out = lab_run(topo, ["socat", f"UNIX:{srv.sock}", "-"],
                  input=json.dumps({"command": "lease4-get", "arguments": {"ip-address": addr}}))
    assert out.returncode == 0, out.stderr
    a = json.loads(out.stdout)
    assert a["result"] == 0 and a["arguments"]["hw-address"] == mac
    out = lab_run(topo, ["socat", f"UNIX:{srv.sock}", "-"], input='{ "command": "version-get" }')
    assert json.loads(out.stdout)["result"] == 0


def test_kea_exporter_through_the_agent(srv, agent, topo, lab):
    """kea-exporter's HTTP mode asks the agent for its own config-get (to learn the services)
    and then forwards statistic-get-all to dhcp4: it works through kea-ctrl-agent."""
    assert KEA_EXPORTER, "kea-exporter is not installed (.ci/setup installs it from PyPI)"
    dora(topo)
    proc = spawn_client(lab, topo.srv, [KEA_EXPORTER, "-a", "127.0.0.1", "-p", str(EXPORTER_PORT),
                                        "-i", "0", f"http://127.0.0.1:{AGENT_PORT}/"],
                        log=lab.path("kea-exporter-agent.log"))
    wait_listening(topo.srv, EXPORTER_PORT)
    time.sleep(1.2)
    with in_netns(topo.srv):
        conn = http.client.HTTPConnection("127.0.0.1", EXPORTER_PORT, timeout=10)
        conn.connect()
    conn.request("GET", "/metrics")
    text = conn.getresponse().read().decode()
    conn.close()
    lab.stop(proc)
    acks = control(srv.sock, "statistic-get", {"name": "pkt4-ack-sent"})["arguments"][
        "pkt4-ack-sent"][0][0]
    assert f'kea_dhcp4_packets_sent_total{{operation="ack"}} {float(acks)}' in text, text[-2000:]
