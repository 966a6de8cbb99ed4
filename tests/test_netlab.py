"""fastdhcp._lab.netlab: namespaces, links, processes, captures, and that nothing outlives a lab.

Needs root: a non-root run fails instead of skipping, so the end-to-end
machinery can never go silently untested."""

import glob
import os
import subprocess
import sys
import textwrap
import time

import pytest

from fastdhcp._lab import netlab

CORPUS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data", "corpus")


_need_root = netlab.pytest_require_root
lab = netlab.lab_fixture()


def _netns():
    return netlab._list_netns()


def _gone(pid):
    return not netlab._alive(pid) or netlab._is_zombie(pid)


def test_two_namespaces_link_and_ping(lab):
    a, b = lab.netns("a"), lab.netns("b")
    assert {a, b} <= set(_netns())
    assert a.startswith(lab.tag + "-") and b.startswith(lab.tag + "-")
    link = lab.link(a, b, "192.0.2.1/24", "192.0.2.2/24")
    assert len(link.if_a) <= 15 and link.if_a.startswith(lab.tag)
    # the veth ends exist only inside the lab namespaces, never in the root namespace
    root_links = subprocess.run(["ip", "-o", "link"], capture_output=True, text=True).stdout
    assert link.if_a not in root_links and link.if_b not in root_links
    assert lab.ping(a, "192.0.2.2")
    assert lab.ping(b, "192.0.2.1")
    assert not lab.ping(a, "192.0.2.3", timeout=1)


def test_close_leaves_nothing_behind_even_when_body_raises():
    _need_root()
    seen = {}
    with pytest.raises(RuntimeError, match="boom"):
        with netlab.Lab() as lab:
            a, b = lab.netns("a"), lab.netns("b")
            lab.link(a, b, "192.0.2.1/24", "192.0.2.2/24")
            p = lab.spawn(a, ["sleep", "300"])
            # a daemon that leaves its process group: found and killed via `ip netns pids`
            lab.run(b, ["sh", "-c", "setsid sleep 301 >/dev/null 2>&1 < /dev/null &"], check=True)
            cap = lab.capture(b, "any", lab.path("x.pcapng"))
            seen = dict(tag=lab.tag, pid=p.pid, cap=cap.proc.pid, dir=lab.dir,
                        state=lab._state_path, b=b, b_pids=netlab._netns_pids(b))
            assert len(seen["b_pids"]) >= 2  # dumpcap + the setsid'd sleep
            raise RuntimeError("boom")
    assert not [n for n in _netns() if n.startswith(seen["tag"])]
    for pid in [seen["pid"], seen["cap"], *seen["b_pids"]]:
        assert _gone(pid), pid
    assert not os.path.exists(seen["dir"])
    assert not os.path.exists(seen["state"])
    assert not os.path.exists(os.path.join("/etc/netns", seen["b"]))


def test_sweep_stale_removes_a_killed_run():
    _need_root()
    # a run that dies by SIGKILL, leaving its namespace and a process in it
    code = textwrap.dedent(f"""
        import os, signal
        from fastdhcp._lab import netlab
        lab = netlab.Lab(sweep=False)
        ns = lab.netns("x")
        lab.spawn(ns, ["sleep", "300"])
        print(lab.tag, ns, lab.dir, flush=True)
        os.kill(os.getpid(), signal.SIGKILL)
    """)
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert r.returncode == -9, r.stderr
    tag, ns, d = r.stdout.split()
    assert ns in _netns()  # left behind (unless a concurrent run already swept it)
    pids = netlab._netns_pids(ns)
    netlab.sweep_stale(netlab.DEFAULT_PREFIX)
    assert ns not in _netns()
    assert not os.path.exists(d)
    deadline = time.monotonic() + 5
    while not all(_gone(p) for p in pids) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert all(_gone(p) for p in pids)


def test_sweep_leaves_live_labs_alone(lab):
    ns = lab.netns("live")
    netlab.sweep_stale(netlab.DEFAULT_PREFIX)
    assert ns in _netns()


@pytest.mark.parametrize("tool,fmt", [("dumpcap", "pcapng"), ("dumpcap", "pcap"), ("tcpdump", "pcap")])
def test_capture_is_ready_when_returned(lab, tool, fmt):
    a, b = lab.netns("a"), lab.netns("b")
    lab.link(a, b, "192.0.2.1/24", "192.0.2.2/24")
    fifo = lab.path("go")
    os.mkfifo(fifo)
    # the sender is already running and fires the moment we write the fifo, right after
    # capture() returns: a capture that is not really running yet would miss the packet
    sender = lab.spawn(a, ["bash", "-c", f"read -r x < {fifo}; echo hi > /dev/udp/192.0.2.2/67"])
    cap = lab.capture(b, "any" if tool == "tcpdump" else lab.links[0].if_b,
                      lab.path(f"c.{fmt}"), tool=tool, fmt=fmt)
    with open(fifo, "w") as f:
        f.write("go\n")
    assert sender.wait(10) == 0
    pkts = netlab.read_pcap(cap.stop())
    assert len(pkts) == 1
    assert pkts[0][1].endswith(b"hi\n")


def test_refuses_foreign_namespaces_and_addresses(lab):
    a, b = lab.netns("a"), lab.netns("b")
    with pytest.raises(ValueError):
        lab.link(a, b, "8.8.8.8/24")
    with pytest.raises(netlab.LabError):
        lab.run("default", ["true"])
    with pytest.raises(netlab.LabError):
        lab.link(a, "someone-elses-ns")


def test_run_timeout_kills_process_group(lab):
    a = lab.netns("a")
    t = time.monotonic()
    with pytest.raises(netlab.LabError, match="timeout"):
        lab.run(a, ["sh", "-c", "sleep 30 & sleep 30"], timeout=0.5)
    assert time.monotonic() - t < 10
    deadline = time.monotonic() + 5
    while netlab._netns_pids(lab.namespaces["a"]) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not [p for p in netlab._netns_pids(lab.namespaces["a"]) if not _gone(p)]


def test_binds_are_private_to_the_process(lab):
    a = lab.netns("a")
    tgt, src = lab.path("tgt"), lab.path("src")
    os.makedirs(tgt)
    lab.run(a, ["sh", "-c", f"echo hi > {tgt}/f"], binds={tgt: src}, check=True)
    assert open(os.path.join(src, "f")).read() == "hi\n"
    assert not os.path.exists(os.path.join(tgt, "f"))


def test_resolv_conf_is_private(lab):
    a = lab.netns("a")
    out = lab.run(a, ["cat", "/etc/resolv.conf"], check=True).stdout
    assert f"netlab {lab.tag}" in out


@pytest.mark.parametrize("path", sorted(glob.glob(os.path.join(CORPUS, "*.pcap*"))),
                         ids=os.path.basename)
def test_read_pcap_reads_the_corpus(path):
    pkts = netlab.read_pcap(path)
    assert pkts
    # every captured frame (Ethernet, SLL or SLL2) carries a BOOTP message with the magic cookie
    for linktype, data in pkts:
        assert linktype in (1, 113, 276)
        assert b"\x63\x82\x53\x63" in data
