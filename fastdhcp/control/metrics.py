"""Prometheus metrics: Kea's statistics with the metric names and labels of mweinelt's
kea-exporter (so a Grafana dashboard built on it works unchanged), plus fastdhcp's own
histograms (batch size, commit group size, fdatasync and reply latency) and lease-file rows and
bytes.

Served at ``GET /metrics`` by an HTTP control socket, and by a listener of its own with
``fastdhcp serve --metrics ADDRESS:PORT`` (no authentication there: bind it to an address only
the Prometheus server reaches).

The text format is written here, not with prometheus_client: the values are already in the
statistics manager and the native histograms, a scrape is one pass over them, and the package
would bring a second registry to keep in step for nothing.

The names and labels are kea-exporter's (its exporter.py): ``kea_dhcp4_packets_sent_total`` and
``kea_dhcp4_packets_received_total`` by ``operation``; per subnet ``kea_dhcp4_addresses_*`` with
``subnet``, ``subnet_id`` and ``pool`` (``""`` for the subnet's own, the pool as Kea's config-get
writes it for a pool's), ``kea_dhcp4_allocations_failed_total`` by ``context``,
``kea_dhcp4_reservation_conflicts_total`` and ``kea_dhcp4_leases_reused_total``. kea-exporter
declares every one a gauge; ``promtool check metrics`` refuses a gauge named ``*_total``, so the
ones that only grow are counters here and the three that are levels (``addresses_total``,
``addresses_assigned_total``, ``addresses_declined_total``) are untyped, which Prometheus treats
as a gauge: the names a dashboard queries are unchanged. Global sums kea-exporter leaves out
(``pkt4-sent``, ``pkt4-received``, the global ``v4-*``) are left out here too.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import re
from typing import Any

log = logging.getLogger("fastdhcp.control")

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

# global Kea statistic -> (metric, labels)
_GLOBAL: dict[str, tuple[str, dict]] = {}
for _op in ("discover", "offer", "request", "ack", "nak", "release", "decline", "inform",
            "unknown"):
    _GLOBAL[f"pkt4-{_op}-received"] = ("kea_dhcp4_packets_received_total", {"operation": _op})
_GLOBAL["pkt4-parse-failed"] = ("kea_dhcp4_packets_received_total", {"operation": "parse-failed"})
_GLOBAL["pkt4-receive-drop"] = ("kea_dhcp4_packets_received_total", {"operation": "drop"})
for _op in ("offer", "ack", "nak"):
    _GLOBAL[f"pkt4-{_op}-sent"] = ("kea_dhcp4_packets_sent_total", {"operation": _op})
# what kea-exporter does not export at the global level (sums, or kept per subnet)
_GLOBAL_SKIPPED = {"pkt4-sent", "pkt4-received", "cumulative-assigned-addresses",
                   "declined-addresses", "reclaimed-declined-addresses", "reclaimed-leases",
                   "v4-reservation-conflicts", "v4-allocation-fail", "v4-allocation-fail-subnet",
                   "v4-allocation-fail-shared-network", "v4-allocation-fail-no-pools",
                   "v4-allocation-fail-classes", "v4-lease-reuses"}

# per-subnet (and per-pool) Kea statistic -> (metric, extra labels, has a pool label)
_SUBNET: dict[str, tuple[str, dict, bool]] = {
    "total-addresses": ("kea_dhcp4_addresses_total", {}, True),
    "assigned-addresses": ("kea_dhcp4_addresses_assigned_total", {}, True),
    "declined-addresses": ("kea_dhcp4_addresses_declined_total", {}, True),
    "reclaimed-declined-addresses": ("kea_dhcp4_addresses_declined_reclaimed_total", {}, True),
    "reclaimed-leases": ("kea_dhcp4_addresses_reclaimed_total", {}, True),
    "v4-reservation-conflicts": ("kea_dhcp4_reservation_conflicts_total", {}, False),
    "v4-lease-reuses": ("kea_dhcp4_leases_reused_total", {}, False),
}
for _ctx in ("subnet", "shared-network", "no-pools", "classes"):
    _SUBNET[f"v4-allocation-fail-{_ctx}"] = ("kea_dhcp4_allocations_failed_total",
                                            {"context": _ctx}, False)
_LEVELS = {"kea_dhcp4_addresses_total", "kea_dhcp4_addresses_assigned_total",
           "kea_dhcp4_addresses_declined_total"}
_HELP = {
    "kea_dhcp4_packets_received_total": "DHCPv4 packets received, by message type",
    "kea_dhcp4_packets_sent_total": "DHCPv4 packets sent, by message type",
    "kea_dhcp4_addresses_total": "addresses in the subnet's (or pool's) pools",
    "kea_dhcp4_addresses_assigned_total": "addresses assigned now",
    "kea_dhcp4_addresses_declined_total": "addresses declined now",
    "kea_dhcp4_addresses_declined_reclaimed_total": "declined addresses reclaimed",
    "kea_dhcp4_addresses_reclaimed_total": "expired leases reclaimed",
    "kea_dhcp4_reservation_conflicts_total": "reservations that could not be honoured",
    "kea_dhcp4_leases_reused_total": "leases renewed in place (lease cache)",
    "kea_dhcp4_allocations_failed_total": "address allocations that failed, by context",
}
_SUBNET_STAT = re.compile(r"^subnet\[(\d+)\]\.(?:pool\[(\d+)\]\.)?([a-z0-9-]+)$")


def pool_text(first: int, last: int) -> str:
    """A pool as Kea's config-get writes it (Pool4::toElement): ``net/len`` when the range is
    exactly one prefix, else ``first-last``."""
    span = first ^ last
    if first & span == 0 and (span + 1) & span == 0:
        return f"{ipaddress.IPv4Address(first)}/{32 - span.bit_length()}"
    return f"{ipaddress.IPv4Address(first)}-{ipaddress.IPv4Address(last)}"


def _fmt_labels(labels: dict) -> str:
    if not labels:
        return ""
    inner = ",".join(f'{k}="{str(v).replace(chr(92), chr(92) * 2).replace(chr(34), chr(92) + chr(34))}"'
                     for k, v in labels.items())
    return "{" + inner + "}"


def exposition(server: Any) -> bytes:
    """The Prometheus text exposition of ``server``'s statistics and histograms."""
    values = server.statistics.values()
    families: dict[str, tuple[str, str, list[str]]] = {}

    def add(metric: str, kind: str, help_: str, labels: dict, value) -> None:
        fam = families.setdefault(metric, (kind, help_, []))
        fam[2].append(f"{metric}{_fmt_labels(labels)} {value}")

    subnets = {s.id: s for s in server.config.subnets}
    for name, value in values.items():
        if name in _GLOBAL:
            metric, labels = _GLOBAL[name]
            add(metric, "counter", _HELP[metric], labels, value)
            continue
        m = _SUBNET_STAT.match(name)
        if m:
            sn = subnets.get(int(m.group(1)))
            if sn is None or m.group(3) not in _SUBNET:
                continue                   # (cumulative-assigned-addresses: not exported)
            metric, extra, pooled = _SUBNET[m.group(3)]
            labels = {"subnet": sn.prefix, "subnet_id": sn.id}
            if m.group(2) is not None:
                if not pooled:
                    continue
                index = int(m.group(2))
                if index >= len(sn.pools):
                    continue
                labels["pool"] = pool_text(sn.pools[index].first, sn.pools[index].last)
            elif pooled:
                labels["pool"] = ""
            labels.update(extra)
            add(metric, "untyped" if metric in _LEVELS else "counter", _HELP[metric], labels,
                value)
            continue
        if name in _GLOBAL_SKIPPED:
            continue
        # fastdhcp's own counters, by their names
        metric = "fastdhcp_" + re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_")
        if "pending" in metric:
            add(metric, "gauge", f"fastdhcp statistic {name}", {}, value)
        else:
            add(metric if metric.endswith("_total") else metric + "_total", "counter",
                f"fastdhcp statistic {name}", {}, value)
    lines = []
    for metric, (kind, help_, samples) in sorted(families.items()):
        lines += [f"# HELP {metric} {help_}", f"# TYPE {metric} {kind}", *samples]
    hists, _io = server.engine.histograms()
    units = {"batch-size": ("fastdhcp_batch_size_datagrams", 1, "datagrams per received batch"),
             "commit-group-size": ("fastdhcp_commit_group_batches", 1,
                                   "batches per commit group (one write, one fdatasync)"),
             "fsync-latency-us": ("fastdhcp_fsync_latency_seconds", 1e-6,
                                  "fdatasync latency of a commit group"),
             "reply-latency-us": ("fastdhcp_reply_latency_seconds", 1e-6,
                                  "a batch's time from recvmmsg to its last sendmmsg")}
    for key, (buckets, total) in sorted(hists.items()):
        metric, scale, help_ = units[key]
        lines += [f"# HELP {metric} {help_}", f"# TYPE {metric} histogram"]
        running = 0
        for k, n in enumerate(buckets[:-1]):
            running += n
            lines.append(f'{metric}_bucket{{le="{(1 << k) * scale:g}"}} {running}')
        running += buckets[-1]
        lines += [f'{metric}_bucket{{le="+Inf"}} {running}', f"{metric}_sum {total * scale:g}",
                  f"{metric}_count {running}"]
    return ("\n".join(lines) + "\n").encode()


async def start(address: str, server: Any) -> asyncio.AbstractServer:
    """``--metrics ADDRESS:PORT``: a listener answering GET /metrics only (the HTTP control
    socket's request handling, without its commands and page)."""
    from .http import MAX_HEAD, HttpControl
    host, _, port = address.rpartition(":")
    handler = HttpControl(None, server, metrics_only=True)
    listener = await asyncio.start_server(handler.connection, host.strip("[]") or "127.0.0.1",
                                          int(port), limit=MAX_HEAD)
    log.info("metrics on http://%s/metrics", address)
    return listener
