# Batched receive and send (mmsg.pyx): an endpoint of a datagram and the mmsghdr arrays.
# Declared here, not in the part, so that no part depends on the include order.

from libc.stdint cimport int64_t, uint8_t, uint16_t, uint32_t, uint64_t
from netsys cimport *


cdef enum:
    MM_CONTROL = 64             # bytes of control buffer per slot: one in_pktinfo message


ctypedef struct Endpoint:       # one side of a datagram, host order
    uint32_t addr
    uint16_t port
    int ifindex                 # ingress / egress interface (0 = let routing decide)
    uint32_t local              # our address it arrived at / to send from (0 = any)


ctypedef struct MmsgArrays:
    mmsghdr* hdr
    iovec* iov
    sockaddr_in* name
    uint8_t* control
