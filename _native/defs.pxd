# Shared C-level definitions of the native core: sizes, drop reasons, option codes, packet structs.
# DropReason, Quirk and MsgType are defined here once: _native/enums.py generates the Python
# classes (fastdhcp/_enums.py) from these blocks.

from libc.stdint cimport uint8_t, uint16_t, uint32_t, uint64_t


cdef enum:  # sizes
    MIN_MESSAGE = 240           # BOOTP header (236) + magic cookie (4)
    MAX_DATAGRAM = 4096         # larger datagrams are dropped (TOO_LONG)
    BOOTP_MIN_SIZE = 300        # RFC 951 minimum; replies are padded to it
    MAX_RELAY_SUBOPTIONS = 32
    IP_UDP_HEADERS = 28         # option 57 counts them (RFC 2132 §9.10), the buffer does not
    DEFAULT_MAX_MESSAGE = 576   # RFC 2131 §2: every client accepts a 576-byte IP datagram
    MAX_REPLY_MESSAGE = 1500    # one Ethernet MTU: we never send more, whatever 57 says
    LEAD_MAX = 1024             # pre-encoded leading options of one reply (54, 51, 58, 59 ...)
    REPLY_CAPACITY = 8192       # headroom + header + lead + size-limited options + echoes of a 4096-byte request
    TX_HEADROOM = 64            # room before each reply for the Ethernet+IP+UDP headers of a raw send
    FRAME_HEADERS = 42          # Ethernet (14) + IPv4 (20) + UDP (8)


cdef enum:  # BOOTP header offsets (RFC 2131 §2)
    HDR_OP = 0
    HDR_HTYPE = 1
    HDR_HLEN = 2
    HDR_HOPS = 3
    HDR_XID = 4
    HDR_SECS = 8
    HDR_FLAGS = 10
    HDR_CIADDR = 12
    HDR_YIADDR = 16
    HDR_SIADDR = 20
    HDR_GIADDR = 24
    HDR_CHADDR = 28
    HDR_SNAME = 44
    HDR_FILE = 108
    HDR_COOKIE = 236
    HDR_OPTIONS = 240
    CHADDR_LEN = 16
    SNAME_LEN = 64
    FILE_LEN = 128


cdef enum DropCode:
    DR_OK = 0
    DR_TOO_SHORT = 1
    DR_TOO_LONG = 2
    DR_BAD_OP = 3
    DR_NOT_BOOTREQUEST = 4
    DR_BAD_MAGIC_COOKIE = 5
    DR_OPTION_OVERRUN = 6
    DR_BAD_OVERLOAD = 7
    DR_NO_MESSAGE_TYPE = 8
    DR_BAD_MESSAGE_TYPE = 9
    DR_BAD_OPTION_LENGTH = 10
    DR_BAD_RELAY_INFO = 11
    DR_BAD_CLIENT_FQDN = 12      # option 81 that does not parse (RFC 4702 §2)
    DR_BAD_VENDOR_OPTION = 13    # option 124, or a DOCSIS 125, that does not parse (RFC 3925)
    DR_COUNT = 14               # number of reasons, for counter arrays


cdef enum:  # quirk bits (fastdhcp.Quirk)
    Q_NONE = 0
    Q_NO_END = 1                # options run to the end of the datagram without END
    Q_TRAILING_AFTER_END = 2    # non-zero bytes after END
    Q_EMPTY_HOSTNAME = 4        # option 12 with length 0
    Q_SMALL_MAX_SIZE = 8        # option 57 below 576
    Q_HLEN_CLAMPED = 16         # hlen above 16
    Q_BITS = 5


cdef enum:  # message types (fastdhcp.MsgType, named DHCP...)
    MT_BOOTP = 0                # no option 53: a BOOTP request (RFC 951)
    MT_DISCOVER = 1             # RFC 2132 §9.6
    MT_OFFER = 2
    MT_REQUEST = 3
    MT_DECLINE = 4
    MT_ACK = 5
    MT_NAK = 6
    MT_RELEASE = 7
    MT_INFORM = 8
    MT_FORCERENEW = 9           # RFC 3203
    MT_LEASEQUERY = 10          # RFC 4388
    MT_LEASEUNASSIGNED = 11
    MT_LEASEUNKNOWN = 12
    MT_LEASEACTIVE = 13
    MT_BULKLEASEQUERY = 14      # RFC 6926
    MT_LEASEQUERYDONE = 15
    MT_ACTIVELEASEQUERY = 16    # RFC 7724
    MT_LEASEQUERYSTATUS = 17
    MT_TLS = 18
    MT_MAX = 18                 # RFC 7724 (DHCPTLS) is the highest assigned type


