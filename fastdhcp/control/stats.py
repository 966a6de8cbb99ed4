"""Kea's statistics (statistic-*) and the stat_cmds hook's stat-lease4-get, with samples.

The engine counts natively, per batch, and only ever up: ``Engine.stats()`` (global counters)
and, per subnet, ``Allocator.stats()`` (what the lease table holds) and
``Allocator.counters()`` (SUBNET_COUNTERS). Nothing here runs per packet. ``StatsManager``
turns those cumulative values into Kea's observations (src/lib/stats: StatsMgr, Observation):

* a statistic's value is the native value minus an offset: ``statistic-reset`` remembers the
  current native value as the new zero;
* ``statistic-remove`` hides it (and makes its value restart from zero) until the native value
  changes again, as Kea creates a removed statistic anew when it is next counted;
* samples are taken when a value is seen to change: on a timer (once a second) and before every
  statistic command, so an answer always carries the current value. Kea takes one sample per
  increment; between two polls fastdhcp keeps only the last value (docs/kea-differences.md);
* each observation keeps at most ``max-samples`` samples, or samples spanning at most
  ``duration`` seconds, as Kea's; the defaults come from ``statistic-default-sample-count``
  (20) and ``statistic-default-sample-age`` (0), applied to every statistic at each
  configuration as Kea's SrvConfig::updateStatistics applies them.

Which statistics exist from the start and which appear when first counted follows kea-dhcp4 2.2
(dhcp4_srv.cc's list, CfgSubnets4::updateStatistics). A reload restarts the per-subnet counts
Kea deletes on reconfiguration and keeps the global ones.
"""

from __future__ import annotations

import asyncio
import datetime
import time
from collections import deque
from typing import Any

from .answers import EMPTY, SUCCESS, CommandError, answer
from .registry import command

POLL_INTERVAL = 1.0

# kea-dhcp4 2.2's global statistics, all there from the start (dhcp4_srv.cc, then the lease
# statistics of the configuration)
KEA_GLOBAL = (
    "pkt4-received", "pkt4-discover-received", "pkt4-offer-received", "pkt4-request-received",
    "pkt4-ack-received", "pkt4-nak-received", "pkt4-release-received", "pkt4-decline-received",
    "pkt4-inform-received", "pkt4-unknown-received", "pkt4-sent", "pkt4-offer-sent",
    "pkt4-ack-sent", "pkt4-nak-sent", "pkt4-parse-failed", "pkt4-receive-drop",
    "v4-allocation-fail", "v4-allocation-fail-shared-network", "v4-allocation-fail-subnet",
    "v4-allocation-fail-no-pools", "v4-allocation-fail-classes", "v4-reservation-conflicts",
    "cumulative-assigned-addresses", "declined-addresses", "reclaimed-declined-addresses",
    "reclaimed-leases",
    "v4-lease-reuses",                 # (Kea 2.4's name, there from the start in 2.4)
)
# a subnet's, there from its configuration ...
KEA_SUBNET = ("total-addresses", "assigned-addresses", "cumulative-assigned-addresses",
              "declined-addresses", "reclaimed-declined-addresses", "reclaimed-leases",
              "v4-reservation-conflicts")
# ... and the ones that appear when first counted
KEA_SUBNET_LATER = ("v4-allocation-fail", "v4-allocation-fail-subnet",
                    "v4-allocation-fail-shared-network", "v4-allocation-fail-no-pools",
                    "v4-allocation-fail-classes", "v4-lease-reuses")
# what Kea deletes of a subnet's statistics on reconfiguration (CfgSubnets4::removeStatistics)
KEA_SUBNET_RESET_BY_RELOAD = ("total-addresses", "assigned-addresses",
                              "cumulative-assigned-addresses", "declined-addresses",
                              "reclaimed-declined-addresses", "reclaimed-leases")
