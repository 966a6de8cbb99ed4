"""The decoded DHCPv4 message and the drop reasons: the contract both codecs honour.

Two codecs implement this contract independently: the Cython core (``fastdhcp._core``) and the
pure-Python reference (``fastdhcp.reference``). For any datagram they must return an equal
``Packet`` or raise ``MalformedPacket`` with the same ``DropReason``. The rules, in the order they
are checked (the first rule that fails names the reason):

1. ``len < 240`` (236-byte BOOTP header + 4-byte cookie) -> TOO_SHORT;
   ``len > MAX_DATAGRAM`` -> TOO_LONG.
2. ``op`` not 1 or 2 -> BAD_OP; with ``requests_only`` and ``op != 1`` -> NOT_BOOTREQUEST.
3. Bytes 236..239 are not 99.130.83.99 (RFC 2131 §3) -> BAD_MAGIC_COOKIE.
4. The options field (from byte 240) is read as TLVs: 0 is PAD (one byte), 255 is END. A code with
   no length byte, or a length running past the datagram -> OPTION_OVERRUN. Reaching the end of
   the datagram without END is accepted (quirk NO_END); non-zero bytes after END are accepted
   (quirk TRAILING_AFTER_END).
5. Option overload (52, RFC 2132 §9.3): its value (after concatenation) must be one byte, 1..3,
   else BAD_OVERLOAD. Then 'file' (1 or 3) and then 'sname' (2 or 3) are read as TLVs with the same
   rules, bounded by their field; an option running past its field -> OPTION_OVERRUN; END or the end
   of the field ends it (no quirk: the NO_END and TRAILING_AFTER_END quirks are about the options
   field only). Option 52 inside sname/file -> BAD_OVERLOAD. An overloaded field reads as
   empty ``sname``/``file`` in the Packet.
6. Repeated options are concatenated in the order options, file, sname (RFC 3396 §6);
   ``Packet.options`` lists each code once, at its first appearance, with the joined value.
7. Option 53 absent -> NO_MESSAGE_TYPE (unless ``allow_bootp``: then ``msg_type`` is 0);
   present with length != 1 or value outside 1..18 -> BAD_MESSAGE_TYPE.
8. Options the server consumes, in this order, must have a sane length, else BAD_OPTION_LENGTH:
   50, 51, 54, 118 exactly 4 bytes; 57 exactly 2; 61 at least 2 (RFC 2132 §9.14).
9. Relay agent information (82, RFC 3046 §2.0) is a run of sub-option TLVs (no PAD, no END); a
   sub-option running past the value, or more than MAX_RELAY_SUBOPTIONS of them -> BAD_RELAY_INFO.
9b. Client FQDN (81, RFC 4702 §2) is flags and two RCODEs, never N and S together, then a name
   in wire form (E set) or ASCII that parses as a DNS name, else BAD_CLIENT_FQDN (Kea's parser
   throws on such an option, which drops the packet).
9c. V-I vendor options (RFC 3925), one instance as Kea 2.2 unpacks it: 124 is an enterprise id,
   then tuples that fit, each block after the first its enterprise id (skipped) and a tuple; a
   125 whose first block is DOCSIS's (4491) has an oro (1) of at least one byte and
   tftp-servers (2) of whole addresses; else BAD_VENDOR_OPTION. (A 125 that does not fit its
   block is Kea's SkipRemainingOptionsError: not a reason, the 125 is not read.)
10. ``hlen > 16`` is clamped to 16 (quirk HLEN_CLAMPED); ``chaddr`` is the first hlen bytes.
    An empty host name (12, seen from Windows and some embedded clients) -> quirk EMPTY_HOSTNAME.
    Option 57 below 576 (RFC 2132 §9.10 minimum) -> quirk SMALL_MAX_SIZE (the builder clamps).
``sname`` and ``file`` are their bytes up to the first NUL. Addresses are dotted-quad strings.

Encoding (``encode(packet)``): the header from the fields (chaddr, sname, file zero-padded to 16,
64 and 128 bytes), the cookie, then each option of ``packet.options`` in order except 52 (the
encoder never overloads), values longer than 255 split into consecutive 255-byte pieces (RFC 3396),
a zero-length value as one zero-length option, then END, then zero padding to 300 bytes.

Replies (``build_reply(request, msg_type, yiaddr, siaddr, lead, option_set, echo_client_id)``),
RFC 2131 §4.3 and Table 3: op 2; htype, hlen, hops, xid, flags, giaddr and chaddr from the request;
secs 0; ciaddr from the request for DHCPACK only, else 0; sname and file zero. Options: 53, then
the caller's pre-encoded ``lead`` TLVs verbatim (54, 51, 58, 59 ...), then the option set's values in
the order of the request's parameter request list (55; each code once), then the set's always-send
codes in ascending order (both passes skip 53, 61, 82 and every code of ``lead``: a code appears
once in a reply, since RFC 3396 would join repeats), then client-id 61 echoed if asked (RFC 6842), then relay agent information
82 echoed unchanged and last (RFC 3046 §2.2), then END, then zero padding to 300 bytes. The size
limit is min(max(option 57, 576), 1500) - 28 (IP and UDP headers), or 576 - 28 without 57; an
optional option (from PRL or always-send) that would not fit, keeping room for the echoes and END,
is skipped and the next one is tried. 53, lead and the echoes are always written. Values over 255
bytes are split as in encoding.
"""

