"""The server: sockets, the uvloop loop, timers, signals and reload around the native Engine.

One UDP socket on port 67 (IP_PKTINFO tells the ingress interface; SO_BROADCAST for broadcast
replies) is registered with ``loop.add_reader``; each wake-up runs Engine.process, which does a
whole batch natively (recvmmsg -> parse -> decide -> build -> lease rows -> sendmmsg), until the
socket is drained or the budget is spent, so other work (timers, signals) still gets its turn.
With ``dhcp-socket-type: raw`` an AF_PACKET socket (send-only) carries the unicast replies on
directly attached links (to yiaddr or ciaddr, as frames to chaddr: no ARP, no neighbour entry). SIGHUP reloads the configuration; a bad one is refused and the old one keeps
serving. SIGTERM and SIGINT stop cleanly.

Durability (``--durability``; Kea's config has no such knob): ``fsync`` (default) makes each
batch's lease rows durable with one fdatasync before its ACKs leave (group commit, on the engine's
committer thread while the next batch is decided); ``write`` is Kea's memfile behaviour (in the
OS before the ACKs: survives kill -9, not power loss); ``none`` keeps no file, as ``persist:
false`` does (no file is read or written).
"""

from __future__ import annotations

import asyncio
import fcntl
import json
import logging
import os
import signal
import socket
import struct
import subprocess
import sys
import termios
import time

import uvloop

from . import __version__
from . import config as config_mod
from . import logs
from .leases import lfc
from ._core import Allocator
from ._enums import Durability
from .config import DEFAULT_LEASE_FILE
from .errors import Problem
from .control.channel import ControlChannel
from .control.pacing import Pacer
from .control.stats import StatsManager
from .eventlog import DEFAULT_LIMIT, EventLog
from .messages import kea_log
from .leases.memfile import load_lease_file, open_lease_file
from .policy import compile_policy, discover_links

log = logging.getLogger("fastdhcp.server")

IP_PKTINFO = getattr(socket, "IP_PKTINFO", 8)
BATCHES_PER_WAKEUP = 64         # then yield to the loop (timers, signals) before reading on
RECLAIM_INTERVAL = 1.0          # seconds between expiry passes
DDNS_INTERVAL = 0.1             # seconds between drains of the DNS update queue when idle
PACING_WINDOW = 0.02            # seconds over which the datagrams per wake-up are averaged ...
PACING_QUEUE = 8                # ... and the average from which the packets come first


def config_summary(config) -> str:
    """Kea's SrvConfig::getConfigSummary for DHCPv4, as DHCP4_CONFIG_COMPLETE shows it."""
    n = len(config.subnets)
    return (f"added IPv4 subnets: {n}" if n else "no IPv4 subnets!") + "; DDNS: disabled"


def one_line(e: Exception) -> str:
    """An error as one log line's reason (a ConfigError's problems joined by '; ')."""
    return "; ".join(str(e).splitlines()) or type(e).__name__


