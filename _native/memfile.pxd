# The Kea memfile CSV rows (memfile.pyx): row limits, parse outcomes, a parsed row.
# Declared here, not in the part, so that no part depends on the include order.

from libc.stdint cimport int64_t, uint8_t, uint16_t, uint32_t, uint64_t
from leases cimport *


cdef enum:  # the characters of a Kea CSV row (ASCII)
    CH_NL = 10                   # '\n' ends a row; '\r' before it is tolerated
    CH_CR = 13
    CH_SPACE = 32                # below it: control characters, escaped in text columns
    CH_HASH = 35                 # '#', '&', 'x': Kea's "&#x2c" escape
    CH_AMP = 38
    CH_COMMA = 44                # the column separator
    CH_DOT = 46                  # dotted-quad addresses
    CH_0 = 48
    CH_9 = 57
    CH_COLON = 58                # between the bytes of hwaddr and client_id
    CH_UPPER_A = 65
    CH_LOWER_A = 97
    CH_LOWER_X = 120
    CH_DEL = 127


# Worst case of one row: 15 address + 47 hwaddr + 764 client id + 255 * 5 escaped host name +
# numbers and commas: under 2300 bytes.
cdef enum:
    CSV_ROW_MAX = 2304


cdef enum:
    CSV_OK = 0
    CSV_BAD_COLUMNS = 1
    CSV_BAD_ADDRESS = 2
    CSV_BAD_HWADDR = 3
    CSV_BAD_CLIENT_ID = 4
    CSV_BAD_NUMBER = 5
    CSV_BAD_STATE = 6
    CSV_BAD_HOSTNAME = 7
    CSV_MAX_FIELDS = 12


ctypedef struct CsvLease:
    uint32_t addr
    uint32_t valid
    uint32_t subnet_id
    int64_t expire
    uint8_t kea_state            # 0 default, 1 declined, 2 expired-reclaimed, 3 released
    uint8_t fqdn                 # LF_FQDN_FWD | LF_FQDN_REV, from the fqdn_fwd and fqdn_rev columns
    uint8_t hwlen
    uint8_t cid_len
    uint16_t host_len
    uint8_t hw[HW_MAX]
    uint8_t cid[255]
    uint8_t host[HOST_MAX]
