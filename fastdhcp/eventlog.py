"""The engine's events as Kea's log messages: which are on, how many are written, their texts.

Kea writes a line per packet for what happens to it (DHCP4_LEASE_ALLOC at INFO for every ACK,
DHCP4_PACKET_DROP_* at debug level 15 for every drop, ALLOC_ENGINE_V4_ALLOC_FAIL_* at WARN).
At a hundred thousand packets a second that is a disk's worth of text and most of a core, so
here the native engine notes a packet's event only while its message would be written (its
Kea logger is on at its severity and debug level, as the config's ``loggers`` set them) and
only ``limit`` of each kind per ``interval``: the rest are counted in C and said in one line
("N DHCP4_LEASE_ALLOC messages not logged in the last 10 s"). Nothing is copied or formatted
for a message nobody reads. ``limit`` 0 writes every one, as Kea does (``serve --log-sample``).
"""

from __future__ import annotations

import logging
import socket
import time
from typing import NamedTuple

from ._enums import DropReason, EngineEvent, MsgType
from .logs import logging_level, python_logger_name
from .messages import MESSAGES, client_id_text, client_label, hw_text, kea_log

log = logging.getLogger("fastdhcp.server")

DEFAULT_LIMIT = 20               # lines per message kind ...
DEFAULT_INTERVAL = 10.0          # ... per this many seconds

# The messages an event can produce (the first decides whether the event is on).
EVENT_MESSAGES: dict[EngineEvent, tuple[str, ...]] = {
    EngineEvent.DECLINE_NO_ADDRESS: ("DHCP4_PACKET_DROP_0007",),
    EngineEvent.DECLINE_NOT_FOUND: ("DHCP4_DECLINE_LEASE_NOT_FOUND",),
    EngineEvent.DECLINE_MISMATCH: ("DHCP4_DECLINE_LEASE_MISMATCH",),
    EngineEvent.DECLINED: ("DHCP4_DECLINE_LEASE",),
    EngineEvent.NO_SUBNET_NAK: ("DHCP4_PACKET_NAK_0001",),
    EngineEvent.PARSE_FAILED: ("DHCP4_PACKET_DROP_0001",),
    EngineEvent.NO_MESSAGE_TYPE: ("DHCP4_PACKET_DROP_0009",),
    EngineEvent.BAD_MESSAGE_TYPE: ("DHCP4_PACKET_DROP_0004",),
    EngineEvent.UNKNOWN_TYPE: ("DHCP4_PACKET_DROP_0005",),
    EngineEvent.UNSUPPORTED_TYPE: ("DHCP4_PACKET_DROP_0006",),
    EngineEvent.NO_IDENTITY: ("DHCP4_PACKET_DROP_0007",),
    EngineEvent.SERVER_ID_IN_DISCOVER: ("DHCP4_PACKET_DROP_0007",),
    EngineEvent.NOT_FOR_US: ("DHCP4_PACKET_DROP_0003",),
    EngineEvent.NO_DIRECT_SUBNET: ("DHCP4_PACKET_DROP_0002",),
    EngineEvent.LEASE_ADVERT: ("DHCP4_LEASE_ADVERT",),
    EngineEvent.LEASE_ALLOC: ("DHCP4_LEASE_ALLOC",),
    EngineEvent.RELEASE: ("DHCP4_RELEASE",),
    EngineEvent.CLASS_DROP: ("DHCP4_PACKET_DROP_0010",),
    EngineEvent.ALLOC_FAIL: ("ALLOC_ENGINE_V4_ALLOC_FAIL_SUBNET",
                             "ALLOC_ENGINE_V4_ALLOC_FAIL_SHARED_NETWORK",
                             "ALLOC_ENGINE_V4_ALLOC_FAIL", "ALLOC_ENGINE_V4_ALLOC_FAIL_NO_POOLS",
                             "DHCP4_PACKET_NAK_0003", "DHCP4_PACKET_NAK_0004"),
}

