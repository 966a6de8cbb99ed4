"""The end-to-end lab the server tests share: the topology (a bridge in the server's namespace,
client namespaces plugged into it, a relay side), the server under test (``fastdhcp serve``, or
ISC kea-dhcp4 with FASTDHCP_E2E_SERVER=kea), its lease file and log, and crafted clients (UDP
sockets opened inside a client namespace). A test module defines its own module-scoped ``lab``
(``netlab.lab_fixture``) and imports the ``topo`` and ``servers`` fixtures from here.
"""

from __future__ import annotations

import contextlib
import csv
import ctypes
import ipaddress
import itertools
import json
import os
import random
import select
import signal
import socket
import subprocess
import sys
import time

import pytest

import fastdhcp
from fastdhcp import reference
from fastdhcp._lab import netlab
from fastdhcp.packet import MsgType
from replies import Reply

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

NET = "192.0.2"              # the client segment (bridge in srv)
SRV_IP = f"{NET}.1"
UP_NET = "198.51.100"        # srv <-> relay
RELAY_NET = "203.0.113"      # relay <-> relayed client
OTHER_RELAYED = "10.77.0"    # a second relayed subnet nobody's giaddr points at
DNS = (f"{NET}.53", f"{NET}.54")
DOMAIN = "lab.example"

DISCOVER, OFFER, REQUEST, DECLINE, ACK, NAK, RELEASE, INFORM = (
    MsgType.DHCPDISCOVER, MsgType.DHCPOFFER, MsgType.DHCPREQUEST, MsgType.DHCPDECLINE,
    MsgType.DHCPACK, MsgType.DHCPNAK, MsgType.DHCPRELEASE, MsgType.DHCPINFORM)

UNDER_TEST = os.environ.get("FASTDHCP_E2E_SERVER", "fastdhcp")
# log lines that tell a test the server got somewhere (the only uses of the log as a signal):
# Kea's message IDs, which fastdhcp writes too
MARKS = {"started": "DHCP4_STARTED", "reload_refused": "DHCP4_DYNAMIC_RECONFIGURATION_FAIL",
         "reloaded": "DHCP4_DYNAMIC_RECONFIGURATION_SUCCESS"}


def differs_from_kea(reason):
    """Mark a test (or parameter) that asserts where fastdhcp deliberately differs from Kea."""
    return pytest.mark.xfail(UNDER_TEST == "kea", reason=f"Kea 2.2 differs: {reason}",
                             strict=True)


def not_in_kea22(reason):
    """Mark a test of something Debian's kea-dhcp4 2.2 does not have (a later Kea's command, a
    hook library Debian does not ship): skipped, with the reason, only when Kea is under test."""
    return pytest.mark.skipif(UNDER_TEST == "kea", reason=f"not in Kea 2.2: {reason}")


# =================================================================================================
# helpers: topology, server, lease file
# =================================================================================================

class Topo:
    """The shared namespaces; hands out fresh client namespaces and MACs."""

    def __init__(self, lab):
        self.lab = lab
        self.srv = lab.netns("srv")
        self.bridge = lab.bridge(self.srv, f"{SRV_IP}/24", mac="02:fd:e0:00:00:01")
        # one idle port from the start, so the bridge has carrier whatever the test does first
        lab.link(lab.netns("idle"), self.srv, None, None, master_b=self.bridge)
        self._n = itertools.count(1)
        self._relay = None

    def new_mac(self):
        n = next(self._n)
        return f"02:fd:e1:00:{n >> 8 & 0xff:02x}:{n & 0xff:02x}"

    def client(self, mac=None, addr=None):
        """A new namespace plugged into the bridge; returns (ns, ifname, mac)."""
        mac = mac or self.new_mac()
        ns = self.lab.netns(f"c{next(self._n)}")
        link = self.lab.link(ns, self.srv, addr, None, mac_a=mac, master_b=self.bridge)
        return ns, link.if_a, mac

    def relay_side(self):
        """srv <-> rly link and rly <-> c_relay link, made once; returns a dict of names."""
        if self._relay is None:
            lab = self.lab
            rly = lab.netns("rly")
            up = lab.link(self.srv, rly, f"{UP_NET}.1/24", f"{UP_NET}.2/24")
            lab.ip(self.srv, "route", "add", f"{RELAY_NET}.0/24", "via", f"{UP_NET}.2")
            lab.sysctl(rly, "net.ipv4.ip_forward", 1)  # the client's unicast RELEASE/renew
            cns = lab.netns("c_relay")
            down = lab.link(rly, cns, f"{RELAY_NET}.1/24", None, mac_b=self.new_mac())
            self._relay = {"rly": rly, "up": up, "down": down, "cns": cns}
        return self._relay