# global values the lease table holds (not counts: a new table recounts them)
TABLE_GLOBAL = ("declined-addresses",)
# per-subnet sums that make a global statistic
_SUMMED = ("cumulative-assigned-addresses", "reclaimed-leases", "reclaimed-declined-addresses",
           "v4-allocation-fail", "v4-allocation-fail-subnet", "v4-allocation-fail-shared-network",
           "v4-allocation-fail-no-pools", "v4-allocation-fail-classes",
           "v4-reservation-conflicts", "declined-addresses")


def subnet_values(alloc, subnet_id: int) -> dict[str, int]:
    """One subnet's statistics as Kea names them (subnet[id].* without the prefix)."""
    table = alloc.stats(subnet_id)
    c = alloc.counters(subnet_id)
    out = {
        "total-addresses": table["total-addresses"],
        # Kea counts a declined address as assigned until its probation ends (dhcp4_srv.cc
        # declineLease leaves assigned-addresses alone; reclamation takes it off)
        "assigned-addresses": table["assigned-addresses"] + c["declined-while-assigned"]
        - c["declined-reclaimed"],
        "declined-addresses": table["declined-addresses"],
    }
    for name in ("cumulative-assigned-addresses", "reclaimed-declined-addresses",
                 "reclaimed-leases", "v4-reservation-conflicts", "v4-allocation-fail",
                 "v4-allocation-fail-subnet", "v4-allocation-fail-shared-network",
                 "v4-allocation-fail-no-pools", "v4-lease-reuses"):
        out[name] = c[name]
    # Kea 2.2 puts every query in a class (ALL): each failure is also one "with classes"
    out["v4-allocation-fail-classes"] = (c["v4-allocation-fail-subnet"]
                                         + c["v4-allocation-fail-shared-network"])
    return out


def native_values(engine, subnet_ids) -> dict[str, int]:
    """Every statistic's native (cumulative) value: the engine's counters under their names,
    the subnets' as subnet[id].name, and the global sums."""
    out = dict(engine.stats())
    _, io = engine.histograms()
    out.update(io)
    sums = dict.fromkeys(_SUMMED, 0)
    for sid in subnet_ids:
        for name, v in subnet_values(engine.alloc, sid).items():
            out[f"subnet[{sid}].{name}"] = v
            if name in sums:
                sums[name] += v
    out.update(sums)
    return out


def kea_time(t: float) -> str:
    """Kea's sample time (util::clockToText): local time with microseconds."""
    return datetime.datetime.fromtimestamp(t).strftime("%Y-%m-%d %H:%M:%S.%f")


class Observation:
    """One statistic as Kea keeps it: its samples, newest first, and their limit."""

    __slots__ = ("samples", "count_on", "max_count", "max_age")

    def __init__(self, value: int, now: float, count_on: bool, max_count: int, max_age: int):
        self.samples: deque[tuple[int, float]] = deque([(value, now)])
        self.count_on, self.max_count, self.max_age = count_on, max_count, max_age

    @property
    def value(self) -> int:
        return self.samples[0][0]

    def add(self, value: int, now: float) -> None:
        self.samples.appendleft((value, now))
        self.trim()

    def trim(self) -> None:
        s = self.samples
        if self.count_on:
            while len(s) > self.max_count and len(s) > 1:
                s.pop()
        else:
            while len(s) > 1 and s[0][1] - s[-1][1] > self.max_age:
                s.pop()

    def set_count(self, n: int) -> None:
        self.count_on, self.max_count = True, n
        while len(self.samples) > n and len(self.samples) > 1:   # (the value itself stays)
            self.samples.pop()

    def set_age(self, seconds: int) -> None:
        self.count_on, self.max_age = False, seconds
        self.trim()

    def json(self) -> list:
        return [[v, kea_time(t)] for v, t in self.samples]


