# The load generator (loadgen.pyx): client states, exchange kinds, histograms, counters.
# Declared here, not in the part, so that no part depends on the include order.

from libc.stdint cimport int64_t, uint8_t, uint16_t, uint32_t, uint64_t


cdef extern from "<time.h>" nogil:
    struct timespec:
        long tv_sec
        long tv_nsec
    int clock_gettime(int clk, timespec* ts)
    int CLOCK_MONOTONIC


cdef extern from "<poll.h>" nogil:
    struct pollfd:
        int fd
        short events
        short revents
    int ppoll(pollfd* fds, unsigned long nfds, const timespec* timeout, const void* sigmask)
    short POLLIN


cdef enum:
    # What a simulated client is waiting for.
    GC_IDLE = 0
    GC_WAIT_OFFER = 1            # DISCOVER sent
    GC_WAIT_ACK = 2              # REQUEST (selecting) sent
    GC_WAIT_RENEW = 3            # REQUEST with ciaddr sent
    GC_WAIT_INFORM = 4           # INFORM sent

    # Exchange kinds (their names: LOADGEN_EXCHANGES in loadgen.pyx, same order).
    EX_DORA = 0
    EX_DO = 1
    EX_RENEW = 2
    EX_RELEASE = 3
    EX_DECLINE = 4
    EX_INFORM = 5
    EX_KINDS = 6

    # Latency histograms (LOADGEN_HISTOGRAMS in loadgen.pyx, same order).
    H_OFFER = 0                  # DISCOVER -> OFFER
    H_ACK = 1                    # REQUEST -> ACK of a DORA
    H_RENEW = 2                  # renewing REQUEST -> ACK
    H_INFORM = 3                 # INFORM -> ACK
    H_KINDS = 4
    H_SUB = 16                   # sub-buckets per power of two: under 7 % relative error
    H_BUCKETS = 64 * H_SUB

    GEN_BATCH_MAX = 256
    GEN_SLOT = 1536              # bytes per send or receive slot
    GEN_PACKET = 300             # requests are padded to the BOOTP minimum
    ACK_LOG_LINE = 64
    GEN_SERVERS = 16             # relay mode: servers every request goes to (helper addresses)


# Every counter the report shows (LOADGEN_COUNTERS in loadgen.pyx, same order).
cdef enum:
    GN_SENT = 0                  # datagrams sent
    GN_SEND_FAILED = 1
    GN_RECEIVED = 2              # datagrams received
    GN_MALFORMED = 3             # not a parseable BOOTREPLY
    GN_UNEXPECTED = 4            # unknown xid/chaddr, late (after its timeout) or a repeat
    GN_WRONG_TYPE = 5            # a reply of the wrong message type for what was asked
    GN_WRONG_SUBNET = 6          # yiaddr outside --subnet
    GN_WRONG_SERVER = 7          # option 54 missing, or not --server-id
    GN_NO_LEASE_TIME = 8         # OFFER/ACK without option 51
    GN_NAK = 9
    GN_DUPLICATE = 10            # an ACKed address another client still holds
    GN_OFFERS = 11
    GN_ACKS = 12
    GN_SKIPPED = 13              # open loop: starts due while every client was busy (not sent)
    GN_LATER_ANSWERS = 14        # several servers: replies after the first one to an exchange
    GN_COUNTERS = 15


ctypedef struct GenClient:
    int64_t sent_ns              # when the message now awaited was sent
    uint32_t xid
    uint32_t addr                # the address it holds (0: none)
    uint32_t offered             # the OFFER's yiaddr, requested next
    uint32_t server_id           # the OFFER's or ACK's option 54
    uint8_t state
    uint8_t kind


ctypedef struct Holder:          # duplicate detector: who holds an address, until when
    uint32_t addr                # 0: empty slot
    uint32_t client
    int64_t until_ns
