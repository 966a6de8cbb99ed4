"""The HTTP and HTTPS control sockets (Kea 3's ``control-sockets``, answered as kea-ctrl-agent
answers): POST / with a command, the answer in a one-element list, ``service``, basic
authentication with 401, TLS with a client certificate required, and every limit. kea-dhcp4 2.2
has no HTTP socket of its own (kea-ctrl-agent is its HTTP side: tests/test_control_tools.py), so
these run against fastdhcp only."""

from __future__ import annotations

import base64
import http.client
import json
import os
import socket
import ssl
import time

import pytest

from e2e import (NET, ClientSock, control, control_config, crafted_dora, in_netns,
                 make_pki, module_server, not_in_kea22, rows_for, subnet, wait_listening,
                 wait_log)
from e2e import servers, topo  # noqa: F401  (fixtures)
from fastdhcp._lab import netlab

pytestmark = [pytest.mark.root, not_in_kea22("no HTTP control socket in kea-dhcp4 2.2")]
lab = netlab.lab_fixture(scope="module", keep_dir=bool(os.environ.get("FASTDHCP_E2E_KEEP")))

HTTP_PORT, HTTPS_PORT, OPEN_PORT = 8040, 8041, 8042
USER, PASSWORD = "operator", "s3cret-http"
AUTH = {"type": "basic", "realm": "fastdhcp-lab",
        "clients": [{"user": USER, "password": PASSWORD}]}


@pytest.fixture(scope="module")
def pki(lab):
    return make_pki(lab.path("pki"), rogue=True)


@pytest.fixture(scope="module")
def srv(lab, topo, pki):
    """One server for the module (its listeners are what is tested): a unix socket, HTTP with
    basic authentication and an extra header, HTTPS requiring a client certificate, and an HTTP
    socket without authentication."""
    unix_path = lab.path("http-ctl.sock")
    cfg = control_config(topo, lab.path("http-leases4.csv"), unix_path,
                         subnets=[subnet(1, NET, "10 - 250", interface=topo.bridge)])
    del cfg["Dhcp4"]["control-socket"]
    cfg["Dhcp4"]["control-sockets"] = [
        {"socket-type": "unix", "socket-name": unix_path},
        {"socket-type": "http", "socket-address": "127.0.0.1", "socket-port": HTTP_PORT,
         "authentication": AUTH,
         "http-headers": [{"name": "Strict-Transport-Security", "value": "max-age=31536000"}]},
        {"socket-type": "https", "socket-address": "127.0.0.1", "socket-port": HTTPS_PORT,
         "trust-anchor": f"{pki}/ca.pem", "cert-file": f"{pki}/server.pem",
         "key-file": f"{pki}/server.key", "cert-required": True},
        {"socket-type": "http", "socket-address": "127.0.0.1", "socket-port": OPEN_PORT},
    ]
    with module_server(lab, topo, cfg) as proc:
        proc.unix = unix_path
        wait_log(lab, proc, f"127.0.0.1:{OPEN_PORT}", timeout=10)
        yield proc


def basic(user=USER, password=PASSWORD):
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def request(topo, port, body=None, *, method="POST", path="/", headers=None, tls=None,
            timeout=10.0):
    """One HTTP request to the server's namespace; (status, headers, body)."""
    if body is not None and not isinstance(body, bytes):
        body = json.dumps(body).encode()
    with in_netns(topo.srv):
        if tls is None:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
        else:
            conn = http.client.HTTPSConnection("127.0.0.1", port, timeout=timeout, context=tls)
        conn.connect()                           # (the socket is made inside the namespace)
    try:
        hdrs = {"Content-Type": "application/json", **(headers or {})}
        conn.request(method, path, body=body, headers=hdrs)
        r = conn.getresponse()
        return r.status, {k.lower(): v for k, v in r.getheaders()}, r.read()
    finally:
        conn.close()


def command(topo, port, cmd, arguments=None, **kw):
    doc = {"command": cmd}
    if arguments is not None:
        doc["arguments"] = arguments
    if "service" in kw:
        doc["service"] = kw.pop("service")
    status, _, body = request(topo, port, doc, **kw)
    assert status == 200, (status, body)
    return json.loads(body)


def serves(srv, topo):
    ns, ifname, mac = topo.client()
    with ClientSock(ns, ifname) as sock:
        _, ack = crafted_dora(sock, mac)
    assert ack is not None and rows_for(srv.lease_path, address=ack.pkt.yiaddr, hwaddr=mac)


def raw_connection(topo, port):
    with in_netns(topo.srv):
        return socket.create_connection(("127.0.0.1", port), timeout=15)


