# A batch of datagrams in preallocated buffers: N request slots, N parsed packets, N reply slots.
# The engine's recvmmsg/sendmmsg point their iovecs straight at these buffers; parse and build
# touch no Python object per packet. Included by _core.pyx.

from libc.stdlib cimport calloc, free


# final: its cdef methods are called directly (and can be inlined), not through a vtable
@cython.final
cdef class PacketBatch:
    """N preallocated slots: request buffers, parsed packets and reply buffers."""

    cdef readonly int capacity
    cdef public int count               # slots filled by the last load/receive
    cdef uint8_t* rx                    # capacity * MAX_DATAGRAM
    cdef uint32_t* rx_len
    cdef DhcpPacket* pkts
    cdef uint8_t* status                # DropReason per slot
    cdef uint8_t* tx                    # capacity * REPLY_CAPACITY
    cdef uint16_t* tx_len
    cdef uint64_t drops[DR_COUNT]
    cdef uint64_t quirk_counts[Q_BITS]
    cdef uint64_t parsed_ok
    cdef uint64_t options_skipped
    cdef uint64_t send_failed
    cdef MmsgArrays mm
    cdef Endpoint* src                  # who sent each request
    cdef Endpoint* ingress              # where it arrived (interface, our address, header dst)
    cdef Endpoint* reply_dst            # where each reply goes

    def __cinit__(self, int capacity=64):
        if capacity < 1 or capacity > 4096:
            raise ValueError("capacity must be between 1 and 4096")
        self.capacity = capacity
        self.rx = <uint8_t*>calloc(capacity, MAX_DATAGRAM)
        self.rx_len = <uint32_t*>calloc(capacity, sizeof(uint32_t))
        self.pkts = <DhcpPacket*>calloc(capacity, sizeof(DhcpPacket))
        self.status = <uint8_t*>calloc(capacity, 1)
        self.tx = <uint8_t*>calloc(capacity, REPLY_CAPACITY)
        self.tx_len = <uint16_t*>calloc(capacity, sizeof(uint16_t))
        self.src = <Endpoint*>calloc(capacity, sizeof(Endpoint))
        self.ingress = <Endpoint*>calloc(capacity, sizeof(Endpoint))
        self.reply_dst = <Endpoint*>calloc(capacity, sizeof(Endpoint))
        if not (self.rx and self.rx_len and self.pkts and self.status and self.tx and self.tx_len
                and self.src and self.ingress and self.reply_dst) or mm_alloc(&self.mm, capacity) != 0:
            raise MemoryError()

    def __dealloc__(self):
        free(self.rx)
        free(self.rx_len)
        free(self.pkts)
        free(self.status)
        free(self.tx)
        free(self.tx_len)
        free(self.src)
        free(self.ingress)
        free(self.reply_dst)
        mm_free(&self.mm)

    def load(self, datagrams):
        """Copy up to ``capacity`` datagrams into the slots (tests and tools; the server receives
        straight into them). Longer ones keep their true length and will drop as TOO_LONG."""
        cdef int i = 0
        cdef const uint8_t[::1] view
        for d in datagrams:
            if i >= self.capacity:
                break
            view = d
            self.rx_len[i] = view.shape[0]
            if view.shape[0]:
                memcpy(self.rx + <size_t>i * MAX_DATAGRAM, &view[0],
                       min(<size_t>view.shape[0], <size_t>MAX_DATAGRAM))
            i += 1
        self.count = i
        return i

    cdef int parse_all(self, bint requests_only, bint allow_bootp) noexcept nogil:
        cdef int i, ok = 0, q
        cdef DropCode dr
        for i in range(self.count):
            dr = wire_parse(&self.pkts[i], self.rx + <size_t>i * MAX_DATAGRAM, self.rx_len[i],
                            requests_only, allow_bootp)
            self.status[i] = dr
            if dr == DR_OK:
                ok += 1
                if self.pkts[i].quirks:
                    for q in range(Q_BITS):
                        if self.pkts[i].quirks & (1 << q):
                            self.quirk_counts[q] += 1
            else:
                self.drops[<int>dr] += 1
        self.parsed_ok += ok
        return ok

    def parse(self, bint requests_only=True, bint allow_bootp=False):
        """Parse every loaded slot; returns how many were accepted. Drops are counted by reason."""
        cdef int ok
        with nogil:
            ok = self.parse_all(requests_only, allow_bootp)
        return ok

    def status_of(self, int i):
        self._check(i)
        return DropReason(self.status[i])

    def packet(self, int i):
        """The slot's parsed packet as a Packet (raises MalformedPacket if it was dropped)."""
        self._check(i)
        if self.status[i] != DR_OK:
            raise MalformedPacket(self.status[i])
        return packet_to_python(&self.pkts[i])

    def build_replies(self, int msg_type, yiaddr, siaddr, const uint8_t[::1] lead, OptionSet options,
                      bint echo_client_id=True):
        """Build a reply for every accepted slot (same addresses and options for all: benchmarks
        and tests; the engine decides per packet). Returns how many were built."""
        cdef uint32_t y = ip_to_u32(yiaddr), s = ip_to_u32(siaddr)
        cdef uint16_t n_lead = check_lead(lead)
        cdef uint8_t mt = check_msg_type(msg_type)
        cdef const uint8_t* lead_p = &lead[0] if n_lead else NULL
        cdef int i, built = 0
        cdef uint16_t skipped = 0
        cdef uint64_t written[4]
        opt_written_mask(lead_p, n_lead, written)
        with nogil:
            for i in range(self.count):
                if self.status[i] != DR_OK:
                    self.tx_len[i] = 0
                    continue
                self.tx_len[i] = wire_build_reply(&self.pkts[i], self.tx_slot(i),
                                                  mt, y, s, lead_p, n_lead, written,
                                                  &options.c, NULL, NULL, echo_client_id,
                                                  &skipped)
                built += 1
        self.options_skipped += skipped
        return built

    def reply(self, int i):
        """The reply built for slot i, as bytes (empty if none)."""
        self._check(i)
        return self.tx_slot(i)[:self.tx_len[i]]

    def receive(self, int fd):
        """Receive up to ``capacity`` waiting datagrams from a UDP socket (with IP_PKTINFO
        enabled) in one recvmmsg, without blocking. Returns how many (0 if none waited)."""
        cdef int got
        with nogil:
            got = mm_recv(fd, &self.mm, self.capacity, self.rx, MAX_DATAGRAM, self.rx_len,
                          self.src, self.ingress)
        if got < 0:
            raise OSError(-got, os.strerror(-got))
        self.count = got
        return got

    def send(self, int fd):
        """Send every built reply to its destination (reply_to) in one sendmmsg. Returns how
        many were sent; refused datagrams are counted in ``counters()['send-failed']``."""
        cdef int sent, failed = 0
        with nogil:
            sent = mm_send(fd, &self.mm, self.count, self.tx + TX_HEADROOM, REPLY_CAPACITY,
                           self.tx_len, self.reply_dst, &failed)
        self.send_failed += failed
        return sent

    def source(self, int i):
        """(address, port) the slot's datagram came from."""
        self._check(i)
        return u32_to_ip(self.src[i].addr), self.src[i].port

    def arrival(self, int i):
        """(ifindex, our address on that link, the datagram's destination address)."""
        self._check(i)
        return self.ingress[i].ifindex, u32_to_ip(self.ingress[i].local), u32_to_ip(self.ingress[i].addr)

    def reply_to(self, int i, addr, int port, int ifindex=0, local=0):
        """Set where slot i's reply goes (and, optionally, the egress interface and source)."""
        self._check(i)
        self.reply_dst[i].addr = ip_to_u32(addr)
        self.reply_dst[i].port = port
        self.reply_dst[i].ifindex = ifindex
        self.reply_dst[i].local = ip_to_u32(local)

    def counters(self):
        """Cumulative counts: accepted, drops by reason, quirks by name, skipped reply options."""
        return {
            "parsed": self.parsed_ok,
            "drops": {DropReason(r).label: self.drops[r] for r in range(1, DR_COUNT) if self.drops[r]},
            "quirks": {Quirk(1 << q).name.lower(): self.quirk_counts[q]
                       for q in range(Q_BITS) if self.quirk_counts[q]},
            "reply-options-skipped": self.options_skipped,
            "send-failed": self.send_failed,
        }

    cdef inline uint8_t* tx_slot(self, int i) noexcept nogil:
        # where slot i's reply starts; the headroom before it takes raw-frame headers
        return self.tx + <size_t>i * REPLY_CAPACITY + TX_HEADROOM

    cdef _check(self, int i):
        if i < 0 or i >= self.count:
            raise IndexError(f"slot {i} is not loaded (count={self.count})")
