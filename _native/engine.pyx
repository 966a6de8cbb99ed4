# One batch of the server: recvmmsg -> parse -> decide -> build -> journal -> sendmmsg, with no
# Python object per packet. The decisions follow RFC 2131 §4.3 (DISCOVER, REQUEST in its four
# client states, DECLINE, RELEASE, INFORM) and §4.1 (where the reply goes). The policy (subnets,
# options, interfaces, relays) is compiled into the tables below by fastdhcp.policy at (re)load.
# Included by _core.pyx.

from libc.stdlib cimport calloc, free, malloc, realloc
from libc.string cimport memcpy, memmove, memset
from libc.stdint cimport int64_t


# The engine's counters by Kea statistic name, in the order of the C_ counters (engine.pxd).
# pkt4-receive-drop is not counted but summed from the drops when read (Engine.stats).
ENGINE_COUNTERS = ("pkt4-received", "pkt4-discover-received", "pkt4-request-received",
                   "pkt4-release-received", "pkt4-decline-received", "pkt4-inform-received",
                   "pkt4-unknown-received", "pkt4-parse-failed",
                   "pkt4-offer-sent", "pkt4-ack-sent", "pkt4-nak-sent", "pkt4-sent",
                   "no-subnet-drop", "addresses-exhausted", "request-for-other-server",
                   "wrong-interface-drop", "raw-unavailable-broadcast", "send-failed",
                   "lease-write-failed", "no-client-identity-drop", "decline-without-address-drop",
                   "inform-no-address-drop", "discover-with-server-id-drop", "v4-lease-reuses",
                   "pkt4-offer-received", "pkt4-ack-received", "pkt4-nak-received",
                   "class-drop", "not-my-shard-drop")
if len(ENGINE_COUNTERS) != C_COUNT:     # one name per counter, or stats() misnames them
    raise ImportError(f"fastdhcp._core: {len(ENGINE_COUNTERS)} counter names for {C_COUNT} counters")


cdef OptionSetC NO_OPTIONS       # zero: the option set of a NAK
# The engine's leads hold at most 54, 51, 58 and 59: with 53 they are never repeated from the
# option set, whichever of them a given reply carries.
cdef uint64_t LEAD_WRITTEN[4]
cdef uint64_t NAMED_LEAD_WRITTEN[4]     # ... and 12 and 81: a client's name, when the lead has it
cdef uint8_t _ENGINE_LEAD_CODES[8]
_ENGINE_LEAD_CODES[:] = [OPT_SERVER_ID, 0, OPT_LEASE_TIME, 0, OPT_RENEWAL_TIME, 0,
                         OPT_REBINDING_TIME, 0]
opt_written_mask(_ENGINE_LEAD_CODES, 8, LEAD_WRITTEN)
NAMED_LEAD_WRITTEN[:] = LEAD_WRITTEN
bit_set(NAMED_LEAD_WRITTEN, OPT_HOST_NAME)
bit_set(NAMED_LEAD_WRITTEN, OPT_CLIENT_FQDN)
# Every option the reply builder writes itself: 53 first, the lead, the echoes of 61 (RFC 6842)
# and 82 (RFC 3046) last. fastdhcp.policy leaves configured values for them out of option sets.
BUILDER_OWNED = frozenset((OPT_MESSAGE_TYPE, OPT_SERVER_ID, OPT_LEASE_TIME, OPT_RENEWAL_TIME,
                           OPT_REBINDING_TIME, OPT_CLIENT_ID, OPT_RELAY_AGENT_INFO))


cdef set_boot(BootFields* f, next_server, server_hostname, boot_file_name):
    memset(f, 0, sizeof(BootFields))
    if next_server is not None:
        f.siaddr = ip_to_u32(next_server)
        f.has |= BOOT_SIADDR
    for text, bit, room in ((server_hostname, BOOT_SNAME, SNAME_MAX),
                            (boot_file_name, BOOT_FILE, FILE_MAX)):
        if text is None:
            continue
        raw = text.encode() if isinstance(text, str) else bytes(text)
        if len(raw) > room:
            raise ValueError(f"{raw!r} is longer than {room} bytes")
        if bit == BOOT_SNAME:
            memcpy(&f.sname[0], <const uint8_t*>raw, len(raw))
            f.sname_len = len(raw)
        else:
            memcpy(&f.file[0], <const uint8_t*>raw, len(raw))
            f.file_len = len(raw)
        f.has |= bit


# sname and file of a reply (zero in the built header): the reservation's where it sets them,
# else the subnet's.
cdef inline void put_boot_names(uint8_t* out, const BootFields* subnet, const BootFields* resv) noexcept nogil:
    cdef const BootFields* f
    f = resv if resv != NULL and resv.has & BOOT_SNAME else subnet
    if f.sname_len:
        memcpy(out + HDR_SNAME, f.sname, f.sname_len)
    f = resv if resv != NULL and resv.has & BOOT_FILE else subnet
    if f.file_len:
        memcpy(out + HDR_FILE, f.file, f.file_len)


cdef int lane_alloc(Lane* l, int n) noexcept nogil:
    l.tx_kind = <uint8_t*>calloc(n, 1)
    l.frames = <uint8_t**>calloc(n, sizeof(uint8_t*))
    l.frame_len = <uint16_t*>calloc(n, sizeof(uint16_t))
    l.frame_if = <int*>calloc(n, sizeof(int))
    l.frame_mac = <uint8_t*>calloc(n, 6)
    l.journal_cap = JOURNAL_BUF + <uint32_t>n * 2 * CSV_ROW_MAX
    l.journal_buf = <uint8_t*>malloc(l.journal_cap)
    l.durable = <uint8_t*>calloc(n, 1)
    l.later_len = <uint16_t*>calloc(n, sizeof(uint16_t))
    l.later_frame_len = <uint16_t*>calloc(n, sizeof(uint16_t))
    return 0 if (l.tx_kind and l.frames and l.frame_len and l.frame_if and l.frame_mac
                 and l.journal_buf and l.durable and l.later_len and l.later_frame_len) else -1


cdef void lane_free(Lane* l) noexcept nogil:
    free(l.tx_kind)
    free(l.frames)
    free(l.frame_len)
    free(l.frame_if)
    free(l.frame_mac)
    free(l.journal_buf)
    free(l.durable)
    free(l.later_len)
    free(l.later_frame_len)


