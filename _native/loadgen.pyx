# The load generator's hot loop (`fastdhcp bench`): many simulated clients whose state lives in C
# arrays, requests written in place into batch slots, replies parsed with the server's own parser
# and checked, everything through sendmmsg/recvmmsg. fastdhcp/tools/bench.py drives it in slices (a
# tenth of a second each) and turns its counters into the report. Included by _core.pyx.

from libc.stdlib cimport calloc, free, malloc
from libc.string cimport memcmp, memcpy, memset
from libc.stdint cimport int64_t


# The 64-bit LCG of Knuth's MMIX (constants above 2^63: declared in C to stay unsigned).
cdef extern from *:
    """
    #define FASTDHCP_LCG_MUL 6364136223846793005ULL
    #define FASTDHCP_LCG_ADD 1442695040888963407ULL
    """
    const uint64_t FASTDHCP_LCG_MUL
    const uint64_t FASTDHCP_LCG_ADD
    int __builtin_clzll(unsigned long long x) nogil


cdef inline int64_t mono_ns() noexcept nogil:
    cdef timespec ts
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return <int64_t>ts.tv_sec * 1000000000 + ts.tv_nsec


cdef inline uint32_t hist_bucket(int64_t v) noexcept nogil:
    cdef uint64_t x = <uint64_t>v if v > 0 else 0
    cdef int e
    if x < H_SUB:
        return <uint32_t>x
    e = 63 - __builtin_clzll(x)
    return <uint32_t>((e - 3) * H_SUB + ((x >> (e - 4)) & (H_SUB - 1)))


# What Python calls the exchange kinds, histograms and counters (fastdhcp bench's report), in
# the order of the EX_*, H_* and GN_* enums of loadgen.pxd.
LOADGEN_EXCHANGES = ("dora", "do", "renew", "release", "decline", "inform")
LOADGEN_HISTOGRAMS = ("discover-offer", "request-ack", "renew-ack", "inform-ack")
LOADGEN_COUNTERS = ("sent", "send-failed", "received", "malformed", "unexpected", "wrong-type",
                    "wrong-subnet", "wrong-server-id", "no-lease-time", "nak", "duplicates",
                    "offers", "acks", "skipped", "later-answers")
if (len(LOADGEN_EXCHANGES), len(LOADGEN_HISTOGRAMS), len(LOADGEN_COUNTERS)) != \
        (EX_KINDS, H_KINDS, GN_COUNTERS):
    raise ImportError("fastdhcp._core: the load generator's names and enums disagree")


# A simulated client's MAC: the number v as six bytes, big-endian.
cdef inline void mac_bytes(uint64_t v, uint8_t* hw) noexcept nogil:
    cdef int j
    for j in range(6):
        hw[5 - j] = <uint8_t>(v >> (8 * j))