# What Kea's exceptions say where fastdhcp has a DropReason (DHCP4_PACKET_DROP_0001's reason).
_PARSE_REASONS = {
    DropReason.TOO_SHORT: "truncated packet (shorter than the 236-byte BOOTP header and cookie)",
    DropReason.TOO_LONG: "packet larger than the receive buffer",
    DropReason.BAD_OP: "invalid op code (not BOOTREQUEST or BOOTREPLY)",
    DropReason.NOT_BOOTREQUEST: "not a BOOTREQUEST",
    DropReason.BAD_MAGIC_COOKIE: "Invalid or missing DHCP magic cookie",      # Kea's own
    DropReason.OPTION_OVERRUN: "option runs past the end of the packet",
    DropReason.BAD_OVERLOAD: "invalid option overload (52)",
    DropReason.BAD_OPTION_LENGTH: "option with an invalid length",
    DropReason.BAD_RELAY_INFO: "malformed relay agent information (option 82)",
    DropReason.BAD_CLIENT_FQDN: "malformed client FQDN (option 81)",
    DropReason.BAD_VENDOR_OPTION: "malformed vendor option (option 124 or 125)",
}


class EventRecord(NamedTuple):
    """One event as Engine.take_events gives it (EngineEventC's fields, in order)."""
    kind: int                        # EngineEvent
    addr: str                        # the address it is about (a lease, a packet's source)
    xid: int
    htype: int
    hw: bytes
    client_id: bytes | None
    lease_hw: bytes                  # the lease's client, where it is another's
    lease_client_id: bytes | None
    value: int                       # per kind: a lifetime, a type, a DropReason, pools tried
    msg_type: int
    aux: int                         # per kind: the address it was sent to, a subnet id
    ifindex: int


def message_on(msg_id: str) -> bool:
    """Whether Kea's message would be written with the loggers as configured now."""
    m = MESSAGES[msg_id]
    return logging.getLogger(python_logger_name(m.logger)).isEnabledFor(
        logging_level(m.severity, m.debuglevel))


def type_name(t: int) -> str:
    """Kea's Pkt4::getName: DHCPDISCOVER ... or UNKNOWN."""
    try:
        return MsgType(t).name
    except ValueError:
        return "UNKNOWN"


