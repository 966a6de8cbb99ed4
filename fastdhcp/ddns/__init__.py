"""DNS updates through Kea's own kea-dhcp-ddns (D2): the NameChangeRequests the engine queues
(_native/names.pyx) rendered in Kea's wire format (ncr.py) and sent over UDP (sender.py)."""

from .ncr import CHG_ADD, CHG_REMOVE, NameChange, dhcid, ddns_ttl, to_wire
from .sender import NameChangeSender

__all__ = ["CHG_ADD", "CHG_REMOVE", "NameChange", "NameChangeSender", "dhcid", "ddns_ttl",
           "to_wire"]