@pytest.fixture(scope="module")
def topo(lab):
    return Topo(lab)


def subnet(sid, net, pool, *, interface=None, router=None, **extra):
    """One subnet4 entry: /24 ``net`` ("192.0.2"), pool "first - last" (host parts or full)."""
    first, last = (p.strip() for p in pool.split("-"))
    first = first if "." in first else f"{net}.{first}"
    last = last if "." in last else f"{net}.{last}"
    s = {"id": sid, "subnet": f"{net}.0/24", "pools": [{"pool": f"{first} - {last}"}],
         "option-data": [{"name": "routers", "data": router or f"{net}.1"}]}
    if interface:
        s["interface"] = interface
    s.update(extra)
    return s


def server_config(topo, lease_path, *, subnets=None, interfaces=None, **globals_):
    """A Kea Dhcp4 configuration for the lab; keyword arguments are global parameters
    (valid_lifetime=600 -> "valid-lifetime": 600)."""
    cfg = {
        "interfaces-config": {"interfaces": interfaces or [topo.bridge], "dhcp-socket-type": "raw"},
        "lease-database": {"type": "memfile", "persist": True, "lfc-interval": 0,
                           "name": lease_path},
        "valid-lifetime": 600, "renew-timer": 300, "rebind-timer": 500,
        "option-data": [{"name": "domain-name-servers", "data": ", ".join(DNS)},
                        {"name": "domain-name", "data": DOMAIN}],
        "subnet4": subnets or [subnet(1, NET, "100 - 199", interface=topo.bridge)],
        "loggers": [{"name": "kea-dhcp4", "severity": "INFO",
                     "output_options": [{"output": "stderr"}]}],
    }
    cfg.update({k.replace("_", "-"): v for k, v in globals_.items()})
    return {"Dhcp4": cfg}


class Servers:
    """Starts fastdhcp serve in the srv namespace; stops what is still running at teardown."""

    _n = itertools.count(1)   # per module run: every server gets its own files

    def __init__(self, lab, topo):
        self.lab, self.topo = lab, topo
        self.procs = []

    def start(self, cfg=None, **kw):
        """Write the config (server_config(**kw) unless cfg is given) and start the server;
        returns the Popen with .cfg_path and .lease_path, once it serves."""
        proc = self.launch(cfg, **kw)
        wait_log(self.lab, proc, MARKS["started"], timeout=20)
        return proc

    def launch(self, cfg=None, *, name=None, lease_path=None, config_path=None, kind=None,
               args=(), **kw):
        """As start, without waiting for the server to serve (it may refuse to start).
        ``kind``: "kea" or "fastdhcp" (a differential test runs both); the one under test by
        default. ``args``: more ``fastdhcp serve`` options (ignored for Kea)."""
        kind = kind or UNDER_TEST
        lab = self.lab
        name = name or f"srv{next(self._n)}"
        lease_path = lease_path or lab.path(f"{name}-leases4.csv")
        if cfg is None:
            cfg = server_config(self.topo, lease_path, **kw)
        config_path = config_path or lab.path(f"{name}.json")
        write_json(config_path, cfg)
        env = dict(os.environ, PYTHONPATH=REPO + os.pathsep + os.environ.get("PYTHONPATH", ""))
        if kind == "kea":   # pid and lock files in the lab dir, not /run/kea
            env.update(KEA_PIDFILE_DIR=lab.path(name), KEA_LOCKFILE_DIR=lab.path(name))
            os.makedirs(lab.path(name), exist_ok=True)
            argv = ["kea-dhcp4", "-c", config_path]
        else:
            argv = [sys.executable, "-m", "fastdhcp", "serve", "-c", config_path, *args]
        proc = lab.spawn(self.topo.srv, argv, env=env, cwd=REPO, log=lab.path(f"{name}.log"))
        proc.cfg_path, proc.lease_path = config_path, cfg["Dhcp4"]["lease-database"]["name"]
        self.procs.append(proc)
        return proc

    def stop(self, proc, sig=signal.SIGTERM):
        rc = self.lab.stop(proc, sig)
        if proc in self.procs:
            self.procs.remove(proc)
        return rc

    def close(self):
        for proc in self.procs:
            self.lab.stop(proc)
        self.procs.clear()


