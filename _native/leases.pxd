# The lease table (leases.pyx): records, the client key, the address directory, the
# change ring, lease states and flags.
# Declared here, not in the part, so that no part depends on the include order.

from libc.stdint cimport int64_t, uint8_t, uint16_t, uint32_t, uint64_t


cdef extern from "<sys/mman.h>" nogil:
    void* mmap(void* addr, size_t length, int prot, int flags, int fd, long offset)
    int munmap(void* addr, size_t length)
    void* mremap(void* old, size_t old_size, size_t new_size, int flags, ...)
    int madvise(void* addr, size_t length, int advice)
    int PROT_READ, PROT_WRITE, MAP_PRIVATE, MAP_ANONYMOUS, MAP_NORESERVE, MREMAP_MAYMOVE
    int MADV_HUGEPAGE, MADV_POPULATE_WRITE
    void* MAP_FAILED


cdef enum:
    NIL = 0xFFFFFFFF
    PREFETCH_BLOCK = 64
    KEY_SLOTS_PER_RECORD = 4     # key index load <= 1/4: short probes and short backward shifts
    DIR_LEAF_BITS = 10           # the address directory: one leaf per 1024 consecutive addresses
    DIR_LEAF = 1 << DIR_LEAF_BITS
    DIR_TOP = 1 << (32 - DIR_LEAF_BITS)
    IDENT_INLINE = 26            # hardware address + client id bytes kept in the record
    HW_MAX = 16
    WHEEL_SLOTS = 65536          # one slot per second; a longer wait just goes round again
    LT_MIN_CAPACITY = 1024


# Lease states. BOUND, DECLINED, EXPIRED and RELEASED are Kea's memfile states 0, 1, 2 and 3.
cdef enum:
    LS_FREE = 0                  # record slot unused
    LS_OFFERED = 1
    LS_BOUND = 2
    LS_RELEASED = 3
    LS_EXPIRED = 4
    LS_DECLINED = 5


cdef enum:
    LF_KEY_CID = 1               # the client key is the client id (else htype + chaddr)
    LF_FQDN_FWD = 2
    LF_FQDN_REV = 4
    LF_QUEUED = 8                # on the expiry wheel
    LF_OVERDUE = 16              # on the overdue list (expired before the wheel's current second)
    HOST_MAX = 255


# Journal operations.
cdef enum:
    JR_UPSERT = 1
    JR_DELETE = 2


ctypedef struct ByteArena:       # append-only bytes; offsets stay valid until compaction
    uint8_t* data
    uint32_t len
    uint32_t cap


# One lease in 64 bytes: one cache line, so that a lookup or an update of a record in a table of
# millions costs one miss. The hardware address and the client id share the inline bytes (a MAC
# and an RFC 4361 client id of 19 bytes fit); a client id that does not fit goes to the arena.
# The key hash and the pool are not stored: both follow from the rest (lt_rec_hash, the
# Allocator's pool ranges).
ctypedef struct Lease:
    uint32_t addr
    uint32_t subnet              # index of the subnet in the Allocator (its id is there)
    int64_t expire               # unix seconds
    uint32_t valid_lft
    uint32_t wheel_prev          # expiry wheel links; NIL when not queued (wheel_next doubles
    uint32_t wheel_next          # as the free-list link of unused records)
    uint32_t var_off             # arena: the client id if not inline, then the host name
    uint8_t host_len
    uint8_t state
    uint8_t flags
    uint8_t htype
    uint8_t hwlen
    uint8_t cid_len
    uint8_t ident[IDENT_INLINE]  # hardware address, then the client id when both fit


ctypedef struct JournalRecord:
    Lease lease                  # a snapshot: later changes to the table do not alter it
    uint8_t op


# The client key as the table sees it: which subnet, and client id or hardware address.
ctypedef struct ClientKey:
    uint32_t subnet              # subnet index
    uint32_t hash                # lt_key_hash, computed once per packet by lt_key_ready
    const uint8_t* cid
    uint8_t cid_len              # 0 = key by hardware address
    uint8_t htype
    uint8_t hwlen
    const uint8_t* hw


# Address -> record, as a two-level radix directory rather than a hash: an allocator hands out
# addresses in order, so consecutive allocations read consecutive entries of one leaf instead of
# a random line of a table of millions. A leaf (8 KB) exists only for blocks of 1024 addresses
# that have held a lease, so an empty /8 costs nothing; a full one 128 MB. An entry also carries
# its record's key hash: the key index can then be kept (and prefetched) from the address alone,
# without first reading the record, which is a miss of its own in a big table.
ctypedef struct AddrDir:
    uint32_t* top                # per 1024-address block: leaf number + 1 (0: no leaf yet)
    uint64_t* leaves             # DIR_LEAF entries per leaf: (key hash << 32) | record + 1
    uint32_t n_leaves
    uint32_t cap_leaves


# Lookup indexes for the lease commands (leaseindex.pyx): per kind, hash chains of the records
# a command lists, doubly linked so that a change unlinks in O(1). Built on the first lookup,
# then kept by every journalled change; until then they cost nothing.
cdef enum:
    LX_HOST = 0                  # host name, lower-cased
    LX_HW = 1                    # hardware address bytes
    LX_CID = 2                   # client id bytes
    LX_STATE = 3                 # Kea's state number (0 bound, 1 declined, 2 expired-reclaimed)
    LX_KINDS = 4


ctypedef struct LookupLinks:     # one per record
    uint32_t prev[LX_KINDS]
    uint32_t next[LX_KINDS]
    uint32_t hash[LX_KINDS]
    uint8_t linked               # bit per kind


ctypedef struct LookupIndex:
    uint32_t* head[LX_KINDS]     # bucket -> first record (NIL: none)
    uint32_t mask                # buckets - 1
    LookupLinks* links
    uint32_t capacity            # records covered (the table's capacity when built)
    uint32_t built               # records below this are filed (the build goes in steps)


ctypedef struct LeaseTable:
    Lease* rec
    uint32_t capacity
    uint32_t used                # records ever handed out (high-water mark)
    uint32_t count               # live records
    uint32_t free_head           # recycled records
    AddrDir by_addr
    uint64_t* by_key             # open addressing (linear probing): slot = key hash tag + record
    uint32_t index_mask
    uint32_t wheel[WHEEL_SLOTS]
    uint32_t overdue             # leases queued with an expiry the wheel has already passed
    int64_t wheel_time           # reclaim has run up to this second (-1: never)
    ByteArena arena
    uint32_t arena_dead          # bytes no longer referenced (lt_compact_arena drops them)
    JournalRecord* journal
    uint32_t journal_len
    uint32_t journal_cap
    LookupIndex* lookup          # NULL until a lease command first looks up by name or state


cdef enum:
    SLOT_BYTES = 8


cdef enum:
    ARENA_MAX = 0xFFFFFF00       # offsets are 32-bit (and NIL is all ones)
