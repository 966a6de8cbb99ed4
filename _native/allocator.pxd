# The allocator (allocator.pyx): subnets, address ranges, reservations, the identifiers
# a packet offers, and the outcomes of a decision.
# Declared here, not in the part, so that no part depends on the include order.

from libc.stdint cimport int64_t, uint8_t, uint16_t, uint32_t, uint64_t
from leases cimport *
from names cimport NameChangeRing


cdef enum:
    # Reservation identifier kinds (Kea's host-reservation-identifiers).
    RK_HW = 1
    RK_CLIENT_ID = 2
    RK_CIRCUIT_ID = 3
    RK_DUID = 4                  # the DUID inside a client id of type 255 (RFC 4361)
    RK_KINDS = 4
    RESV_ID_MAX = 255
    CLIENT_ID_TYPE_DUID = 255    # RFC 4361 §6.1: a client id of type 255 carries IAID + DUID
    GLOBAL_SCOPE = 0xFFFFFFFE    # the "subnet" of global reservations


# Lease caching parameters a subnet has (Kea 1.9.6+: set or inherited, else unspecified).
cdef enum:
    CACHE_THRESHOLD = 1
    CACHE_MAX_AGE = 2
    LFT_INFINITY = 0xFFFFFFFF    # Kea's Lease::INFINITY_LFT


# Outcomes of a request.
cdef enum:
    AS_ACK = 0
    AS_NAK_WRONG_SUBNET = 1      # the address is not on the client's link
    AS_NAK_TAKEN = 2             # someone else holds it
    AS_NAK_UNAVAILABLE = 3       # not in a pool and not reserved for this client, or blocked
    AS_NAK_RESERVED_ELSEWHERE = 4  # the client has a reservation for another address
    AS_NO_ADDRESS = 5            # offer: pools exhausted
    AS_NO_MEMORY = 6


# Per-subnet counters, named as Kea's subnet[id].* statistics (SUBNET_COUNTERS in
# allocator.pyx): cumulative, only ever incremented, read by fastdhcp.control.stats.
cdef enum:
    SS_CUMULATIVE = 0            # cumulative-assigned-addresses: leases newly bound
    SS_RECLAIMED                 # reclaimed-leases: bound or declined leases reclaimed
    SS_RECLAIMED_DECLINED        # reclaimed-declined-addresses: probations ended
    SS_ALLOC_FAIL                # v4-allocation-fail (the subnet the walk ended on)
    SS_ALLOC_FAIL_SUBNET         # v4-allocation-fail-subnet: not in a shared network
    SS_ALLOC_FAIL_SHARED         # v4-allocation-fail-shared-network
    SS_ALLOC_FAIL_NO_POOLS       # v4-allocation-fail-no-pools: no pool to try at all
    SS_RESV_CONFLICTS            # v4-reservation-conflicts: the reserved address is taken
    SS_LEASE_REUSES              # v4-lease-reuses (Kea 2.4): replies with a cached lease
    SS_DECLINED_ASSIGNED         # declines since the load: Kea's assigned-addresses keeps
    SS_DECLINED_RECLAIMED        # them until reclaimed (assigned + these - those)
    SS_COUNT


ctypedef struct SubnetC:
    uint32_t id
    uint32_t network
    uint32_t mask
    uint32_t first_pool          # index into Allocator.pools
    uint32_t n_pools
    uint32_t next_pool           # allocate-any starts at this pool of the subnet
    uint8_t match_client_id
    uint8_t resv_global          # reservations-global: global reservations apply here
    uint8_t resv_in_subnet       # reservations-in-subnet: the subnet's own reservations apply
    uint8_t offer_strict         # offer-lifetime configured: an offer holds its address for
    uint32_t offer_lft           # offer_lft seconds (else a soft hold: the Allocator's default)
    uint8_t cache_flags          # CACHE_*: lease caching (cache-threshold, cache-max-age) is set
    uint32_t cache_max_age
    double cache_threshold
    uint8_t ncr_conflict         # ddns-use-conflict-resolution, for the NCRs of its leases
    uint64_t total
    uint64_t assigned            # bound leases
    uint64_t declined
    uint64_t stat[SS_COUNT]      # SS_* counters


ctypedef struct AddrRange:       # an address range and what it maps to (a pool, a subnet)
    uint32_t first
    uint32_t last
    uint32_t value


ctypedef struct Reservation:
    uint32_t subnet              # subnet index, or GLOBAL_SCOPE
    uint32_t addr                # 0: no address reserved (host name, options, boot fields only)
    uint32_t hash
    uint32_t id_off              # identifier bytes in the reservation arena
    uint32_t ordinal             # order of addition: the engine keeps per-reservation options by it
    uint8_t kind
    uint8_t id_len


# Identifiers a packet offers for reservation lookup: any may be absent (len 0).
ctypedef struct ClientIds:
    const uint8_t* hw
    uint8_t hwlen
    const uint8_t* cid
    uint8_t cid_len
    const uint8_t* circuit
    uint8_t circuit_len


# Whether addr lies in the subnet: the one test of "on this link" (RFC 2131 §4.3.2's "wrong
# network"), for pools, reservations, requests and shared networks alike.
cdef inline bint subnet_has(const SubnetC* s, uint32_t addr) noexcept nogil:
    return (addr & s.mask) == s.network
