"""netlab: throwaway network-namespace labs for end-to-end tests and benchmarks.

Every DHCP packet a test sends must stay inside namespaces the test made itself: a DHCP server
or client pointed at a real interface would answer (or disturb) a real network. So a Lab:

* names everything with a per-run tag (namespaces ``<tag>-<ownerpid>-<name>``, interfaces
  ``<tag><n>a``/``<tag><n>b``), so concurrent or interrupted runs never collide;
* creates veth pairs directly inside its namespaces (never in the root namespace) and refuses
  addresses outside private/documentation/benchmark space;
* remembers every process it starts and kills it (its whole process group) on close, then kills
  whatever else still runs inside its namespaces, by PID, and deletes the namespaces;
* records itself in a state file, so the next run's ``sweep_stale()`` removes the leftovers of a
  run that was SIGKILLed before it could clean up.

Stdlib only; needs root (CAP_NET_ADMIN + CAP_SYS_ADMIN) and iproute2. Typical use::

    with Lab() as lab:
        srv, cli = lab.netns("srv"), lab.netns("cli")
        l = lab.link(srv, cli, "192.0.2.1/24")
        lab.spawn(srv, ["kea-dhcp4", "-c", cfg])
        lab.run(cli, ["udhcpc", "-i", l.if_b, "-q", "-n", "-s", "/bin/true"], timeout=20)

pytest (in a test module)::

    lab = lab_fixture()            # defines a fixture named "lab"; fails without root if CI
"""

from __future__ import annotations

import atexit
import dataclasses
import ipaddress
import json
import os
import secrets
import shlex
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import threading
import time
import warnings

__all__ = [
    "Lab", "Link", "Capture", "LabError", "sweep_stale", "lab_fixture", "require_root",
    "pytest_require_root",
    "read_pcap", "exit_on_sigterm", "DEFAULT_PREFIX", "ALLOWED_NETS",
]

DEFAULT_PREFIX = "fdl"  # "fastdhcp lab"; sweep_stale() only ever touches names with this prefix
STATE_DIR = os.environ.get("NETLAB_STATE_DIR", "/run/netlab")  # tmpfs: gone after reboot, as are netns
IFNAMSIZ = 15  # Linux interface names are at most 15 bytes (IFNAMSIZ - 1)

# The only address space a lab may configure: RFC 1918, RFC 5737 documentation, RFC 2544
# benchmarking, and their v6 cousins. Inside a namespace nothing routes anywhere anyway; this is
# a guard against a test copying a real address into a lab.
ALLOWED_NETS = tuple(ipaddress.ip_network(n) for n in (
    "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16",
    "192.0.2.0/24", "198.51.100.0/24", "203.0.113.0/24", "198.18.0.0/15",
    "fd00::/8", "2001:db8::/32",
))

DHCP_BPF = "udp port 67 or udp port 68"


class LabError(RuntimeError):
    pass


# ---------------------------------------------------------------------------------------------
# small helpers

def _sh(argv, *, check=True, timeout=30, input=None):
    """Run a short admin command (ip, kill helpers) and return CompletedProcess."""
    p = subprocess.run(argv, input=input, capture_output=True, text=True, timeout=timeout)
    if check and p.returncode != 0:
        raise LabError(f"{shlex.join(argv)} failed ({p.returncode}): {p.stderr.strip()}")
    return p