class StatsManager:
    """Kea's StatsMgr over the native counters of ``server`` (its engine and configuration)."""

    def __init__(self, server: Any):
        self.server = server
        self.obs: dict[str, Observation] = {}
        self.offset: dict[str, int] = {}      # the native value a reset or removal made zero
        self.hidden: dict[str, int] = {}      # removed (or not yet counted): the native value then
        self.carry: dict[str, int] = {}       # global counts of the engines a reload replaced
        self.default_count_on, self.default_count, self.default_age = True, 20, 0
        self.timer: asyncio.TimerHandle | None = None
        self.configure(server.config)

    # ---- the native side ------------------------------------------------------------------------

    def native(self) -> dict[str, int]:
        out = native_values(self.server.engine, [s.id for s in self.server.config.subnets])
        if getattr(self.server, "ddns", None) is not None:    # DNS updates (fastdhcp's own)
            out.update(self.server.ddns.counts(self.server.engine))
        for name, v in self.carry.items():
            out[name] = out.get(name, 0) + v
        return out

    def always(self) -> set[str]:
        """The statistics there from the start (Kea's, and fastdhcp's own counters)."""
        names = set(KEA_GLOBAL) | {n for n in self.server.engine.stats()
                                   if not n.startswith("parse-drop-")}
        names |= {"lease-rows-written", "lease-bytes-written"}
        for s in self.server.config.subnets:
            names |= {f"subnet[{s.id}].{n}" for n in KEA_SUBNET}
        return names

    def poll(self) -> None:
        """Sample every statistic whose value changed since the last poll."""
        now = time.time()
        for name, raw in self.native().items():
            o = self.obs.get(name)
            if o is None:
                if name in self.hidden:
                    if raw == self.hidden[name]:
                        continue
                    del self.hidden[name]
                elif name not in self._always:
                    if raw == 0:
                        continue              # Kea creates it when it is first counted
                self.obs[name] = self._new(raw - self.offset.get(name, 0), now)
                continue
            value = raw - self.offset.get(name, 0)
            if value != o.value:
                o.add(value, now)

    def _new(self, value: int, now: float) -> Observation:
        return Observation(value, now, self.default_count_on, self.default_count,
                           self.default_age)

    def start(self) -> None:
        self._tick()

    def _tick(self) -> None:
        try:
            self.poll()
        finally:
            self.timer = asyncio.get_running_loop().call_later(POLL_INTERVAL, self._tick)

    def stop(self) -> None:
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None

    # ---- configuration and reload -----------------------------------------------------------------

    def retire(self, engine, config) -> None:
        """A reload is about to replace ``engine`` (serving ``config``): its global counts carry
        over to the next; the subnet statistics Kea deletes on reconfiguration go."""
        old = native_values(engine, [s.id for s in config.subnets])
        for name, v in old.items():
            if name.startswith("subnet["):
                sub = name.split("].", 1)[1]
                if sub in KEA_SUBNET_RESET_BY_RELOAD:
                    self.obs.pop(name, None)
                    self.offset.pop(name, None)
                    self.hidden.pop(name, None)
                else:
                    self.carry[name] = self.carry.get(name, 0) + v
            elif name not in TABLE_GLOBAL and not name.startswith("lease-rows-pending") \
                    and not name.startswith("lease-rows-dropped"):
                self.carry[name] = self.carry.get(name, 0) + v

    def configure(self, config) -> None:
        """The sample limits of a (new) configuration, applied to every statistic (Kea's
        SrvConfig::updateStatistics)."""
        d = config.raw.get("Dhcp4", {})
        count = d.get("statistic-default-sample-count", 20)
        age = d.get("statistic-default-sample-age", 0)
        self.default_age = age
        if count:
            self.default_count_on, self.default_count = True, count
            for o in self.obs.values():
                o.set_count(count)
        else:
            self.default_count_on = False
            for o in self.obs.values():
                o.set_age(age)
        self._always = None
        self._always = self.always()

    # ---- what the commands do -----------------------------------------------------------------------

    def value(self, name: str) -> int | None:
        o = self.obs.get(name)
        return None if o is None else o.value

    def values(self) -> dict[str, int]:
        """The current value of every statistic (SIGUSR1, Server.stats, the metrics)."""
        self.poll()
        return {name: o.value for name, o in sorted(self.obs.items())}

    def reset(self, name: str, raw: dict[str, int] | None = None) -> bool:
        o = self.obs.get(name)
        if o is None:
            return False
        raw = raw if raw is not None else self.native()
        self.offset[name] = raw.get(name, 0)
        o.samples.clear()
        o.samples.append((0, time.time()))
        return True

    def remove(self, name: str, raw: dict[str, int] | None = None) -> bool:
        if self.obs.pop(name, None) is None:
            return False
        raw = raw if raw is not None else self.native()
        self.offset[name] = self.hidden[name] = raw.get(name, 0)
        return True


