"""``fastdhcp ctl``, the control channel's client, run as an operator runs it (a process, its
stdout, stderr and exit status) against a real server: the unix socket against the server under
test (FASTDHCP_E2E_SERVER=kea: kea-dhcp4 2.2, which proves the client speaks Kea's protocol),
HTTP and HTTPS against fastdhcp only (kea-dhcp4 2.2 has no HTTP socket). What is sent, byte for
byte, and answers no server gives (not JSON, nothing) are checked against a one-shot listener."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time

import pytest

from e2e import (NET, REPO, UNDER_TEST, control, control_config, in_netns, make_pki,
                 module_server, not_in_kea22, openssl, subnet, wait_log, write_json)
from e2e import topo  # noqa: F401  (fixture)
from fastdhcp._lab import netlab

lab = netlab.lab_fixture(scope="module", keep_dir=bool(os.environ.get("FASTDHCP_E2E_KEEP")))
root = pytest.mark.root
http_only = not_in_kea22("no HTTP control socket in kea-dhcp4 2.2")

HTTP_PORT, HTTPS_PORT, AGENT_PORT, UNUSED_PORT = 8060, 8061, 8062, 8069
USER, PASSWORD = "operator", "s3cret-ctl"
EXIT_TRANSPORT, EXIT_USAGE = 4, 64
CTL = [sys.executable, "-m", "fastdhcp", "ctl"]
CLEAN_ENV = {k: v for k, v in os.environ.items()
             if k not in ("FASTDHCP_CTL_SOCKET", "FASTDHCP_CTL_URL")}


def ctl(*argv, input=None, env=None):
    """``fastdhcp ctl ARGV`` here (a unix socket is reachable from any namespace)."""
    return subprocess.run([*CTL, *argv], capture_output=True, text=True, input=input,
                          timeout=60, cwd=REPO, env={**CLEAN_ENV, **(env or {})})


def ctl_in_srv(lab, topo, *argv, input=None):
    """``fastdhcp ctl ARGV`` inside the server's namespace, where its HTTP sockets listen."""
    return lab.run(topo.srv, [*CTL, *argv], timeout=60, input=input)