def _proc_starttime(pid):
    """Start time (clock ticks since boot) of pid, or None if it does not exist.

    A bare "is pid alive" check is fooled by PID reuse; pid + starttime identifies a process."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            data = f.read()
    except OSError:
        return None
    # comm (field 2) may contain spaces and parens: split after the last ')'
    fields = data[data.rfind(b")") + 2:].split()
    return int(fields[19])  # field 22 overall


def _alive(pid, starttime=None):
    st = _proc_starttime(pid)
    return st is not None and (starttime is None or st == starttime)


def _list_netns():
    p = _sh(["ip", "netns", "list"], check=False)
    # lines look like "name" or "name (id: 3)"
    return [ln.split()[0] for ln in p.stdout.splitlines() if ln.strip()]


def _netns_pids(ns):
    p = _sh(["ip", "netns", "pids", ns], check=False)
    return [int(x) for x in p.stdout.split() if x.isdigit()]


def _kill_netns_procs(ns, grace=2.0):
    """Kill every process still running inside namespace ns (by PID): daemons that forked away
    from the process we spawned (dhclient, dhcpcd) would otherwise keep the namespace alive."""
    pids = [p for p in _netns_pids(ns) if p != os.getpid()]
    for sig in (signal.SIGTERM, signal.SIGKILL):
        for pid in pids:
            try:
                os.kill(pid, sig)
            except ProcessLookupError:
                pass
        deadline = time.monotonic() + grace
        while time.monotonic() < deadline:
            pids = [p for p in pids if _alive(p) and not _is_zombie(p)]
            if not pids:
                return
            time.sleep(0.05)


def _is_zombie(pid):
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            data = f.read()
    except OSError:
        return True
    return data[data.rfind(b")") + 2:][:1] == b"Z"


def _destroy_netns(ns):
    _kill_netns_procs(ns)
    if ns in _list_netns():
        _sh(["ip", "netns", "del", ns], check=False)
    # /etc/netns/<ns> holds the per-namespace resolv.conf we made (see Lab.netns)
    shutil.rmtree(os.path.join("/etc/netns", ns), ignore_errors=True)


def _check_addr(cidr):
    iface = ipaddress.ip_interface(cidr)
    if not any(iface.network.version == n.version and iface.network.subnet_of(n) for n in ALLOWED_NETS):
        raise ValueError(f"{cidr}: not in private/documentation test space {[str(n) for n in ALLOWED_NETS]}")
    return str(iface)


def require_root():
    """Raise if not root. Lab tests must fail loudly in CI, never skip (STYLE.md)."""
    if os.geteuid() != 0:
        raise LabError("netlab needs root (network namespaces); run the end-to-end tests as root")


def exit_on_sigterm():
    """Turn SIGTERM into SystemExit so `with Lab()` blocks and finally clauses still clean up
    (Python's default SIGTERM action kills the process without unwinding)."""
    if threading.current_thread() is threading.main_thread() and \
            signal.getsignal(signal.SIGTERM) in (signal.SIG_DFL, None):
        signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))


# ---------------------------------------------------------------------------------------------
# stale-run sweeping

def _state_files(prefix):
    try:
        names = os.listdir(STATE_DIR)
    except FileNotFoundError:
        return []
    return [os.path.join(STATE_DIR, n) for n in names if n.startswith(prefix) and n.endswith(".json")]


def _load_state(path):
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def sweep_stale(prefix=DEFAULT_PREFIX):
    """Remove namespaces, temp dirs and state files of earlier labs whose owner process is dead.

    Only names starting with ``prefix`` are considered; a namespace whose owner is alive (or whose
    owner cannot be determined) is left alone. Returns the list of namespaces removed."""
    if not prefix:
        raise ValueError("sweep_stale needs a non-empty prefix")
    removed = []
    live_tags, dead_tags = set(), set()
    for path in _state_files(prefix):
        st = _load_state(path)
        if st is None:
            continue
        if _alive(st.get("pid", -1), st.get("starttime")):
            live_tags.add(st["tag"])
            continue
        dead_tags.add(st["tag"])
        for ns in st.get("namespaces", []):
            _destroy_netns(ns)
            removed.append(ns)
        d = st.get("dir")
        if d and os.path.basename(d).startswith(f"netlab-{st['tag']}-") and not st.get("keep_dir"):
            shutil.rmtree(d, ignore_errors=True)
        try:
            os.unlink(path)
        except FileNotFoundError:
            pass
    # Namespaces no state file accounts for (e.g. the state dir was wiped): the owner PID is
    # part of the name. If that PID is alive and nothing proves it was reused, leave it.
    for ns in _list_netns():
        parts = ns.split("-", 2)
        if not ns.startswith(prefix) or ns in removed or len(parts) < 3 or not parts[1].isdigit():
            continue
        tag, pid = parts[0], int(parts[1])
        if tag in live_tags or (tag not in dead_tags and _alive(pid)):
            continue
        _destroy_netns(ns)
        removed.append(ns)
    # per-namespace /etc/netns dirs whose namespace is already gone
    present = set(_list_netns())
    try:
        for name in os.listdir("/etc/netns"):
            if name.startswith(prefix) and name not in present \
                    and name.split("-", 1)[0] not in live_tags:
                shutil.rmtree(os.path.join("/etc/netns", name), ignore_errors=True)
    except FileNotFoundError:
        pass
    return removed