def _stats(server) -> StatsManager:
    sm = server.statistics
    sm.poll()
    return sm


# ---- the commands (Kea's StatsMgr handlers, with their texts) -------------------------------------

def _name(args: Any) -> str:
    if not isinstance(args, dict) or "name" not in args:
        raise CommandError("Missing mandatory 'name' parameter.")
    if not isinstance(args["name"], str):
        raise CommandError("'name' parameter expected to be a string.")
    return args["name"]


def _duration(args: Any) -> int:
    if not isinstance(args, dict) or "duration" not in args:
        raise CommandError("Missing mandatory 'duration' parameter.")
    d = args["duration"]
    if not isinstance(d, int) or isinstance(d, bool):
        raise CommandError("intValue() called on non-integer Element")
    return d


def _max_samples(args: Any) -> int:
    if not isinstance(args, dict) or "max-samples" not in args:
        raise CommandError("Missing mandatory 'max-samples' parameter.")
    n = args["max-samples"]
    if not isinstance(n, int) or isinstance(n, bool):
        raise CommandError("'max-samples' parameter expected to be an integer.")
    return n & 0xFFFFFFFF                       # (Kea keeps it in a uint32_t)


@command("statistic-get")
async def statistic_get(server, args) -> dict:
    name = _name(args)
    o = _stats(server).obs.get(name)
    return answer(SUCCESS, arguments={} if o is None else {name: o.json()})


@command("statistic-get-all")
async def statistic_get_all(server, args) -> dict:
    sm = _stats(server)
    return answer(SUCCESS, arguments={name: o.json() for name, o in sorted(sm.obs.items())})


@command("statistic-reset")
async def statistic_reset(server, args) -> dict:
    name = _name(args)
    if not _stats(server).reset(name):
        raise CommandError(f"No '{name}' statistic found")
    return answer(SUCCESS, f"Statistic '{name}' reset.")


@command("statistic-reset-all")
async def statistic_reset_all(server, args) -> dict:
    sm = _stats(server)
    raw = sm.native()
    for name in list(sm.obs):
        sm.reset(name, raw)
    return answer(SUCCESS, "All statistics reset to neutral values.")


@command("statistic-remove")
async def statistic_remove(server, args) -> dict:
    name = _name(args)
    if not _stats(server).remove(name):
        raise CommandError(f"No '{name}' statistic found")
    return answer(SUCCESS, f"Statistic '{name}' removed.")


@command("statistic-remove-all")
async def statistic_remove_all(server, args) -> dict:
    sm = _stats(server)
    raw = sm.native()
    for name in list(sm.obs):
        sm.remove(name, raw)
    return answer(SUCCESS, "Warning: statistic-remove-all command is deprecated. All statistics "
                           "removed.")


@command("statistic-sample-age-set")
async def statistic_sample_age_set(server, args) -> dict:
    name = _name(args)
    duration = _duration(args)
    o = _stats(server).obs.get(name)
    if o is None:
        raise CommandError(f"No '{name}' statistic found")
    o.set_age(duration)
    return answer(SUCCESS, f"Statistic '{name}' duration limit is set.")


@command("statistic-sample-age-set-all")
async def statistic_sample_age_set_all(server, args) -> dict:
    duration = _duration(args)
    sm = _stats(server)
    sm.default_count_on, sm.default_age = False, duration
    for o in sm.obs.values():
        o.set_age(duration)
    return answer(SUCCESS, "All statistics duration limit are set.")


