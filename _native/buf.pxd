# Inline big-endian byte readers and writers. Callers check bounds once per field group, so these
# do not; they compile to single loads/stores plus a byte swap.

from libc.stdint cimport uint8_t, uint16_t, uint32_t, uint64_t


cdef inline uint16_t rd_u16(const uint8_t* p) noexcept nogil:
    return <uint16_t>((<uint16_t>p[0] << 8) | p[1])


cdef inline uint32_t rd_u32(const uint8_t* p) noexcept nogil:
    return ((<uint32_t>p[0] << 24) | (<uint32_t>p[1] << 16) | (<uint32_t>p[2] << 8) | p[3])


cdef inline void wr_u16(uint8_t* p, uint16_t v) noexcept nogil:
    p[0] = <uint8_t>(v >> 8)
    p[1] = <uint8_t>v


cdef inline void wr_u32(uint8_t* p, uint32_t v) noexcept nogil:
    p[0] = <uint8_t>(v >> 24)
    p[1] = <uint8_t>(v >> 16)
    p[2] = <uint8_t>(v >> 8)
    p[3] = <uint8_t>v


cdef inline bint bit_test(const uint64_t* bits, unsigned int i) noexcept nogil:
    return (bits[i >> 6] >> (i & 63)) & 1


cdef inline void bit_set(uint64_t* bits, unsigned int i) noexcept nogil:
    bits[i >> 6] |= (<uint64_t>1) << (i & 63)


# Wire size of a value of length n once split into 255-byte pieces (RFC 3396 §5); an empty value
# is still one option with length 0.
cdef inline unsigned int tlv_wire_len(unsigned int n) noexcept nogil:
    if n == 0:
        return 2
    return n + 2 * ((n + 254) // 255)