cdef enum:  # the flags field (RFC 2131 §2, Figure 2)
    FLAG_BROADCAST = 0x8000     # B: the client cannot receive unicast before it has an address


cdef enum:  # relay agent information sub-options (option 82)
    RAI_CIRCUIT_ID = 1          # RFC 3046 §2.1
    RAI_LINK_SELECTION = 5      # RFC 3527 §3: the subnet to allocate from
    RAI_SERVER_ID_OVERRIDE = 11  # RFC 5107 §4: the address to name in option 54


cdef enum:  # option codes the core reads or writes
    OPT_PAD = 0
    OPT_SUBNET_MASK = 1
    OPT_HOST_NAME = 12
    OPT_REQUESTED_ADDRESS = 50
    OPT_LEASE_TIME = 51
    OPT_OVERLOAD = 52
    OPT_MESSAGE_TYPE = 53
    OPT_SERVER_ID = 54
    OPT_PARAMETER_LIST = 55
    OPT_MAX_MESSAGE_SIZE = 57
    OPT_RENEWAL_TIME = 58       # T1 (RFC 2132 §9.11)
    OPT_REBINDING_TIME = 59     # T2 (RFC 2132 §9.12)
    OPT_CLIENT_ID = 61
    OPT_CLIENT_FQDN = 81        # RFC 4702
    OPT_RELAY_AGENT_INFO = 82
    OPT_SUBNET_SELECTION = 118
    OPT_VIVCO = 124             # V-I vendor class (RFC 3925 §3)
    OPT_VIVSO = 125             # V-I vendor-specific information (RFC 3925 §4)
    OPT_END = 255
    OPT_LEN_MAX = 255           # one instance's length byte (RFC 2132 §2); longer: RFC 3396
    CID_MAX = 255               # a client id (61) as one instance holds it: the key's cap
    BOOTP_MAGIC_COOKIE = 0x63825363


cdef enum:  # option 52 values
    OVERLOAD_FILE = 1
    OVERLOAD_SNAME = 2


# Where one option's value lives: in the datagram, or (after RFC 3396 concatenation of repeated
# instances) in the packet's scratch area.
ctypedef struct OptRef:
    uint16_t off
    uint16_t len                # total length after concatenation
    uint8_t count               # instances seen (saturates at 255); 0 = absent
    uint8_t in_scratch


ctypedef struct SubOptRef:
    uint8_t code
    uint8_t len
    uint16_t off                # relative to the start of option 82's value


# One parsed datagram. The option index is O(1) by code; codes[] keeps first-appearance order and
# also tells which index entries to reset before the next parse (no 1.5 KB memset per packet).
ctypedef struct DhcpPacket:
    const uint8_t* data
    uint16_t size
    uint8_t op
    uint8_t htype
    uint8_t hlen                # clamped to 16
    uint8_t hops
    uint16_t secs
    uint16_t flags
    uint32_t xid
    uint32_t ciaddr             # addresses in host order
    uint32_t yiaddr
    uint32_t siaddr
    uint32_t giaddr
    uint8_t msg_type
    uint8_t overload
    uint16_t quirks
    uint16_t n_codes
    uint8_t n_relay
    uint8_t needs_concat
    uint8_t bad_vendor          # an instance of 124/125 Kea cannot unpack (parse rule 9c)
    uint8_t codes[256]
    OptRef opt[256]
    SubOptRef relay[MAX_RELAY_SUBOPTIONS]
    uint8_t scratch[MAX_DATAGRAM]


cdef enum:
    VENDOR_SETS_MAX = 8          # enterprises with vendor-<id> options at one level
    VENDOR_DOCSIS = 4491         # CableLabs: Kea honours the client's ORO in its 125
    DOCSIS_ORO = 1               # (Kea's vendor-4491 "oro", uint8 array)


# Pre-encoded reply options: for each code, the complete wire TLVs (already split into 255-byte
# pieces) at blob[off:off+len]. Bitmaps say which codes are present and which are always sent.
ctypedef struct OptionSetC:
    const uint8_t* blob
    uint16_t off[256]
    uint16_t len[256]
    uint64_t present[4]
    uint64_t always[4]
    uint64_t from_global[4]      # codes whose value is the global level's (client classes
                                 # come between: Kea's host, pool, subnet, network, classes, global)
    # the sub-options of vendor-<id> spaces for option 125, one set (sub-option TLVs) per enterprise
    uint8_t n_vendor
    uint32_t vendor_id[VENDOR_SETS_MAX]
    const OptionSetC* vendor[VENDOR_SETS_MAX]


# The option sets of the classes a packet is in, in join order (the engine gathers them per reply).
cdef enum:
    CLASS_SETS_MAX = 32

ctypedef struct ClassSets:
    const OptionSetC* set[CLASS_SETS_MAX]
    int n