CLIENT_PROCS = []   # client daemons (dhclient, dhcpcd, udhcpc, dhcrelay) the current test started


def spawn_client(lab, ns, argv, **kw):
    """lab.spawn, remembered so that the test's teardown stops it even when the test failed
    half-way: a stray client would go on talking to the next test's server."""
    proc = lab.spawn(ns, argv, **kw)
    CLIENT_PROCS.append(proc)
    return proc


@pytest.fixture
def servers(lab, topo):
    """The test's servers; at teardown, checks they are still alive without a traceback, then
    stops them and the test's client daemons."""
    s = Servers(lab, topo)
    yield s
    try:
        for proc in s.procs:
            log = server_log(proc)
            assert proc.poll() is None, f"the server died during the test:\n{log[-3000:]}"
            assert "Traceback" not in log, f"the server logged a traceback:\n{log[-3000:]}"
    finally:
        while CLIENT_PROCS:
            lab.stop(CLIENT_PROCS.pop())
        s.close()


@contextlib.contextmanager
def module_server(lab, topo, cfg, **start):
    """A server for a whole module (what a module tests is its listeners): started from
    ``cfg``, checked alive and without a traceback at the end, then stopped."""
    servers = Servers(lab, topo)
    proc = servers.start(cfg, **start)
    try:
        yield proc
        log = server_log(proc)
        assert proc.poll() is None and "Traceback" not in log, log[-3000:]
    finally:
        servers.close()


def openssl(*args, cwd):
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True)


def make_pki(directory, *, rogue=False):
    """A lab CA (``ca.pem``), a server certificate for 127.0.0.1 (``server.pem``/``.key``) and a
    client certificate from the CA (``client.pem``/``.key``); with ``rogue``, also a client
    certificate from a CA nobody trusts (``rogue.pem``/``.key``). Returns the directory."""
    os.makedirs(directory, exist_ok=True)
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    certs = [("server", "ca", "subjectAltName=IP:127.0.0.1"),
             ("client", "ca", "extendedKeyUsage=clientAuth")]
    if rogue:
        certs.append(("rogue", "rogue-ca", "extendedKeyUsage=clientAuth"))
    for ca in {c[1] for c in certs}:
        openssl("req", "-x509", *ec, "-keyout", f"{ca}.key", "-out", f"{ca}.pem", "-days", "2",
                "-subj", f"/CN=fastdhcp lab {ca}", cwd=directory)
    for name, ca, ext in certs:
        openssl("req", *ec, "-keyout", f"{name}.key", "-out", f"{name}.csr",
                "-subj", f"/CN={name}", cwd=directory)
        with open(os.path.join(directory, f"{name}.ext"), "w") as f:
            f.write(ext + "\n")
        openssl("x509", "-req", "-in", f"{name}.csr", "-CA", f"{ca}.pem", "-CAkey", f"{ca}.key",
                "-CAcreateserial", "-out", f"{name}.pem", "-days", "2", "-extfile", f"{name}.ext",
                cwd=directory)
    return directory


def write_json(path, obj):
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        json.dump(obj, f, indent=1)
    os.replace(tmp, path)


def server_log(proc):
    try:
        with open(proc.log_path, errors="replace") as f:
            return f.read()
    except OSError:
        return ""


def wait_log(lab, proc, text, timeout=10.0, start=0):
    """Wait until the server's log (from char offset start) contains text; fail with its log
    if it exits first."""
    def seen():
        if proc.poll() is not None:
            raise netlab.LabError(f"server exited ({proc.returncode}):\n{server_log(proc)[-3000:]}")
        return text in server_log(proc)[start:]
    lab.wait_for(seen, timeout, interval=0.05, what=f"{text!r} in the server log")


KEA_HOOKS = "/usr/lib/x86_64-linux-gnu/kea/hooks"
CONTROL_HOOKS = [{"library": f"{KEA_HOOKS}/libdhcp_lease_cmds.so"},
                 {"library": f"{KEA_HOOKS}/libdhcp_stat_cmds.so"}]   # built into fastdhcp