class Server:
    def __init__(self, config_path: str, *, port: int = 67, batch_size: int = 64,
                 durability: str = "fsync", log_sample: int = DEFAULT_LIMIT):
        self.config_path = config_path
        self.port = port
        self.batch_size = batch_size
        self.durability = durability
        self.config = config_mod.load_config(config_path)
        self.links = discover_links(self.config)
        self.lease_db = None                 # fastdhcp.leases.pgsql.LeaseStore (type postgresql)
        self.cluster = None                  # fastdhcp.cluster.ownership.Ownership (a cluster's)
        self.engine = self._engine(self.config, self.links)
        self.lease_fd = -1
        self.lfc_proc: subprocess.Popen | None = None
        self.lfc_timer: asyncio.TimerHandle | None = None
        # Leases of subnets a reload took away, kept (as Kea's lease manager keeps them) for a
        # later reload that brings the subnet back: its clients still hold them, and the file
        # still has them. None, or an Allocator with just those subnets; their Subnet configs.
        self.parked: Allocator | None = None
        self.parked_subnets: dict[int, config_mod.Subnet] = {}
        # A SIGHUP or SIGUSR1 before the loop serves (loading a million leases takes a second)
        # must not kill the server, their default action: a reload asked for is done once
        # serving, a stats request is dropped.
        self.reload_pending = False
        self.events = EventLog(log_sample)   # Kea's messages about packets, sampled
        self.ddns = None                     # NameChangeSender while dhcp-ddns enable-updates
        self.pacer = Pacer(self._packets_waiting)   # control work while datagrams wait
        self.wakeups = self.datagrams = 0
        self.queue_seen, self.queue_depth = (time.monotonic(), 0, 0), 0.0
        signal.signal(signal.SIGHUP, lambda *_: setattr(self, "reload_pending", True))
        signal.signal(signal.SIGUSR1, signal.SIG_IGN)
        self._load_leases(self.engine)      # the leases first: nothing is answered without them
        self.sock = self._udp_socket()
        self.raw = self._raw_socket() if self.engine.raw_sockets else None
        self.stopping: asyncio.Future | None = None
        self.exit_value = 0
        self.started = self.reloaded = time.time()
        # dhcp-disable: datagrams are read and dropped, as Kea drops them, until dhcp-enable or
        # max-period (then the handle that re-enables)
        self.disabled = False
        self.disabled_drops = 0
        self.enable_timer: asyncio.TimerHandle | None = None
        self.control = ControlChannel(self)
        self.metrics_address: str | None = None     # --metrics ADDRESS:PORT
        self.metrics_listener: asyncio.AbstractServer | None = None
        self.statistics = StatsManager(self)     # Kea's statistics over the native counters

    def _engine(self, config, links):
        engine = compile_policy(config, links, batch_size=self.batch_size)
        engine.durability = (Durability.named(self.durability) if config.lease_database.persist
                             else Durability.NONE)
        if self.lease_db is not None:        # (a reload: the same database, a new engine)
            engine.set_lease_database(self.lease_db.connection)
        return engine

    # ---- sockets and lease file ------------------------------------------------------------------

    def _udp_socket(self) -> socket.socket:
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1)
        s.setsockopt(socket.IPPROTO_IP, IP_PKTINFO, 1)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
        s.bind(("0.0.0.0", self.port))
        s.setblocking(False)
        return s

    def _raw_socket(self) -> socket.socket | None:
        try:
            # protocol 0: a send-only packet socket (it receives nothing)
            return socket.socket(socket.AF_PACKET, socket.SOCK_RAW, 0)
        except PermissionError:
            log.warning("no AF_PACKET socket (needs CAP_NET_RAW): replies to clients without an "
                        "address will be broadcast instead, replies to ciaddr wait for ARP")
            self.engine.raw_sockets = False
            return None

    def lease_path(self) -> str | None:
        db = self.config.lease_database
        if not db.persist or self.durability == "none" or db.type != "memfile":
            return None
        return db.name or DEFAULT_LEASE_FILE

    def _load_leases(self, engine) -> None:
        if self.config.lease_database.type == "postgresql":
            from .leases.pgsql import LeaseDatabaseError, LeaseStore
            self.lease_db = LeaseStore.open(self.config.lease_database)
            if self.config.lease_database.cluster_server:
                from .cluster.ownership import ClusterError, Ownership
                try:
                    self.cluster = Ownership(self.lease_db, self.config.lease_database)
                except ClusterError as e:
                    raise LeaseDatabaseError(f"Dhcp4.lease-database.user-context."
                                             f"fastdhcp-cluster: {e}") from None
                owned = self.cluster.tick() or {}
                self._shard_engine(engine, owned)
                self.lease_db.connection.set_fence(self.cluster.fence(owned))
                log.info("cluster: server %s owns shards %s of %d", self.cluster.me,
                         sorted(owned), self.cluster.n)
            else:
                self.lease_db.load(engine.alloc, now=int(time.time()))
            engine.set_lease_database(self.lease_db.connection)
            return
        path = self.lease_path()
        if path is None:
            return
        t0 = time.monotonic()
        # no compaction may move the files while they load (one a killed server left running)
        lock = lfc.acquire(path, wait=False)
        if lock is None:
            log.warning("a lease file compaction is running: waiting for it before loading")
            lock = lfc.acquire(path, wait=True)
        try:
            # opened first: its last line is mended (or cut) before the load reads it
            self.lease_fd = open_lease_file(path)
            files = lfc.recovery_order(path)       # NAME.2, NAME.1, NAME, as Kea loads them
            for f in files:
                counts = load_lease_file(engine.alloc, f, now=int(time.time()),
                                         max_row_errors=self.config.lease_database.max_row_errors)
                log.info("loaded %d lease rows from %s (%d bad rows, %d of other subnets "
                         "skipped)", counts["loaded"], f, counts["bad"], counts["other_subnet"])
        finally:
            lfc.release(path, lock)
        log.info("leases loaded from %d file(s) in %.2f s: %d in the table", len(files),
                 time.monotonic() - t0, engine.alloc.lease_count)

    # ---- the loop ------------------------------------------------------------------------------

    def _on_readable(self) -> None:
        fd, raw_fd = self.sock.fileno(), self.raw.fileno() if self.raw else -1
        if self.disabled:
            self._drop_while_disabled(fd)
            return
        now = int(time.time())
        engine = self.engine
        n = 0
        for _ in range(BATCHES_PER_WAKEUP):
            got = engine.process(fd, raw_fd, self.lease_fd, now)
            n += got
            if engine.pending_events:
                self.events.write(engine, self.config)
            if got < engine.batch.capacity:
                break
        if self.ddns is not None:
            self.ddns_drain()
        self.wakeups += 1                  # (how deep datagrams queue: the control pacing)
        self.datagrams += n

    def _packets_waiting(self) -> bool:
        """Datagrams queue for the packet path: one waits in the socket now (FIONREAD: the next
        one's size), or the wake-ups of the last PACING_WINDOW found PACING_QUEUE or more on
        average (so they had queued while the loop did other work)."""
        now = time.monotonic()
        if now - self.queue_seen[0] >= PACING_WINDOW:
            wakeups = self.wakeups - self.queue_seen[1]
            datagrams = self.datagrams - self.queue_seen[2]
            self.queue_depth = datagrams / wakeups if wakeups else 0.0
            self.queue_seen = (now, self.wakeups, self.datagrams)
        if self.queue_depth >= PACING_QUEUE:
            return True
        try:
            return struct.unpack("i", fcntl.ioctl(self.sock.fileno(), termios.FIONREAD,
                                                  b"\0\0\0\0"))[0] > 0
        except (OSError, ValueError):        # (closed while stopping)
            return False

    def _drop_while_disabled(self, fd: int) -> None:
        batch = self.engine.batch
        for _ in range(BATCHES_PER_WAKEUP):
            got = batch.receive(fd)          # (recvmmsg: nothing per datagram in Python)
            self.disabled_drops += got
            if got < batch.capacity:
                break

    def _event_tick(self) -> None:
        try:
            self.events.tick(self.engine)
        finally:
            if self.stopping is not None and not self.stopping.done():
                asyncio.get_running_loop().call_later(self.events.interval, self._event_tick)

    def ddns_drain(self) -> None:
        """Send a slice of the queued NameChangeRequests (fastdhcp.ddns)."""
        if self.ddns is not None and self.engine.name_change_counts()[2]:
            self.ddns.drain(self.engine)

    def _ddns_tick(self) -> None:
        try:
            self.ddns_drain()            # (the requests of reclamation and commands, and retries)
        finally:
            if self.stopping is not None and not self.stopping.done():
                asyncio.get_running_loop().call_later(DDNS_INTERVAL, self._ddns_tick)

    def _setup_ddns(self, config) -> None:
        """Open (or close, or move) the sender as the config's dhcp-ddns says."""
        from .ddns import NameChangeSender
        d = config.dhcp4.dhcp_ddns if config.dhcp4 is not None else None
        want = NameChangeSender.from_config(d) if d is not None and d.enable_updates else None
        if self.ddns is not None and (want is None or (want.server, want.local) !=
                                      (self.ddns.server, self.ddns.local)):
            self.ddns.close()
            self.ddns = None
        if want is not None and self.ddns is None:
            try:
                want.open()
            except OSError as e:             # (DHCP goes on; the requests wait, then drop)
                log.error("DHCPSRV_DHCP_DDNS_SENDER_FAILED sender to kea-dhcp-ddns at %s:%d "
                          "not started: %s", *want.server, e.strerror or e)
                return
            self.ddns = want

    def _reclaim(self) -> None:
        try:
            self.engine.reclaim(int(time.time()), self.lease_fd)
            self.ddns_drain()
        finally:
            if self.stopping is not None and not self.stopping.done():
                asyncio.get_running_loop().call_later(RECLAIM_INTERVAL, self._reclaim)

    # ---- a cluster's shards (fastdhcp.cluster) ---------------------------------------------------

    def _shard_engine(self, engine, owned, *, load: bool = True) -> None:
        """Make ``engine`` serve the shards in ``owned``: their blocks' rows loaded from the
        database, the other blocks kept out of its pools, the packet filter set."""
        c = self.cluster
        if load and owned:
            rows = self.lease_db.connection.lease_rows(c.where(self.config, owned))
            engine.alloc.load_csv(rows, int(time.time()),
                                  self.config.lease_database.max_row_errors)
        for lo, hi in c.foreign(self.config, owned):
            engine.alloc.exclude_range(lo, hi)
        engine.set_shards(c.n, owned)

    def apply_shards(self, owned) -> None:
        """Serve ``owned`` from the next batch on: new tables with those shards' leases (a
        takeover loads what the last owner committed), the old engine's commits drained under
        the old fence (so a lost shard's last group cannot commit), then the new fence."""
        t0 = time.monotonic()
        engine = self._engine(self.config, self.links)
        engine.raw_sockets = engine.raw_sockets and self.raw is not None
        self._shard_engine(engine, owned)
        self.engine.drain()
        self.lease_db.connection.set_fence(self.cluster.fence(owned))
        self.statistics.retire(self.engine, self.config)
        self.engine = engine
        self.statistics.configure(self.config)
        self.events.arm(engine)
        log.info("cluster: server %s serves shards %s (%d leases, %.2f s)", self.cluster.me,
                 sorted(owned), engine.alloc.lease_count, time.monotonic() - t0)

    def _cluster_tick(self) -> None:
        try:
            changed = self.cluster.tick()
            extra = self.cluster.extra()
            if extra:                         # a server joined: it gets its share
                keep = {s: e for s, e in self.cluster.owned.items() if s not in extra}
                self.apply_shards(keep)
                self.cluster.release(extra)
            elif changed is not None:
                self.apply_shards(changed)
        finally:
            if self.stopping is not None and not self.stopping.done():
                asyncio.get_running_loop().call_later(self.cluster.interval, self._cluster_tick)

    def _lease_db_tick(self) -> None:
        """The lease database's connection watched (Kea's database reconnect: its messages,
        max-reconnect-tries and on-fail), and a lost one reconnected while no packet commits."""
        try:
            action = self.lease_db.watch()
            if action == "disable":
                self.disable_service()
            elif action == "enable":
                self.enable_service()
            elif action == "exit":
                self.request_shutdown(1)
            if self.lease_db.up and self.engine.pending_rows():
                self.engine.reclaim(int(time.time()), -1)   # rows kept back go in now
        finally:
            if self.stopping is not None and not self.stopping.done():
                asyncio.get_running_loop().call_later(self.lease_db.tick_interval,
                                                      self._lease_db_tick)

    def _setup_compaction(self) -> None:
        """At start and when a reload changes lfc-interval."""
        if self.lease_fd >= 0 and self.config.lease_database.lfc_interval > 0:
            kea_log("DHCPSRV_MEMFILE_LFC_SETUP", self.config.lease_database.lfc_interval)
        self._arm_compaction()

    def _arm_compaction(self) -> None:
        """Schedule the next compaction lfc-interval seconds from now (0: none, as in Kea)."""
        if self.lfc_timer is not None:
            self.lfc_timer.cancel()
            self.lfc_timer = None
        interval = self.config.lease_database.lfc_interval
        if self.lease_fd >= 0 and interval > 0 and self.stopping is not None \
                and not self.stopping.done():
            self.lfc_timer = asyncio.get_running_loop().call_later(interval, self._compact)

    def _compact(self) -> None:
        """lfc-interval: set the live file aside and compact it in another process (Kea's LFC
        steps and file names), while this loop goes on serving into a fresh file."""
        self.lfc_timer = None
        try:
            self._start_compaction()
        finally:
            self._arm_compaction()

    def _start_compaction(self) -> None:
        path = self.lease_path()
        if path is None or (self.lfc_proc is not None and self.lfc_proc.poll() is None):
            return                                  # the previous compaction still runs
        self.engine.drain()                         # every committed row in the old file
        kea_log("DHCPSRV_MEMFILE_LFC_START")
        argv = [sys.executable, "-m", "fastdhcp.leases.lfc", path]
        try:
            if lfc.rotate(path):
                try:
                    fd = open_lease_file(path)
                except OSError as e:
                    kea_log("DHCPSRV_MEMFILE_LFC_LEASE_FILE_REOPEN_FAIL", path, e.strerror or e)
                    lfc.unrotate(path)              # go on appending to the file we have
                    raise
                os.close(self.lease_fd)
                self.lease_fd = fd
            # (also when no rotation was allowed: it finishes an unfinished compaction)
            kea_log("DHCPSRV_MEMFILE_LFC_EXECUTE", " ".join(argv))
            self.lfc_proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL)
        except OSError as e:
            kea_log("DHCPSRV_MEMFILE_LFC_SPAWN_FAIL")
            log.error("lease file compaction not started: %s", e)
            return
        log.info("lease file compaction started (pid %d)", self.lfc_proc.pid)

    def reload(self) -> None:
        """SIGHUP: re-read the configuration; keep serving the old one if the new one is bad."""
        asyncio.get_running_loop().create_task(self.reload_from_file())

    async def reload_from_file(self) -> tuple[bool, str]:
        """SIGHUP and config-reload: ``(True, "")``, or ``(False, why)`` with the old
        configuration still serving."""
        self.reload_pending = False
        kea_log("DHCP4_DYNAMIC_RECONFIGURATION", self.config_path)
        try:
            new_config = config_mod.load_config(self.config_path)
            await self.apply_config(new_config)
        except Exception as e:  # noqa: BLE001 - any failure keeps the running config
            kea_log("DHCP4_CONFIG_LOAD_FAIL", self.config_path, one_line(e))
            kea_log("DHCP4_DYNAMIC_RECONFIGURATION_FAIL", self.config_path)
            log.error("reload refused, the running configuration stays: %s", e)
            return False, str(e)
        kea_log("DHCP4_DYNAMIC_RECONFIGURATION_SUCCESS", self.config_path)
        return True, ""

    async def apply_config(self, new_config) -> None:
        """Serve ``new_config`` from the next batch on (a reload, config-set), its leases carried
        over; raises (ConfigError, OSError) with the running configuration untouched."""
        self._check_lease_database(new_config)
        links = discover_links(new_config)
        engine = self._engine(new_config, links)
        if self.cluster is not None:         # the same shards; their leases come by adopt
            self._shard_engine(engine, self.cluster.owned, load=False)
        # carry the leases over natively: the new tables start from what the old ones hold
        self.engine.drain()
        now = int(time.time())
        engine.alloc.adopt(self.engine.alloc, now=now)
        engine.take_pending_rows(self.engine)    # rows a full disk kept out of the file so far
        if self.parked is not None:          # subnets back again get their leases back
            engine.alloc.adopt(self.parked, now=now)
        self._park(new_config, now)
        engine.raw_sockets = engine.raw_sockets and self.raw is not None
        interval = self.config.lease_database.lfc_interval
        self.statistics.retire(self.engine, self.config)
        self.ddns_drain()                        # (what the old engine queued goes first)
        self.config, self.links, self.engine = new_config, links, engine
        self._setup_ddns(new_config)
        self.statistics.configure(new_config)
        if new_config.lease_database.lfc_interval != interval:
            self._setup_compaction()
        self.reloaded = time.time()
        logs.configure_logging(new_config.loggers)
        self.events.arm(engine)                  # the new loggers say which messages are on
        kea_log("DHCP4_CONFIG_COMPLETE", config_summary(new_config))
        await self.control.apply(new_config.control_sockets)
        log.info("configuration applied: %s", new_config.summary())

    def running_config_document(self) -> dict:
        """The configuration as config-get and config-write give it."""
        return self.config.raw

    # ---- what the control channel asks of the server ------------------------------------------

    def disable_service(self, max_period: int | None = None) -> None:
        self.disabled = True
        if self.enable_timer is not None:
            self.enable_timer.cancel()
            self.enable_timer = None
        if max_period:
            self.enable_timer = asyncio.get_running_loop().call_later(max_period,
                                                                      self.enable_service)
        log.warning("DHCP service disabled%s", f" for {max_period} s" if max_period else "")

    def enable_service(self) -> None:
        if self.enable_timer is not None:
            self.enable_timer.cancel()
            self.enable_timer = None
        if self.disabled:
            log.info("DHCP service enabled (%d datagrams dropped while disabled)",
                     self.disabled_drops)
        self.disabled = False

    def reclaim_now(self) -> None:
        self.engine.reclaim(int(time.time()), self.lease_fd)

    def request_shutdown(self, exit_value: int = 0) -> None:
        """shutdown: stop once the answer has left (the loop's next turn)."""
        self.exit_value = exit_value
        if self.stopping is not None and not self.stopping.done():
            asyncio.get_running_loop().call_later(0.05, lambda: self.stopping.done() or
                                                  self.stopping.set_result("shutdown command"))

    def _park(self, new_config, now: int) -> None:
        """Keep the leases of subnets that new_config does not have (from the running tables
        and from what was parked before) in a side Allocator."""
        keep = {s.id for s in new_config.subnets}
        gone = {sid: s for sid, s in self.parked_subnets.items() if sid not in keep}
        gone.update({s.id: s for s in self.config.subnets if s.id not in keep})
        parked = None
        if gone:
            parked = Allocator()
            for s in gone.values():
                parked.add_subnet(s.id, s.prefix, [(p.first, p.last) for p in s.pools],
                                  match_client_id=s.match_client_id)
            n = parked.adopt(self.engine.alloc, now=now)
            if self.parked is not None:
                n += parked.adopt(self.parked, now=now)
            log.info("%d leases of %d subnet(s) the configuration no longer has are kept for "
                     "its return", n, len(gone))
        self.parked, self.parked_subnets = parked, gone

    def _check_lease_database(self, new_config) -> None:
        """A reload keeps the lease file it has: switching files (or persistence) under a
        running server would leave the ACKed leases in one file and load the next start from
        another. That takes a restart."""
        old, new = self.config.lease_database, new_config.lease_database
        for key, a, b in (("type", old.type, new.type), ("name", old.name, new.name),
                          ("persist", old.persist, new.persist), ("host", old.host, new.host),
                          ("port", old.port, new.port), ("user", old.user, new.user)):
            if a != b:
                raise config_mod.ConfigError(
                    [Problem(f"Dhcp4.lease-database.{key}",
                             f"changed from {a!r} to {b!r}: a change of lease file needs a "
                             f"restart")], source=self.config_path)

    def log_stats(self) -> None:
        """SIGUSR1: the counters (non-zero ones) into the log, one line."""
        log.info("stats %s", json.dumps({k: v for k, v in self.stats().items() if v}))

    def stats(self) -> dict:
        """Every statistic's current value, as statistic-get-all has it (Kea's names and
        fastdhcp's own counters)."""
        return self.statistics.values()

    async def serve(self) -> int:
        loop = asyncio.get_running_loop()
        self.stopping = loop.create_future()
        loop.add_reader(self.sock.fileno(), self._on_readable)
        loop.add_signal_handler(signal.SIGTERM, self.stopping.set_result, "SIGTERM")
        loop.add_signal_handler(signal.SIGINT, self.stopping.set_result, "SIGINT")
        loop.add_signal_handler(signal.SIGHUP, self.reload)
        loop.add_signal_handler(signal.SIGUSR1, self.log_stats)
        loop.call_later(RECLAIM_INTERVAL, self._reclaim)
        if self.lease_db is not None:
            loop.call_later(self.lease_db.tick_interval, self._lease_db_tick)
        if self.cluster is not None:
            loop.call_later(self.cluster.interval, self._cluster_tick)
        self._setup_ddns(self.config)
        loop.call_later(DDNS_INTERVAL, self._ddns_tick)
        self.events.arm(self.engine)
        loop.call_later(self.events.interval, self._event_tick)
        self._setup_compaction()
        if self.reload_pending:              # a SIGHUP came while the leases were loading
            loop.call_soon(self.reload)
        await self.control.apply(self.config.control_sockets)
        kea_log("DHCP4_CONFIG_COMPLETE", config_summary(self.config))
        self.statistics.start()
        if self.metrics_address:
            from .control import metrics
            try:
                self.metrics_listener = await metrics.start(self.metrics_address, self)
            except (OSError, ValueError) as e:
                log.error("metrics listener on %s not opened: %s", self.metrics_address, e)
        log.info("serving %s on %s (port %d, %s sockets)", self.config.summary(),
                 ", ".join(l.name for l in self.links) or "no interfaces", self.port,
                 "raw" if self.raw else "udp")
        kea_log("DHCP4_STARTED", f"{__version__} (fastdhcp)")
        why = await self.stopping
        log.info("stopping (%s)", why)
        kea_log("DHCP4_SHUTDOWN")
        loop.remove_reader(self.sock.fileno())
        self.statistics.stop()
        self.control.close()
        self.ddns_drain()
        if self.ddns is not None:
            self.ddns.close()
        if self.metrics_listener is not None:
            self.metrics_listener.close()
        self.close()
        if self.cluster is not None:          # graceful hand-off: the others take them now
            self.cluster.leave()
        return self.exit_value

    def close(self) -> None:
        self.engine.drain()          # the last batch's leases on disk and its replies sent
        self.sock.close()
        if self.raw:
            self.raw.close()
        if self.lease_fd >= 0:
            os.close(self.lease_fd)
            self.lease_fd = -1


def run(config_path: str, *, port: int = 67, durability: str = "fsync",
        metrics: str | None = None, log_sample: int = DEFAULT_LIMIT) -> int:
    """``fastdhcp serve``: load, serve until SIGTERM/SIGINT. Returns the exit status."""
    try:
        cfg = config_mod.load_config(config_path)
    except config_mod.ConfigError as e:
        # Kea's two lines first (logging as Kea's defaults have it: stdout, INFO), then every
        # problem with its JSON path
        logs.configure_logging([])
        kea_log("DHCP4_CONFIG_LOAD_FAIL", config_path, one_line(e))
        kea_log("DHCP4_INIT_FAIL", f"configuration error using file '{config_path}': {one_line(e)}")
        print(f"fastdhcp serve: configuration refused:\n{e}", flush=True)
        return 1
    logs.configure_logging(cfg.loggers)
    from .leases.pgsql import LeaseDatabaseError
    try:
        server = Server(config_path, port=port, durability=durability, log_sample=log_sample)
    except LeaseDatabaseError as e:
        kea_log("DHCP4_INIT_FAIL", str(e))
        print(f"fastdhcp serve: {e}", flush=True)
        return 1
    server.metrics_address = metrics
    return uvloop.run(server.serve())