from __future__ import annotations

import msgspec

from ._enums import DropReason, MsgType, Quirk   # defined once, in _native/defs.pxd

MAX_DATAGRAM = 4096
MAX_RELAY_SUBOPTIONS = 32
MIN_MESSAGE = 240          # BOOTP fixed header (236) + magic cookie (4)
BOOTP_MIN_SIZE = 300       # RFC 951: replies are padded to at least this size
MAGIC_COOKIE = b"\x63\x82\x53\x63"


_DETAILS = {
    DropReason.TOO_SHORT: "datagram shorter than the 240-byte BOOTP header and cookie",
    DropReason.TOO_LONG: f"datagram longer than {MAX_DATAGRAM} bytes",
    DropReason.BAD_OP: "op is neither BOOTREQUEST (1) nor BOOTREPLY (2)",
    DropReason.NOT_BOOTREQUEST: "op is not BOOTREQUEST",
    DropReason.BAD_MAGIC_COOKIE: "magic cookie is not 99.130.83.99",
    DropReason.OPTION_OVERRUN: "an option runs past the end of its field",
    DropReason.BAD_OVERLOAD: "option overload (52) is malformed",
    DropReason.NO_MESSAGE_TYPE: "no DHCP message type (53)",
    DropReason.BAD_MESSAGE_TYPE: "DHCP message type (53) is malformed or unknown",
    DropReason.BAD_OPTION_LENGTH: "an option the server reads has an impossible length",
    DropReason.BAD_RELAY_INFO: "relay agent information (82) is malformed",
    DropReason.BAD_CLIENT_FQDN: "client FQDN (81) is malformed",
    DropReason.BAD_VENDOR_OPTION: "a vendor option (124 or 125) does not parse",
}


class MalformedPacket(ValueError):
    """Raised by the Python-facing decoders; ``reason`` is a DropReason."""

    def __init__(self, reason: int, detail: str | None = None):
        self.reason = DropReason(reason)
        self.detail = detail or _DETAILS.get(self.reason, self.reason.label)
        super().__init__(f"{self.reason.label}: {self.detail}")


class Packet(msgspec.Struct, frozen=True):
    """One decoded DHCPv4 message. Equal across codecs for equal input."""

    op: int
    htype: int
    hlen: int
    hops: int
    xid: int
    secs: int
    flags: int
    ciaddr: str
    yiaddr: str
    siaddr: str
    giaddr: str
    chaddr: bytes
    sname: bytes
    file: bytes
    msg_type: int
    options: tuple[tuple[int, bytes], ...]
    relay_info: tuple[tuple[int, bytes], ...] = ()
    overload: int = 0
    quirks: int = 0

    def option(self, code: int) -> bytes | None:
        """The (concatenated) value of option ``code``, or None."""
        for c, v in self.options:
            if c == code:
                return v
        return None

    @property
    def msg_type_name(self) -> str:
        try:
            return MsgType(self.msg_type).name
        except ValueError:
            return "BOOTP" if self.msg_type == 0 else f"DHCP-TYPE-{self.msg_type}"