def control_config(topo, lease_path, socket_path, **kw):
    """server_config with Kea 2.2's unix control socket and the lease and statistics hooks
    (Kea loads them; fastdhcp has them built in and takes the entries silently)."""
    cfg = server_config(topo, lease_path, **kw)
    cfg["Dhcp4"]["control-socket"] = {"socket-type": "unix", "socket-name": socket_path}
    cfg["Dhcp4"].setdefault("hooks-libraries", CONTROL_HOOKS)
    return cfg


def control(socket_path, command, arguments=None, *, timeout=10.0, raw=None):
    """One command over a unix control socket, as Kea's tools send it; the decoded answer.
    ``raw``: send these bytes instead of a command built from ``command`` and ``arguments``."""
    if raw is None:
        doc = {"command": command}
        if arguments is not None:
            doc["arguments"] = arguments
        raw = json.dumps(doc).encode()
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.settimeout(timeout)
        s.connect(socket_path)
        s.sendall(raw)
        parts = []
        while True:
            chunk = s.recv(1 << 16)
            if not chunk:
                break
            parts.append(chunk)
    return json.loads(b"".join(parts))


def lease_rows(path):
    """The lease file's rows as dicts (Kea memfile CSV, header first)."""
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def rows_for(path, address=None, hwaddr=None):
    return [r for r in lease_rows(path)
            if (address is None or r["address"] == address)
            and (hwaddr is None or r["hwaddr"].lower() == hwaddr.lower())]


def in_pool(addr, first, last):
    a = ipaddress.ip_address(addr)
    return ipaddress.ip_address(first) <= a <= ipaddress.ip_address(last)


# =================================================================================================
# helpers: crafted client messages through sockets inside a namespace
# =================================================================================================

_libc = ctypes.CDLL(None, use_errno=True)
CLONE_NEWNET = 0x40000000
SO_BINDTODEVICE = getattr(socket, "SO_BINDTODEVICE", 25)
IP_PKTINFO = getattr(socket, "IP_PKTINFO", 8)


@contextlib.contextmanager
def in_netns(full_ns):
    """Run the body with this thread in network namespace full_ns (then back). Only for
    creating sockets: a socket stays in the namespace it was created in."""
    own = os.open("/proc/thread-self/ns/net", os.O_RDONLY)
    try:
        target = os.open(f"/run/netns/{full_ns}", os.O_RDONLY)
        try:
            if _libc.setns(target, CLONE_NEWNET) != 0:
                raise OSError(ctypes.get_errno(), f"setns({full_ns})")
        finally:
            os.close(target)
        try:
            yield
        finally:
            if _libc.setns(own, CLONE_NEWNET) != 0:   # cannot continue in the wrong namespace
                os._exit(99)
    finally:
        os.close(own)


