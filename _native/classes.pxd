# Client classification (classes.pyx): the bytecode a class test compiles to
# (fastdhcp/classify/compile.py), the values it works on, and what it reads beyond the packet.
# Declared here, not in the part, so that no part depends on the include order.

from libc.stdint cimport int32_t, uint8_t, uint32_t, uint64_t


# Instructions: one 32-bit word, the operation in the low 8 bits and an operand in the high 24;
# the operations marked (+N) are followed by N more words. Postfix: operands are on the stack.
cdef enum:
    OP_CONST = 1                 # push constant a
    OP_OPTION = 2                # push option a's bytes ('' when absent)
    OP_OPTION_STRING = 3         # ... of a string option: trailing NULs dropped, as Kea unpacks it
    OP_OPTION_EXISTS = 4         # push 'true' if option a is present (a | 0x100: a string option)
    OP_RELAY4 = 5                # push sub-option a of option 82 ('' when absent)
    OP_RELAY4_EXISTS = 6
    OP_SUBOPTION = 7             # (+1: sub-option code) sub-option of option a, as TLVs
    OP_SUBOPTION_EXISTS = 8      # (+1)
    OP_PKT4 = 9                  # push header field a (PKT4_*)
    OP_PKT = 10                  # push receive metadata a (PKT_*)
    OP_SUBSTRING = 11            # (+2: start, length as int32; CL_ALL for all)
    OP_SPLIT = 12                # (+1: field, int32) pops delimiters, string
    OP_CONCAT = 13
    OP_IFELSE = 14               # pops if_false, if_true, condition
    OP_HEXSTRING = 15            # pops separator, binary
    OP_ADDRTOTEXT = 16
    OP_INTTOTEXT = 17            # a: bits (8, 16, 32) | 0x100 when signed
    OP_LCASE = 18
    OP_UCASE = 19
    OP_EQUAL = 20
    OP_NOT = 21
    OP_AND = 22
    OP_OR = 23
    OP_MEMBER = 24               # push 'true' if the packet is in class a already
    OP_VENDOR = 25               # (+2: enterprise (0: any), sub-option) option 125, field a (VF_*)
    OP_VENDOR_CLASS = 26         # (+2: enterprise (0: any), data index) option 124, field a (VF_*)
    OP_OPS = 27


cdef enum:                       # the fields of OP_VENDOR / OP_VENDOR_CLASS (Kea's TokenVendor)
    VF_EXISTS = 0
    VF_ENTERPRISE = 1
    VF_OPTION = 2                # vendor[E].option[C].hex
    VF_OPTION_EXISTS = 3
    VF_DATA = 4                  # vendor-class[E].data[i]


cdef enum:
    PKT4_MAC = 0
    PKT4_HLEN = 1
    PKT4_HTYPE = 2
    PKT4_CIADDR = 3
    PKT4_GIADDR = 4
    PKT4_YIADDR = 5
    PKT4_SIADDR = 6
    PKT4_MSGTYPE = 7
    PKT4_TRANSID = 8
    PKT_IFACE = 0
    PKT_SRC = 1
    PKT_DST = 2
    PKT_LEN = 3


cdef enum:
    CL_ALL = 0x7FFFFFFF          # substring(..., all)
    CL_STACK = 32                # values a test may hold at once (the compiler checks)
    CL_SCRATCH = 4096            # bytes a test may make per packet (more: not in the class)
    CL_MAX_CLASSES = 256
    CL_WORDS = 4                 # CL_MAX_CLASSES / 64


ctypedef struct ClGuard:         # who may use a pool: a packet in any of these classes
    uint64_t mask[CL_WORDS]
    uint8_t on                   # 0: anyone


ctypedef struct ClSlice:         # a value: bytes somewhere (packet, constants, scratch)
    const uint8_t* p
    uint32_t n


# One packet as the tests read it: the parsed datagram, and what the receive path knows.
ctypedef struct ClInput:
    const void* pkt              # const DhcpPacket*
    const uint8_t* iface
    uint32_t iface_len
    uint32_t src
    uint32_t dst
    uint64_t classes[CL_WORDS]   # the classes joined so far (member())
