"""fastdhcp: a DHCPv4 server with a Cython core, a drop-in replacement for ISC Kea's kea-dhcp4.

Linux only. The codec below is the native one; ``fastdhcp.reference`` is the pure-Python twin.
"""

from ._enums import Durability, EngineEvent, LeaseState
from .packet import (BOOTP_MIN_SIZE, MAX_DATAGRAM, DropReason, MalformedPacket, MsgType,
                     Packet, Quirk)

__version__ = "0.1.0"

_NATIVE = ("decode", "encode", "build_reply", "OptionSet", "PacketBatch", "Allocator", "AddressPool")


def __getattr__(name):
    # The extension is imported on first use so that tools which only need the pure-Python parts
    # (the reference codec, the option table) work in a tree where it is not built yet.
    if name in _NATIVE:
        from . import _core
        return getattr(_core, name)
    raise AttributeError(f"module 'fastdhcp' has no attribute {name!r}")


__all__ = ["BOOTP_MIN_SIZE", "MAX_DATAGRAM", "DropReason", "Durability", "EngineEvent",
           "LeaseState", "MalformedPacket", "MsgType", "Packet", "Quirk", *_NATIVE]