def wait_listening(ns, port, timeout=20.0, host="127.0.0.1"):
    """Wait until something accepts TCP connections on host:port inside namespace ns (a
    control socket, kea-ctrl-agent, an exporter)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            with in_netns(ns):
                s = socket.create_connection((host, port), timeout=1)
            s.close()
            return
        except OSError:
            assert time.monotonic() < deadline, f"nothing listens on {host}:{port} in {ns}"
            time.sleep(0.1)


class _SocketClient:
    """A test client that holds one socket ``self.s``: closed by ``close`` or by ``with``."""

    def close(self):
        self.s.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


class ClientSock(_SocketClient):
    """A UDP socket on port 68 (by default) inside a client namespace, bound to its interface,
    that sends crafted messages and receives the replies (with their IP destination)."""

    def __init__(self, ns, ifname, *, port=68, bind_ip="0.0.0.0"):
        with in_netns(ns):
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            s.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1)
            s.setsockopt(socket.SOL_SOCKET, SO_BINDTODEVICE, ifname.encode())
            s.setsockopt(socket.IPPROTO_IP, IP_PKTINFO, 1)
            s.bind((bind_ip, port))
        self.s = s

    def send(self, data, dst="255.255.255.255", port=67):
        self.s.sendto(data, (dst, port))

    def recv(self, xid=None, types=None, timeout=2.0):
        """The next reply with this xid (and one of these message types) within timeout, or
        None."""
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([self.s], [], [], left)[0]:
                return None
            data, anc, _, src = self.s.recvmsg(4096, socket.CMSG_SPACE(12))
            dst = None
            for level, kind, val in anc:
                if level == socket.IPPROTO_IP and kind == IP_PKTINFO:
                    dst = socket.inet_ntoa(val[8:12])
            try:
                pkt = fastdhcp.decode(data)
            except fastdhcp.MalformedPacket:
                continue
            if pkt.op != 2 or (xid is not None and pkt.xid != xid):
                continue
            if types is not None and pkt.msg_type not in types:
                continue
            return Reply(pkt, src=src[0], dst=dst)

    def ask(self, data, *, xid, types, dst="255.255.255.255", timeout=2.0, tries=2):
        """Send and wait for a reply, resending once on silence (UDP)."""
        for _ in range(tries):
            self.send(data, dst)
            r = self.recv(xid, types, timeout / tries)
            if r is not None:
                return r
        return None


def mac_bytes(mac):
    return bytes.fromhex(mac.replace(":", ""))


def new_xid():
    return random.getrandbits(32)


def crafted_offer(sock, mac, *, timeout=2.0, **kw):
    """DISCOVER (broadcast flag: the reply comes by broadcast, as the crafted client has no
    address) -> the OFFER or None."""
    xid = new_xid()
    return sock.ask(reference.discover(mac_bytes(mac), xid, broadcast=True, **kw), xid=xid,
                    types={OFFER}, timeout=timeout)


def crafted_dora(sock, mac, *, timeout=2.0):
    """DISCOVER/OFFER/REQUEST/ACK; returns (offer, ack), either None if missing."""
    offer = crafted_offer(sock, mac, timeout=timeout)
    if offer is None:
        return None, None
    xid = new_xid()
    req = reference.request(mac_bytes(mac), xid, server_id=offer.opt_ip(54),
                            requested_ip=offer.pkt.yiaddr, broadcast=True)
    return offer, sock.ask(req, xid=xid, types={ACK, NAK}, timeout=timeout)


FOREIGN_SERVER = f"{NET}.99"   # a server identifier that is not ours


def barrier(sock, mac):
    """Return once the server has handled everything sent to it before: it answers an INIT-REBOOT
    for another network's address with a NAK (needs authoritative: true under Kea), and it
    handles datagrams in order and writes a batch's lease rows before that batch's replies."""
    xid = new_xid()
    nak = sock.ask(reference.request(mac_bytes(mac), xid, requested_ip=f"{UP_NET}.77"), xid=xid,
                   types={NAK})
    assert nak is not None, "no NAK for the barrier INIT-REBOOT"


def with_message_type(datagram: bytes, msg_type: int) -> bytes:
    pkt = bytearray(datagram)
    i = pkt.index(bytes((53, 1)), 240)
    pkt[i + 2] = msg_type
    return bytes(pkt)


def mixed_traffic(topo):
    """The same messages, in the same order, whatever the server (a differential test sends
    them to Kea and to fastdhcp; the pool must hold four addresses ``.100 - .103``): DORA for three clients, an
    INIT-REBOOT, a RELEASE, a DECLINE, an INFORM, an unknown message type, an OFFER from a
    client, a bad magic cookie, a REQUEST for another server, a NAK, then two more DORAs that
    take the pool's last addresses and a DISCOVER that finds none."""
    ns, ifname, _ = topo.client()
    macs = [topo.new_mac() for _ in range(8)]
    a, b, c, d, e, f, g, h = macs
    with ClientSock(ns, ifname) as sock:
        got = {}
        for m in (a, b, c):
            offer, ack = crafted_dora(sock, m)
            assert ack is not None and ack.pkt.msg_type == ACK
            got[m] = ack.pkt.yiaddr
        sid = f"{NET}.1"
        xid = new_xid()
        assert sock.ask(reference.request(mac_bytes(a), xid, requested_ip=got[a], broadcast=True),
                        xid=xid, types={ACK, NAK}).pkt.msg_type == ACK
        sock.send(reference.release(mac_bytes(b), new_xid(), got[b], sid))
        sock.send(reference.decline(mac_bytes(c), new_xid(), got[c], sid))
        sock.send(reference.inform(mac_bytes(d), new_xid(), f"{NET}.50"))
        discover = reference.discover(mac_bytes(d), new_xid())
        sock.send(with_message_type(discover, 99))
        sock.send(with_message_type(discover, 2))
        bad = bytearray(discover)
        bad[236:240] = b"\x00\x00\x00\x00"                # not the magic cookie
        sock.send(bytes(bad))
        sock.send(reference.request(mac_bytes(e), new_xid(), server_id=f"{NET}.99",
                                    requested_ip=f"{NET}.101", broadcast=True))
        barrier(sock, f)                                  # (one NAK)
        for m in (f, g):
            assert crafted_dora(sock, m)[1] is not None
        xid = new_xid()                                   # the pool is empty: no OFFER
        assert sock.ask(reference.discover(mac_bytes(h), xid, broadcast=True), xid=xid,
                        types=None, timeout=1.0, tries=1) is None
        barrier(sock, f)


