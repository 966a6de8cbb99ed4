# Client names (names.pyx): what kea-dhcp4 does with the Host Name option (12, RFC 2132 §3.14)
# and the Client FQDN option (81, RFC 4702) under a subnet's ddns-* parameters, and the
# NameChangeRequests (DNS updates through kea-dhcp-ddns) the lease changes make.
# Declared here, not in the part, so that no part depends on the include order.

from libc.stdint cimport int64_t, uint8_t, uint16_t, uint32_t, uint64_t


cdef extern from "<regex.h>" nogil:
    ctypedef struct regex_t:
        pass
    ctypedef struct regmatch_t:
        int rm_so
        int rm_eo
    int regcomp(regex_t* preg, const char* regex, int cflags)
    int regexec(const regex_t* preg, const char* string, size_t nmatch, regmatch_t* pmatch, int eflags)
    void regfree(regex_t* preg)
    int REG_EXTENDED, REG_NOMATCH, REG_NOTBOL


# ddns-replace-client-name (Kea's D2ClientConfig::ReplaceClientNameMode)
cdef enum:
    RCM_NEVER = 0
    RCM_ALWAYS = 1
    RCM_WHEN_PRESENT = 2
    RCM_WHEN_NOT_PRESENT = 3


# Which option carries the client's name in the reply.
cdef enum:
    NAME_NONE = 0
    NAME_HOST = 1                # option 12
    NAME_FQDN = 2                # option 81


# RFC 4702 §2.1 flags
cdef enum:
    FQDN_S = 1                   # the server does the A (forward) update
    FQDN_O = 2                   # the server overrode the client's S
    FQDN_E = 4                   # the name is in DNS wire format (else ASCII, deprecated)
    FQDN_N = 8                   # no server updates
    FQDN_MBZ = 0xF0


cdef enum:
    NAME_TEXT_MAX = 255          # a name as the lease keeps it (HOST_MAX)
    NAME_WORK = 1024             # room while a name is being made (escapes grow it)
    SANITIZE_NONE = 0
    SANITIZE_TABLE = 1           # the char set is one bracket expression: a byte table
    SANITIZE_REGEX = 2           # anything else: POSIX extended regex, as Kea compiles it


# A subnet's ddns-* parameters, resolved through its shared network and the global scope.
ctypedef struct NamePolicy:
    uint8_t updates              # dhcp-ddns enable-updates and ddns-send-updates
    uint8_t override_no_update
    uint8_t override_client_update
    uint8_t replace              # RCM_*
    uint8_t update_on_renew
    uint8_t conflict_resolution
    uint8_t sanitize             # SANITIZE_*
    uint8_t collapse             # table with '+': a run of matches becomes one replacement
    uint8_t prefix_len
    uint8_t suffix_len
    uint8_t repl_len
    uint8_t prefix[64]
    uint8_t suffix[255]
    uint8_t repl[255]
    uint8_t match[256]           # table: 1 = the byte is replaced
    regex_t* regex


# The name one reply carries and its lease keeps.
ctypedef struct ClientName:
    uint8_t kind                 # NAME_*
    uint8_t flags                # option 81: the reply's flags
    uint8_t rcode1
    uint8_t rcode2
    uint8_t generate             # the name is to be made from the address (prefix-a-b-c-d)
    uint8_t fwd                  # the lease's fqdn_fwd and fqdn_rev
    uint8_t rev
    uint16_t len
    uint8_t text[NAME_WORK]      # option 12: as sent; option 81: full, with the trailing dot


# NameChangeRequests waiting for the sender (fastdhcp/ddns): a bounded ring, filled by the
# engine and the allocator, drained between batches. Full: the request is counted as dropped.
cdef enum:
    NCR_ADD = 0                  # Kea's CHG_ADD / CHG_REMOVE
    NCR_REMOVE = 1
    NCR_ID_HWADDR = 0            # RFC 4701 identifier types
    NCR_ID_CLIENTID = 1
    NCR_ID_MAX = 255

ctypedef struct NameChange:
    int64_t cltt                 # when the lease was written (expiry - lifetime)
    uint32_t addr
    uint32_t valid_lft
    uint8_t change               # NCR_ADD / NCR_REMOVE
    uint8_t fwd
    uint8_t rev
    uint8_t conflict_resolution
    uint8_t id_type              # hardware address (htype + chaddr) or client id
    uint8_t id_len
    uint8_t host_len
    uint8_t id[NCR_ID_MAX]
    uint8_t host[NAME_TEXT_MAX]

ctypedef struct NameChangeRing:
    NameChange* items
    uint32_t cap                 # dhcp-ddns max-queue-size (0: updates off)
    uint32_t head                # next to take
    uint32_t n
    uint64_t queued
    uint64_t dropped             # the ring was full