def recv_all(s):
    parts = []
    while True:
        try:
            chunk = s.recv(1 << 16)
        except (ConnectionResetError, socket.timeout):
            break
        if not chunk:
            break
        parts.append(chunk)
    return b"".join(parts)


# --- the answers ---------------------------------------------------------------------------

def test_the_answer_is_a_one_element_list_equal_to_the_unix_sockets(srv, topo):
    over_http = command(topo, OPEN_PORT, "list-commands")
    assert isinstance(over_http, list) and len(over_http) == 1
    assert over_http[0] == control(srv.unix, "list-commands")


def test_service_dhcp4_is_answered_and_any_other_is_result_1(srv, topo):
    assert command(topo, OPEN_PORT, "version-get", service=["dhcp4"])[0]["result"] == 0
    [a] = command(topo, OPEN_PORT, "version-get", service=["dhcp6"])
    assert a["result"] == 1 and "'dhcp6'" in a["text"]
    [a] = command(topo, OPEN_PORT, "version-get", service="dhcp4")
    assert a["result"] == 1 and "list of strings" in a["text"]


@pytest.mark.parametrize("body, fragment", [
    (b'{"command": "list-commands"', "invalid JSON"),
    (b'[1, 2]', "expected map"),
    (b'{"command": "list-commands", "bogus": true}', "unsupported parameter 'bogus'"),
    (b'{"command": "no-such-command"}', "not supported"),
    (b'{"command": "lease4-get", "arguments": {"ip-address": 7}}', ""),
])
def test_bad_commands_are_structured_answers(srv, topo, body, fragment):
    status, _, out = request(topo, OPEN_PORT, body)
    assert status == 200
    [a] = json.loads(out)
    assert a["result"] in (1, 2) and fragment in a["text"]
    serves(srv, topo)


def test_get_and_wrong_paths(srv, topo):
    status, headers, page = request(topo, OPEN_PORT, method="GET")
    assert status == 200 and headers["content-type"].startswith("text/html")
    assert b"<html" in page and b"http://" not in page and b"https://" not in page  # self-contained
    assert request(topo, OPEN_PORT, method="GET", path="/nowhere")[0] == 404
    status, headers, _ = request(topo, OPEN_PORT, b"{}", method="PUT")
    assert status == 405 and headers["allow"] == "GET, POST"


def test_keep_alive_answers_several_commands_on_one_connection(srv, topo):
    with in_netns(topo.srv):
        conn = http.client.HTTPConnection("127.0.0.1", OPEN_PORT, timeout=10)
        conn.connect()
    try:
        for _ in range(5):
            conn.request("POST", "/", body=b'{"command": "status-get"}')
            r = conn.getresponse()
            assert r.status == 200 and json.loads(r.read())[0]["result"] == 0
    finally:
        conn.close()


# --- authentication ------------------------------------------------------------------------

def test_without_credentials_401_with_the_realm(srv, topo):
    status, headers, body = request(topo, HTTP_PORT, {"command": "list-commands"})
    assert status == 401
    assert headers["www-authenticate"] == 'Basic realm="fastdhcp-lab"'
    assert json.loads(body) == {"result": 401, "text": "Unauthorized"}


@pytest.mark.parametrize("auth", [basic(password="wrong"), basic(user="nobody"),
                                  "Basic not-base64!", "Bearer abc", basic() + "x"])
def test_wrong_credentials_401(srv, topo, auth):
    assert request(topo, HTTP_PORT, {"command": "list-commands"},
                   headers={"Authorization": auth})[0] == 401


def test_right_credentials_answer_and_carry_the_configured_headers(srv, topo):
    status, headers, body = request(topo, HTTP_PORT, {"command": "status-get"},
                                    headers={"Authorization": basic()})
    assert status == 200 and json.loads(body)[0]["result"] == 0
    assert headers["strict-transport-security"] == "max-age=31536000"


def test_the_status_page_and_metrics_need_the_credentials_too(srv, topo):
    for path in ("/", "/metrics"):
        assert request(topo, HTTP_PORT, method="GET", path=path)[0] == 401
        assert request(topo, HTTP_PORT, method="GET", path=path,
                       headers={"Authorization": basic()})[0] == 200


# --- TLS -----------------------------------------------------------------------------------

def client_tls(pki, cert=None):
    ctx = ssl.create_default_context(cafile=f"{pki}/ca.pem")
    if cert:
        ctx.load_cert_chain(f"{pki}/{cert}.pem", f"{pki}/{cert}.key")
    return ctx