# =================================================================================================
# a raw-frame client: what a PXE ROM or a client without an address looks like on the wire
# =================================================================================================

ETH_P_IP = 0x0800
PACKET_OUTGOING = 4                  # sll_pkttype of a frame this host sent
BROADCAST_MAC = b"\xff" * 6


def ip_checksum(data: bytes) -> int:
    """The Internet checksum (RFC 1071) of data."""
    if len(data) % 2:
        data += b"\0"
    total = sum(int.from_bytes(data[i:i + 2], "big") for i in range(0, len(data), 2))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def udp_frame(payload: bytes, *, src_mac: bytes, dst_mac: bytes, src_ip: str, dst_ip: str,
              sport: int, dport: int, ttl: int = 64) -> bytes:
    """An Ethernet frame carrying one UDP datagram, with correct IPv4 and UDP checksums."""
    src, dst = socket.inet_aton(src_ip), socket.inet_aton(dst_ip)
    udp_len = 8 + len(payload)
    pseudo = src + dst + bytes((0, socket.IPPROTO_UDP)) + udp_len.to_bytes(2, "big")
    udp = sport.to_bytes(2, "big") + dport.to_bytes(2, "big") + udp_len.to_bytes(2, "big")
    csum = ip_checksum(pseudo + udp + b"\0\0" + payload) or 0xFFFF   # RFC 768: 0 means none
    udp += csum.to_bytes(2, "big")
    ip = bytes((0x45, 0)) + (20 + udp_len).to_bytes(2, "big") + b"\0\0\0\0" + \
        bytes((ttl, socket.IPPROTO_UDP)) + b"\0\0" + src + dst
    ip = ip[:10] + ip_checksum(ip).to_bytes(2, "big") + ip[12:]
    return dst_mac + src_mac + ETH_P_IP.to_bytes(2, "big") + ip + udp + payload


class RawReply(Reply):
    """A reply as a raw client sees it: the frame's addresses, ports and whether its checksums
    hold, beside the decoded message."""


def parse_udp_frame(frame: bytes):
    """(eth_dst, eth_src, ip_src, ip_dst, sport, dport, payload, checksums_ok) of an IPv4/UDP
    frame, or None for anything else."""
    if len(frame) < 42 or frame[12:14] != ETH_P_IP.to_bytes(2, "big"):
        return None
    ihl = (frame[14] & 0x0F) * 4
    ip = frame[14:14 + ihl]
    if frame[14] >> 4 != 4 or ip[9] != socket.IPPROTO_UDP:
        return None
    total = int.from_bytes(ip[2:4], "big")
    udp = frame[14 + ihl:14 + total]
    if len(udp) < 8:
        return None
    udp_len = int.from_bytes(udp[4:6], "big")
    payload = udp[8:udp_len]
    ip_ok = ip_checksum(ip) == 0
    csum = int.from_bytes(udp[6:8], "big")
    pseudo = ip[12:20] + bytes((0, socket.IPPROTO_UDP)) + udp_len.to_bytes(2, "big")
    udp_ok = csum == 0 or ip_checksum(pseudo + udp[:udp_len]) == 0
    return (frame[0:6], frame[6:12], socket.inet_ntoa(ip[12:16]), socket.inet_ntoa(ip[16:20]),
            int.from_bytes(udp[0:2], "big"), int.from_bytes(udp[2:4], "big"), payload,
            ip_ok and udp_ok)