@command("statistic-sample-count-set")
async def statistic_sample_count_set(server, args) -> dict:
    name = _name(args)
    n = _max_samples(args)
    o = _stats(server).obs.get(name)
    if o is None:
        raise CommandError(f"No '{name}' statistic found")
    o.set_count(n)
    return answer(SUCCESS, f"Statistic '{name}' count limit is set.")


@command("statistic-sample-count-set-all")
async def statistic_sample_count_set_all(server, args) -> dict:
    n = _max_samples(args)
    if n == 0:
        raise CommandError("'max-samples' parameter must not be zero")
    sm = _stats(server)
    sm.default_count_on, sm.default_count = True, n
    for o in sm.obs.values():
        o.set_count(n)
    return answer(SUCCESS, "All statistics count limit are set.")


# ---- stat_cmds: stat-lease4-get ---------------------------------------------------------------------

def _lease4_params(args: Any) -> tuple[str, int, int]:
    """Kea's getParameters: ("all" | "single" | "range", first, last), BadValue texts."""
    if args is None:
        return "all", 0, 0
    if not isinstance(args, dict):
        raise CommandError("'arguments' parameter is not a map")
    mode, first, last = "all", 0, 0
    if "subnet-id" in args:
        v = args["subnet-id"]
        if not isinstance(v, int) or isinstance(v, bool):
            raise CommandError("'subnet-id' parameter is not integer")
        if v <= 0:
            raise CommandError("'subnet-id' parameter must be > 0")
        mode, first = "single", v
    if "subnet-range" in args:
        if mode == "single":
            raise CommandError("cannot specify both subnet-id and subnet-range")
        r = args["subnet-range"]
        if not isinstance(r, dict):
            raise CommandError("subnet-range parameter is not a map")
        ends = []
        for key in ("first-subnet-id", "last-subnet-id"):
            v = r.get(key)
            if not isinstance(v, int) or isinstance(v, bool):
                raise CommandError(f"'{key}' parameter missing or not an integer")
            if v <= 0:
                raise CommandError(f"'{key}' parameter must be > 0")
            ends.append(v)
        first, last = ends
        if last < first:
            raise CommandError("'last-subnet-id' must be greater than 'first-subnet-id'")
        mode = "range"
    return mode, first, last


def _params_text(mode: str, first: int, last: int) -> str:
    if mode == "all":
        return "[all subnets]"
    if mode == "single":
        return f"[subnet-id={first}]"
    return f"[subnets {first} through {last}]"


@command("stat-lease4-get", hook="stat_cmds")
async def stat_lease4_get(server, args) -> dict:
    mode, first, last = _lease4_params(args)
    sm = _stats(server)
    ids = sorted(s.id for s in server.config.subnets)
    if mode == "single":
        chosen = [i for i in ids if i == first]
        missing = f"subnet-id: {first} does not exist"
    elif mode == "range":
        chosen = [i for i in ids if first <= i <= last]
        missing = f"selected ID range: {first} through {last} includes no known subnets"
    else:
        chosen, missing = ids, "selected ID range: 0 through 0 includes no known subnets"
    result = {"result-set": {
        "timestamp": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M:%S.%f"),
        "columns": ["subnet-id", "total-addresses", "cumulative-assigned-addresses",
                    "assigned-addresses", "declined-addresses"],
        "rows": []}}
    where = _params_text(mode, first, last)
    if not chosen:          # (Kea's result map is still empty then)
        return answer(EMPTY, f"stat-lease4-get{where}: no matching data, {missing}", {})
    rows = result["result-set"]["rows"]
    alloc = server.engine.alloc
    for sid in chosen:
        # the lease counts from the lease table (Kea asks the lease database), the other two
        # from the statistics (0 when removed)
        table = alloc.stats(sid)
        rows.append([sid, sm.value(f"subnet[{sid}].total-addresses") or 0,
                     sm.value(f"subnet[{sid}].cumulative-assigned-addresses") or 0,
                     table["assigned-addresses"], table["declined-addresses"]])
    return answer(SUCCESS, f"stat-lease4-get{where}: {len(rows)} rows found", result)