# ---------------------------------------------------------------------------------------------
# the lab

@dataclasses.dataclass(frozen=True)
class Link:
    """One veth pair: end a in ns_a, end b in ns_b."""
    ns_a: str
    if_a: str
    ns_b: str
    if_b: str
    addr_a: str | None = None
    addr_b: str | None = None
    mac_a: str | None = None
    mac_b: str | None = None


class Capture:
    """A running dumpcap/tcpdump; stop() ends it cleanly so the file is complete."""

    def __init__(self, lab, proc, path, tool):
        self.lab, self.proc, self.path, self.tool = lab, proc, path, tool
        self.stderr_lines = []

    def stop(self, settle=0.6, timeout=10):
        """Let in-flight packets land (settle: dumpcap reads the ring in blocks with a ~250 ms
        timeout), then SIGINT and wait; returns the file path."""
        if self.proc.poll() is None:
            time.sleep(settle)
            try:
                os.killpg(self.proc.pid, signal.SIGINT)
            except ProcessLookupError:
                pass
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.lab._terminate(self.proc)
        if self in self.lab._captures:
            self.lab._captures.remove(self)
        return self.path


class Lab:
    """A set of network namespaces, veth links and processes that all go away on close()."""

    def __init__(self, prefix=DEFAULT_PREFIX, *, sweep=True, keep_dir=False, ipv6=False,
                 resolv_guard=True):
        """prefix: at most 4 chars, shared by all runs of one project (what sweep_stale matches).
        keep_dir: keep the temp dir (configs, logs) after close, for debugging.
        ipv6: leave IPv6 enabled in the namespaces (off by default: no RS/MLD noise on links).
        resolv_guard: give each namespace its own empty /etc/resolv.conf (ip netns exec bind-mounts
        /etc/netns/<ns>/*), so a client hook that writes DNS settings cannot touch the host's."""
        require_root()
        if not (1 <= len(prefix) <= 4 and prefix.isalnum()):
            raise ValueError("prefix must be 1-4 alphanumeric chars (interface names are <= 15)")
        if sweep:
            sweep_stale(prefix)
        self.prefix = prefix
        self.pid = os.getpid()
        self._starttime = _proc_starttime(self.pid)
        existing = _list_netns()
        while True:  # 36**4 tags; make sure no live lab uses ours
            tag = prefix + "".join(secrets.choice("abcdefghijklmnopqrstuvwxyz0123456789")
                                   for _ in range(4))
            if not any(n.startswith(tag + "-") for n in existing) and \
                    not os.path.exists(os.path.join(STATE_DIR, tag + ".json")):
                break
        self.tag = tag
        self.keep_dir = keep_dir
        self.ipv6 = ipv6
        self.resolv_guard = resolv_guard
        self.dir = tempfile.mkdtemp(prefix=f"netlab-{tag}-")
        self.namespaces = {}   # short name -> full name
        self.links = []
        self._procs = []       # Popen objects we started (process group leaders)
        self._captures = []
        self._nlinks = 0
        self._nbridges = 0
        self._closed = False
        self._state_path = os.path.join(STATE_DIR, tag + ".json")
        self._write_state()
        atexit.register(self.close)

    # -- bookkeeping ----------------------------------------------------------------------------

    def _write_state(self):
        # Written before anything is created, so a crash at any point leaves a trail for sweep.
        os.makedirs(STATE_DIR, exist_ok=True)
        st = {"tag": self.tag, "pid": self.pid, "starttime": self._starttime, "dir": self.dir,
              "keep_dir": self.keep_dir, "namespaces": list(self.namespaces.values()),
              "procs": [p.pid for p in self._procs]}
        tmp = self._state_path + ".tmp"
        with open(tmp, "w") as f:
            json.dump(st, f)
        os.replace(tmp, self._state_path)

    def _ns(self, ns):
        """Resolve a short or full namespace name; refuse anything this lab did not create
        (in particular the root namespace)."""
        if ns in self.namespaces:
            return self.namespaces[ns]
        if ns in self.namespaces.values():
            return ns
        raise LabError(f"namespace {ns!r} does not belong to lab {self.tag}")

    def path(self, *names):
        """A path inside this lab's temp dir (removed on close unless keep_dir)."""
        return os.path.join(self.dir, *names)

    # -- topology -------------------------------------------------------------------------------

    def netns(self, name):
        """Create namespace <tag>-<pid>-<name> with lo up; returns its full name."""
        if not name.replace("_", "").isalnum() or name in self.namespaces:
            raise ValueError(f"bad or duplicate namespace name {name!r}")
        full = f"{self.tag}-{self.pid}-{name}"
        self.namespaces[name] = full
        self._write_state()
        _sh(["ip", "netns", "add", full])
        _sh(["ip", "-n", full, "link", "set", "lo", "up"])
        if not self.ipv6:
            for key in ("net.ipv6.conf.all.disable_ipv6", "net.ipv6.conf.default.disable_ipv6"):
                self.sysctl(full, key, "1")
        if self.resolv_guard:
            d = os.path.join("/etc/netns", full)
            os.makedirs(d, exist_ok=True)
            with open(os.path.join(d, "resolv.conf"), "w") as f:
                f.write(f"# netlab {self.tag}: private resolv.conf of namespace {full}\n")
        return full

    def link(self, ns_a, ns_b, addr_a=None, addr_b=None, *, name_a=None, name_b=None,
             mac_a=None, mac_b=None, mtu=None, master_b=None):
        """Create a veth pair with end a in ns_a and end b in ns_b, both up.

        addr_a/addr_b: optional 'a.b.c.d/len' (checked against ALLOWED_NETS). Names default to
        <tag><n>a / <tag><n>b. master_b: a bridge in ns_b to enslave end b to (see bridge())."""
        ns_a, ns_b = self._ns(ns_a), self._ns(ns_b)
        n = self._nlinks
        self._nlinks += 1
        name_a = name_a or f"{self.tag}{n:x}a"
        name_b = name_b or f"{self.tag}{n:x}b"
        for nm in (name_a, name_b):
            if not 0 < len(nm) <= IFNAMSIZ:
                raise ValueError(f"interface name {nm!r} longer than {IFNAMSIZ}")
        if addr_a:
            addr_a = _check_addr(addr_a)
        if addr_b:
            addr_b = _check_addr(addr_b)
        # Created inside ns_a with its peer placed straight into ns_b: the pair never exists in
        # the root namespace, not even for a moment.
        argv = ["ip", "-n", ns_a, "link", "add", name_a]
        if mac_a:
            argv += ["address", mac_a]
        if mtu:
            argv += ["mtu", str(mtu)]
        argv += ["type", "veth", "peer", "name", name_b]
        if mac_b:
            argv += ["address", mac_b]
        if mtu:
            argv += ["mtu", str(mtu)]
        argv += ["netns", ns_b]
        _sh(argv)
        if master_b:
            _sh(["ip", "-n", ns_b, "link", "set", name_b, "master", master_b])
        for ns, nm, addr in ((ns_a, name_a, addr_a), (ns_b, name_b, addr_b)):
            if addr:
                _sh(["ip", "-n", ns, "addr", "add", addr, "dev", nm])
            _sh(["ip", "-n", ns, "link", "set", nm, "up"])
        link = Link(ns_a, name_a, ns_b, name_b, addr_a, addr_b,
                    self.mac(ns_a, name_a), self.mac(ns_b, name_b))
        self.links.append(link)
        return link

    def bridge(self, ns, addr=None, *, name=None, mac=None):
        """Create an up Linux bridge in ns (a 'switch': link(..., master_b=br) plugs veths into
        it), optionally with an address; returns its name."""
        ns = self._ns(ns)
        name = name or f"{self.tag}br{self._nbridges:x}"
        self._nbridges += 1
        if len(name) > IFNAMSIZ:
            raise ValueError(f"interface name {name!r} longer than {IFNAMSIZ}")
        argv = ["ip", "-n", ns, "link", "add", name]
        if mac:
            argv += ["address", mac]
        # forward_delay 0: ports forward at once instead of after 15 s of STP listening/learning
        _sh(argv + ["type", "bridge", "forward_delay", "0"])
        if addr:
            _sh(["ip", "-n", ns, "addr", "add", _check_addr(addr), "dev", name])
        _sh(["ip", "-n", ns, "link", "set", name, "up"])
        return name

    def ip(self, ns, *args, check=True):
        """`ip -n <ns> ARGS...` (e.g. lab.ip(srv, 'route', 'add', '198.51.100.0/24', 'via', ...))."""
        return _sh(["ip", "-n", self._ns(ns), *args], check=check)

    def addr(self, ns, ifname, cidr):
        self.ip(ns, "addr", "add", _check_addr(cidr), "dev", ifname)

    def mac(self, ns, ifname):
        out = self.ip(ns, "-j", "link", "show", "dev", ifname).stdout
        return json.loads(out)[0].get("address")

    def sysctl(self, ns, key, value):
        """Set a (per-namespace) sysctl: /proc/sys/net is the writer's own namespace's view."""
        path = "/proc/sys/" + key.replace(".", "/")
        _sh(["ip", "netns", "exec", self._ns(ns), "sh", "-c", 'printf "%s\\n" "$1" > "$2"',
             "sh", str(value), path])

    # -- processes ------------------------------------------------------------------------------

    def _wrap(self, ns, argv, binds):
        """argv to run inside ns. binds: {target_dir: source_dir} bind-mounted first, in the
        private mount namespace `ip netns exec` makes (MS_SLAVE, so nothing leaks out): lets two
        daemons that insist on fixed paths (/run/dhcpcd, /var/lib/dhcpcd) coexist, and keeps
        them away from the host's files. Targets that do not exist are created as empty dirs and
        left in place (removing one would unmount it under a concurrent lab using it too)."""
        ns = self._ns(ns)
        argv = [str(a) for a in argv]
        if not binds:
            return ["ip", "netns", "exec", ns, *argv]
        lines = ["set -e"]
        for tgt, src in binds.items():
            os.makedirs(src, exist_ok=True)
            lines.append(f"mkdir -p {shlex.quote(tgt)}")
            lines.append(f"mount --bind {shlex.quote(src)} {shlex.quote(tgt)}")
        lines.append('exec "$@"')
        return ["ip", "netns", "exec", ns, "sh", "-c", "\n".join(lines), "sh", *argv]

    def spawn(self, ns, argv, *, log=None, binds=None, **popen_kw):
        """Start argv inside ns in its own session (so close() can kill its process group).

        stdout+stderr go to `log` (default: <labdir>/<argv0>-<n>.log, exposed as proc.log_path)
        unless popen_kw overrides them. Returns the subprocess.Popen."""
        cmd = self._wrap(ns, argv, binds)
        opened = None
        if "stdout" not in popen_kw:
            if log is None:
                log = self.path(f"{os.path.basename(str(argv[0]))}-{len(self._procs)}.log")
            opened = open(log, "ab")
            popen_kw["stdout"] = opened
            popen_kw.setdefault("stderr", subprocess.STDOUT)
        popen_kw.setdefault("stdin", subprocess.DEVNULL)
        try:
            proc = subprocess.Popen(cmd, start_new_session=True, **popen_kw)
        finally:
            if opened:
                opened.close()  # the child has its own copy
        proc.log_path = log
        proc.netns = self._ns(ns)
        self._procs.append(proc)
        self._write_state()
        return proc

    def start_server(self, ns, config_path, *, server="fastdhcp", name="server", args=(),
                     timeout=20.0):
        """Start a DHCPv4 server on config_path inside ns: `fastdhcp serve` (from this source
        tree) or Debian's kea-dhcp4, whose PID and lock files go into the lab directory (no
        clash with a system Kea or another run). Returns once it listens on port 67; its output
        goes to <labdir>/<name>.out."""
        repo = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
        env = dict(os.environ, KEA_PIDFILE_DIR=self.dir, KEA_LOCKFILE_DIR=self.dir,
                   PYTHONPATH=repo + os.pathsep + os.environ.get("PYTHONPATH", ""))
        argv = ["kea-dhcp4", "-c", config_path] if server == "kea" else \
            [sys.executable, "-m", "fastdhcp", "serve", "-c", config_path, *args]
        proc = self.spawn(ns, argv, env=env, cwd=repo, log=self.path(f"{name}.out"))
        self.wait_udp_listen(ns, 67, timeout=timeout, proc=proc)
        return proc

    def run(self, ns, argv, timeout=30, *, check=False, binds=None, input=None):
        """Run argv inside ns to completion (bounded by timeout: the whole process group is
        killed then, and LabError raised). Returns CompletedProcess with text stdout/stderr."""
        cmd = self._wrap(ns, argv, binds)
        proc = subprocess.Popen(cmd, start_new_session=True, text=True,
                                stdin=subprocess.PIPE if input is not None else subprocess.DEVNULL,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        try:
            out, err = proc.communicate(input=input, timeout=timeout)
        except subprocess.TimeoutExpired:
            self._terminate(proc, grace=1.0)
            out, err = proc.communicate()
            raise LabError(f"timeout after {timeout}s: {shlex.join(map(str, argv))}\n"
                           f"stdout: {out}\nstderr: {err}") from None
        cp = subprocess.CompletedProcess(argv, proc.returncode, out, err)
        if check and proc.returncode != 0:
            raise LabError(f"{shlex.join(map(str, argv))} in {ns} failed ({proc.returncode}): "
                           f"{err.strip() or out.strip()}")
        return cp

    def _terminate(self, proc, sig=signal.SIGTERM, grace=5.0):
        """Signal proc's process group, escalate to SIGKILL after grace; returns returncode.
        Only while proc is unreaped is its PID (= PGID) certainly still ours."""
        if proc.poll() is None:
            try:
                os.killpg(proc.pid, sig)
            except ProcessLookupError:
                pass
            try:
                proc.wait(grace)
            except subprocess.TimeoutExpired:
                try:
                    os.killpg(proc.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                proc.wait(5)
        return proc.returncode

    def stop(self, proc, sig=signal.SIGTERM, grace=5.0):
        """Stop a spawned process (and its group); returns its exit code."""
        rc = self._terminate(proc, sig, grace)
        if proc in self._procs:
            self._procs.remove(proc)
        return rc

    def signal(self, proc, sig):
        """Send sig to a spawned process that is still running (renew/release triggers etc.)."""
        if proc.poll() is None:
            os.kill(proc.pid, sig)

    def ping(self, ns, addr, count=1, timeout=2):
        """ICMP-ping addr from ns; True if answered. Uses iputils ping or busybox's (whichever
        exists: minimal images often lack iputils)."""
        if shutil.which("ping"):
            argv = ["ping"]
        elif shutil.which("busybox"):
            argv = ["busybox", "ping"]
        else:
            raise LabError("neither ping nor busybox is installed")
        argv += ["-c", str(count), "-W", str(timeout), str(addr)]
        return self.run(ns, argv, timeout=count * timeout + 5).returncode == 0

    def wait_for(self, pred, timeout=10.0, interval=0.05, what="condition"):
        """Poll pred() until truthy (returned) or raise LabError after timeout."""
        deadline = time.monotonic() + timeout
        while True:
            v = pred()
            if v:
                return v
            if time.monotonic() >= deadline:
                raise LabError(f"timed out after {timeout}s waiting for {what}")
            time.sleep(interval)

    def wait_udp_listen(self, ns, port, timeout=10.0, proc=None):
        """Wait until something in ns has a UDP socket bound to port (e.g. a server is up).
        If proc is given and exits meanwhile, fail at once with its log."""
        ns = self._ns(ns)

        def bound():
            if proc is not None and proc.poll() is not None:
                raise LabError(f"process exited ({proc.returncode}) before binding udp/{port}: "
                               f"{self.tail(proc)}")
            out = _sh(["ip", "netns", "exec", ns, "ss", "-Hlun"], check=False).stdout
            return any(ln.split()[3].rsplit(":", 1)[-1] == str(port)
                       for ln in out.splitlines() if len(ln.split()) > 3)
        return self.wait_for(bound, timeout, what=f"udp/{port} in {ns}")

    def tail(self, proc, n=4000):
        """The last n chars of a spawned process's log (for error messages)."""
        try:
            with open(proc.log_path, "rb") as f:
                f.seek(0, 2)
                f.seek(max(0, f.tell() - n))
                return f.read().decode(errors="replace")
        except (OSError, TypeError, AttributeError):
            return ""

    # -- capture --------------------------------------------------------------------------------

    def capture(self, ns, ifname, path, bpf=DHCP_BPF, *, tool="dumpcap", fmt="pcapng",
                linktype=None, timeout=10.0):
        """Start capturing on ifname ('any' for a cooked SLL capture) inside ns into path and
        return once the capture is really running (the tool has activated the socket, set the
        filter and opened the file), so no packet sent afterwards is missed.

        tool: 'dumpcap' (fmt 'pcapng' or 'pcap') or 'tcpdump' (always classic pcap, unbuffered).
        linktype: e.g. 'LINUX_SLL2' with ifname 'any'."""
        ns = self._ns(ns)
        path = os.path.abspath(path)
        if os.path.exists(path):
            os.unlink(path)
        if tool == "dumpcap":
            argv = ["dumpcap", "-i", ifname, "-w", path, "-f", bpf]
            argv += ["-P"] if fmt == "pcap" else ["-n"]
            ready = "File: "  # printed after the input is activated and the file opened
        elif tool == "tcpdump":
            if fmt != "pcap":
                raise ValueError("tcpdump writes classic pcap only")
            # -Z root: Debian's tcpdump otherwise drops to user tcpdump before opening the file
            # --immediate-mode: hand each packet over at once instead of per TPACKET_V3 block
            # (which a stop() could cut off).
            argv = ["tcpdump", "-i", ifname, "-w", path, "-U", "-n", "-Z", "root",
                    "--immediate-mode", bpf]
            ready = "listening on"  # printed after pcap_activate + setfilter
        else:
            raise ValueError(tool)
        if linktype:
            argv[3:3] = ["-y", linktype]
        proc = self.spawn(ns, argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        cap = Capture(self, proc, path, tool)
        started = threading.Event()

        def reader():  # drain stderr forever so the tool never blocks on a full pipe
            for raw in proc.stderr:
                line = raw.decode(errors="replace").rstrip()
                cap.stderr_lines.append(line)
                if ready in line:
                    started.set()
        threading.Thread(target=reader, daemon=True).start()
        deadline = time.monotonic() + timeout
        while not (started.is_set() and os.path.exists(path)):
            if proc.poll() is not None or time.monotonic() > deadline:
                self._terminate(proc)
                raise LabError(f"{tool} on {ns}:{ifname} did not start: "
                               + "\n".join(cap.stderr_lines))
            time.sleep(0.02)
        self._captures.append(cap)
        return cap

    # -- teardown -------------------------------------------------------------------------------

    def close(self):
        """Stop captures (cleanly), kill spawned process groups, kill anything left in our
        namespaces, delete them, remove the temp dir and the state file. Idempotent; does
        nothing in a forked child. Raises LabError if something of ours is still there."""
        if self._closed or os.getpid() != self.pid:
            return
        self._closed = True
        errors = []
        for cap in list(self._captures):
            try:
                cap.stop(settle=0)
            except Exception as e:  # keep tearing down
                errors.append(f"capture {cap.path}: {e}")
        for proc in reversed(self._procs):
            try:
                self._terminate(proc, grace=3.0)
            except Exception as e:
                errors.append(f"pid {proc.pid}: {e}")
        self._procs.clear()
        for ns in self.namespaces.values():
            try:
                _destroy_netns(ns)
            except Exception as e:
                errors.append(f"netns {ns}: {e}")
        if not self.keep_dir:
            shutil.rmtree(self.dir, ignore_errors=True)
        try:
            os.unlink(self._state_path)
        except FileNotFoundError:
            pass
        atexit.unregister(self.close)
        left = [n for n in _list_netns() if n.startswith(self.tag + "-")]
        if left:
            errors.append(f"namespaces still present: {left}")
        if errors:
            raise LabError("lab teardown incomplete: " + "; ".join(errors))

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        try:
            self.close()
        except LabError as e:
            if exc_type is None:
                raise
            warnings.warn(str(e), stacklevel=2)  # don't mask the body's own exception
        return False


# ---------------------------------------------------------------------------------------------
# pytest glue (imported lazily so netlab stays usable without pytest)

def pytest_require_root():
    """In a pytest test: fail when not root. Namespace tests never skip: a run without them
    would look green while proving nothing (the README's test command runs as root)."""
    import pytest
    if os.geteuid() != 0:
        pytest.fail("netlab tests need root (network namespaces); run the suite as root, as CI does")


def lab_fixture(name="lab", scope="function", **lab_kw):
    """Return a pytest fixture yielding a fresh Lab, closed afterwards even if the test fails.

    Usage at module level of a test file:  lab = lab_fixture()
    (or with scope="module" to share one lab across a file's tests)."""
    import pytest

    @pytest.fixture(name=name, scope=scope)
    def _fixture():
        pytest_require_root()
        with Lab(**lab_kw) as lab:
            yield lab
    return _fixture


# ---------------------------------------------------------------------------------------------
# reading captures without tshark

def read_pcap(path):
    """Packets of a classic pcap or pcapng file as a list of (linktype, bytes).

    Minimal on purpose (no timestamps, no options): enough for tests to look at what a capture
    holds without depending on tshark."""
    with open(path, "rb") as f:
        data = f.read()
    out = []
    magic = data[:4]
    if magic in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1", b"\xa1\xb2\xc3\xd4", b"\xa1\xb2\x3c\x4d"):
        e = "<" if magic[0] in (0xD4, 0x4D) else ">"
        linktype = struct.unpack_from(e + "I", data, 20)[0] & 0x0FFFFFFF
        off = 24
        while off + 16 <= len(data):
            incl = struct.unpack_from(e + "I", data, off + 8)[0]
            out.append((linktype, data[off + 16: off + 16 + incl]))
            off += 16 + incl
        return out
    if magic == b"\x0a\x0d\x0d\x0a":
        e = "<" if data[8:12] == b"\x4d\x3c\x2b\x1a" else ">"
        linktypes = []
        off = 0
        while off + 12 <= len(data):
            btype, blen = struct.unpack_from(e + "II", data, off)
            if blen < 12:
                break
            if btype == 0x0A0D0D0A:  # section header: interface ids restart
                e = "<" if data[off + 8: off + 12] == b"\x4d\x3c\x2b\x1a" else ">"
                btype, blen = struct.unpack_from(e + "II", data, off)
                linktypes = []
            elif btype == 1:  # interface description
                linktypes.append(struct.unpack_from(e + "H", data, off + 8)[0])
            elif btype == 6:  # enhanced packet
                ifid, _, _, caplen = struct.unpack_from(e + "IIII", data, off + 8)
                out.append((linktypes[ifid], data[off + 28: off + 28 + caplen]))
            elif btype == 3:  # simple packet
                out.append((linktypes[0], data[off + 12: off + blen - 4]))
            off += blen
        return out
    raise ValueError(f"{path}: not a pcap/pcapng file")