def test_https_with_the_client_certificate_answers(srv, topo, pki):
    [a] = command(topo, HTTPS_PORT, "status-get", tls=client_tls(pki, "client"))
    assert a["result"] == 0


@pytest.mark.parametrize("cert", [None, "rogue"], ids=["no-certificate", "untrusted-ca"])
def test_https_without_a_trusted_client_certificate_is_refused(srv, topo, pki, cert):
    with pytest.raises((ssl.SSLError, ConnectionError, http.client.RemoteDisconnected)):
        request(topo, HTTPS_PORT, {"command": "status-get"}, tls=client_tls(pki, cert))
    serves(srv, topo)


def test_plain_http_to_the_https_socket_gets_no_answer(srv, topo):
    with pytest.raises((ConnectionError, http.client.RemoteDisconnected, http.client.BadStatusLine)):
        request(topo, HTTPS_PORT, {"command": "status-get"})


# --- limits --------------------------------------------------------------------------------

def test_a_body_over_64_mib_is_413_before_it_is_sent(srv, topo):
    s = raw_connection(topo, OPEN_PORT)
    with s:
        s.sendall(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                  b"Content-Length: %d\r\n\r\n" % ((64 << 20) + 1))
        out = recv_all(s)
    assert out.startswith(b"HTTP/1.1 413 ")
    serves(srv, topo)


def test_chunked_bodies_are_411(srv, topo):
    s = raw_connection(topo, OPEN_PORT)
    with s:
        s.sendall(b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
                  b"5\r\n{}   \r\n0\r\n\r\n")
        assert recv_all(s).startswith(b"HTTP/1.1 411 ")


def test_a_silent_connection_is_closed_after_the_timeout(srv, topo):
    s = raw_connection(topo, OPEN_PORT)
    t0 = time.monotonic()
    with s:
        assert recv_all(s) == b""
    assert 8 <= time.monotonic() - t0 <= 15


def test_a_thousand_http_connections_at_once(srv, topo):
    socks = []
    try:
        for _ in range(1000):
            socks.append(raw_connection(topo, OPEN_PORT))
        body = b'{"command": "statistic-get", "arguments": {"name": "pkt4-received"}}'
        for s in socks:
            s.sendall(b"POST / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
                      b"Content-Length: %d\r\n\r\n%s" % (len(body), body))
        serves(srv, topo)                           # answered while 1,000 wait
        outs = [recv_all(s) for s in socks]
    finally:
        for s in socks:
            s.close()
    assert all(o.startswith(b"HTTP/1.1 200 ") for o in outs)
    assert all(json.loads(o.split(b"\r\n\r\n", 1)[1])[0]["result"] == 0 for o in outs)


# --- configuration -------------------------------------------------------------------------

def test_a_key_that_does_not_match_its_certificate_refuses_the_config(lab, topo, pki, servers):
    cfg = control_config(topo, lab.path("badtls-leases4.csv"), lab.path("badtls.sock"))
    del cfg["Dhcp4"]["control-socket"]
    cfg["Dhcp4"]["control-sockets"] = [
        {"socket-type": "https", "socket-address": "127.0.0.1", "socket-port": 8049,
         "cert-file": f"{pki}/server.pem", "key-file": f"{pki}/client.key"}]
    proc = servers.launch(cfg)
    assert proc.wait(20) != 0
    with open(proc.log_path) as f:
        log = f.read()
    assert "Dhcp4.control-sockets[0]" in log and "TLS" in log
    servers.procs.remove(proc)


def test_user_and_password_files(lab, topo, servers):
    d = lab.path("secrets")
    os.makedirs(d, exist_ok=True)
    for name, value in (("user", "filed"), ("password", "from-a-file")):
        with open(os.path.join(d, name), "w") as f:
            f.write(value + "\n")
    cfg = control_config(topo, lab.path("files-leases4.csv"), lab.path("files.sock"))
    del cfg["Dhcp4"]["control-socket"]
    cfg["Dhcp4"]["control-sockets"] = [
        {"socket-type": "http", "socket-address": "127.0.0.1", "socket-port": 8048,
         "authentication": {"type": "basic", "realm": "r", "directory": d,
                            "clients": [{"user-file": "user", "password-file": "password"}]}}]
    servers.start(cfg)
    wait_listening(topo.srv, 8048, timeout=10)
    assert request(topo, 8048, {"command": "status-get"},
                   headers={"Authorization": basic("filed", "from-a-file")})[0] == 200
    assert request(topo, 8048, {"command": "status-get"},
                   headers={"Authorization": basic("filed", "wrong")})[0] == 401