# final: its cdef methods are called directly (and can be inlined), not through a vtable
@cython.final
cdef class Engine:
    """The native server loop's body. ``fastdhcp.policy`` fills its tables; ``fastdhcp.server``
    calls ``process`` whenever the socket is readable."""

    cdef readonly Allocator alloc
    cdef readonly PacketBatch batch        # the current lane's
    cdef list batches                      # one PacketBatch per lane
    cdef Lane lanes[LANES]
    cdef int lane
    cdef Lane* cur                         # lanes[lane]: the batch in hand's buffers
    cdef Committer* committer              # durability fsync only
    cdef public int durability             # DUR_NONE, DUR_WRITE, DUR_FSYNC or DUR_DATABASE
    cdef void* pg                          # the lease database's PgStore (durability database)
    cdef uint32_t n_shards                 # a cluster's shards (0: none, every packet is ours)
    cdef uint64_t owned_shards[4]          # the shards this server owns now
    cdef object lease_db                   # ... and the LeaseDatabase that owns it
    cdef SubnetRun* runs
    cdef uint32_t n_runs
    cdef const OptionSetC** pool_options   # per pool (NULL: the subnet's)
    cdef const OptionSetC** resv_options   # per reservation ordinal (NULL: pool's or subnet's)
    cdef const OptionSetC** resv_overlay   # global reservations: own options over the subnet's
    cdef BootFields* resv_boot             # per reservation ordinal (has = 0: the subnet's)
    cdef list keep                         # OptionSets the C pointers refer to
    cdef IfaceRun ifaces[MAX_IFACES]
    cdef uint32_t n_ifaces
    cdef AddrRange* relays
    cdef uint32_t n_relays
    cdef AddrRange* nets
    cdef uint32_t n_nets
    cdef uint64_t counters[C_COUNT]
    cdef CommitCounts io                   # rows, bytes and histograms of the commits so far
    cdef Histo batch_hist                  # datagrams per received batch
    cdef EngineEventC* events              # what the server's log should hear of (take_events)
    cdef SubnetRun nowhere                 # the reply parameters of a NAK that has no subnet
    cdef uint32_t n_events
    cdef uint64_t events_lost
    cdef ClassTests tests                  # the configuration's class tests (None: no classes)
    cdef BootFields* class_boot            # per class bit: its next-server, sname, file
    cdef const OptionSetC** class_options  # per class bit: its option-data (NULL: none)
    cdef bint any_class_options
    cdef uint32_t* class_lft               # per class bit: min, default, max valid lifetime
    cdef uint64_t lft_classes[CL_WORDS]    # the classes that set one
    cdef ClGuard* subnet_guard             # per subnet: who may use it (its shared network's
                                           # when it has none of its own)
    cdef bint any_class_boot
    cdef int drop_class                    # the DROP class's number (-1: none)
    cdef uint64_t late[CL_WORDS]           # classes evaluated after the host lookup (KNOWN...)
    cdef uint64_t only_required[CL_WORDS]  # only-if-required: evaluated where required only
    cdef RequiredList* subnet_required     # per subnet
    cdef RequiredList* pool_required       # per pool (the Allocator's numbering)
    cdef bint any_required
    cdef uint64_t* resv_classes            # per reservation ordinal: the classes it assigns
    cdef bint needs_known                  # KNOWN/UNKNOWN are read by a test or a guard
    cdef uint64_t classes[CL_WORDS]        # the classes of the packet being decided
    cdef uint32_t ev_budget[EV_KINDS]      # events of each kind still to note this interval
    cdef uint64_t ev_held[EV_KINDS]        # ... and those not noted since the last take_held
    cdef uint32_t reuse_lft      # set just before reply(): the cached lease's remaining time (0: none)
    cdef NamePolicy* name_pols             # distinct ddns-* parameter sets; 0: Kea's defaults
    cdef uint32_t n_name_pols
    cdef uint8_t** resv_host               # per reservation ordinal: its host name (NULL: none)
    cdef uint8_t* resv_host_len
    cdef ClientName cname                  # the packet in hand's name (name_for, then reply)
    cdef Lease prior                       # the client's lease before a REQUEST (old_name) ...
    cdef int prior_len                     # ... its host name's length (-1: none) ...
    cdef uint8_t prior_host[NAME_TEXT_MAX] # ... and the name
    cdef PendingRows pending     # rows of failed commits, written first by the next
    cdef public bint raw_sockets           # dhcp-socket-type raw: unicast to chaddr via AF_PACKET
    cdef public bint allow_bootp
    cdef public bint ignore_rai_link_selection     # compatibility: RAI sub-option 5 is not read
    # Where replies go: a relay's server port (RFC 2131 §4.1: 67) and the client port (68), as
    # kea-dhcp4's -p/-P change them; tests without root point them at unprivileged ports.
    cdef public uint16_t relay_port
    cdef public uint16_t client_port

    def __cinit__(self, Allocator alloc, int batch_size=64):
        self.alloc = alloc
        self.batches = [PacketBatch(batch_size) for _ in range(LANES)]
        self.keep = []
        for k in range(LANES):
            if lane_alloc(&self.lanes[k], batch_size) != 0:
                raise MemoryError()
        self.use_lane(0)
        self.durability = DUR_WRITE
        self.runs = <SubnetRun*>calloc(max(alloc.n_subnets, 1), sizeof(SubnetRun))
        self.n_runs = alloc.n_subnets
        self.pool_options = <const OptionSetC**>calloc(max(alloc.n_pools, 1), sizeof(OptionSetC*))
        self.resv_options = <const OptionSetC**>calloc(max(alloc.n_resv, 1), sizeof(OptionSetC*))
        self.resv_overlay = <const OptionSetC**>calloc(max(alloc.n_resv, 1), sizeof(OptionSetC*))
        self.resv_boot = <BootFields*>calloc(max(alloc.n_resv, 1), sizeof(BootFields))
        if not (self.runs and self.pool_options and self.resv_options and self.resv_overlay
                and self.resv_boot):
            raise MemoryError()
        self.raw_sockets = True
        self.relay_port = 67
        self.client_port = 68
        self.tests = None
        self.drop_class = -1
        self.class_boot = <BootFields*>calloc(CL_MAX_CLASSES, sizeof(BootFields))
        self.subnet_guard = <ClGuard*>calloc(max(alloc.n_subnets, 1), sizeof(ClGuard))
        self.class_lft = <uint32_t*>calloc(CL_MAX_CLASSES * 3, sizeof(uint32_t))
        self.class_options = <const OptionSetC**>calloc(CL_MAX_CLASSES, sizeof(OptionSetC*))
        self.subnet_required = <RequiredList*>calloc(max(alloc.n_subnets, 1), sizeof(RequiredList))
        self.pool_required = <RequiredList*>calloc(max(alloc.n_pools, 1), sizeof(RequiredList))
        self.resv_classes = <uint64_t*>calloc(max(alloc.n_resv, 1) * CL_WORDS, sizeof(uint64_t))
        if self.subnet_required == NULL or self.pool_required == NULL or self.resv_classes == NULL:
            raise MemoryError()
        if self.class_boot == NULL or self.subnet_guard == NULL or self.class_lft == NULL or \
                self.class_options == NULL:
            raise MemoryError()
        self.any_class_boot = False
        self.classes[0] = 1                       # ALL, until a class set says more
        alloc.use_classes(self.classes)
        self.events = <EngineEventC*>calloc(EV_MAX, sizeof(EngineEventC))
        for k in range(EV_DECLINE_NO_ADDRESS, EV_NO_SUBNET_NAK + 1):
            self.ev_budget[k] = EVENTS_UNLIMITED      # (the server sets them all: set_events)
        self.nowhere.echo_client_id = 1
        if self.events == NULL:
            raise MemoryError()
        self.name_pols = <NamePolicy*>calloc(1, sizeof(NamePolicy))
        self.n_name_pols = 1
        self.resv_host = <uint8_t**>calloc(max(alloc.n_resv, 1), sizeof(uint8_t*))
        self.resv_host_len = <uint8_t*>calloc(max(alloc.n_resv, 1), 1)
        if self.name_pols == NULL or self.resv_host == NULL or self.resv_host_len == NULL:
            raise MemoryError()
        name_policy_defaults(&self.name_pols[0])

    def __dealloc__(self):
        if self.alloc is not None:
            self.alloc.use_classes(NULL)          # (it may outlive this engine)
        free(self.class_boot)
        free(self.subnet_guard)
        free(self.class_lft)
        free(self.class_options)
        free(self.subnet_required)
        free(self.resv_classes)
        free(self.pool_required)
        if self.committer != NULL:
            with nogil:
                committer_stop(self.committer)
        for k in range(LANES):
            lane_free(&self.lanes[k])
        free(self.runs)
        free(self.pool_options)
        free(self.resv_options)
        free(self.resv_overlay)
        free(self.resv_boot)
        free(self.relays)
        free(self.nets)
        free(self.pending.data)
        free(self.events)
        if self.name_pols != NULL:
            for k in range(self.n_name_pols):
                if self.name_pols[k].regex != NULL:
                    regfree(self.name_pols[k].regex)
                    free(self.name_pols[k].regex)
        free(self.name_pols)
        if self.resv_host != NULL:
            for k in range(self.alloc.n_resv if self.alloc is not None else 0):
                free(self.resv_host[k])
        free(self.resv_host)
        free(self.resv_host_len)

    def pending_rows(self):
        """Bytes of lease rows failed commits keep for the next one (a full disk, a lost
        lease database)."""
        return self.pending.len

    def take_pending_rows(self, Engine old):
        """A reload: the old engine's rows that no commit could write yet become ours (the
        old one has been drained)."""
        free(self.pending.data)
        self.pending = old.pending
        memset(&old.pending, 0, sizeof(PendingRows))

    # ---- tables (policy fills them once per load) ----------------------------------------------

    def set_subnet(self, uint32_t subnet_id, *, uint32_t valid_lifetime, min_lifetime=None,
                   max_lifetime=None, t1=None, t2=None, t1_percent=None, t2_percent=None,
                   next_server=0, server_id=0, bint authoritative=False, bint echo_client_id=True,
                   OptionSet options=None, shared_with=(), server_hostname="", boot_file_name=""):
        """Reply parameters of a subnet. T1/T2 are fixed (t1, t2) or shares of each lease's
        time (t1_percent, t2_percent: calculate-tee-times); ``shared_with`` lists the ids of the
        other members of its shared network (allocation may use any of them)."""
        cdef uint32_t sn = self.alloc._subnet(subnet_id)
        cdef SubnetRun* r = &self.runs[sn]
        options = options if options is not None else OptionSet({})
        self.keep.append(options)
        r.valid_lft = valid_lifetime
        r.valid_min = min_lifetime if min_lifetime is not None else valid_lifetime
        r.valid_max = max_lifetime if max_lifetime is not None else valid_lifetime
        r.t1 = t1 or 0
        r.t2 = t2 or 0
        r.t1_share = t1_percent or 0.0
        r.t2_share = t2_percent or 0.0
        set_boot(&r.boot, next_server, server_hostname or None, boot_file_name or None)
        r.server_id = ip_to_u32(server_id)
        r.authoritative = authoritative
        r.echo_client_id = echo_client_id
        self.nowhere.echo_client_id = echo_client_id    # global in Kea: every subnet has it
        r.options = &(<OptionSet>options).c
        members = sorted([sn] + [self.alloc._subnet(i) for i in shared_with])
        r.next_member = members[(members.index(sn) + 1) % len(members)]

    def set_pool_options(self, uint32_t subnet_id, int pool_in_subnet, OptionSet options):
        """Options of one pool (already merged with its subnet's, Kea's precedence)."""
        cdef SubnetC* s = &self.alloc.subnets[self.alloc._subnet(subnet_id)]
        if not 0 <= pool_in_subnet < s.n_pools:
            raise ValueError("no such pool")
        self.keep.append(options)
        self.pool_options[s.first_pool + pool_in_subnet] = &options.c

    def set_reservation_options(self, uint32_t ordinal, OptionSet options, *, bint overlay=False):
        """Options of one reservation (already merged with its pool's and subnet's, Kea's
        precedence); ``ordinal`` is what Allocator.add_reservation returned. With ``overlay``
        (global reservations, which serve any subnet) the set holds the reservation's own
        options only, taken before the pool's or subnet's."""
        if ordinal >= self.alloc.n_resv:
            raise ValueError("no such reservation")
        self.keep.append(options)
        if overlay:
            self.resv_overlay[ordinal] = &options.c
        else:
            self.resv_options[ordinal] = &options.c

    def set_reservation_boot(self, uint32_t ordinal, next_server=None, server_hostname=None,
                             boot_file_name=None):
        """A reservation's next-server, server-hostname and boot-file-name (None: the
        subnet's)."""
        if ordinal >= self.alloc.n_resv:
            raise ValueError("no such reservation")
        set_boot(&self.resv_boot[ordinal], next_server, server_hostname, boot_file_name)

    # ---- client names (names.pyx) -----------------------------------------------------------------

    def add_name_policy(self, *, bint updates=False, bint override_no_update=False,
                        bint override_client_update=False, int replace=RCM_NEVER,
                        bint update_on_renew=False, bint conflict_resolution=True,
                        str prefix="myhost", str suffix="", str char_set="[^A-Za-z0-9.-]",
                        str replacement=""):
        """One set of ddns-* parameters (a subnet's, resolved); returns its number for
        set_subnet_names. ``char_set`` is hostname-char-set, a POSIX extended regular expression
        ('' : no sanitising); one bracket expression (optionally with +) becomes a byte table."""
        cdef NamePolicy* grown = <NamePolicy*>realloc(self.name_pols,
                                                      (self.n_name_pols + 1) * sizeof(NamePolicy))
        if grown == NULL:
            raise MemoryError()
        self.name_pols = grown
        cdef NamePolicy* pol = &self.name_pols[self.n_name_pols]
        memset(pol, 0, sizeof(NamePolicy))
        self.n_name_pols += 1
        name_policy_set(pol, updates, override_no_update, override_client_update, replace,
                        update_on_renew, conflict_resolution, prefix, suffix, char_set, replacement)
        return self.n_name_pols - 1

    def set_subnet_names(self, uint32_t subnet_id, uint32_t policy):
        """The subnet's ddns-* parameters: an add_name_policy number."""
        if policy >= self.n_name_pols:
            raise ValueError("no such name policy")
        sn = self.alloc._subnet(subnet_id)
        self.runs[sn].names = policy
        self.alloc.subnets[sn].ncr_conflict = self.name_pols[policy].conflict_resolution

    def set_reservation_hostname(self, uint32_t ordinal, str hostname):
        """A reservation's host name (Kea: it takes precedence over the client's)."""
        if ordinal >= self.alloc.n_resv:
            raise ValueError("no such reservation")
        cdef bytes raw = hostname.encode()[:NAME_TEXT_MAX]
        free(self.resv_host[ordinal])
        self.resv_host[ordinal] = <uint8_t*>malloc(max(len(raw), 1))
        if self.resv_host[ordinal] == NULL:
            raise MemoryError()
        memcpy(self.resv_host[ordinal], <const char*>raw, len(raw))
        self.resv_host_len[ordinal] = len(raw)

    def set_name_changes(self, uint32_t max_queue_size):
        """DNS updates on (dhcp-ddns enable-updates), with room for ``max_queue_size``
        NameChangeRequests between two take_name_changes; 0: off."""
        cdef NameChangeRing* ring = &self.alloc.ncr
        free(ring.items)
        ring.items = NULL
        ring.head = ring.n = 0
        ring.cap = 0
        if max_queue_size:
            ring.items = <NameChange*>calloc(max_queue_size, sizeof(NameChange))
            if ring.items == NULL:
                raise MemoryError()
            ring.cap = max_queue_size

    def take_name_changes(self, int most=-1):
        """The NameChangeRequests queued since the last call, oldest first, at most ``most``:
        (change, address, cltt, lifetime, fqdn, forward, reverse, conflict_resolution,
        identifier type, identifier bytes) with change 0 add, 1 remove (Kea's CHG_*) and
        identifier type 0 hardware address (htype + chaddr), 1 client id (RFC 4701)."""
        cdef NameChangeRing* ring = &self.alloc.ncr
        cdef NameChange* c
        out = []
        while ring.n and most != 0:
            c = &ring.items[ring.head]
            out.append((c.change, u32_to_ip(c.addr), c.cltt, c.valid_lft,
                        c.host[:c.host_len].decode("utf-8", "replace"), bool(c.fwd), bool(c.rev),
                        bool(c.conflict_resolution), c.id_type, c.id[:c.id_len]))
            ring.head = (ring.head + 1) % ring.cap
            ring.n -= 1
            most -= 1
        return out

    def queue_name_add(self, address):
        """Queue an add for the lease of ``address`` (lease4-resend-ddns): 0 queued, 1 no
        lease, 2 no host name, 3 neither update direction, 4 the queue is full; and the name."""
        cdef uint32_t r = lt_find_addr(&self.alloc.t, ip_to_u32(address))
        cdef const Lease* l
        cdef uint64_t before = self.alloc.ncr.queued
        if r == NIL or self.alloc.t.rec[r].state != LS_BOUND:
            return 1, ""
        l = &self.alloc.t.rec[r]
        host = lt_host(&self.alloc.t, l)[:l.host_len].decode("utf-8", "replace")
        if not l.host_len:
            return 2, host
        if not l.flags & (LF_FQDN_FWD | LF_FQDN_REV):
            return 3, host
        ncr_put(&self.alloc.ncr, NCR_ADD, l.addr, l.expire - l.valid_lft, l.valid_lft,
                lt_host(&self.alloc.t, l), l.host_len, l.flags & LF_FQDN_FWD, l.flags & LF_FQDN_REV,
                self.alloc.subnets[l.subnet].ncr_conflict, lt_cid(&self.alloc.t, l), l.cid_len,
                l.htype, lt_hw(l), l.hwlen)
        return (0 if self.alloc.ncr.queued > before else 4), host

    def name_change_counts(self):
        """(queued, dropped because the queue was full, waiting) since the queue was made."""
        return self.alloc.ncr.queued, self.alloc.ncr.dropped, self.alloc.ncr.n

    # The client's bound lease before this REQUEST changes it (Kea's ctx->old_lease_), for the
    # NameChangeRequests (self.prior; prior_len -1: none).
    cdef void old_name(self, const ClientKey* k) noexcept:
        cdef uint32_t r = lt_find_key(&self.alloc.t, k)
        cdef const Lease* l
        self.prior_len = -1
        if r == NIL or self.alloc.t.rec[r].state != LS_BOUND:
            return
        l = &self.alloc.t.rec[r]
        self.prior = l[0]
        self.prior_len = l.host_len
        if l.host_len:
            memcpy(self.prior_host, lt_host(&self.alloc.t, l), l.host_len)

    # Kea's createNameChangeRequests once a REQUEST is ACKed: unless the name and its updates
    # are what the lease had (and ddns-update-on-renew is off), the old records are removed and
    # the new ones added.
    cdef void name_changes(self, uint32_t sn, uint32_t addr) noexcept:
        cdef uint32_t r = lt_find_addr(&self.alloc.t, addr)
        cdef const Lease* l
        cdef const Lease* o = &self.prior
        cdef uint16_t k
        cdef bint same
        if r == NIL:
            return
        l = &self.alloc.t.rec[r]
        if self.prior_len >= 0:
            same = self.prior_len == l.host_len and \
                (o.flags & (LF_FQDN_FWD | LF_FQDN_REV)) == (l.flags & (LF_FQDN_FWD | LF_FQDN_REV))
            if same:
                for k in range(l.host_len):     # (Kea: iequals)
                    if ascii_lower(self.prior_host[k]) != ascii_lower(lt_host(&self.alloc.t, l)[k]):
                        same = False
                        break
            if same and not self.name_pols[self.runs[sn].names].update_on_renew:
                return
            ncr_put(&self.alloc.ncr, NCR_REMOVE, o.addr, o.expire - o.valid_lft, o.valid_lft,
                    self.prior_host, <uint16_t>self.prior_len, o.flags & LF_FQDN_FWD,
                    o.flags & LF_FQDN_REV, self.alloc.subnets[o.subnet].ncr_conflict,
                    lt_cid(&self.alloc.t, l) if o.cid_len else NULL, o.cid_len, o.htype, lt_hw(o),
                    o.hwlen)
        ncr_put(&self.alloc.ncr, NCR_ADD, l.addr, l.expire - l.valid_lft, l.valid_lft,
                lt_host(&self.alloc.t, l), l.host_len, l.flags & LF_FQDN_FWD, l.flags & LF_FQDN_REV,
                self.alloc.subnets[l.subnet].ncr_conflict, lt_cid(&self.alloc.t, l), l.cid_len,
                l.htype, lt_hw(l), l.hwlen)

    # The name the reply to packet p carries and its lease keeps (self.cname), for address addr
    # in subnet sn: Kea's processClientName, then the name generated from the address.
    cdef void name_for(self, const DhcpPacket* p, uint32_t sn, const ClientIds* ids,
                       uint32_t addr) noexcept:
        cdef const NamePolicy* pol = &self.name_pols[self.runs[sn].names]
        cdef const uint8_t* resv = NULL
        cdef uint16_t resv_len = 0
        cdef uint32_t slot
        if ids != NULL and self.alloc.n_resv:
            slot = self.alloc.resv_find(sn, ids)
            if slot != NIL and self.resv_host[self.alloc.resv[slot].ordinal] != NULL:
                resv = self.resv_host[self.alloc.resv[slot].ordinal]
                resv_len = self.resv_host_len[self.alloc.resv[slot].ordinal]
        if resv == NULL and not p.opt[OPT_HOST_NAME].count and not p.opt[OPT_CLIENT_FQDN].count \
                and pol.replace != RCM_ALWAYS and pol.replace != RCM_WHEN_NOT_PRESENT:
            self.cname.kind = NAME_NONE             # (the common case, at once)
            self.cname.fwd = self.cname.rev = False
            self.cname.len = 0
            return
        name_decide(pol, opt_value(p, OPT_HOST_NAME) if p.opt[OPT_HOST_NAME].count else NULL,
                    p.opt[OPT_HOST_NAME].len if p.opt[OPT_HOST_NAME].count else -1,
                    opt_value(p, OPT_CLIENT_FQDN) if p.opt[OPT_CLIENT_FQDN].count else NULL,
                    p.opt[OPT_CLIENT_FQDN].len if p.opt[OPT_CLIENT_FQDN].count else -1,
                    resv, resv_len, &self.cname)
        name_finish(pol, addr, &self.cname)
        if self.cname.len > NAME_TEXT_MAX:
            self.cname.kind = NAME_NONE             # (longer than a lease keeps: Kea's would)
            self.cname.fwd = self.cname.rev = False
            self.cname.len = 0

    cdef inline uint8_t cname_flags(self) noexcept:
        return (LF_FQDN_FWD if self.cname.fwd else 0) | (LF_FQDN_REV if self.cname.rev else 0)

    def set_classes(self, ClassTests tests, drop_class=None, after_host=(), bint known=False):
        """The configuration's class tests, evaluated for every packet in their order (program
        k sets class bit k + 1; bit 0 is ALL, 1 KNOWN, 2 UNKNOWN); ``drop_class``: the bit of
        DROP (its packets are dropped, counted as class-drop); ``after_host``: the bits of the
        classes whose tests wait for the host lookup (Kea's depend_on_known); ``known``: set
        KNOWN or UNKNOWN after it (a test or a guard reads them)."""
        self.tests = tests if len(tests) else None
        self.drop_class = -1 if drop_class is None else drop_class
        memset(self.late, 0, sizeof(self.late))
        for bit in after_host:
            if not 0 < bit < CL_MAX_CLASSES:
                raise ValueError(f"class bit {bit} out of range")
            self.late[bit >> 6] |= 1ULL << (bit & 63)
        self.needs_known = known or bool(after_host)
        memset(self.classes, 0, sizeof(self.classes))
        self.classes[0] = 1
        self.alloc.use_classes(self.classes)      # (pool guards read the packet's classes)
        memset(self.lft_classes, 0, sizeof(self.lft_classes))

    def set_subnet_guard(self, uint32_t subnet_id, classes):
        """Only packets in one of ``classes`` (class bits) may be served from the subnet
        (Kea's Network::clientSupported): a packet outside them is served by another member
        of its shared network that admits it, or by none."""
        cdef ClGuard* g = &self.subnet_guard[self.alloc._subnet(subnet_id)]
        memset(g, 0, sizeof(ClGuard))
        g.on = 1
        for bit in classes:
            if not 0 <= bit < CL_MAX_CLASSES:
                raise ValueError(f"class bit {bit} out of range")
            g.mask[bit >> 6] |= 1ULL << (bit & 63)

    cdef inline bint subnet_allowed(self, uint32_t sn) noexcept:
        cdef const ClGuard* g = &self.subnet_guard[sn]
        if not g.on:
            return True
        return ((g.mask[0] & self.classes[0]) | (g.mask[1] & self.classes[1]) |
                (g.mask[2] & self.classes[2]) | (g.mask[3] & self.classes[3])) != 0

    # The subnet selection's answer, or the next member of its shared network the packet's
    # classes admit (Kea's selectSubnet skips subnets that do not support the client's
    # classes); NIL when none does.
    cdef uint32_t admitted(self, uint32_t sn) noexcept:
        cdef uint32_t m = sn
        if sn == NIL:
            return NIL
        while not self.subnet_allowed(m):
            m = self.runs[m].next_member
            if m == sn:
                return NIL
        return m

    def set_required(self, subnet_id, classes, first=None, last=None):
        """The classes (bits, in order) the subnet requires, or with ``first``/``last`` the
        pool of the subnet with that range; a class that is only-if-required is evaluated only
        there (set_only_required)."""
        cdef RequiredList r
        cdef uint32_t p, a, b
        memset(&r, 0, sizeof(RequiredList))
        for bit in list(classes)[:REQUIRED_MAX]:
            if not 0 < bit < CL_MAX_CLASSES:
                raise ValueError(f"class bit {bit} out of range")
            r.bit[r.n] = bit
            r.n += 1
        self.any_required = self.any_required or r.n > 0
        if first is None:
            self.subnet_required[self.alloc._subnet(subnet_id)] = r
            return
        a, b = ip_to_u32(first), ip_to_u32(last)
        for p in range(self.alloc.n_pools):
            if a <= self.alloc.pools[p].first and \
                    self.alloc.pools[p].first + self.alloc.pools[p].size - 1 <= b:
                self.pool_required[p] = r

    def set_reservation_classes(self, uint32_t ordinal, bits):
        """The classes a reservation gives its client after the host lookup (Kea's
        setReservedClientClasses): guards, options and member() of the later tests see them."""
        if ordinal >= self.alloc.n_resv:
            raise ValueError(f"no reservation {ordinal}")
        for bit in bits:
            if not 0 < bit < CL_MAX_CLASSES:
                raise ValueError(f"class bit {bit} out of range")
            self.resv_classes[ordinal * CL_WORDS + (bit >> 6)] |= 1ULL << (bit & 63)
        self.needs_known = True

    def set_only_required(self, bits):
        """The classes that are only-if-required (not in the first passes)."""
        memset(self.only_required, 0, sizeof(self.only_required))
        for bit in bits:
            self.only_required[bit >> 6] |= 1ULL << (bit & 63)

    def set_class_options(self, int bit, OptionSet options):
        """A class's option-data: in a reply, below the host's, pool's, subnet's and shared
        network's options and above the global ones, the classes in join order (Kea's
        CfgOptionList). The sets given to the engine must say which of their codes are the
        global level's (OptionSet from_global)."""
        if not 0 < bit < CL_MAX_CLASSES:
            raise ValueError(f"class bit {bit} out of range")
        self.keep.append(options)
        self.class_options[bit] = &options.c
        self.any_class_options = True

    def set_class_lifetime(self, int bit, uint32_t minimum, uint32_t default, uint32_t maximum):
        """A class's valid-lifetime triplet: the first joined class that has one gives the
        lease time in place of the subnet's (Kea's AllocEngine::getValidLft)."""
        if not 0 < bit < CL_MAX_CLASSES or not minimum <= default <= maximum:
            raise ValueError("bad class bit or lifetime triplet")
        self.class_lft[3 * bit], self.class_lft[3 * bit + 1] = minimum, default
        self.class_lft[3 * bit + 2] = maximum
        self.lft_classes[bit >> 6] |= 1ULL << (bit & 63)

    def set_class_boot(self, int bit, next_server=None, server_hostname=None,
                       boot_file_name=None):
        """The boot fields a class gives its packets' replies (next-server -> siaddr,
        server-hostname -> sname, boot-file-name -> file): over the subnet's, under a
        reservation's, the first joined class that sets a field winning it (Kea's
        setFixedFields)."""
        if not 0 < bit < CL_MAX_CLASSES:
            raise ValueError(f"class bit {bit} out of range")
        set_boot(&self.class_boot[bit], next_server, server_hostname, boot_file_name)
        self.any_class_boot = self.any_class_boot or self.class_boot[bit].has != 0

    def add_interface(self, int ifindex, address, bytes mac, subnet_id=None, str name=""):
        """A link we serve: our address there, its MAC (for raw replies), the subnet of
        clients attached directly to it (None: relayed traffic only), and its name."""
        if self.n_ifaces >= MAX_IFACES:
            raise ValueError("too many interfaces")
        cdef IfaceRun* f = &self.ifaces[self.n_ifaces]
        cdef bytes bname = name.encode()[:16]
        f.name_len = len(bname)
        memcpy(f.name, <const char*>bname, f.name_len)
        f.ifindex = ifindex
        f.addr = ip_to_u32(address)
        f.subnet = NIL if subnet_id is None else self.alloc._subnet(subnet_id)
        memcpy(f.mac, <const uint8_t*>mac, min(len(mac), 6))
        self.n_ifaces += 1

    def set_routes(self, relays, networks):
        """relays: [(relay address, subnet id)]; networks: [(first, last, subnet id)]. Both are
        searched by binary search, so neither may overlap."""
        self.n_relays = self._routes([(a, a, i) for a, i in relays], &self.relays)
        self.n_nets = self._routes(list(networks), &self.nets)

    cdef uint32_t _routes(self, list items, AddrRange** table) except? 0xFFFFFFFF:
        items = sorted((ip_to_u32(a), ip_to_u32(b), self.alloc._subnet(i)) for a, b, i in items)
        cdef AddrRange* r = <AddrRange*>calloc(max(len(items), 1), sizeof(AddrRange))
        if r == NULL:
            raise MemoryError()
        for k, (a, b, sn) in enumerate(items):
            if k and a <= r[k - 1].last:
                free(r)
                raise ValueError(f"overlapping address routes at {u32_to_ip(a)}")
            r[k].first, r[k].last, r[k].value = a, b, sn
        free(table[0])
        table[0] = r
        return len(items)

    # ---- one batch ------------------------------------------------------------------------------

    cdef void use_lane(self, int k) noexcept:
        self.lane = k
        self.batch = self.batches[k]
        self.cur = &self.lanes[k]

    def process(self, int fd, int raw_fd=-1, int lease_fd=-1, int64_t now=0):
        """Receive one batch from ``fd``, answer it, and commit it: its lease changes go to
        ``lease_fd`` (one write; with durability fsync also one fdatasync) before the replies
        leave. With fsync the commit runs on the committer thread and this returns while it
        syncs (``drain`` waits for it). Returns how many datagrams were received (0: nothing
        was waiting)."""
        cdef int got, i, k
        cdef PacketBatch b
        cdef CommitJob job
        cdef CommitCounts counts
        cdef uint32_t sn, j, n_disc
        cdef uint32_t disc_sn[PREFETCH_SUBNETS]
        cdef uint32_t disc_n[PREFETCH_SUBNETS]
        cdef uint64_t t_recv
        if self.durability >= DUR_FSYNC:          # fsync or database: the committer thread
            if self.committer == NULL:
                self.committer = committer_start()
                if self.committer == NULL:
                    raise OSError("cannot start the lease committer thread")
            k = (self.lane + 1) % LANES
            with nogil:
                committer_claim(self.committer, k)   # waits only if the disk is LANES behind
            self.use_lane(k)
        b = self.batch
        got = mm_recv(fd, &b.mm, b.capacity, b.rx, MAX_DATAGRAM, b.rx_len, b.src, b.ingress)
        if got <= 0:
            if self.durability >= DUR_FSYNC:
                committer_release(self.committer, self.lane)
            if got < 0:
                raise OSError(-got, os.strerror(-got))
            return 0
        b.count = got
        self.counters[C_RECEIVED] += got
        t_recv = fastdhcp_mono_ns()
        histo_add(&self.batch_hist, got)
        b.parse_all(True, self.allow_bootp)
        n_disc = 0
        for i in range(got):
            if b.status[i] == DR_OK:
                sn = self.prefetch(i)
                if sn != NIL:          # a DISCOVER: count the allocations per subnet
                    j = 0
                    while j < n_disc and disc_sn[j] != sn:
                        j += 1
                    if j < n_disc:
                        disc_n[j] += 1
                    elif n_disc < PREFETCH_SUBNETS:
                        disc_sn[n_disc] = sn
                        disc_n[n_disc] = 1
                        n_disc += 1
        for j in range(n_disc):
            self.alloc.prefetch_allocations(disc_sn[j], disc_n[j])
        for i in range(got):
            self.cur.tx_kind[i] = TX_NONE
            b.tx_len[i] = 0
            self.cur.frame_len[i] = 0
            self.cur.durable[i] = 0
            if b.status[i] != DR_OK:
                if b.status[i] == DR_TOO_SHORT and b.rx_len[i] < HDR_COOKIE:
                    # Kea never counts a datagram shorter than the BOOTP header (Pkt4's
                    # constructor throws in its receive path): parse-drop-too-short does
                    self.counters[C_RECEIVED] -= 1
                elif b.status[i] == DR_BAD_MESSAGE_TYPE and b.pkts[i].opt[OPT_MESSAGE_TYPE].len == 1:
                    self.counters[C_UNKNOWN] += 1        # a type Kea knows no name of: unknown
                    self.note_at(EV_UNKNOWN_TYPE, i, 0, opt_value(&b.pkts[i], OPT_MESSAGE_TYPE)[0], 0)
                else:
                    self.counters[C_PARSE_FAILED] += 1
                    self.note_at(EV_NO_MESSAGE_TYPE if b.status[i] == DR_NO_MESSAGE_TYPE else
                                 EV_BAD_MESSAGE_TYPE if b.status[i] == DR_BAD_MESSAGE_TYPE else
                                 EV_PARSE_FAILED, i, b.src[i].addr, b.status[i], b.ingress[i].addr)
                continue
            self.decide(i, now)
        self.start_job(&job, lease_fd)
        job.t_recv = t_recv
        job.fd, job.raw_fd = fd, raw_fd
        job.mm, job.count = &b.mm, got
        job.tx, job.tx_len, job.dst = b.tx + TX_HEADROOM, b.tx_len, b.reply_dst
        job.frames, job.frame_len = self.cur.frames, self.cur.frame_len
        job.frame_if, job.frame_mac = self.cur.frame_if, self.cur.frame_mac
        if self.durability < DUR_FSYNC:
            memset(&counts, 0, sizeof(CommitCounts))
            commit_run(&job, 1, &counts)
            self.fold(&counts)
            return got
        self.send_now_what_need_not_wait(&job, got)
        committer_submit(self.committer, self.lane, &job)
        return got

    # A commit job with the change ring's rows as Kea CSV, to go to lease_fd: what a batch and an
    # expiry pass both write (the batch adds its replies).
    cdef void start_job(self, CommitJob* job, int lease_fd) noexcept:
        cdef uint32_t before = self.alloc.t.journal_len
        memset(job, 0, sizeof(CommitJob))
        job.durability = self.durability
        job.lease_fd = lease_fd if self.durability != DUR_NONE else -1
        job.pg = self.pg if self.durability == DUR_DATABASE else NULL
        job.pending = &self.pending
        job.rows = self.cur.journal_buf
        job.rows_len = self.render_journal(0, self.cur.journal_cap)
        job.n_rows = before - self.alloc.t.journal_len

    # With fsync only a lease ACK must wait for its rows to be on disk: OFFERs, NAKs and INFORM
    # ACKs leave now, so a slow fdatasync delays no DISCOVER->OFFER. The job keeps the rest.
    cdef void send_now_what_need_not_wait(self, CommitJob* job, int n) noexcept:
        cdef Lane* lane = self.cur
        cdef PacketBatch b = self.batch
        cdef CommitCounts counts
        cdef bint any_now = False
        cdef int i
        for i in range(n):
            if lane.durable[i]:
                lane.later_len[i], b.tx_len[i] = b.tx_len[i], 0
                lane.later_frame_len[i], lane.frame_len[i] = lane.frame_len[i], 0
            else:
                lane.later_len[i] = lane.later_frame_len[i] = 0
                any_now = any_now or b.tx_len[i] != 0 or lane.frame_len[i] != 0
        if any_now:
            memset(&counts, 0, sizeof(CommitCounts))
            commit_send(job, &counts)
            self.fold(&counts)
        job.tx_len = lane.later_len
        job.frame_len = lane.later_frame_len

    cdef void fold(self, const CommitCounts* c) noexcept:
        self.counters[C_SENT] += c.sent
        self.counters[C_SEND_FAILED] += c.send_failed
        self.counters[C_JOURNAL_FAILED] += c.commit_failed
        counts_fold_io(&self.io, c)

    def set_lease_database(self, LeaseDatabase db):
        """Commit to ``db`` (PostgreSQL) from now on, before the ACKs (durability database);
        None: back to the lease file."""
        self.drain()
        self.lease_db = db
        self.pg = db.store() if db is not None else NULL
        if db is not None:
            self.durability = DUR_DATABASE
        elif self.durability == DUR_DATABASE:
            self.durability = DUR_FSYNC

    def drain(self):
        """Wait until every batch submitted (durability fsync) is on disk and sent."""
        cdef CommitCounts done
        if self.committer != NULL:
            with nogil:
                done = committer_drain(self.committer)
            self.fold(&done)

    # The journal's rows as Kea CSV into the lane's buffer from `start`; rows that do not fit
    # stay in the journal (the reclaim path writes in several rounds). Returns the end offset.
    cdef uint32_t render_journal(self, uint32_t start, uint32_t room) noexcept:
        cdef LeaseTable* t = &self.alloc.t
        cdef uint32_t i = 0, pos = start, pool_in
        cdef const Lease* l
        cdef const SubnetC* s
        while i < t.journal_len and pos + CSV_ROW_MAX <= room:
            l = &t.journal[i].lease
            s = &self.alloc.subnets[l.subnet]
            pool_in = self.alloc._pool_at(l.addr)
            pool_in = pool_in - s.first_pool if pool_in != NIL else 0
            pos += lt_csv_row(t, &t.journal[i], s.id, pool_in, self.cur.journal_buf + pos)
            i += 1
        if i == t.journal_len:
            t.journal_len = 0
            lt_compact_arena(t)                # (only ever between batches: the journal is empty)
        else:                                  # keep the rest for the next round
            memmove(t.journal, t.journal + i, (t.journal_len - i) * sizeof(JournalRecord))
            t.journal_len -= i
        return pos

    # ---- decisions ------------------------------------------------------------------------------

    cdef uint32_t iface_of(self, int ifindex) noexcept:
        cdef uint32_t k
        for k in range(self.n_ifaces):
            if self.ifaces[k].ifindex == ifindex:
                return k
        return NIL

    # Kea's subnet selection: link-selection (RFC 3527) or subnet-selection (RFC 3011), then the
    # relay (configured relay addresses first, then the subnet containing giaddr), then ciaddr
    # for unicast renewals, then the interface the packet came in on.
    cdef uint32_t select_subnet(self, const DhcpPacket* p, const Endpoint* ing, uint32_t iface) noexcept:
        cdef uint32_t sel = 0, k, sn
        cdef const uint8_t* rai
        if p.n_relay and not self.ignore_rai_link_selection:
            rai = opt_value(p, OPT_RELAY_AGENT_INFO)
            for k in range(p.n_relay):
                if p.relay[k].code == RAI_LINK_SELECTION and p.relay[k].len == 4:
                    sel = rd_u32(rai + p.relay[k].off)
                    break                   # the first one, as Kea's getOption finds it
        if sel == 0 and p.opt[OPT_SUBNET_SELECTION].count:
            sel = rd_u32(opt_value(p, OPT_SUBNET_SELECTION))
        if sel:
            return range_find(self.nets, self.n_nets, sel)
        if p.giaddr:
            sn = range_find(self.relays, self.n_relays, p.giaddr)
            return sn if sn != NIL else range_find(self.nets, self.n_nets, p.giaddr)
        if p.ciaddr and ing.addr != BROADCAST:
            sn = range_find(self.nets, self.n_nets, p.ciaddr)
            if sn != NIL:
                return sn
        return self.ifaces[iface].subnet if iface != NIL else NIL

    cdef uint32_t override_id(self, const DhcpPacket* p) noexcept:
        # RFC 5107: the relay asks us to name its address as server identifier.
        cdef uint32_t k
        cdef const uint8_t* rai
        if p.n_relay:
            rai = opt_value(p, OPT_RELAY_AGENT_INFO)
            for k in range(p.n_relay):
                if p.relay[k].code == RAI_SERVER_ID_OVERRIDE and p.relay[k].len == 4:
                    return rd_u32(rai + p.relay[k].off)
        return 0

    cdef void client_key(self, const DhcpPacket* p, uint32_t sn, ClientKey* k, ClientIds* ids) noexcept:
        cdef uint32_t j
        cdef const uint8_t* rai
        memset(ids, 0, sizeof(ClientIds))
        ids.hw, ids.hwlen = p.data + HDR_CHADDR, p.hlen if p.hlen <= HW_MAX else HW_MAX
        if p.opt[OPT_CLIENT_ID].count:
            ids.cid = opt_value(p, OPT_CLIENT_ID)
            ids.cid_len = <uint8_t>min(p.opt[OPT_CLIENT_ID].len, CID_MAX)
        if p.n_relay:
            rai = opt_value(p, OPT_RELAY_AGENT_INFO)
            for j in range(p.n_relay):
                if p.relay[j].code == RAI_CIRCUIT_ID:
                    ids.circuit = rai + p.relay[j].off
                    ids.circuit_len = p.relay[j].len
        lt_key_make(k, sn, p.htype, ids.hw, ids.hwlen, ids.cid, ids.cid_len,
                    self.alloc.subnets[sn].match_client_id)

    # The subnet of the shared network where this client already has a lease, else `sn`.
    # Without a record anywhere in the shared network, the member that holds `addr` (the
    # address the client asks for or has, 0 if none): its address is right for the link even
    # if it is not in the subnet the link or relay maps to, and must not be NAKed as wrong.
    cdef uint32_t home_subnet(self, const DhcpPacket* p, uint32_t sn, ClientKey* k, ClientIds* ids,
                              uint32_t addr) noexcept:
        cdef uint32_t m = sn
        while True:
            if self.subnet_allowed(m):
                self.client_key(p, m, k, ids)
                if lt_find_key(&self.alloc.t, k) != NIL:
                    return m
            m = self.runs[m].next_member
            if m == sn:
                break
        if addr:
            while True:
                if subnet_has(&self.alloc.subnets[m], addr) and self.subnet_allowed(m):
                    self.client_key(p, m, k, ids)
                    return m
                m = self.runs[m].next_member
                if m == sn:
                    break
        self.client_key(p, sn, k, ids)
        return sn

    # Start fetching the lease-table lines packet i will need (its client's key slot, the address
    # it asks for), so that in a big table the batch's cache misses overlap instead of queueing
    # one per decision. A hint only: decide() computes everything again.
    # Returns the subnet of a DISCOVER (it may allocate there), else NIL.
    cdef uint32_t prefetch(self, int i) noexcept:
        cdef const DhcpPacket* p = &self.batch.pkts[i]
        cdef uint32_t iface = self.iface_of(self.batch.ingress[i].ifindex), sn
        cdef ClientKey k
        cdef ClientIds ids
        if iface == NIL:
            return NIL
        sn = self.select_subnet(p, &self.batch.ingress[i], iface)
        if sn == NIL:
            return NIL
        self.client_key(p, sn, &k, &ids)
        lt_prefetch_key(&self.alloc.t, k.hash)
        if p.ciaddr:
            lt_prefetch_addr(&self.alloc.t, p.ciaddr)
        elif p.opt[OPT_REQUESTED_ADDRESS].count:
            lt_prefetch_addr(&self.alloc.t, rd_u32(opt_value(p, OPT_REQUESTED_ADDRESS)))
        return sn if p.msg_type == MT_DISCOVER else NIL

    # ---- a cluster's shards (fastdhcp/cluster): whose packet is this? --------------------------
    # An address belongs to the shard of its block: pool k's addresses cut into n_shards
    # contiguous blocks (one writer per address: its block's owner). A packet naming an address
    # (option 50, else ciaddr) is that address's shard's; one that names none, a client's first
    # DISCOVER, is the shard of its client (FNV-1a of option 61, else of chaddr).

    cdef uint32_t shard_of_address(self, uint32_t a) noexcept:
        cdef uint32_t p = self.alloc._pool_at(a)
        if p == NIL:
            return (a * <uint32_t>2654435761) % self.n_shards
        return <uint32_t>((<uint64_t>(a - self.alloc.pools[p].first) * self.n_shards) //
                          self.alloc.pools[p].size)

    cdef uint32_t shard_of_client(self, const DhcpPacket* p) noexcept:
        cdef uint32_t h = 2166136261, i, n
        cdef const uint8_t* v
        if p.opt[OPT_CLIENT_ID].count and p.opt[OPT_CLIENT_ID].len:
            v, n = opt_value(p, OPT_CLIENT_ID), p.opt[OPT_CLIENT_ID].len
        else:
            v, n = p.data + HDR_CHADDR, p.hlen
        for i in range(n):
            h = (h ^ v[i]) * 16777619
        return h % self.n_shards

    cdef bint our_shard(self, const DhcpPacket* p) noexcept:
        cdef uint32_t a = 0
        if self.n_shards == 0:
            return True
        if p.opt[OPT_REQUESTED_ADDRESS].count and p.opt[OPT_REQUESTED_ADDRESS].len == 4:
            a = rd_u32(opt_value(p, OPT_REQUESTED_ADDRESS))
        if a == 0:
            a = p.ciaddr
        return bit_test(self.owned_shards, self.shard_of_address(a) if a else
                        self.shard_of_client(p))

    def set_shards(self, uint32_t n, owned=()):
        """A cluster's shards: ``n`` of them (0: no cluster), the ones in ``owned`` this
        server's; packets of the others are dropped silently (not-my-shard-drop)."""
        if n > 256:
            raise ValueError("at most 256 shards")
        self.n_shards = n
        memset(self.owned_shards, 0, sizeof(self.owned_shards))
        for s in owned:
            if not 0 <= s < n:
                raise ValueError(f"shard {s} is not one of 0..{n - 1}")
            self.owned_shards[s >> 6] |= 1ULL << (s & 63)

    def shard_of(self, address=None, *, client_id=None, hw=None):
        """The shard of an address, or of a client (its client id, else its hardware address):
        what the packet path computes, for the tests and the status."""
        cdef bytes key
        cdef uint32_t h = 2166136261
        if address is not None:
            return self.shard_of_address(ip_to_u32(address))
        key = bytes(client_id) if client_id else bytes(hw)
        for c in key:
            h = ((h ^ c) * 16777619) & 0xFFFFFFFF
        return h % self.n_shards

    cdef void decide(self, int i, int64_t now) noexcept:
        cdef PacketBatch b = self.batch
        cdef const DhcpPacket* p = &b.pkts[i]
        cdef const Endpoint* ing = &b.ingress[i]
        cdef uint32_t iface = self.iface_of(ing.ifindex)
        cdef uint32_t sn, addr, our_id
        cdef ClientKey k
        cdef ClientIds ids
        cdef uint8_t t = p.msg_type
        self.cname.kind = NAME_NONE
        if self.n_shards and not self.our_shard(p):
            self.counters[C_NOT_MY_SHARD] += 1      # another server's: it answers (silence)
            return
        if t == MT_BOOTP and self.allow_bootp:
            # Kea's bootp hook: a BOOTREQUEST without 53 is a DHCPREQUEST of the BOOTP class,
            # answered with an infinite lease and without the DHCP-specific options
            t = MT_REQUEST
        if t == MT_DISCOVER:
            self.counters[C_DISCOVER] += 1
        elif t == MT_REQUEST:
            self.counters[C_REQUEST] += 1
        elif t == MT_RELEASE:
            self.counters[C_RELEASE] += 1
        elif t == MT_DECLINE:
            self.counters[C_DECLINE] += 1
        elif t == MT_INFORM:
            self.counters[C_INFORM] += 1
        else:                    # (Kea counts these by type, then drops them)
            if t == MT_OFFER:
                self.counters[C_OFFER_RECEIVED] += 1
            elif t == MT_ACK:
                self.counters[C_ACK_RECEIVED] += 1
            elif t == MT_NAK:
                self.counters[C_NAK_RECEIVED] += 1
            else:
                self.counters[C_UNKNOWN] += 1
            self.note_at(EV_UNSUPPORTED_TYPE, i, 0, t, 0)
            return
        if self.tests is not None:
            self.classify(i, iface)
            if self.drop_class >= 0 and (self.classes[self.drop_class >> 6] >> (self.drop_class & 63)) & 1:
                self.counters[C_CLASS_DROP] += 1     # Kea: dropped before anything else is done
                self.note_at(EV_CLASS_DROP, i, b.src[i].addr, 0, b.ingress[i].addr)
                return
        if p.hlen == 0 and not (p.opt[OPT_CLIENT_ID].count and p.opt[OPT_CLIENT_ID].len):
            # Nothing tells this client from another (no chaddr, no client id): every such
            # client would share one lease. Dropped, as Kea's sanity check drops it.
            self.counters[C_NO_IDENTITY] += 1
            self.note_at(EV_NO_IDENTITY, i, 0, t, 0)
            return
        if iface == NIL:
            self.counters[C_WRONG_INTERFACE] += 1      # not a link we were configured to serve
            return
        if t == MT_DISCOVER:
            if p.opt[OPT_SERVER_ID].count:
                # RFC 2131 Table 5: a DISCOVER MUST NOT name a server; Kea's sanity check
                # (server id FORBIDDEN) drops it
                self.counters[C_SERVER_ID_IN_DISCOVER] += 1
                self.note_at(EV_SERVER_ID_IN_DISCOVER, i, 0, 0, 0)
                return
            # RFC 2131 Table 5: ciaddr is 0 in a DISCOVER; a client in INIT has no address, so
            # one it puts there (255.255.255.255 from some ROMs) neither selects the subnet nor
            # receives the OFFER (§4.1), and the OFFER's ciaddr is 0 (Table 3)
            b.pkts[i].ciaddr = 0
        elif t == MT_INFORM and p.giaddr == 0 and p.ciaddr == 0 and b.src[i].addr == 0:
            # RFC 2131 §4.3.5 answers an INFORM at ciaddr: from 0.0.0.0 with no ciaddr there is
            # no address to answer (Kea's acceptDirectRequest drops it too)
            self.counters[C_INFORM_NO_ADDRESS] += 1
            self.note_at(EV_NO_DIRECT_SUBNET, i, 0, 0, 0)
            return
        sn = self.admitted(self.select_subnet(p, ing, iface))
        if self.needs_known and sn != NIL and self.tests is not None:
            self.client_key(p, sn, &k, &ids)
            if self.classify_known(i, iface, sn, &ids):
                self.counters[C_CLASS_DROP] += 1     # DROP after the host lookup (Kea too)
                self.note_at(EV_CLASS_DROP, i, b.src[i].addr, 0, b.ingress[i].addr)
                return
        # RFC 5107: a relay's server-identifier-override names the address we answer as; else
        # the configured one, else the address the message was sent to, and for a broadcast
        # the interface's configured address (as Kea's appendServerID: the socket's address)
        our_id = self.override_id(p) or (self.runs[sn].server_id if sn != NIL else 0) or \
            (ing.local if ing.local and ing.local == ing.addr else self.ifaces[iface].addr)
        if sn == NIL:
            if t == MT_REQUEST and not (p.opt[OPT_SERVER_ID].count and
                                        not self.is_our_id(rd_u32(opt_value(p, OPT_SERVER_ID)), our_id)):
                # Kea NAKs a REQUEST it has no subnet for (assignLease): the client is on a
                # link it must not keep an address of, and hears so (RFC 2131 §4.3.2)
                self.reply(i, NIL, MT_NAK, 0, our_id, False, NULL)
                self.note_at(EV_NO_SUBNET_NAK, i, b.src[i].addr, 0, 0)
            else:
                self.counters[C_NO_SUBNET] += 1
                if p.giaddr == 0:
                    self.note_at(EV_NO_DIRECT_SUBNET, i, 0, 0, 0)
            return
        if t == MT_DISCOVER:
            sn = self.home_subnet(p, sn, &k, &ids, self.requested(p))
            addr = self.offer_in_network(p, &sn, &k, &ids, self.requested(p), now)
            if addr != NIL:
                self.name_for(p, sn, &ids, addr)
                self.reuse_lft = self.alloc.offer_reuse(
                    sn, &k, addr, self.lease_time(p, sn), self.cname.text, self.cname.len,
                    self.cname_flags(), now)
                self.reply(i, sn, MT_OFFER, addr, our_id, True, &ids)
                self.note_at(EV_LEASE_ADVERT, i, addr, 0, 0)
        elif t == MT_REQUEST:
            self.on_request(i, p, sn, our_id, now)
        elif (t == MT_RELEASE or t == MT_DECLINE) and p.opt[OPT_SERVER_ID].count and \
                not self.is_our_id(rd_u32(opt_value(p, OPT_SERVER_ID)), our_id):
            self.counters[C_NOT_FOR_US] += 1            # RFC 2131 Table 5: meant for another server
            self.note_at(EV_NOT_FOR_US, i, 0, 0, 0)
        elif t == MT_RELEASE:
            sn = self.home_subnet(p, sn, &k, &ids, p.ciaddr)
            if self.alloc.release_c(&k, p.ciaddr, now):
                self.note_at(EV_RELEASE, i, p.ciaddr, 0, 0)
        elif t == MT_DECLINE:
            self.on_decline(p, sn, now)
        elif p.opt[OPT_SERVER_ID].count and not self.is_our_id(rd_u32(opt_value(p, OPT_SERVER_ID)), our_id):
            self.counters[C_NOT_FOR_US] += 1            # INFORM for another server (Kea: dropped)
            self.note_at(EV_NOT_FOR_US, i, 0, 0, 0)
        else:                                           # INFORM: options only (RFC 2131 §4.3.5)
            self.client_key(p, sn, &k, &ids)
            self.reply(i, sn, MT_ACK, 0, our_id, False, &ids)

    # DECLINE (RFC 2131 §4.3.3): the address, named in option 50, goes on probation if the
    # client holds it. What Kea logs about it is noted for the server's log.
    cdef void on_decline(self, const DhcpPacket* p, uint32_t sn, int64_t now) noexcept:
        cdef ClientKey k
        cdef ClientIds ids
        cdef uint32_t addr, r
        if not p.opt[OPT_REQUESTED_ADDRESS].count:
            # Table 5: 50 is a MUST in a DECLINE; Kea drops it as a failed packet
            self.counters[C_DECLINE_NO_ADDRESS] += 1
            self.note(EV_DECLINE_NO_ADDRESS, p, 0, 0, 0, NIL)
            return
        addr = rd_u32(opt_value(p, OPT_REQUESTED_ADDRESS))
        sn = self.home_subnet(p, sn, &k, &ids, addr)
        if self.alloc.decline_c(&k, addr, now):
            self.note(EV_DECLINED, p, addr, self.alloc.decline_probation, 0, NIL)
            return
        r = lt_find_addr(&self.alloc.t, addr)
        if r == NIL or self.alloc.t.rec[r].state == LS_FREE or \
                self.alloc.t.rec[r].state == LS_RELEASED:     # Kea deletes released leases
            self.note(EV_DECLINE_NOT_FOUND, p, addr, 0, 0, NIL)
        elif not lt_key_matches(&self.alloc.t, &self.alloc.t.rec[r], &k):
            self.note(EV_DECLINE_MISMATCH, p, addr, 0, 0, r)

    # Kea's requiredClassify: once the reply's lease is chosen, the classes its subnet (after
    # its shared network's) and then its pool require, those not joined yet, in that order.
    cdef void classify_required(self, int i, uint32_t sn, uint32_t yiaddr) noexcept:
        cdef ClInput inp
        cdef uint8_t scratch[CL_SCRATCH]
        cdef ClassTests t = self.tests
        cdef const RequiredList* lists[2]
        cdef uint32_t j, m, bit, k, pool = self.alloc._pool_at(yiaddr) if yiaddr else NIL
        cdef const uint32_t* code = <const uint32_t*><const uint8_t*>t.code
        cdef const uint32_t* at = <const uint32_t*><const uint8_t*>t.const_at
        cdef const uint8_t* consts = <const uint8_t*>t.consts
        lists[0] = &self.subnet_required[sn]
        lists[1] = &self.pool_required[pool] if pool != NIL else NULL
        memset(&inp, 0, sizeof(ClInput))
        inp.pkt = &self.batch.pkts[i]
        inp.src, inp.dst = self.batch.src[i].addr, self.batch.ingress[i].addr
        k = self.iface_of(self.batch.ingress[i].ifindex)
        if k != NIL:
            inp.iface, inp.iface_len = self.ifaces[k].name, self.ifaces[k].name_len
        for j in range(2):
            if lists[j] == NULL:
                continue
            for m in range(lists[j].n):
                bit = lists[j].bit[m]
                if (self.classes[bit >> 6] >> (bit & 63)) & 1 or bit == 0 or \
                        bit > <uint32_t>len(t.starts) - 1:
                    continue
                k = bit - 1
                if t.c_starts[k + 1] == t.c_starts[k]:
                    continue
                memcpy(inp.classes, self.classes, sizeof(self.classes))
                if cl_eval(code + t.c_starts[k], t.c_starts[k + 1] - t.c_starts[k], consts,
                           at + 2 * t.c_base[k], &inp, scratch) == 1:
                    self.classes[bit >> 6] |= 1ULL << (bit & 63)

    # The option sets of the packet's classes, in join order.
    cdef void class_sets(self, ClassSets* out) noexcept:
        cdef uint32_t w, bit
        cdef uint64_t m
        out.n = 0
        for w in range(CL_WORDS):
            m = self.classes[w]
            while m and out.n < CLASS_SETS_MAX:
                bit = w * 64 + <uint32_t>__builtin_ctzll(m)
                m &= m - 1
                if self.class_options[bit] != NULL:
                    out.set[out.n] = self.class_options[bit]
                    out.n += 1

    # Kea's setFixedFields, step 2: the subnet's boot fields, each replaced by the first class
    # of the packet (in join order) that sets it (a reservation's replace both, later).
    cdef void class_fields(self, BootFields* out, const BootFields* subnet) noexcept:
        cdef uint32_t w, bit
        cdef uint64_t m
        cdef uint8_t taken = 0
        cdef const BootFields* c
        memcpy(out, subnet, sizeof(BootFields))
        for w in range(CL_WORDS):
            m = self.classes[w]
            while m and taken != (BOOT_SIADDR | BOOT_SNAME | BOOT_FILE):
                bit = w * 64 + <uint32_t>__builtin_ctzll(m)
                m &= m - 1
                c = &self.class_boot[bit]
                if c.has & BOOT_SIADDR and not taken & BOOT_SIADDR:
                    out.siaddr = c.siaddr
                    taken |= BOOT_SIADDR
                if c.has & BOOT_SNAME and not taken & BOOT_SNAME:
                    memcpy(out.sname, c.sname, SNAME_MAX)
                    out.sname_len = c.sname_len
                    taken |= BOOT_SNAME
                if c.has & BOOT_FILE and not taken & BOOT_FILE:
                    memcpy(out.file, c.file, FILE_MAX)
                    out.file_len = c.file_len
                    taken |= BOOT_FILE
        out.has |= taken

    # Kea's classifyPacket: ALL, then every class test in configuration order (member() sees the
    # classes joined so far); a test that fails to evaluate leaves the packet out of that class.
    cdef void classify(self, int i, uint32_t iface) noexcept:
        memset(self.classes, 0, sizeof(self.classes))
        self.classes[0] = 1                     # ALL
        if self.batch.pkts[i].msg_type == MT_BOOTP:
            self.classes[0] |= 1ULL << 3        # BOOTP (Kea's bootp hook, before the tests)
        self.run_tests(i, iface, False)

    # After the host lookup (Kea's classifyByKnown, then the classes depending on it): KNOWN or
    # UNKNOWN by whether the client has a reservation here, then the tests that wait for it.
    # True if the packet is in DROP now.
    cdef bint classify_known(self, int i, uint32_t iface, uint32_t sn, const ClientIds* ids) noexcept:
        cdef uint32_t r = self.alloc.resv_find(sn, ids), w, o
        self.classes[0] |= 1ULL << (1 if r != NIL else 2)
        if r != NIL:                            # the classes the reservation assigns
            o = self.alloc.resv[r].ordinal * CL_WORDS
            for w in range(CL_WORDS):
                self.classes[w] |= self.resv_classes[o + w]
        if self.late[0] | self.late[1] | self.late[2] | self.late[3]:
            self.run_tests(i, iface, True)
        return self.drop_class >= 0 and (self.classes[self.drop_class >> 6] >> (self.drop_class & 63)) & 1

    # The class tests of one pass (before the host lookup, or the ones after it) into the
    # packet's class set, in configuration order.
    cdef void run_tests(self, int i, uint32_t iface, bint after_host) noexcept:
        cdef ClInput inp
        cdef uint8_t scratch[CL_SCRATCH]
        cdef ClassTests t = self.tests
        cdef uint32_t k, n = <uint32_t>len(t.starts) - 1, bit
        cdef const uint32_t* code = <const uint32_t*><const uint8_t*>t.code
        cdef const uint32_t* at = <const uint32_t*><const uint8_t*>t.const_at
        cdef const uint8_t* consts = <const uint8_t*>t.consts
        cdef bint late
        memset(&inp, 0, sizeof(ClInput))
        memcpy(inp.classes, self.classes, sizeof(self.classes))
        inp.pkt = &self.batch.pkts[i]
        if iface != NIL:
            inp.iface, inp.iface_len = self.ifaces[iface].name, self.ifaces[iface].name_len
        inp.src, inp.dst = self.batch.src[i].addr, self.batch.ingress[i].addr
        for k in range(n):
            bit = k + 1
            late = (self.late[bit >> 6] >> (bit & 63)) & 1
            if late != after_host or t.c_starts[k + 1] == t.c_starts[k] or \
                    (self.only_required[bit >> 6] >> (bit & 63)) & 1:
                continue                        # (another pass's, no test, or only if required)
            if cl_eval(code + t.c_starts[k], t.c_starts[k + 1] - t.c_starts[k], consts,
                       at + 2 * t.c_base[k], &inp, scratch) == 1:
                inp.classes[bit >> 6] |= 1ULL << (bit & 63)
        memcpy(self.classes, inp.classes, sizeof(self.classes))

    # One event for the server's log, if its kind is on and within its budget: the packet's
    # client identity (and the lease record r's, unless NIL). Returns the event, or NULL.
    cdef EngineEventC* note(self, uint8_t kind, const DhcpPacket* p, uint32_t addr,
                            uint32_t value, uint32_t aux, uint32_t r) noexcept:
        cdef EngineEventC* e
        cdef const Lease* l
        if self.ev_budget[kind] == 0:
            self.ev_held[kind] += 1
            return NULL
        if self.ev_budget[kind] != EVENTS_UNLIMITED:
            self.ev_budget[kind] -= 1
        if self.n_events == EV_MAX:
            self.events_lost += 1
            return NULL
        e = &self.events[self.n_events]
        self.n_events += 1
        e.kind, e.addr, e.xid, e.value, e.aux, e.ifindex = kind, addr, p.xid, value, aux, -1
        e.msg_type = p.msg_type
        e.htype, e.hwlen = p.htype, p.hlen if p.hlen <= HW_MAX else HW_MAX
        memcpy(e.hw, p.data + HDR_CHADDR, e.hwlen)
        e.cid_len = 0
        if p.opt[OPT_CLIENT_ID].count:
            e.cid_len = <uint8_t>min(p.opt[OPT_CLIENT_ID].len, CID_MAX)
            memcpy(e.cid, opt_value(p, OPT_CLIENT_ID), e.cid_len)
        e.lease_hwlen = e.lease_cid_len = 0
        if r != NIL:
            l = &self.alloc.t.rec[r]
            e.lease_hwlen, e.lease_cid_len = l.hwlen, l.cid_len
            memcpy(e.lease_hw, lt_hw(l), l.hwlen)
            memcpy(e.lease_cid, lt_cid(&self.alloc.t, l), l.cid_len)
        return e

    # note() for packet i of the batch, with the interface it came in on.
    cdef void note_at(self, uint8_t kind, int i, uint32_t addr, uint32_t value, uint32_t aux) noexcept:
        cdef EngineEventC* e = self.note(kind, &self.batch.pkts[i], addr, value, aux, NIL)
        if e != NULL:
            e.ifindex = self.batch.ingress[i].ifindex

    # Kea's acceptServerId: the identifier we answer as here, or our address on any link we
    # serve (a client may name the interface it first reached us on).
    cdef bint is_our_id(self, uint32_t asked, uint32_t our_id) noexcept:
        cdef uint32_t k
        if asked == our_id:
            return True
        for k in range(self.n_ifaces):
            if self.ifaces[k].addr == asked:
                return True
        return False

    # An address for the client in subnet sn[0] or, in a shared network, in the next member that
    # has one (Kea's allocation engine walks the network the same way); sn[0] becomes that
    # member. NIL (counted) when every member's pools are exhausted.
    cdef uint32_t offer_in_network(self, const DhcpPacket* p, uint32_t* sn, ClientKey* k,
                                   ClientIds* ids, uint32_t requested, int64_t now) noexcept:
        cdef uint32_t m = sn[0], addr, last, pools = 0
        cdef int status
        cdef uint64_t* st
        while True:
            if self.subnet_allowed(m):               # (members the classes do not admit: skipped)
                self.client_key(p, m, k, ids)
                addr = self.alloc.offer_c(m, k, ids, requested, now, &status)
                if addr != NIL:
                    sn[0] = m
                    return addr
                pools += self.alloc.subnets[m].n_pools
            last, m = m, self.runs[m].next_member
            if m == sn[0]:
                self.counters[C_NO_ADDRESS] += 1
                # Kea's allocation failure statistics, on the subnet the walk ended on
                st = self.alloc.subnets[last].stat
                st[SS_ALLOC_FAIL_SHARED if m != last else SS_ALLOC_FAIL_SUBNET] += 1
                st[SS_ALLOC_FAIL if pools else SS_ALLOC_FAIL_NO_POOLS] += 1
                self.note(EV_ALLOC_FAIL, p, requested, pools, self.alloc.subnets[last].id, NIL)
                return NIL

    # The lease time: what the client asked for (51) within [min, max], else the default.
    cdef uint32_t lease_time(self, const DhcpPacket* p, uint32_t sn) noexcept:
        cdef const SubnetRun* r = &self.runs[sn]
        cdef uint32_t v, w, lo = r.valid_min, dflt = r.valid_lft, hi = r.valid_max
        cdef uint64_t m
        if p.msg_type == MT_BOOTP:
            return LFT_INFINITY                   # (Kea's getValidLft: BOOTP is infinite)
        for w in range(CL_WORDS):                 # the first joined class with a triplet
            m = self.classes[w] & self.lft_classes[w]
            if m:
                v = 3 * (w * 64 + <uint32_t>__builtin_ctzll(m))
                lo, dflt, hi = self.class_lft[v], self.class_lft[v + 1], self.class_lft[v + 2]
                break
        if not p.opt[OPT_LEASE_TIME].count:
            return dflt
        v = rd_u32(opt_value(p, OPT_LEASE_TIME))
        return lo if v < lo else (hi if v > hi else v)

    cdef uint32_t requested(self, const DhcpPacket* p) noexcept:
        if p.opt[OPT_REQUESTED_ADDRESS].count:
            return rd_u32(opt_value(p, OPT_REQUESTED_ADDRESS))
        return 0

    cdef void on_request(self, int i, const DhcpPacket* p, uint32_t sn, uint32_t our_id, int64_t now) noexcept:
        cdef ClientKey k
        cdef ClientIds ids
        cdef uint32_t addr, asked, mine
        cdef int st
        self.cname.kind = NAME_NONE
        if p.opt[OPT_SERVER_ID].count:                  # SELECTING
            asked = rd_u32(opt_value(p, OPT_SERVER_ID))
            # (a client that renews with option 54 but no 50, against §4.3.2, names its address
            # in ciaddr, as Kea takes it)
            addr = self.requested(p) or p.ciaddr
            sn = self.home_subnet(p, sn, &k, &ids, addr)
            if not self.is_our_id(asked, our_id):
                # The client chose another server's offer: let ours lapse now (RFC 2131 §4.3.2).
                mine = lt_find_key(&self.alloc.t, &k)
                if mine != NIL and self.alloc.t.rec[mine].state == LS_OFFERED:
                    self.alloc.release_c(&k, self.alloc.t.rec[mine].addr, now)
                self.counters[C_NOT_FOR_US] += 1
                self.note_at(EV_NOT_FOR_US, i, 0, 0, 0)
                return
        elif p.ciaddr:                                  # RENEWING or REBINDING
            addr = p.ciaddr
            sn = self.home_subnet(p, sn, &k, &ids, addr)
        elif p.opt[OPT_REQUESTED_ADDRESS].count:        # INIT-REBOOT
            addr = rd_u32(opt_value(p, OPT_REQUESTED_ADDRESS))
            sn = self.home_subnet(p, sn, &k, &ids, addr)
            # §4.3.2, as Kea's assignLease reads it: a client we have no lease of (an offer held
            # for it is none: Kea keeps no record of an offer) gets silence from a
            # non-authoritative server, a NAK from an authoritative one; one whose idea of its
            # address is not ours, a NAK
            mine = lt_find_key(&self.alloc.t, &k)
            if mine != NIL and self.alloc.t.rec[mine].state != LS_BOUND and \
                    self.alloc.t.rec[mine].state != LS_EXPIRED:
                mine = NIL
            if mine == NIL and not self.runs[sn].authoritative:
                # (fastdhcp still NAKs an address of another network: docs/kea-differences.md)
                if subnet_has(&self.alloc.subnets[sn], addr):
                    return
            elif mine == NIL or self.alloc.t.rec[mine].addr != addr:
                self.reply(i, sn, MT_NAK, 0, our_id, False, NULL)
                return
            if not subnet_has(&self.alloc.subnets[sn], addr):
                self.reply(i, sn, MT_NAK, 0, our_id, False, NULL)  # wrong link: NAK
                return
        else:
            addr = 0
            sn = self.home_subnet(p, sn, &k, &ids, 0)
        if addr == 0:
            # Neither 50 nor ciaddr (a client that skipped the DISCOVER): RFC 2131 §4.3.2 names
            # no such state; Kea's allocation engine (requestLease4 without a hint) gives the
            # client its reservation, its lease or a free address, as for a DISCOVER, and binds
            # it. The same choice here: offer (held for this client only), then bind.
            addr = self.offer_in_network(p, &sn, &k, &ids, 0, now)
            if addr == NIL:
                return
        self.name_for(p, sn, &ids, addr)
        if self.alloc.ncr.cap:
            self.old_name(&k)
        st = self.alloc.request_c(sn, &k, &ids, addr, self.lease_time(p, sn), now,
                                  self.cname.text, self.cname.len, self.cname_flags())
        if st == AS_ACK:
            if self.alloc.ncr.cap:
                self.name_changes(sn, addr)
            self.reuse_lft = self.alloc.reused_lft
            self.reply(i, sn, MT_ACK, addr, our_id, True, &ids)
            if self.ev_budget[EV_LEASE_ALLOC]:
                self.note_at(EV_LEASE_ALLOC, i, addr, self.alloc.t.rec[lt_find_addr(&self.alloc.t, addr)].valid_lft, 0)
            else:
                self.ev_held[EV_LEASE_ALLOC] += 1
        elif st == AS_NAK_UNAVAILABLE and self.alloc._pool_at(addr) == NIL and \
                not self.alloc.is_reserved(addr):
            # in the subnet, outside every pool, not reserved for this client: not an address
            # we know, so Kea (unknown_requested_addr_) stays silent rather than NAK it
            return
        elif st != AS_NO_MEMORY:
            self.reply(i, sn, MT_NAK, 0, our_id, False, NULL)

    # Build the reply in slot i and decide where it goes (RFC 2131 §4.1).
    cdef void reply(self, int i, uint32_t sn, uint8_t msg_type, uint32_t yiaddr, uint32_t server_id,
                    bint with_lease, const ClientIds* ids) noexcept:
        cdef PacketBatch b = self.batch
        cdef const DhcpPacket* p = &b.pkts[i]
        cdef const SubnetRun* run = &self.runs[sn] if sn != NIL else &self.nowhere
        cdef uint8_t lead[24 + 260]        # 54, 51, 58, 59, then the client's name (12 or 81)
        cdef uint16_t n = 6, skipped = 0, named
        cdef const uint64_t* written
        cdef uint32_t valid, t1, t2, slot
        cdef const OptionSetC* opts = run.options
        cdef const OptionSetC* top = NULL
        cdef const BootFields* boot = NULL
        cdef const BootFields* sub_boot
        cdef BootFields fixed              # the subnet's boot fields under the classes'
        cdef ClassSets sets                # the option sets of the packet's classes
        cdef const ClassSets* cls
        cdef const Reservation* rv
        cdef uint32_t pool
        cdef uint8_t* out = b.tx_slot(i)
        cdef Endpoint* to = &b.reply_dst[i]
        cdef uint32_t iface, src, dest
        cdef const Endpoint* ing
        cdef bint raw, to_ciaddr
        cdef uint32_t reused = self.reuse_lft
        self.reuse_lft = 0
        lead[0], lead[1] = OPT_SERVER_ID, 4
        wr_u32(lead + 2, server_id)
        if with_lease and p.msg_type != MT_BOOTP:     # (BOOTP: no 51, 58, 59: see below)
            valid = self.lease_time(p, sn)
            if reused:       # Kea's lease caching: what is left of the lease, T1/T2 from that
                valid = reused
                self.counters[C_LEASE_REUSES] += 1
                self.alloc.subnets[sn].stat[SS_LEASE_REUSES] += 1
            # (Kea: round(percent * lifetime), half away from zero)
            t1 = run.t1 if run.t1 else <uint32_t>(run.t1_share * valid + 0.5)
            t2 = run.t2 if run.t2 else <uint32_t>(run.t2_share * valid + 0.5)
            if t2 >= valid:          # Kea: T2 only below the lease time, T1 only below T2
                t2 = 0
            if t1 >= (t2 if t2 else valid):
                t1 = 0
            lead[6], lead[7] = OPT_LEASE_TIME, 4
            wr_u32(lead + 8, valid)
            n = 12
            if t1:
                lead[n], lead[n + 1] = OPT_RENEWAL_TIME, 4
                wr_u32(lead + n + 2, t1)
                n += 6
            if t2:
                lead[n], lead[n + 1] = OPT_REBINDING_TIME, 4
                wr_u32(lead + n + 2, t2)
                n += 6
        if p.msg_type == MT_BOOTP:
            n = 0                                 # not even 54
        # The client's name (Kea's processClientName put it in the response before the
        # configured options, so a configured 12 does not replace it; a NAK carries none)
        named = name_option(&self.cname, lead + n) if msg_type != MT_NAK else 0
        n += named
        self.cname.kind = NAME_NONE
        written = &NAMED_LEAD_WRITTEN[0] if named else &LEAD_WRITTEN[0]
        if msg_type == MT_NAK:
            opts = &NO_OPTIONS
        else:
            if yiaddr:
                pool = self.alloc._pool_at(yiaddr)
                if pool != NIL and self.pool_options[pool] != NULL:
                    opts = self.pool_options[pool]
            if ids != NULL and self.alloc.n_resv:
                # A reserved client gets its reservation's options, host name and boot fields:
                # when it is given the reserved address, or the reservation has no address
                # for this subnet (a host-name/options-only or another subnet's global one).
                slot = self.alloc.resv_find(sn, ids)
                if slot != NIL:
                    rv = &self.alloc.resv[slot]
                    if rv.addr == yiaddr or yiaddr == 0 or rv.addr == 0 or \
                            not subnet_has(&self.alloc.subnets[sn], rv.addr):
                        if self.resv_options[rv.ordinal] != NULL:
                            opts = self.resv_options[rv.ordinal]
                        top = self.resv_overlay[rv.ordinal]
                        if self.resv_boot[rv.ordinal].has:
                            boot = &self.resv_boot[rv.ordinal]
        cls = NULL
        if self.any_required and msg_type != MT_NAK and sn != NIL and self.tests is not None:
            self.classify_required(i, sn, yiaddr)
        if self.any_class_options and msg_type != MT_NAK:
            self.class_sets(&sets)
            if sets.n:
                cls = &sets
        sub_boot = &run.boot
        if self.any_class_boot and msg_type != MT_NAK:
            self.class_fields(&fixed, sub_boot)
            sub_boot = &fixed
        b.tx_len[i] = wire_build_reply(p, out, msg_type, yiaddr,
                                       0 if msg_type == MT_NAK else
                                       (boot.siaddr if boot != NULL and boot.has & BOOT_SIADDR
                                        else sub_boot.siaddr), lead, n,
                                       written, opts, top, cls,
                                       run.echo_client_id and p.msg_type != MT_BOOTP, &skipped)
        b.options_skipped += skipped
        if p.msg_type == MT_BOOTP and b.tx_len[i] >= HDR_OPTIONS + 3:
            # Kea's bootp hook sends none of the DHCP-specific options: not 53 (the builder's
            # first, 3 bytes), nor 54, 51, 58, 59 (the lead, left out), nor 61 (not echoed);
            # at least 300 bytes (RFC 951's 64-byte vendor area)
            memmove(out + HDR_OPTIONS, out + HDR_OPTIONS + 3, b.tx_len[i] - HDR_OPTIONS - 3)
            b.tx_len[i] -= 3
            if b.tx_len[i] < BOOTP_MIN_SIZE:
                memset(out + b.tx_len[i], 0, BOOTP_MIN_SIZE - b.tx_len[i])
                b.tx_len[i] = BOOTP_MIN_SIZE
        if msg_type != MT_NAK:
            put_boot_names(out, sub_boot, boot)
        if msg_type == MT_OFFER:
            self.counters[C_OFFER_SENT] += 1
        elif msg_type == MT_ACK:
            self.counters[C_ACK_SENT] += 1
            self.cur.durable[i] = with_lease
        else:
            self.counters[C_NAK_SENT] += 1
        # Where it goes (RFC 2131 §4.1, as Kea's adjustRemoteAddr): to the relay; to ciaddr; by
        # broadcast (a NAK, the flag, or no address to send to); else to yiaddr. On a directly
        # attached link a unicast leaves as a frame to chaddr through the AF_PACKET socket, as
        # Kea's raw sockets send it: it needs no ARP, so it reaches a client that answers none
        # (one without an address yet; RENEWING or REBINDING with ARP unanswered), and the kernel
        # keeps no neighbour entry per client (past gc_thresh3 it would drop replies).
        to.ifindex = 0
        to.local = 0
        self.cur.tx_kind[i] = TX_UDP
        if p.giaddr:                                    # through the relay
            # the relay must broadcast a NAK (RFC 2131 §4.3.2), and an INFORM's ACK when the
            # client gave no ciaddr to unicast it to (as Kea's adjustRemoteAddr sets the flag)
            if msg_type == MT_NAK or (p.msg_type == MT_INFORM and p.ciaddr == 0):
                wr_u16(out + HDR_FLAGS, rd_u16(out + HDR_FLAGS) | FLAG_BROADCAST)
            to.addr, to.port = p.giaddr, self.relay_port
            return
        ing = &b.ingress[i]
        iface = self.iface_of(ing.ifindex)
        raw = self.raw_sockets and iface != NIL and p.htype == 1 and p.hlen == 6
        # the client's own address: ciaddr; an INFORM without one is answered at its source
        # address (§4.3.5 answers an INFORM by unicast; Kea's adjustRemoteAddr does the same)
        dest = p.ciaddr if p.ciaddr or p.msg_type != MT_INFORM else b.src[i].addr
        to_ciaddr = dest != 0 and msg_type != MT_NAK        # §4.1: a NAK is broadcast
        if to_ciaddr and not raw:        # dhcp-socket-type udp: the kernel's path (routing, ARP)
            to.addr, to.port = dest, self.client_port
            return
        to.ifindex = ing.ifindex
        to.local = self.ifaces[iface].addr if iface != NIL else 0
        if not to_ciaddr and (msg_type == MT_NAK or (p.flags & FLAG_BROADCAST) or yiaddr == 0):
            to.addr, to.port = BROADCAST, self.client_port
            return
        if not raw:                                     # no raw socket: broadcast instead
            to.addr, to.port = BROADCAST, self.client_port
            self.counters[C_RAW_FALLBACK] += 1
            return
        # from the address the query was unicast to, else our address on the link (Kea: the
        # query's local address; for a broadcast, its socket's)
        src = ing.addr if ing.addr == ing.local and ing.addr else self.ifaces[iface].addr
        self.cur.tx_kind[i] = TX_RAW
        self.cur.frames[i] = wire_frame(out, b.tx_len[i], self.ifaces[iface].mac,
                                        p.data + HDR_CHADDR, src,
                                        dest if to_ciaddr else yiaddr, self.client_port)
        self.cur.frame_len[i] = b.tx_len[i] + FRAME_HEADERS
        self.cur.frame_if[i] = ing.ifindex
        memcpy(self.cur.frame_mac + 6 * i, p.data + HDR_CHADDR, 6)
        b.tx_len[i] = 0                                  # not through the UDP socket

    # ---- Python edge ------------------------------------------------------------------------------

    def reclaim(self, int64_t now, int lease_fd=-1):
        """Expire what is due and append the changes to the lease file (after the batch in
        flight: the file keeps the order of the decisions)."""
        cdef uint32_t n
        cdef CommitJob job
        cdef bint retried
        self.drain()
        n = self.alloc.reclaim_c(now)
        # (also with no expiry: rows a failed commit left pending get their next chance here;
        # a failure moves the rows to the pending ones, so the journal always empties)
        retried = False
        while self.alloc.t.journal_len or (self.pending.len and (lease_fd >= 0 or self.pg != NULL)
                                           and not retried):
            retried = True
            self.start_job(&job, lease_fd)
            # (as a batch's rows: a write that fails part way is cut off again, or the next
            # batch's first row, an ACKed lease, would be glued to the fragment and lost)
            if not commit_rows(&job, 1):
                self.counters[C_JOURNAL_FAILED] += 1
        return n

    @property
    def pending_events(self):
        """How many events the last batches noted for the log (take_events reads them)."""
        return self.n_events

    def take_events(self):
        """The events noted since the last call, as tuples of EngineEventC's fields in order
        (fastdhcp.eventlog.EventRecord names them; addresses as text); and how many were lost
        past EV_MAX per call."""
        cdef uint32_t i
        cdef const EngineEventC* e
        out = []
        for i in range(self.n_events):
            e = &self.events[i]
            out.append((
                e.kind, u32_to_ip(e.addr), e.xid, e.htype, e.hw[:e.hwlen],
                e.cid[:e.cid_len] if e.cid_len else None, e.lease_hw[:e.lease_hwlen],
                e.lease_cid[:e.lease_cid_len] if e.lease_cid_len else None, e.value,
                e.msg_type, e.aux, e.ifindex))
        lost, self.n_events, self.events_lost = self.events_lost, 0, 0
        return out, lost

    def set_events(self, budgets):
        """How many events of each kind to note from now on: {EngineEvent: n}, n None for no
        limit; a kind not given is off (0). The server sets them from its loggers (a kind is
        on when its Kea message would be written) and refills them each sampling interval."""
        cdef int k
        for k in range(EV_KINDS):
            self.ev_budget[k] = 0
        for k, n in budgets.items():
            if not 0 < k < EV_KINDS:
                raise ValueError(f"no engine event {k}")
            self.ev_budget[k] = EVENTS_UNLIMITED if n is None else min(n, EVENTS_UNLIMITED - 1)

    def take_held(self):
        """{EngineEvent: n}: the events not noted since the last call (their kind off or over
        its budget)."""
        cdef int k
        out = {k: self.ev_held[k] for k in range(EV_KINDS) if self.ev_held[k]}
        for k in range(EV_KINDS):
            self.ev_held[k] = 0
        return out

    def stats(self):
        """The engine's counters by (Kea) name, plus the batch's drop and quirk counts."""
        self.drain()        # first: the batches still with the committer fold their sends in
        out = {}
        for k, name in enumerate(ENGINE_COUNTERS):
            out[name] = self.counters[k]
            if k == C_PARSE_FAILED:
                out["pkt4-receive-drop"] = 0     # Kea's order; the sum follows
        out["lease-rows-pending-bytes"] = self.pending.len       # not yet in the file
        out["lease-rows-dropped-bytes"] = self.pending.dropped   # given up (past 64 MB)
        out["pkt4-receive-drop"] = out["pkt4-parse-failed"] + out["no-subnet-drop"] + \
            out["wrong-interface-drop"] + out["pkt4-unknown-received"] + \
            out["no-client-identity-drop"] + out["request-for-other-server"] + \
            out["inform-no-address-drop"] + out["discover-with-server-id-drop"] + \
            out["decline-without-address-drop"] + out["pkt4-offer-received"] + \
            out["pkt4-ack-received"] + out["pkt4-nak-received"] + out["class-drop"]
        for b in self.batches:
            for k, v in b.counters()["drops"].items():
                out[f"parse-drop-{k}"] = out.get(f"parse-drop-{k}", 0) + v
        return out

    def histograms(self):
        """The engine's histograms for the metrics: name -> (bucket counts, sum). Bucket k
        counts values up to 2^k (the last one: above); batch sizes and group sizes in
        datagrams and batches, the latencies in microseconds. Also the rows and bytes the
        commits wrote so far."""
        self.drain()
        out = {"batch-size": histo_py(&self.batch_hist),
               "commit-group-size": histo_py(&self.io.group),
               "fsync-latency-us": histo_py(&self.io.sync_us),
               "reply-latency-us": histo_py(&self.io.reply_us)}
        return out, {"lease-rows-written": self.io.rows, "lease-bytes-written": self.io.bytes}


cdef tuple histo_py(const Histo* h):
    return [h.bucket[k] for k in range(HIST_BUCKETS)], h.sum
