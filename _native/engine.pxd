# The engine (engine.pyx): its limits, counters, per-subnet reply parameters, interfaces
# and lanes.
# Declared here, not in the part, so that no part depends on the include order.

from libc.stdint cimport int32_t, int64_t, uint8_t, uint16_t, uint32_t, uint64_t
from defs cimport *
from leases cimport *
from commit cimport *
from names cimport *


cdef enum:
    MAX_IFACES = 256
    BROADCAST = 0xFFFFFFFF
    TX_NONE = 0
    TX_UDP = 1
    TX_RAW = 2
    JOURNAL_BUF = 1 << 20        # CSV rows of one batch; flushed early if a batch writes more
    PREFETCH_SUBNETS = 8         # subnets per batch whose coming allocations are prefetched


# Counters, named as Kea's statistics where Kea has one (see ENGINE_COUNTERS below).
cdef enum:
    C_RECEIVED = 0
    C_DISCOVER
    C_REQUEST
    C_RELEASE
    C_DECLINE
    C_INFORM
    C_UNKNOWN
    C_PARSE_FAILED
    C_OFFER_SENT
    C_ACK_SENT
    C_NAK_SENT
    C_SENT
    C_NO_SUBNET
    C_NO_ADDRESS
    C_NOT_FOR_US
    C_WRONG_INTERFACE
    C_RAW_FALLBACK
    C_SEND_FAILED
    C_JOURNAL_FAILED
    C_NO_IDENTITY
    C_DECLINE_NO_ADDRESS
    C_INFORM_NO_ADDRESS
    C_SERVER_ID_IN_DISCOVER
    C_LEASE_REUSES               # Kea 2.4's v4-lease-reuses: replies carrying a cached lease
    C_OFFER_RECEIVED             # server messages a client sent us: counted, dropped (Kea too)
    C_ACK_RECEIVED
    C_NAK_RECEIVED
    C_CLASS_DROP                 # in the DROP class (Kea counts it in pkt4-receive-drop)
    C_NOT_MY_SHARD               # a cluster's: the packet is another server's shard (silent)
    C_COUNT


# The BOOTP header fields a network-booting client reads (next-server -> siaddr, server-hostname
# -> sname, boot-file-name -> file). A reservation's set fields override its subnet's.
cdef enum:
    BOOT_SIADDR = 1
    BOOT_SNAME = 2
    BOOT_FILE = 4
    SNAME_MAX = 64               # the sname and file fields, filled to the end as Kea allows
    FILE_MAX = 128               # (a shorter name ends at the first zero byte)


ctypedef struct BootFields:
    uint32_t siaddr
    uint8_t has                  # BOOT_* bits: which fields are set
    uint8_t sname_len
    uint8_t file_len
    uint8_t sname[SNAME_MAX]
    uint8_t file[FILE_MAX]


# The classes a subnet (its shared network's first) or a pool requires (require-client-classes):
# evaluated, in this order, once the reply's lease is chosen (Kea's requiredClassify).
cdef enum:
    REQUIRED_MAX = 8

ctypedef struct RequiredList:
    uint16_t bit[REQUIRED_MAX]
    uint8_t n


ctypedef struct SubnetRun:
    uint32_t valid_lft
    uint32_t valid_min           # a client's requested lease time (51) is clamped to these
    uint32_t valid_max
    uint32_t t1                  # 0: not sent (explicit renew-timer, or ...
    uint32_t t2
    double t1_share              # ... a share of the lease time with calculate-tee-times,
    double t2_share              # rounded as Kea rounds it)
    BootFields boot              # next-server, server-hostname, boot-file-name
    uint32_t server_id           # configured 54 (0: our address on the ingress link)
    uint32_t next_member         # shared network ring (itself when alone)
    uint8_t authoritative
    uint8_t echo_client_id
    const OptionSetC* options    # merged global > shared > subnet options
    uint32_t names               # its ddns-* parameters: an Engine.name_pols index


ctypedef struct IfaceRun:
    int ifindex
    uint32_t addr                # our address there
    uint32_t subnet              # subnet of directly attached clients (NIL: none)
    uint8_t mac[6]
    uint8_t name_len             # its name, as pkt.iface reads it
    uint8_t name[16]


