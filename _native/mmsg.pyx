# Batched receive and send: one recvmmsg fills up to N request slots (with the ingress interface
# and local address from IP_PKTINFO), one sendmmsg sends every built reply to its destination.
# The mmsghdr/iovec/control arrays are allocated once per PacketBatch and reused. Included by
# _core.pyx.

from libc.stdlib cimport calloc, free
from libc.string cimport memcpy, memset


cdef int mm_alloc(MmsgArrays* m, int n) noexcept nogil:
    m.hdr = <mmsghdr*>calloc(n, sizeof(mmsghdr))
    m.iov = <iovec*>calloc(n, sizeof(iovec))
    m.name = <sockaddr_in*>calloc(n, sizeof(sockaddr_in))
    m.control = <uint8_t*>calloc(n, MM_CONTROL)
    return 0 if (m.hdr and m.iov and m.name and m.control) else -1


cdef void mm_free(MmsgArrays* m) noexcept nogil:
    free(m.hdr)
    free(m.iov)
    free(m.name)
    free(m.control)


# sendmmsg until all k messages are handled; one the kernel refuses (no route, say) is skipped
# and counted in failed[0], and the rest still go. Returns how many were sent.
cdef int mm_sendmmsg_all(int fd, mmsghdr* hdr, int k, int* failed) noexcept nogil:
    cdef int sent, total = 0, done = 0
    while done < k:
        sent = sendmmsg(fd, hdr + done, k - done, MSG_DONTWAIT)
        if sent < 0:
            if errno == EINTR:
                continue
            failed[0] += 1           # the first message of the rest failed: skip it
            done += 1
            continue
        done += sent
        total += sent
    return total


# Receive up to n datagrams into bufs (slot_size each) without blocking. Returns the count
# (0 when nothing is waiting) or -errno. A datagram longer than the slot keeps its true length
# (MSG_TRUNC), so the parser drops it as TOO_LONG rather than reading a cut copy.
cdef int mm_recv(int fd, MmsgArrays* m, int n, uint8_t* bufs, size_t slot_size,
                 uint32_t* lens, Endpoint* src, Endpoint* dst) noexcept nogil:
    cdef int i, got
    cdef cmsghdr* c
    cdef in_pktinfo* pi
    for i in range(n):
        m.iov[i].iov_base = bufs + <size_t>i * slot_size
        m.iov[i].iov_len = slot_size
        memset(&m.hdr[i].msg_hdr, 0, sizeof(msghdr))
        m.hdr[i].msg_hdr.msg_iov = &m.iov[i]
        m.hdr[i].msg_hdr.msg_iovlen = 1
        m.hdr[i].msg_hdr.msg_name = &m.name[i]
        m.hdr[i].msg_hdr.msg_namelen = sizeof(sockaddr_in)
        m.hdr[i].msg_hdr.msg_control = m.control + <size_t>i * MM_CONTROL
        m.hdr[i].msg_hdr.msg_controllen = MM_CONTROL
    got = recvmmsg(fd, m.hdr, n, MSG_DONTWAIT | MSG_TRUNC, NULL)
    if got < 0:
        return 0 if (errno == EAGAIN or errno == EWOULDBLOCK or errno == EINTR) else -errno
    for i in range(got):
        lens[i] = m.hdr[i].msg_len
        src[i].addr = ntohl(m.name[i].sin_addr.s_addr)
        src[i].port = ntohs(m.name[i].sin_port)
        src[i].ifindex = 0
        src[i].local = 0
        dst[i].ifindex = 0
        dst[i].local = 0
        c = CMSG_FIRSTHDR(&m.hdr[i].msg_hdr)
        while c != NULL:
            if c.cmsg_level == IPPROTO_IP and c.cmsg_type == IP_PKTINFO:
                pi = <in_pktinfo*>CMSG_DATA(c)
                dst[i].ifindex = pi.ipi_ifindex
                dst[i].local = ntohl(pi.ipi_spec_dst.s_addr)   # our address on that link
                dst[i].addr = ntohl(pi.ipi_addr.s_addr)        # header destination (broadcast?)
            c = CMSG_NXTHDR(&m.hdr[i].msg_hdr, c)
    return got