def raw_reply(frame: bytes):
    """The server's reply (a BOOTREPLY to port 68) in frame as a RawReply, or None."""
    parsed = parse_udp_frame(frame)
    if parsed is None or parsed[5] != 68:
        return None
    eth_dst, eth_src, ip_src, ip_dst, sport, dport, payload, ok = parsed
    try:
        pkt = fastdhcp.decode(payload, allow_bootp=True)     # (a BOOTP reply has no 53)
    except fastdhcp.MalformedPacket:
        return None
    if pkt.op != 2:
        return None
    return RawReply(pkt, eth_dst=eth_dst, eth_src=eth_src, src=ip_src, dst=ip_dst, sport=sport,
                    port=dport, checksums_ok=ok, ttl=frame[22])


class RawClient(_SocketClient):
    """A DHCP client that talks through an AF_PACKET socket on its link, as a PXE ROM or a client
    still without an address does: frames from 0.0.0.0 (or from the address it says it has,
    for renewals), built from fastdhcp.reference messages. Its interface has no IPv4 address and
    ARP off, so it answers no ARP: a reply reaches it only as a frame to its MAC (or broadcast),
    never through a server's neighbour lookup."""

    def __init__(self, lab, ns, ifname, mac):
        lab.ip(ns, "link", "set", "dev", ifname, "arp", "off")
        with in_netns(ns):
            s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_IP))
            s.bind((ifname, 0))
        self.s, self.ns, self.ifname = s, ns, ifname
        self.mac = mac_bytes(mac) if isinstance(mac, str) else mac

    def send(self, data, *, src_ip="0.0.0.0", dst_ip="255.255.255.255", dst_mac=BROADCAST_MAC,
             sport=68, dport=67):
        self.s.send(udp_frame(data, src_mac=self.mac, dst_mac=dst_mac, src_ip=src_ip,
                              dst_ip=dst_ip, sport=sport, dport=dport))

    def recv(self, xid=None, types=None, timeout=2.0):
        """The next reply to port 68 with this xid (and one of these types), or None."""
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([self.s], [], [], left)[0]:
                return None
            frame, where = self.s.recvfrom(65535)
            r = raw_reply(frame) if where[2] != PACKET_OUTGOING else None
            if r is None or (xid is not None and r.pkt.xid != xid):
                continue
            if types is not None and r.pkt.msg_type not in types:
                continue
            return r

    def ask(self, data, *, xid, types, timeout=2.0, tries=2, **where):
        """Send (as send() takes it) and wait for a reply, resending once on silence."""
        for _ in range(tries):
            self.send(data, **where)
            r = self.recv(xid, types, timeout / tries)
            if r is not None:
                return r
        return None

    def dora(self, *, timeout=2.0, **discover):
        """DISCOVER (no broadcast flag: the OFFER comes as a frame to our MAC), REQUEST, ACK;
        returns (offer, ack), either None if missing."""
        xid = new_xid()
        offer = self.ask(reference.discover(self.mac, xid, **discover), xid=xid,
                         types={MsgType.DHCPOFFER}, timeout=timeout)
        if offer is None:
            return None, None
        xid = new_xid()
        req = reference.request(self.mac, xid, server_id=offer.opt_ip(54),
                                requested_ip=offer.pkt.yiaddr)
        return offer, self.ask(req, xid=xid, types={MsgType.DHCPACK, MsgType.DHCPNAK},
                               timeout=timeout)


def raw_dora(client, *, timeout=2.0, tries=2, **options):
    """DISCOVER/OFFER/REQUEST/ACK from a raw-frame client (``options``: reference's keyword
    options, e.g. hostname=); the ACK's reply (asserted to come)."""
    xid = new_xid()
    offer = client.ask(reference.discover(client.mac, xid, **options), xid=xid,
                       types={MsgType.DHCPOFFER}, timeout=timeout, tries=tries)
    assert offer is not None, "no OFFER"
    xid = new_xid()
    ack = client.ask(reference.request(client.mac, xid, server_id=offer.opt_ip(54),
                                       requested_ip=offer.pkt.yiaddr, **options),
                     xid=xid, types={MsgType.DHCPACK}, timeout=timeout, tries=tries)
    assert ack is not None, "no ACK"
    return ack


@pytest.fixture
def raw(lab, topo):
    """A raw-frame client on a fresh namespace of the client link."""
    ns, ifname, mac = topo.client()
    with RawClient(lab, ns, ifname, mac) as client:
        yield client