# final: its cdef methods are called directly (and can be inlined), not through a vtable
@cython.final
cdef class LoadGen:
    """Simulated DHCP clients driven through one UDP socket (see fastdhcp/tools/bench.py).

    Relay mode: requests carry ``giaddr`` and go to ``server``:67; broadcast mode (giaddr 0):
    they go to 255.255.255.255:67 with the broadcast flag, replies come back by broadcast."""

    cdef GenClient* clients
    cdef uint32_t n_clients
    cdef uint64_t mac_seed
    cdef bint hostnames          # DISCOVERs and REQUESTs carry option 12: h + 8 hex digits
    cdef uint32_t giaddr, server, expect_server_id, net, mask
    cdef uint32_t servers[GEN_SERVERS]   # relay mode: every request goes to each (helpers)
    cdef uint64_t answers[GEN_SERVERS]   # the exchanges each answered first
    cdef int n_servers
    cdef uint16_t server_port
    cdef uint32_t xid_span       # xid = client + n_clients * generation (mod xid_span)
    cdef uint32_t* generation
    cdef double fractions[EX_KINDS]
    cdef int main_kind           # EX_DORA, or EX_DO (--exchange do): also the fallback kind
    cdef uint64_t rng
    cdef uint32_t cursor, bound_cursor
    cdef int64_t timeout_ns
    cdef int64_t last_scan_ns
    cdef int64_t clock_start     # open loop: exchange k is due at clock_start + k / rate
    cdef uint64_t clock_started  # schedule slots used so far
    cdef int batch
    # I/O
    cdef MmsgArrays tx_mm, rx_mm
    cdef uint8_t* tx
    cdef uint16_t* tx_len
    cdef Endpoint* tx_to
    cdef int n_tx
    cdef uint8_t* rx
    cdef uint32_t* rx_len
    cdef Endpoint* rx_src
    cdef Endpoint* rx_dst
    cdef DhcpPacket* pkt
    # results
    cdef uint64_t ctr[GN_COUNTERS]
    cdef uint64_t started[EX_KINDS]
    cdef uint64_t completed[EX_KINDS]
    cdef uint64_t lost[EX_KINDS]
    cdef uint64_t hist[H_KINDS][H_BUCKETS]
    cdef int64_t hist_max[H_KINDS]
    cdef uint64_t outstanding
    cdef Holder* holders
    cdef uint32_t holder_mask
    cdef uint32_t n_holders
    cdef uint32_t dup_example[3]  # address, first holder, second holder
    cdef bint ack_log
    cdef uint8_t* ack_buf
    cdef uint32_t ack_len, ack_cap

    def __cinit__(self, uint32_t clients, *, uint64_t mac_seed, server, giaddr=None,
                  subnet=None, server_id=None, double timeout=2.0, fractions=None,
                  uint64_t seed=1, int batch=64, bint ack_log=False, uint16_t server_port=67,
                  bint hostnames=False):
        cdef uint32_t slots = 1024
        if clients == 0:
            raise ValueError("at least one client")
        if not 1 <= batch <= GEN_BATCH_MAX:
            raise ValueError(f"batch must be 1..{GEN_BATCH_MAX}")
        self.n_clients = clients
        self.hostnames = hostnames
        self.mac_seed = mac_seed
        addresses = [server] if isinstance(server, str) else list(server)
        if not 1 <= len(addresses) <= GEN_SERVERS:
            raise ValueError(f"1 to {GEN_SERVERS} servers")
        if len(addresses) > 1 and not giaddr:
            raise ValueError("several servers need relay mode (giaddr): a broadcast reaches "
                             "every server on the link anyway")
        self.n_servers = len(addresses)
        for k, a in enumerate(addresses):
            self.servers[k] = ip_to_u32(a)
        self.server = self.servers[0]
        self.server_port = server_port
        self.giaddr = ip_to_u32(giaddr) if giaddr else 0
        self.expect_server_id = ip_to_u32(server_id) if server_id else 0
        if subnet:
            net_s, _, plen_s = str(subnet).partition("/")
            plen = int(plen_s or 32)
            self.mask = (0xFFFFFFFF << (32 - plen)) & 0xFFFFFFFF if plen else 0
            self.net = ip_to_u32(net_s) & self.mask
        self.xid_span = (0xFFFFFFFF // clients) * clients
        self.timeout_ns = <int64_t>(timeout * 1e9)
        self.batch = batch
        self.rng = seed * FASTDHCP_LCG_MUL + FASTDHCP_LCG_ADD
        kinds = fractions or {EX_DORA: 1.0}
        total = sum(kinds.values())
        if total <= 0:
            raise ValueError("exchange fractions must add up to more than 0")
        for k in range(EX_KINDS):
            self.fractions[k] = kinds.get(k, 0.0) / total
        self.main_kind = EX_DO if kinds.get(EX_DO, 0) > 0 else EX_DORA
        while slots < clients * 2:
            slots <<= 1
        self.holder_mask = slots - 1
        self.clients = <GenClient*>calloc(clients, sizeof(GenClient))
        self.generation = <uint32_t*>calloc(clients, sizeof(uint32_t))
        self.holders = <Holder*>calloc(slots, sizeof(Holder))
        self.tx = <uint8_t*>calloc(batch, GEN_SLOT)
        self.tx_len = <uint16_t*>calloc(batch, sizeof(uint16_t))
        self.tx_to = <Endpoint*>calloc(batch, sizeof(Endpoint))
        self.rx = <uint8_t*>malloc(<size_t>batch * GEN_SLOT)
        self.rx_len = <uint32_t*>calloc(batch, sizeof(uint32_t))
        self.rx_src = <Endpoint*>calloc(batch, sizeof(Endpoint))
        self.rx_dst = <Endpoint*>calloc(batch, sizeof(Endpoint))
        self.pkt = <DhcpPacket*>calloc(1, sizeof(DhcpPacket))
        if not (self.clients and self.generation and self.holders and self.tx and self.tx_len
                and self.tx_to and self.rx and self.rx_len and self.rx_src and self.rx_dst
                and self.pkt) or mm_alloc(&self.tx_mm, batch) != 0 or \
                mm_alloc(&self.rx_mm, batch) != 0:
            raise MemoryError()
        self.ack_log = ack_log
        if ack_log:
            self.ack_cap = 1 << 20
            self.ack_buf = <uint8_t*>malloc(self.ack_cap)
            if self.ack_buf == NULL:
                raise MemoryError()

    def __dealloc__(self):
        free(self.clients)
        free(self.generation)
        free(self.holders)
        free(self.tx)
        free(self.tx_len)
        free(self.tx_to)
        free(self.rx)
        free(self.rx_len)
        free(self.rx_src)
        free(self.rx_dst)
        free(self.pkt)
        free(self.ack_buf)
        mm_free(&self.tx_mm)
        mm_free(&self.rx_mm)

    # ---- requests ------------------------------------------------------------------------------

    cdef inline void mac_of(self, uint32_t c, uint8_t* out) noexcept nogil:
        mac_bytes(self.mac_seed + c, out)

    # Write one request for client c into the next send slot (flushing a full batch first).
    cdef void put_request(self, int fd, uint32_t c, uint8_t msg_type, int64_t now) noexcept nogil:
        cdef GenClient* g = &self.clients[c]
        cdef uint8_t* p
        cdef uint16_t pos
        cdef uint32_t k, d
        cdef int copies = self.n_servers if self.giaddr else 1
        if self.n_tx + copies > self.batch:
            self.flush(fd)
        p = self.tx + <size_t>self.n_tx * GEN_SLOT
        memset(p, 0, GEN_PACKET)
        if not (msg_type == MT_REQUEST and g.state == GC_WAIT_ACK):
            # a new exchange, a new xid; the REQUEST answering an OFFER keeps the OFFER's
            # (RFC 2131 Table 5, as perfdhcp and real clients do)
            self.generation[c] += 1
            g.xid = <uint32_t>((c + <uint64_t>self.n_clients * self.generation[c]) % self.xid_span)
        p[HDR_OP] = 1
        p[HDR_HTYPE] = 1
        p[HDR_HLEN] = 6
        p[HDR_HOPS] = 1 if self.giaddr else 0
        wr_u32(p + HDR_XID, g.xid)
        if not self.giaddr:
            wr_u16(p + HDR_FLAGS, FLAG_BROADCAST)           # no address yet: reply by broadcast
        if msg_type == MT_INFORM or msg_type == MT_RELEASE or \
                (msg_type == MT_REQUEST and g.state == GC_WAIT_RENEW):
            wr_u32(p + HDR_CIADDR, g.addr)
        wr_u32(p + HDR_GIADDR, self.giaddr)
        self.mac_of(c, p + HDR_CHADDR)
        wr_u32(p + HDR_COOKIE, BOOTP_MAGIC_COOKIE)
        pos = HDR_OPTIONS
        p[pos] = OPT_MESSAGE_TYPE
        p[pos + 1] = 1
        p[pos + 2] = msg_type
        pos += 3
        if (msg_type == MT_REQUEST and g.state == GC_WAIT_ACK) or msg_type == MT_DECLINE:
            p[pos] = OPT_REQUESTED_ADDRESS
            p[pos + 1] = 4
            wr_u32(p + pos + 2, g.offered if msg_type == MT_REQUEST else g.addr)
            pos += 6
        if (msg_type == MT_REQUEST and g.state == GC_WAIT_ACK) or msg_type == MT_RELEASE or \
                msg_type == MT_DECLINE:
            p[pos] = OPT_SERVER_ID
            p[pos + 1] = 4
            wr_u32(p + pos + 2, g.server_id)
            pos += 6
        if msg_type == MT_DISCOVER or msg_type == MT_REQUEST or msg_type == MT_INFORM:
            p[pos] = OPT_PARAMETER_LIST                # subnet mask, routers, DNS, domain
            p[pos + 1] = 4
            p[pos + 2], p[pos + 3], p[pos + 4], p[pos + 5] = 1, 3, 6, 15
            pos += 6
        if self.hostnames and (msg_type == MT_DISCOVER or msg_type == MT_REQUEST):
            p[pos] = OPT_HOST_NAME
            p[pos + 1] = 9
            p[pos + 2] = 104                           # 'h', then the client's number
            for k in range(8):
                d = (c >> (28 - 4 * k)) & 15
                p[pos + 3 + k] = <uint8_t>(48 + d if d < 10 else 87 + d)
            pos += 11
        p[pos] = OPT_END
        self.tx_len[self.n_tx] = GEN_PACKET
        if self.giaddr:
            self.tx_to[self.n_tx].addr = self.server
        else:
            self.tx_to[self.n_tx].addr = 0xFFFFFFFF
        self.tx_to[self.n_tx].port = self.server_port
        self.n_tx += 1
        for k in range(1, copies):                     # the same request to every helper address
            memcpy(self.tx + <size_t>self.n_tx * GEN_SLOT, p, GEN_PACKET)
            self.tx_len[self.n_tx] = GEN_PACKET
            self.tx_to[self.n_tx].addr = self.servers[k]
            self.tx_to[self.n_tx].port = self.server_port
            self.n_tx += 1
        g.sent_ns = now

    cdef void flush(self, int fd) noexcept nogil:
        cdef int failed = 0
        if self.n_tx == 0:
            return
        self.ctr[GN_SENT] += mm_send(fd, &self.tx_mm, self.n_tx, self.tx, GEN_SLOT,
                                          self.tx_len, self.tx_to, &failed)
        self.ctr[GN_SEND_FAILED] += failed
        self.n_tx = 0

    cdef inline double uniform(self) noexcept nogil:
        self.rng = self.rng * FASTDHCP_LCG_MUL + FASTDHCP_LCG_ADD
        return <double>(self.rng >> 11) * (1.0 / 9007199254740992.0)

    cdef int pick_kind(self) noexcept nogil:
        cdef double r = self.uniform(), acc = 0
        cdef int k
        for k in range(EX_KINDS):
            acc += self.fractions[k]
            if r < acc:
                return k
        return self.main_kind

    # The next idle client, round-robin (bound ones for kinds that need a lease); NIL if none
    # within a bounded look.
    cdef uint32_t next_client(self, bint bound) noexcept nogil:
        cdef uint32_t tries = 0, c
        cdef uint32_t* cur = &self.bound_cursor if bound else &self.cursor
        cdef uint32_t limit = self.n_clients if not bound else min(self.n_clients, 256)
        while tries < limit:
            c = cur[0]
            cur[0] = c + 1 if c + 1 < self.n_clients else 0
            tries += 1
            if self.clients[c].state == GC_IDLE and (not bound or self.clients[c].addr != 0):
                return c
        return NIL

    # Start one exchange; False when every client is busy.
    cdef bint start_one(self, int fd, int64_t now) noexcept nogil:
        cdef int kind = self.pick_kind()
        cdef uint32_t c = NIL
        cdef GenClient* g
        if kind >= EX_RENEW:
            c = self.next_client(True)
            if c == NIL:
                kind = self.main_kind                   # nobody holds a lease yet
        if c == NIL:
            c = self.next_client(False)
            if c == NIL:
                return False
        g = &self.clients[c]
        g.kind = <uint8_t>kind
        self.started[kind] += 1
        if kind == EX_DORA or kind == EX_DO:
            g.state = GC_WAIT_OFFER
            self.put_request(fd, c, MT_DISCOVER, now)
        elif kind == EX_RENEW:
            g.state = GC_WAIT_RENEW
            self.put_request(fd, c, MT_REQUEST, now)
        elif kind == EX_INFORM:
            g.state = GC_WAIT_INFORM
            self.put_request(fd, c, MT_INFORM, now)
        else:                                           # RELEASE, DECLINE: no reply
            self.put_request(fd, c, MT_RELEASE if kind == EX_RELEASE else MT_DECLINE, now)
            self.let_go(c, now)
            g.addr = 0
            self.completed[kind] += 1
            return True
        self.outstanding += 1
        return True

    # ---- replies -------------------------------------------------------------------------------

    cdef inline void answered_by(self, uint32_t src) noexcept nogil:
        cdef int k
        for k in range(self.n_servers):
            if self.servers[k] == src:
                self.answers[k] += 1
                return

    cdef void on_reply(self, int fd, const uint8_t* data, uint32_t size, uint32_t src,
                       int64_t now) noexcept nogil:
        cdef DhcpPacket* p = self.pkt
        cdef uint32_t c, sid = 0
        cdef uint8_t mac[6]
        cdef GenClient* g
        cdef int64_t took
        cdef uint32_t lease_time = 0
        self.ctr[GN_RECEIVED] += 1
        if wire_parse(p, data, size, False, False) != DR_OK or p.op != 2:
            self.ctr[GN_MALFORMED] += 1
            return
        c = p.xid % self.n_clients
        g = &self.clients[c]
        self.mac_of(c, mac)
        if p.xid >= self.xid_span or g.xid != p.xid or g.state == GC_IDLE or p.hlen != 6 or \
                memcmp(p.data + HDR_CHADDR, mac, 6) != 0:
            if self.n_servers > 1 and p.xid < self.xid_span and p.hlen == 6 and \
                    memcmp(p.data + HDR_CHADDR, mac, 6) == 0:
                # another server's answer to this client, after the first one ended the
                # exchange (the client may be in a later one already)
                self.ctr[GN_LATER_ANSWERS] += 1
            else:
                self.ctr[GN_UNEXPECTED] += 1
            return
        took = now - g.sent_ns
        if took >= self.timeout_ns:
            # past its timeout, though the scan that would have called it lost has not run
            # yet: lost, as it would have been a moment later (and kept out of the latencies)
            self.ctr[GN_UNEXPECTED] += 1
            self.finish(c, False)
            return
        if p.opt[OPT_SERVER_ID].count and p.opt[OPT_SERVER_ID].len == 4:
            sid = rd_u32(opt_value(p, OPT_SERVER_ID))
        if p.opt[OPT_LEASE_TIME].count and p.opt[OPT_LEASE_TIME].len == 4:
            lease_time = rd_u32(opt_value(p, OPT_LEASE_TIME))
        if p.msg_type == MT_NAK and (g.state == GC_WAIT_ACK or g.state == GC_WAIT_RENEW):
            self.ctr[GN_NAK] += 1
            self.let_go(c, now)
            g.addr = 0
            self.finish(c, False)
            return
        if self.n_servers > 1 and g.state == GC_WAIT_ACK and p.msg_type == MT_OFFER:
            self.ctr[GN_LATER_ANSWERS] += 1        # a second server's OFFER: the first one won
            return
        if (g.state == GC_WAIT_OFFER and p.msg_type != MT_OFFER) or \
                (g.state != GC_WAIT_OFFER and p.msg_type != MT_ACK):
            self.ctr[GN_WRONG_TYPE] += 1
            return
        if sid == 0 or (self.expect_server_id and sid != self.expect_server_id):
            self.ctr[GN_WRONG_SERVER] += 1
            self.finish(c, False)
            return
        if g.state != GC_WAIT_INFORM:
            if self.mask and (p.yiaddr & self.mask) != self.net:
                self.ctr[GN_WRONG_SUBNET] += 1
                self.finish(c, False)
                return
            if lease_time == 0:
                self.ctr[GN_NO_LEASE_TIME] += 1
        self.answered_by(src)
        if g.state == GC_WAIT_OFFER:
            self.ctr[GN_OFFERS] += 1
            self.record(H_OFFER, took)
            if g.kind == EX_DO:
                self.finish(c, True)
                return
            g.offered = p.yiaddr
            g.server_id = sid
            g.state = GC_WAIT_ACK
            self.put_request(fd, c, MT_REQUEST, now)
            return
        self.ctr[GN_ACKS] += 1
        if g.state == GC_WAIT_INFORM:
            self.record(H_INFORM, took)
            self.finish(c, True)
            return
        self.record(H_ACK if g.state == GC_WAIT_ACK else H_RENEW, took)
        if g.addr and g.addr != p.yiaddr:
            self.let_go(c, now)
        g.addr = p.yiaddr
        g.server_id = sid
        self.hold(c, p.yiaddr, now, lease_time)
        if self.ack_log:
            self.log_ack(mac, p.yiaddr, lease_time)
        self.finish(c, True)

    cdef inline void record(self, int h, int64_t took) noexcept nogil:
        self.hist[h][hist_bucket(took)] += 1
        if took > self.hist_max[h]:
            self.hist_max[h] = took

    cdef inline void finish(self, uint32_t c, bint ok) noexcept nogil:
        cdef GenClient* g = &self.clients[c]
        if ok:
            self.completed[g.kind] += 1
        else:
            self.lost[g.kind] += 1
        g.state = GC_IDLE
        self.outstanding -= 1

    # Clients still waiting past the timeout: their exchange is lost. A full scan of the client
    # array, a few times per timeout (two nanoseconds a client).
    cdef void expire(self, int64_t now) noexcept nogil:
        cdef uint32_t c
        for c in range(self.n_clients):
            if self.clients[c].state != GC_IDLE and now - self.clients[c].sent_ns >= self.timeout_ns:
                self.finish(c, False)
        self.last_scan_ns = now

    # ---- duplicate detector: no address held by two clients at once ------------------------------

    cdef Holder* holder_slot(self, uint32_t addr) noexcept nogil:
        cdef uint32_t i = lt_mix(addr) & self.holder_mask
        while self.holders[i].addr != 0 and self.holders[i].addr != addr:
            i = (i + 1) & self.holder_mask
        return &self.holders[i]

    cdef void hold(self, uint32_t c, uint32_t addr, int64_t now, uint32_t lease_time) noexcept nogil:
        cdef Holder* h = self.holder_slot(addr)
        if h.addr == 0:
            if (self.n_holders + 1) * 2 > self.holder_mask + 1 and self.grow_holders() == 0:
                h = self.holder_slot(addr)
            h.addr = addr
            self.n_holders += 1
        elif h.client != c and h.until_ns > now:
            self.ctr[GN_DUPLICATE] += 1
            if self.ctr[GN_DUPLICATE] == 1:
                self.dup_example[0], self.dup_example[1], self.dup_example[2] = addr, h.client, c
            if self.clients[h.client].addr == addr:
                self.clients[h.client].addr = 0      # count each collision once
        h.client = c
        h.until_ns = now + <int64_t>(lease_time if lease_time else 0xFFFFFFFF) * 1000000000

    cdef void let_go(self, uint32_t c, int64_t now) noexcept nogil:
        cdef uint32_t a = self.clients[c].addr
        cdef Holder* h
        if a == 0:
            return
        h = self.holder_slot(a)
        if h.addr == a and h.client == c:
            h.until_ns = 0

    cdef int grow_holders(self) noexcept nogil:
        cdef Holder* old = self.holders
        cdef uint32_t old_slots = self.holder_mask + 1, i
        cdef Holder* h
        self.holders = <Holder*>calloc(<size_t>old_slots * 2, sizeof(Holder))
        if self.holders == NULL:
            self.holders = old
            return -1
        self.holder_mask = old_slots * 2 - 1
        for i in range(old_slots):
            if old[i].addr:
                h = self.holder_slot(old[i].addr)
                h[0] = old[i]
        free(old)
        return 0

    cdef void log_ack(self, const uint8_t* mac, uint32_t addr, uint32_t lease_time) noexcept nogil:
        cdef uint8_t* out
        cdef uint32_t pos, k
        cdef const char* digits = b"0123456789abcdef"
        if self.ack_len + ACK_LOG_LINE > self.ack_cap:
            return                               # drained every slice; never grows unbounded
        out = self.ack_buf + self.ack_len
        pos = csv_hex(out, 0, mac, 6)
        out[pos] = 44
        pos = csv_addr(out, pos + 1, addr)
        out[pos] = 44
        pos = csv_u64(out, pos + 1, lease_time)
        out[pos] = 10
        self.ack_len += pos + 1

    # ---- the loop ------------------------------------------------------------------------------

    def run(self, int fd, double seconds, *, double rate=0, uint32_t window=0,
            uint64_t max_starts=0, bint drain=False):
        """Drive the clients for ``seconds``: open loop at ``rate`` exchanges/s, or closed loop
        keeping ``window`` exchanges outstanding; at most ``max_starts`` more exchanges (0: no
        limit); ``drain``: start nothing, only wait for replies. Returns the exchanges started.
        The clock of the open loop carries over between calls (set it with ``start_clock``)."""
        cdef int64_t now = mono_ns(), end = now + <int64_t>(seconds * 1e9), wait_ns
        cdef uint64_t starts = 0, due
        cdef int got, i
        cdef pollfd pfd
        cdef timespec ts
        cdef int64_t scan_every = self.timeout_ns // 4 if self.timeout_ns // 4 < 50000000 else 50000000
        pfd.fd = fd
        pfd.events = POLLIN
        if self.clock_start == 0:
            self.start_clock()
        with nogil:
            while True:
                now = mono_ns()
                if now >= end:
                    break
                # start what is due
                if not drain and (max_starts == 0 or starts < max_starts):
                    if window:
                        while self.outstanding < window and (max_starts == 0 or starts < max_starts):
                            if not self.start_one(fd, now):
                                break
                            starts += 1
                    elif rate > 0:
                        due = <uint64_t>((now - self.clock_start) * rate / 1e9)
                        while self.clock_started < due and (max_starts == 0 or starts < max_starts):
                            if not self.start_one(fd, now):
                                # every client busy: the slots due now are skipped (counted),
                                # not tried one by one (each try is a scan of all clients)
                                self.ctr[GN_SKIPPED] += due - self.clock_started
                                self.clock_started = due
                                break
                            self.clock_started += 1
                            starts += 1
                self.flush(fd)
                # take every reply waiting, answering OFFERs at once
                while True:
                    got = mm_recv(fd, &self.rx_mm, self.batch, self.rx, GEN_SLOT, self.rx_len,
                                  self.rx_src, self.rx_dst)
                    if got <= 0:
                        break
                    now = mono_ns()
                    for i in range(got):
                        self.on_reply(fd, self.rx + <size_t>i * GEN_SLOT, self.rx_len[i],
                                      self.rx_src[i].addr, now)
                    self.flush(fd)
                    if got < self.batch:
                        break
                if now - self.last_scan_ns >= scan_every:
                    self.expire(now)
                if self.outstanding == 0 and (drain or (max_starts and starts >= max_starts)):
                    break                         # (nothing more to start or wait for)
                # sleep until the next start is due, a reply comes, or the slice ends
                wait_ns = end - mono_ns()
                if not drain and window == 0 and rate > 0:
                    due = self.clock_started + 1
                    wait_ns = min(wait_ns, self.clock_start + <int64_t>(due * 1e9 / rate) - mono_ns())
                if window and self.outstanding < window and not drain:
                    wait_ns = 0
                if wait_ns > 0:
                    # to the nanosecond: poll()'s milliseconds would send an open loop's
                    # exchanges in bursts (several at once, then a gap of a millisecond)
                    wait_ns = min(wait_ns, 50000000)
                    ts.tv_sec = 0
                    ts.tv_nsec = wait_ns
                    ppoll(&pfd, 1, &ts, NULL)
        return starts

    def abandon(self):
        """End every exchange still waiting (after the last drain) as lost: each started
        exchange is then either completed or lost in the report."""
        cdef uint32_t c
        for c in range(self.n_clients):
            if self.clients[c].state != GC_IDLE:
                self.finish(c, False)

    def start_clock(self):
        """Start the open loop's schedule now (exchange k is due at k / rate seconds)."""
        self.clock_start = mono_ns()
        self.clock_started = 0

    # ---- results -------------------------------------------------------------------------------

    def counters(self):
        """Counters by index (LOADGEN_COUNTERS) and per exchange kind."""
        return ([self.ctr[k] for k in range(GN_COUNTERS)],
                [self.started[k] for k in range(EX_KINDS)],
                [self.completed[k] for k in range(EX_KINDS)],
                [self.lost[k] for k in range(EX_KINDS)], self.outstanding)

    def histograms(self):
        """Per latency kind: (bucket counts, max ns). Bucket b holds values from
        bucket_floor(b) up to the next bucket's floor."""
        return [([self.hist[h][b] for b in range(H_BUCKETS)], self.hist_max[h])
                for h in range(H_KINDS)]

    def duplicate_example(self):
        """(address, first client MAC, second client MAC) of the first duplicate, or None."""
        cdef uint8_t a[6]
        cdef uint8_t b[6]
        if self.ctr[GN_DUPLICATE] == 0:
            return None
        self.mac_of(self.dup_example[1], a)
        self.mac_of(self.dup_example[2], b)
        return (u32_to_ip(self.dup_example[0]), (<bytes>a[:6]).hex(":"),
                (<bytes>b[:6]).hex(":"))

    def take_ack_log(self):
        """The ACK log lines gathered since the last call (chaddr,yiaddr,lease_time)."""
        cdef bytes out = self.ack_buf[:self.ack_len] if self.ack_len else b""
        self.ack_len = 0
        return out

    def answers_by_server(self):
        """{server address: the replies of it that answered an exchange first} (relay mode
        with several servers: which one each exchange's answer came from)."""
        return {u32_to_ip(self.servers[k]): self.answers[k] for k in range(self.n_servers)}

    def bound(self):
        """How many simulated clients hold an address now."""
        cdef uint32_t c, n = 0
        for c in range(self.n_clients):
            if self.clients[c].addr:
                n += 1
        return n


def hist_bucket_floor(uint32_t b):
    """The smallest value (ns) that falls in histogram bucket ``b``."""
    if b < H_SUB:
        return b
    e = b // H_SUB + 3
    return (1 << e) | ((b % H_SUB) << (e - 4))