class EventLog:
    """Arms the engine's event budgets from the loggers, writes what it noted, and says once an
    interval how many it held back."""

    def __init__(self, limit: int = DEFAULT_LIMIT, interval: float = DEFAULT_INTERVAL,
                 clock=time.monotonic):
        self.limit, self.interval, self.clock = limit, interval, clock
        self.on: set[EngineEvent] = set()
        self.since = clock()

    def arm(self, engine) -> None:
        """Budgets for the next interval: ``limit`` for each kind whose message is on, 0 for
        the others (so the engine notes nothing for them). Again after a logging change."""
        self.on = {kind for kind, ids in EVENT_MESSAGES.items()
                   if any(message_on(i) for i in ids)}
        n = None if self.limit == 0 else self.limit
        engine.set_events({int(kind): n for kind in self.on})

    def tick(self, engine) -> None:
        """The interval is over: say what was held back, refill the budgets."""
        held = engine.take_held()
        took = self.clock() - self.since
        for kind, n in sorted(held.items()):
            kind = EngineEvent(kind)
            if kind in self.on:
                log.warning("%d %s messages not logged in the last %.0f s (at most %d per "
                            "%.0f s: serve --log-sample)", n, EVENT_MESSAGES[kind][0], took,
                            self.limit, self.interval)
        self.since = self.clock()
        self.arm(engine)

    def write(self, engine, config) -> None:
        """The events the engine noted since the last call, as Kea writes them."""
        events, lost = engine.take_events()
        for e in map(EventRecord._make, events):
            try:
                self._write(EngineEvent(e.kind), e, config)
            except Exception:                    # a log line must never stop the server
                log.exception("engine event %r not logged", e)
        if lost:
            log.warning("%d engine events not logged (more than a batch keeps)", lost)

    def _write(self, kind: EngineEvent, e, config) -> None:
        msg_id = EVENT_MESSAGES[kind][0]
        label = client_label(e.htype, e.hw, e.client_id, e.xid)
        iface = _iface_name(e.ifindex)
        if kind == EngineEvent.DECLINE_NO_ADDRESS:
            kea_log(msg_id, label, "Mandatory 'Requested IP address' option missing in "
                    f"DHCPDECLINE sent from {label}")
        elif kind == EngineEvent.DECLINE_MISMATCH:
            kea_log(msg_id, e.addr, label, hw_text(e.htype, e.hw, with_type=False),
                    hw_text(e.htype, e.lease_hw, with_type=False) if e.lease_hw else "(none)",
                    client_id_text(e.client_id), client_id_text(e.lease_client_id))
        elif kind == EngineEvent.DECLINED:
            kea_log(msg_id, e.addr, label, e.value)
        elif kind in (EngineEvent.DECLINE_NOT_FOUND,):
            kea_log(msg_id, e.addr, label)
        elif kind == EngineEvent.NO_SUBNET_NAK:           # addr: the packet's source
            kea_log(msg_id, label, e.addr, type_name(e.msg_type))
        elif kind == EngineEvent.PARSE_FAILED:
            kea_log(msg_id, e.addr, _ip(e.aux), iface,
                    _PARSE_REASONS.get(DropReason(e.value), DropReason(e.value).name.lower()))
        elif kind in (EngineEvent.NO_MESSAGE_TYPE,):
            kea_log(msg_id, label)
        elif kind in (EngineEvent.BAD_MESSAGE_TYPE, EngineEvent.NOT_FOR_US,
                      EngineEvent.NO_DIRECT_SUBNET):
            kea_log(msg_id, label, iface)
        elif kind in (EngineEvent.UNKNOWN_TYPE, EngineEvent.UNSUPPORTED_TYPE):
            kea_log(msg_id, label, e.value)
        elif kind == EngineEvent.NO_IDENTITY:
            kea_log(msg_id, label, "Missing or useless client-id and no HW address provided in "
                    f"message {type_name(e.value)}")
        elif kind == EngineEvent.SERVER_ID_IN_DISCOVER:
            kea_log(msg_id, label, "Server-id option was not expected, but received in message "
                    "DHCPDISCOVER")
        elif kind in (EngineEvent.LEASE_ADVERT, EngineEvent.RELEASE):
            kea_log(msg_id, label, e.addr)
        elif kind == EngineEvent.LEASE_ALLOC:
            kea_log(msg_id, label, e.addr, "infinity" if e.value == 0xFFFFFFFF else e.value)
        elif kind == EngineEvent.ALLOC_FAIL:
            self._alloc_fail(e, label, config)
        elif kind == EngineEvent.CLASS_DROP:
            # Kea prints Pkt4::toText(); its header part, without the option dump
            kea_log(msg_id, f"local_address={_ip(e.aux)}:67, remote_address={e.addr}:68, "
                            f"msg_type={type_name(e.msg_type)} ({e.msg_type}), "
                            f"transid=0x{e.xid:x}")

    @staticmethod
    def _alloc_fail(e, label: str, config) -> None:
        # Kea's allocateUnreservedLease4 failure path: where it failed, then how, then the NAK
        # (or silence) of dhcp4_srv; value: the pools tried, aux: the subnet the walk ended on
        subnet = config.subnet_index.get(e.aux)
        network = subnet.shared_network if subnet is not None else None
        members = [s for s in config.subnets if network and s.shared_network == network] \
            or ([subnet] if subnet is not None else [])
        if network:
            kea_log("ALLOC_ENGINE_V4_ALLOC_FAIL_SHARED_NETWORK", label, network,
                    sum(1 for s in members if s.pools), sum(1 for s in members if not s.pools))
        elif subnet is not None:
            kea_log("ALLOC_ENGINE_V4_ALLOC_FAIL_SUBNET", label, subnet.prefix, subnet.id,
                    "(none)")
        if e.value == 0:
            kea_log("ALLOC_ENGINE_V4_ALLOC_FAIL_NO_POOLS", label)
        else:
            attempts = sum(p.last - p.first + 1 for s in members for p in s.pools)
            kea_log("ALLOC_ENGINE_V4_ALLOC_FAIL", label, attempts)
        requested = "(no address)" if e.addr == "0.0.0.0" else e.addr
        kea_log("DHCP4_PACKET_NAK_0003" if e.msg_type == MsgType.DHCPDISCOVER
                else "DHCP4_PACKET_NAK_0004", label, "0.0.0.0", requested)


def _ip(a: int) -> str:
    return f"{a >> 24}.{(a >> 16) & 255}.{(a >> 8) & 255}.{a & 255}"


def _iface_name(ifindex: int) -> str:
    if ifindex <= 0:
        return "(unknown)"
    try:
        return socket.if_indextoname(ifindex)
    except OSError:
        return str(ifindex)
