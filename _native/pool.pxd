# The free-address bitmap (pool.pyx): its limits and the Pool struct.
# Declared here, not in the part, so that no part depends on the include order.

from libc.stdint cimport int64_t, uint8_t, uint16_t, uint32_t, uint64_t


cdef enum:
    POOL_MAX_SIZE = 1 << 24
    POOL_MAX_LEVELS = 5
    POOL_NONE = 0xFFFFFFFF       # "no address" from the search functions


ctypedef struct Pool:
    uint32_t first               # first address (host order)
    uint32_t size                # number of addresses
    uint32_t cursor              # next allocate-any starts here (round-robin)
    uint32_t free_count
    uint32_t levels
    uint32_t nbits[POOL_MAX_LEVELS]
    uint64_t* bits[POOL_MAX_LEVELS]
    uint64_t* blocked            # 1 = unavailable (reserved, declined, excluded): never freed by release
    # Addresses held by an offer only (1 = offered), shaped as `bits`: when nothing is free, the
    # next offered one after offer_cursor is found as fast as a free one (an offer is a
    # tie-breaker between concurrent clients, not a lease: it must not make an address unavailable)
    uint64_t* offered[POOL_MAX_LEVELS]
    uint32_t offered_count
    uint32_t offer_cursor