# Send the slots whose lens[i] > 0 to to[i] (with IP_PKTINFO choosing the egress interface and
# source address when given). Returns how many were sent; a datagram the kernel refuses (no
# route, say) is skipped and counted in failed[0], and the rest still go.
cdef int mm_send(int fd, MmsgArrays* m, int n, uint8_t* bufs, size_t slot_size,
                 const uint16_t* lens, const Endpoint* to, int* failed) noexcept nogil:
    cdef int i, k = 0
    cdef cmsghdr* c
    cdef in_pktinfo* pi
    for i in range(n):
        if lens[i] == 0:
            continue
        m.iov[k].iov_base = bufs + <size_t>i * slot_size
        m.iov[k].iov_len = lens[i]
        memset(&m.hdr[k].msg_hdr, 0, sizeof(msghdr))
        m.name[k].sin_family = AF_INET
        m.name[k].sin_port = htons(to[i].port)
        m.name[k].sin_addr.s_addr = htonl(to[i].addr)
        m.hdr[k].msg_hdr.msg_name = &m.name[k]
        m.hdr[k].msg_hdr.msg_namelen = sizeof(sockaddr_in)
        m.hdr[k].msg_hdr.msg_iov = &m.iov[k]
        m.hdr[k].msg_hdr.msg_iovlen = 1
        if to[i].ifindex or to[i].local:
            m.hdr[k].msg_hdr.msg_control = m.control + <size_t>k * MM_CONTROL
            m.hdr[k].msg_hdr.msg_controllen = CMSG_SPACE(sizeof(in_pktinfo))
            memset(m.hdr[k].msg_hdr.msg_control, 0, m.hdr[k].msg_hdr.msg_controllen)
            c = CMSG_FIRSTHDR(&m.hdr[k].msg_hdr)
            c.cmsg_level = IPPROTO_IP
            c.cmsg_type = IP_PKTINFO
            c.cmsg_len = CMSG_LEN(sizeof(in_pktinfo))
            pi = <in_pktinfo*>CMSG_DATA(c)
            pi.ipi_ifindex = to[i].ifindex
            pi.ipi_spec_dst.s_addr = htonl(to[i].local)
        k += 1
    return mm_sendmmsg_all(fd, m.hdr, k, failed)


# Send complete Ethernet frames (raw replies) through an AF_PACKET socket, each to its interface.
# frames[i] points at the frame, lens[i] its length (0: not a raw reply); ifindex[i] its link.
cdef int mm_send_frames(int fd, MmsgArrays* m, int n, uint8_t** frames, const uint16_t* lens,
                        const int* ifindex, const uint8_t* dst_macs, int* failed) noexcept nogil:
    cdef int i, k = 0
    cdef sockaddr_ll* ll
    for i in range(n):
        if lens[i] == 0:
            continue
        m.iov[k].iov_base = frames[i]
        m.iov[k].iov_len = lens[i]
        memset(&m.hdr[k].msg_hdr, 0, sizeof(msghdr))
        ll = <sockaddr_ll*>(m.control + <size_t>k * MM_CONTROL)   # reuse: one address per frame
        memset(ll, 0, sizeof(sockaddr_ll))
        ll.sll_family = AF_PACKET
        ll.sll_protocol = htons(0x0800)
        ll.sll_ifindex = ifindex[i]
        ll.sll_halen = 6
        memcpy(ll.sll_addr, dst_macs + 6 * i, 6)
        m.hdr[k].msg_hdr.msg_name = ll
        m.hdr[k].msg_hdr.msg_namelen = sizeof(sockaddr_ll)
        m.hdr[k].msg_hdr.msg_iov = &m.iov[k]
        m.hdr[k].msg_hdr.msg_iovlen = 1
        k += 1
    return mm_sendmmsg_all(fd, m.hdr, k, failed)