def answer_of(cp):
    """The answer ctl printed; its output is the pretty form (indent 2, keys sorted)."""
    answer = json.loads(cp.stdout)
    assert cp.stdout == json.dumps(answer, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
    return answer


@pytest.fixture(scope="module")
def pki(lab):
    return make_pki(lab.path("ctl-pki"))


@pytest.fixture(scope="module")
def srv(lab, topo, pki):
    """One server for the module: Kea 2.2's unix socket; for fastdhcp also HTTP with basic
    authentication and HTTPS requiring a client certificate."""
    unix_path = lab.path("ctl.sock")
    cfg = control_config(topo, lab.path("ctl-leases4.csv"), unix_path,
                         subnets=[subnet(1, NET, "10 - 250", interface=topo.bridge)])
    if UNDER_TEST == "fastdhcp":
        del cfg["Dhcp4"]["control-socket"]
        cfg["Dhcp4"]["control-sockets"] = [
            {"socket-type": "unix", "socket-name": unix_path},
            {"socket-type": "http", "socket-address": "127.0.0.1", "socket-port": HTTP_PORT,
             "authentication": {"type": "basic", "realm": "ctl-lab",
                                "clients": [{"user": USER, "password": PASSWORD}]}},
            {"socket-type": "https", "socket-address": "127.0.0.1", "socket-port": HTTPS_PORT,
             "trust-anchor": f"{pki}/ca.pem", "cert-file": f"{pki}/server.pem",
             "key-file": f"{pki}/server.key", "cert-required": True},
        ]
    with module_server(lab, topo, cfg) as proc:
        proc.unix = unix_path
        if UNDER_TEST == "fastdhcp":
            wait_log(lab, proc, f"127.0.0.1:{HTTPS_PORT}", timeout=10)
        yield proc


class OneShotListener:
    """A unix socket that takes one command, keeps it, answers ``reply`` and closes."""

    def __init__(self, reply: bytes):
        self.dir = tempfile.mkdtemp(prefix="ctl-", dir="/tmp")   # (a short path: 108 bytes)
        self.path = os.path.join(self.dir, "s")
        self.reply, self.received = reply, None
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.bind(self.path)
        self.sock.listen(1)
        self.sock.settimeout(30)
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        conn, _ = self.sock.accept()
        with conn:
            data = b""
            while True:
                chunk = conn.recv(1 << 16)
                if not chunk:
                    return
                data += chunk
                try:
                    self.received = json.loads(data)
                    break
                except ValueError:
                    continue
            conn.sendall(self.reply)

    def close(self):
        self.thread.join(30)
        self.sock.close()
        shutil.rmtree(self.dir, ignore_errors=True)


@pytest.fixture
def listener():
    made = []

    def make(reply=b'{"result": 0}'):
        made.append(OneShotListener(reply))
        return made[-1]
    yield make
    for one in made:
        one.close()


# --- what is sent (unprivileged) ----------------------------------------------------------

def test_key_value_pairs_are_json_when_they_parse_and_strings_otherwise(listener):
    peer = listener()
    cp = ctl("-s", peer.path, "lease4-get-page", "limit=10", "remove=true", "subnets=[1,2]",
             "from=start", "hw-address=1e:00:00:00:00:01", "name=NaN", "tag=\"007\"",
             "empty=", "a.b=c=d")
    assert cp.returncode == 0, cp.stderr
    peer.close()
    assert peer.received == {"command": "lease4-get-page", "arguments": {
        "limit": 10, "remove": True, "subnets": [1, 2], "from": "start",
        "hw-address": "1e:00:00:00:00:01", "name": "NaN", "tag": "007", "empty": "",
        "a.b": "c=d"}}                      # a dotted key is a key; the first = splits


def test_no_arguments_sends_no_arguments_map_and_service_is_a_list(listener):
    peer = listener()
    assert ctl("-s", peer.path, "list-commands").returncode == 0
    peer.close()
    assert peer.received == {"command": "list-commands"}
    peer = listener()
    assert ctl("-s", peer.path, "version-get", "--service", "dhcp4").returncode == 0
    peer.close()
    assert peer.received == {"command": "version-get", "service": ["dhcp4"]}
    peer = listener()
    assert ctl("-s", peer.path, "lease4-get-all", "--json", "{}").returncode == 0
    peer.close()
    assert peer.received == {"command": "lease4-get-all", "arguments": {}}


def test_the_socket_may_come_from_the_environment(listener):
    peer = listener()
    cp = ctl("status-get", env={"FASTDHCP_CTL_SOCKET": peer.path})
    assert cp.returncode == 0 and answer_of(cp) == {"result": 0}


@pytest.mark.parametrize("reply, fragment", [
    (b"<html>oops</html>", "not JSON: '<html>oops</html>'"),
    (b"", "without an answer"),
    (b'{"text": "no result"}', "not a Kea answer"),
])
def test_an_answer_that_is_not_a_kea_answer_is_a_transport_failure(listener, reply, fragment):
    peer = listener(reply)
    cp = ctl("-s", peer.path, "list-commands")
    assert cp.returncode == EXIT_TRANSPORT and cp.stdout == ""
    assert cp.stderr.startswith(f"fastdhcp ctl: {peer.path}: ")
    assert fragment in cp.stderr and cp.stderr.count("\n") == 1


def test_a_result_past_kea_22s_codes_exits_1_so_that_4_always_means_no_answer(listener):
    peer = listener(b'{"result": 4, "text": "conflict"}')
    cp = ctl("-s", peer.path, "lease4-update", "ip-address=192.0.2.9")
    assert cp.returncode == 1 and answer_of(cp)["result"] == 4
    assert "result 4 (error): conflict" in cp.stderr


@pytest.mark.parametrize("argv, fragment", [
    (["-s", "/x", "lease4-get", "ip-address"], "'ip-address' is not key=value"),
    (["-s", "/x", "lease4-get", "=1"], "'=1' is not key=value"),
    (["-s", "/x", "lease4-get", "a=1", "a=2"], "'a' is given twice"),
    (["-s", "/x", "lease4-get", "a=1", "--json", "{}"], "not both"),
    (["-s", "/x", "lease4-get", "--json", "[1]"], "must be a JSON object"),
    (["-s", "/x", "lease4-get", "--json", "{"], "--json is not JSON"),
    (["list-commands"], "give -s SOCKET or --url URL"),
    (["-s", "/x", "--url", "http://127.0.0.1:1/", "list-commands"], "not both"),
    (["-s", "/x", "--user", "u", "--password", "p", "list-commands"], "no credentials"),
    (["--url", "http://127.0.0.1:1/", "--ca", "/x", "list-commands"], "for https:// URLs"),
    (["--url", "ftp://127.0.0.1/", "list-commands"], "not an http:// or https:// URL"),
    (["--url", "http://u:p@127.0.0.1/", "list-commands"], "not in the URL"),
    (["--url", "http://127.0.0.1:1/", "--user", "u", "list-commands"], "--user needs"),
])
def test_a_command_line_that_cannot_be_used_exits_64_before_sending(argv, fragment):
    cp = ctl(*argv)
    assert cp.returncode == EXIT_USAGE and cp.stdout == "", cp
    assert cp.stderr.startswith("fastdhcp ctl: ") and fragment in cp.stderr, cp.stderr


def test_cannot_connect_to_a_unix_socket_exits_4_naming_it():
    cp = ctl("-s", "/nonexistent/kea4-ctrl-socket", "list-commands")
    assert cp.returncode == EXIT_TRANSPORT and cp.stdout == ""
    assert cp.stderr == ("fastdhcp ctl: /nonexistent/kea4-ctrl-socket: no such socket (is the "
                         "server running, with this control-socket?)\n")


# --- the unix socket, against the server under test ---------------------------------------

@root
def test_list_commands_over_the_unix_socket(srv):
    cp = ctl("-s", srv.unix, "list-commands")
    assert cp.returncode == 0, cp.stderr
    a = answer_of(cp)
    assert a["result"] == 0 and {"lease4-add", "lease4-get", "list-commands"} <= set(a["arguments"])
    assert cp.stderr == ""


@root
def test_raw_prints_the_answer_as_received_on_one_line(srv):
    cp = ctl("-s", srv.unix, "--raw", "list-commands")
    assert cp.returncode == 0 and cp.stdout.endswith("\n") and cp.stdout.count("\n") == 1
    assert json.loads(cp.stdout) == control(srv.unix, "list-commands")


@root
def test_a_lease_added_with_pairs_is_found_and_a_missing_one_exits_3(srv):
    cp = ctl("-s", srv.unix, "lease4-add", f"ip-address={NET}.150",
             "hw-address=1e:00:00:00:c7:01", "valid-lft=900", "hostname=ctl-host")
    assert cp.returncode == 0, cp.stdout + cp.stderr
    cp = ctl("-s", srv.unix, "lease4-get", f"ip-address={NET}.150")
    assert cp.returncode == 0, cp.stdout + cp.stderr
    lease = answer_of(cp)["arguments"]
    assert (lease["hw-address"], lease["valid-lft"], lease["hostname"]) == \
        ("1e:00:00:00:c7:01", 900, "ctl-host")
    cp = ctl("-s", srv.unix, "lease4-get", f"ip-address={NET}.151")
    assert cp.returncode == 3 and answer_of(cp)["result"] == 3
    assert cp.stderr.startswith("fastdhcp ctl: lease4-get: result 3 (empty)")


@root
def test_an_unknown_command_exits_2_with_the_answer_printed(srv):
    cp = ctl("-s", srv.unix, "no-such-command")
    assert cp.returncode == 2
    a = answer_of(cp)
    assert a["result"] == 2 and "not supported" in a["text"]


@root
def test_json_arguments_inline_and_from_stdin(srv):
    assert ctl("-s", srv.unix, "lease4-add", "--json",
               json.dumps({"ip-address": f"{NET}.152", "hw-address": "1e:00:00:00:c7:02"})
               ).returncode == 0
    cp = ctl("-s", srv.unix, "lease4-get", "--json", json.dumps({"ip-address": f"{NET}.152"}))
    assert cp.returncode == 0 and answer_of(cp)["arguments"]["hw-address"] == "1e:00:00:00:c7:02"
    cp = ctl("-s", srv.unix, "lease4-get", "--json", "-",
             input=json.dumps({"ip-address": f"{NET}.152"}))
    assert cp.returncode == 0 and answer_of(cp)["arguments"]["ip-address"] == f"{NET}.152"


@root
def test_a_wrong_argument_type_exits_1(srv):
    cp = ctl("-s", srv.unix, "lease4-get", "ip-address=7")     # 7 is a number, not an address
    assert cp.returncode == 1 and answer_of(cp)["result"] == 1


# --- HTTP and HTTPS, against fastdhcp -----------------------------------------------------

def http_url(port, scheme="http"):
    return f"{scheme}://127.0.0.1:{port}/"


@root
@http_only
def test_http_with_basic_auth_unwraps_the_one_element_list(srv, lab, topo):
    cp = ctl_in_srv(lab, topo, "--url", http_url(HTTP_PORT), "--user", USER,
                    "--password", PASSWORD, "list-commands")
    assert cp.returncode == 0, cp.stderr
    assert answer_of(cp) == control(srv.unix, "list-commands")
    cp = ctl_in_srv(lab, topo, "--url", http_url(HTTP_PORT), "--user", USER,
                    "--password", PASSWORD, "--raw", "list-commands")
    assert cp.returncode == 0 and json.loads(cp.stdout) == [control(srv.unix, "list-commands")]


@root
@http_only
def test_http_password_file_and_service(srv, lab, topo):
    path = lab.path("ctl-password")
    with open(path, "w") as f:
        f.write(PASSWORD + "\nsecond line is not the password\n")
    base = ["--url", http_url(HTTP_PORT), "--user", USER, "--password-file", path]
    cp = ctl_in_srv(lab, topo, *base, "--service", "dhcp4", "version-get")
    assert cp.returncode == 0 and answer_of(cp)["result"] == 0
    cp = ctl_in_srv(lab, topo, *base, "--service", "dhcp6", "version-get")
    assert cp.returncode == 1 and "'dhcp6'" in answer_of(cp)["text"]


@root
@http_only
def test_http_wrong_password_exits_4_saying_401(srv, lab, topo):
    url = http_url(HTTP_PORT)
    cp = ctl_in_srv(lab, topo, "--url", url, "--user", USER, "--password", "wrong",
                    "list-commands")
    assert cp.returncode == EXIT_TRANSPORT and cp.stdout == ""
    assert cp.stderr == f"fastdhcp ctl: {url}: 401 Unauthorized (check --user/--password)\n"
    cp = ctl_in_srv(lab, topo, "--url", url, "list-commands")
    assert cp.returncode == EXIT_TRANSPORT and "401 Unauthorized" in cp.stderr


@root
@http_only
def test_https_with_a_client_certificate(srv, lab, topo, pki):
    cp = ctl_in_srv(lab, topo, "--url", http_url(HTTPS_PORT, "https"), "--ca", f"{pki}/ca.pem",
                    "--cert", f"{pki}/client.pem", "--key", f"{pki}/client.key", "status-get")
    assert cp.returncode == 0, cp.stderr
    assert answer_of(cp)["result"] == 0
    ca_dir = os.path.join(pki, "ca-dir")          # --ca DIR: OpenSSL's hashed directory
    os.makedirs(ca_dir, exist_ok=True)
    shutil.copy(f"{pki}/ca.pem", ca_dir)
    openssl("rehash", ca_dir, cwd=pki)
    cp = ctl_in_srv(lab, topo, "--url", http_url(HTTPS_PORT, "https"), "--ca", ca_dir,
                    "--cert", f"{pki}/client.pem", "--key", f"{pki}/client.key", "status-get")
    assert cp.returncode == 0, cp.stderr


@root
@http_only
def test_https_without_a_client_certificate_exits_4(srv, lab, topo, pki):
    url = http_url(HTTPS_PORT, "https")
    cp = ctl_in_srv(lab, topo, "--url", url, "--ca", f"{pki}/ca.pem", "status-get")
    assert cp.returncode == EXIT_TRANSPORT and cp.stdout == ""
    assert cp.stderr.startswith(f"fastdhcp ctl: {url}: ") and cp.stderr.count("\n") == 1
    assert "client certificate" in cp.stderr, cp.stderr


@root
@http_only
def test_https_with_an_untrusted_server_exits_4(srv, lab, topo, pki):
    cp = ctl_in_srv(lab, topo, "--url", http_url(HTTPS_PORT, "https"),
                    "--cert", f"{pki}/client.pem", "--key", f"{pki}/client.key", "status-get")
    assert cp.returncode == EXIT_TRANSPORT
    assert "not trusted" in cp.stderr and "check --ca" in cp.stderr, cp.stderr


@root
def test_cannot_connect_over_http_exits_4_naming_the_url(lab, topo):
    url = http_url(UNUSED_PORT)
    cp = ctl_in_srv(lab, topo, "--url", url, "list-commands")
    assert cp.returncode == EXIT_TRANSPORT and cp.stdout == ""
    assert cp.stderr == f"fastdhcp ctl: {url}: connection refused (nothing listens there)\n"


# --- kea-ctrl-agent's HTTP, forwarding to the server under test ---------------------------

@pytest.fixture(scope="module")
def agent(lab, topo, srv):
    """Debian's kea-ctrl-agent 2.2 on 127.0.0.1 in the server's namespace, with basic
    authentication, its dhcp4 service the server's unix socket: Kea's own HTTP side."""
    d = lab.path("ctl-agent")
    os.makedirs(d, exist_ok=True)
    cfg_path = os.path.join(d, "kea-ctrl-agent.json")
    write_json(cfg_path, {"Control-agent": {
        "http-host": "127.0.0.1", "http-port": AGENT_PORT,
        "authentication": {"type": "basic", "realm": "ctl-agent",
                           "clients": [{"user": USER, "password": PASSWORD}]},
        "control-sockets": {"dhcp4": {"socket-type": "unix", "socket-name": srv.unix}},
        "loggers": [{"name": "kea-ctrl-agent", "severity": "INFO",
                     "output_options": [{"output": "stderr"}]}]}})
    env = dict(os.environ, KEA_PIDFILE_DIR=d, KEA_LOCKFILE_DIR=d)
    proc = lab.spawn(topo.srv, ["kea-ctrl-agent", "-c", cfg_path], env=env,
                     log=os.path.join(d, "agent.log"))
    deadline = time.monotonic() + 20
    while True:
        try:
            with in_netns(topo.srv):
                socket.create_connection(("127.0.0.1", AGENT_PORT), timeout=1).close()
            break
        except OSError:
            assert proc.poll() is None and time.monotonic() < deadline, "kea-ctrl-agent not up"
            time.sleep(0.1)
    yield proc
    lab.stop(proc)


@root
def test_through_kea_ctrl_agent_with_service_dhcp4(agent, lab, topo):
    base = ["--url", http_url(AGENT_PORT), "--user", USER, "--password", PASSWORD]
    cp = ctl_in_srv(lab, topo, *base, "--service", "dhcp4", "lease4-get",
                    f"ip-address={NET}.199")
    assert cp.returncode == 3 and answer_of(cp)["text"] == "Lease not found.", cp.stderr
    cp = ctl_in_srv(lab, topo, *base, "--service", "dhcp4", "--raw", "list-commands")
    assert cp.returncode == 0 and isinstance(json.loads(cp.stdout), list)
    cp = ctl_in_srv(lab, topo, *base, "config-get")     # no service: the agent answers itself
    assert cp.returncode == 0 and "Control-agent" in answer_of(cp)["arguments"]
    cp = ctl_in_srv(lab, topo, "--url", http_url(AGENT_PORT), "--user", USER,
                    "--password", "wrong", "list-commands")
    assert cp.returncode == EXIT_TRANSPORT and "401 Unauthorized" in cp.stderr, cp.stderr