# What one batch needs from receive to send. With durability fsync the engine rotates through
# LANES of them: the committer thread syncs and sends some while the next is received and decided.
ctypedef struct Lane:
    uint8_t* tx_kind
    uint8_t** frames
    uint16_t* frame_len
    int* frame_if
    uint8_t* frame_mac
    uint8_t* journal_buf
    uint32_t journal_cap         # room for every row a full batch can make (two per packet)
    uint8_t* durable             # 1: a lease ACK, sent only once its rows are on disk
    uint16_t* later_len          # with fsync: the replies that wait for the commit ...
    uint16_t* later_frame_len    # ... (the others leave at once)


# What the engine tells the server's log about a packet: the cases Kea logs with a message of
# its own. Each kind is noted only while the server has it on (its Kea logger and severity are
# enabled) and within its budget of lines per interval (Engine.set_events): the rest are counted,
# not noted, so nothing is copied or formatted per packet for a message nobody reads. A batch
# keeps up to EV_MAX; the rest are counted as lost. The kinds are fastdhcp.EngineEvent
# (generated from this block).
cdef enum:
    EV_DECLINE_NO_ADDRESS = 1    # DECLINE without option 50 (DHCP4_PACKET_DROP_0007)
    EV_DECLINE_NOT_FOUND = 2     # DECLINE of an address with no lease (DHCP4_DECLINE_LEASE_NOT_FOUND)
    EV_DECLINE_MISMATCH = 3      # DECLINE of another client's lease (DHCP4_DECLINE_LEASE_MISMATCH)
    EV_DECLINED = 4              # a lease declined: on probation (DHCP4_DECLINE_LEASE)
    EV_NO_SUBNET_NAK = 5         # a REQUEST NAKed for want of a subnet (DHCP4_PACKET_NAK_0001)
    EV_PARSE_FAILED = 6          # a datagram that does not parse (DHCP4_PACKET_DROP_0001; value: DropReason)
    EV_NO_MESSAGE_TYPE = 7       # no option 53, BOOTP not allowed (DHCP4_PACKET_DROP_0009)
    EV_BAD_MESSAGE_TYPE = 8      # option 53 not one byte (DHCP4_PACKET_DROP_0004)
    EV_UNKNOWN_TYPE = 9          # option 53 past the known types (DHCP4_PACKET_DROP_0005; value: type)
    EV_UNSUPPORTED_TYPE = 10     # a type servers send (DHCP4_PACKET_DROP_0006; value: type)
    EV_NO_IDENTITY = 11          # neither chaddr nor client id (DHCP4_PACKET_DROP_0007)
    EV_SERVER_ID_IN_DISCOVER = 12  # RFC 2131 Table 5 (DHCP4_PACKET_DROP_0007)
    EV_NOT_FOR_US = 13           # names another server (DHCP4_PACKET_DROP_0003)
    EV_NO_DIRECT_SUBNET = 14     # direct, and no subnet to answer from (DHCP4_PACKET_DROP_0002)
    EV_LEASE_ADVERT = 15         # an OFFER (DHCP4_LEASE_ADVERT)
    EV_LEASE_ALLOC = 16          # an ACK of a REQUEST (DHCP4_LEASE_ALLOC; value: the lifetime)
    EV_RELEASE = 17              # a lease released (DHCP4_RELEASE)
    EV_ALLOC_FAIL = 18           # no address to offer (ALLOC_ENGINE_V4_ALLOC_FAIL_*, DHCP4_PACKET_NAK_0003;
                                 # value: the pools tried, aux: the subnet id the walk ended on)
    EV_CLASS_DROP = 19           # in the DROP class (DHCP4_PACKET_DROP_0010)
    EV_KINDS = 20
    EV_MAX = 256                 # events kept per batch (a batch of 64 notes at most 3 a packet)

cdef enum:
    EVENTS_UNLIMITED = 0xFFFFFFFF   # an event budget that is never used up

ctypedef struct EngineEventC:
    uint8_t kind
    uint8_t msg_type             # the packet's option 53
    uint8_t htype
    uint8_t hwlen
    uint8_t cid_len
    uint8_t lease_hwlen
    uint8_t lease_cid_len
    uint32_t addr
    uint32_t xid
    uint32_t value               # EV_DECLINED: the probation in seconds
    uint32_t aux                 # EV_PARSE_FAILED: the address it was sent to; EV_ALLOC_FAIL: subnet id
    int32_t ifindex              # the interface it came in on
    uint8_t hw[HW_MAX]
    uint8_t lease_hw[HW_MAX]
    uint8_t cid[CID_MAX]
    uint8_t lease_cid[CID_MAX]
