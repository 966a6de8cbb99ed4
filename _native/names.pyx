# Client names: the Host Name option (12) and the Client FQDN option (81, RFC 4702) as
# kea-dhcp4 2.2 treats them (Dhcpv4Srv::processClientName, D2ClientMgr), per packet and
# without Python: which name the reply carries, with which flags, and what the lease keeps
# (hostname, fqdn_fwd, fqdn_rev). Included by _core.pyx; the types are in names.pxd.

cdef extern from *:
    """
    #define NAME_IS_SPACE(c) ((c) == ' ' || (c) == '\\t' || (c) == '\\n' || (c) == '\\r' || \
                              (c) == '\\f' || (c) == '\\b')
    """
    bint NAME_IS_SPACE(uint8_t c) nogil


cdef inline uint8_t ascii_lower(uint8_t c) noexcept nogil:
    return c + 32 if 65 <= c <= 90 else c


# A DNS name in text form as isc::dns::Name reads it (escapes \X and \DDD; labels of at most 63
# bytes, at most 255 in wire form; no empty label but the root's): its wire form into `wire`
# (may be NULL), its number of labels, the root included, into `labels`. False: Kea throws.
cdef bint name_text_to_wire(const uint8_t* s, uint16_t n, uint8_t* wire, uint16_t* wire_len,
                            int* labels) noexcept nogil:
    cdef uint16_t i = 0, w = 0, start
    cdef int lab = 0, v
    cdef uint8_t c
    if n == 1 and s[0] == 46:                 # "." is the root
        if wire != NULL:
            wire[0] = 0
        wire_len[0] = 1
        labels[0] = 1
        return True
    while i < n:
        start = w
        w += 1                                # the length byte
        while i < n and s[i] != 46:
            c = s[i]
            i += 1
            if c == 92:                       # backslash
                if i >= n:
                    return False
                if 48 <= s[i] <= 57:
                    if i + 2 >= n or not (48 <= s[i + 1] <= 57 and 48 <= s[i + 2] <= 57):
                        return False
                    v = (s[i] - 48) * 100 + (s[i + 1] - 48) * 10 + (s[i + 2] - 48)
                    if v > 255:
                        return False
                    c = <uint8_t>v
                    i += 3
                else:
                    c = s[i]
                    i += 1
            if w - start > 63 or w >= 255:
                return False
            if wire != NULL:
                wire[w] = c
            w += 1
        if w - start == 1:                    # an empty label ("a..b", ".a")
            return False
        if wire != NULL:
            wire[start] = <uint8_t>(w - start - 1)
        lab += 1
        if i < n:
            i += 1                            # the dot
    if w + 1 > 255:
        return False
    if wire != NULL:
        wire[w] = 0
    wire_len[0] = w + 1
    labels[0] = lab + 1
    return True


# One label's bytes as Name::toText writes them: the special characters escaped with a
# backslash, anything outside the printable range as \DDD.
cdef uint16_t label_to_text(const uint8_t* lab, uint8_t n, uint8_t* out, uint16_t pos) noexcept nogil:
    cdef uint8_t c, k
    for k in range(n):
        c = lab[k]
        if c == 34 or c == 40 or c == 41 or c == 46 or c == 59 or c == 92 or c == 64 or c == 36:
            out[pos] = 92
            out[pos + 1] = c
            pos += 2
        elif 0x20 < c < 0x7F:
            out[pos] = c
            pos += 1
        else:
            out[pos] = 92
            out[pos + 1] = 48 + c // 100
            out[pos + 2] = 48 + (c // 10) % 10
            out[pos + 3] = 48 + c % 10
            pos += 4
    return pos


# Kea's StringSanitizer::scrub: every match of hostname-char-set replaced by
# hostname-char-replacement. In and out must not overlap; returns the new length.
cdef uint16_t name_scrub(const NamePolicy* pol, const uint8_t* s, uint16_t n, uint8_t* out,
                         uint16_t room) noexcept nogil:
    cdef uint16_t i = 0, o = 0, k
    cdef char buf[NAME_WORK + 1]
    cdef regmatch_t m[1]
    cdef int flags = 0, at = 0
    if pol.sanitize == SANITIZE_TABLE:
        while i < n:
            if pol.match[s[i]]:
                if pol.collapse:
                    while i < n and pol.match[s[i]]:
                        i += 1
                else:
                    i += 1
                for k in range(pol.repl_len):
                    if o < room:
                        out[o] = pol.repl[k]
                        o += 1
            else:
                if o < room:
                    out[o] = s[i]
                    o += 1
                i += 1
        return o
    if pol.sanitize == SANITIZE_REGEX and n < NAME_WORK:
        memcpy(buf, s, n)
        buf[n] = 0
        while at <= n:
            if regexec(pol.regex, buf + at, 1, m, flags) != 0 or m[0].rm_so < 0:
                break
            for k in range(<uint16_t>m[0].rm_so):
                if o < room:
                    out[o] = <uint8_t>buf[at + k]
                    o += 1
            for k in range(pol.repl_len):
                if o < room:
                    out[o] = pol.repl[k]
                    o += 1
            if m[0].rm_eo == m[0].rm_so:      # an empty match: keep one byte, go on after it
                if at + m[0].rm_eo < n and o < room:
                    out[o] = <uint8_t>buf[at + m[0].rm_eo]
                    o += 1
                at += m[0].rm_eo + 1
            else:
                at += m[0].rm_eo
            flags = REG_NOTBOL
        while at < n:
            if o < room:
                out[o] = <uint8_t>buf[at]
                o += 1
            at += 1
        return o
    if n > room:
        n = room
    memcpy(out, s, n)
    return n


# Kea's D2ClientMgr::qualifyName: the suffix appended unless the name already ends with it (at
# a label boundary); then the trailing dot added or taken off. In place; returns the length.
cdef uint16_t name_qualify(const NamePolicy* pol, uint8_t* s, uint16_t n, bint trailing_dot) noexcept nogil:
    cdef int si, gi
    cdef bint present = True
    if pol.suffix_len:
        si = pol.suffix_len - 1
        if pol.suffix[si] == 46:
            si -= 1
        gi = <int>n - 1
        if gi >= 0 and s[gi] == 46:
            gi -= 1
        while si >= 0:
            if gi < 0 or pol.suffix[si] != s[gi]:
                present = False
                break
            si -= 1
            gi -= 1
        if present and gi >= 0 and s[gi] != 46:
            present = False                   # "foo.barexample.com" lacks "example.com"
        if not present:
            if n > 0 and s[n - 1] != 46 and n < NAME_WORK:
                s[n] = 46
                n += 1
            if n + pol.suffix_len <= NAME_WORK:
                memcpy(s + n, pol.suffix, pol.suffix_len)
                n += pol.suffix_len
    if trailing_dot:
        if n > 0 and s[n - 1] != 46 and n < NAME_WORK:
            s[n] = 46
            n += 1
    elif n > 0 and s[n - 1] == 46:
        n -= 1
    return n


# Kea's D2ClientMgr::generateFqdn: prefix-a-b-c-d, qualified.
cdef uint16_t name_generate(const NamePolicy* pol, uint32_t addr, bint trailing_dot, uint8_t* out) noexcept nogil:
    cdef uint16_t n = pol.prefix_len
    cdef int k, shift
    cdef uint32_t octet
    memcpy(out, pol.prefix, n)
    for k in range(4):
        out[n] = 45
        n += 1
        octet = (addr >> (24 - 8 * k)) & 255
        if octet >= 100:
            out[n] = 48 + octet // 100
            n += 1
        if octet >= 10:
            out[n] = 48 + (octet // 10) % 10
            n += 1
        out[n] = 48 + octet % 10
        n += 1
    return name_qualify(pol, out, n, trailing_dot)


# Option 81 as Option4ClientFqdn unpacks it: at least flags and the two RCODEs, never N and S
# together (RFC 4702 §2.1), and a name that parses: in wire form with E (a partial name lacks the
# final zero), else as ASCII. False: Kea throws while parsing the packet, which drops it.
cdef bint fqdn_valid(const uint8_t* v, uint16_t n) noexcept nogil:
    cdef uint16_t i = 3, w
    cdef int labels
    if n < 3 or (v[0] & FQDN_N and v[0] & FQDN_S):
        return False
    if not v[0] & FQDN_E:
        return n == 3 or name_text_to_wire(v + 3, n - 3, NULL, &w, &labels)
    while i < n:
        if v[i] == 0:
            return i == n - 1
        if v[i] > 63:
            return False                      # (a compression pointer has nothing to point at)
        i += 1 + v[i]
        if i - 3 > 254:
            return False
    return i == n


# The client's option 81 name as raw labels (lower-cased, as Kea keeps it), into `lab` as
# length-prefixed labels without the final zero; `full` tells whether it was fully qualified.
cdef uint16_t fqdn_labels(const uint8_t* v, uint16_t n, uint8_t* lab, bint* full) noexcept nogil:
    cdef uint16_t w = 0, k
    cdef int labels
    full[0] = False
    if n <= 3:
        return 0
    if v[0] & FQDN_E:
        if v[n - 1] == 0:
            full[0] = True
            n -= 1
        memcpy(lab, v + 3, n - 3)
        w = n - 3
    else:
        full[0] = v[n - 1] == 46
        if not name_text_to_wire(v + 3, n - 3, lab, &w, &labels):
            return 0
        w -= 1                                # the final zero
    for k in range(w):
        lab[k] = ascii_lower(lab[k])          # (length bytes are below 64: unchanged)
    return w


# Length-prefixed labels -> text, labels joined with dots (escaped as Name::toText escapes), each
# label scrubbed first when the policy sanitizes (Kea scrubs the raw text label by label, then
# reads the result back as a name, lower-cased).
cdef uint16_t labels_to_text(const NamePolicy* pol, const uint8_t* lab, uint16_t n, uint8_t* out) noexcept nogil:
    cdef uint16_t i = 0, o = 0, m, k
    cdef uint8_t clean[256]
    while i < n and o < NAME_WORK - 260:
        if o:
            out[o] = 46
            o += 1
        if pol.sanitize:
            m = name_scrub(pol, lab + i + 1, lab[i], clean, 255)
            for k in range(m):
                clean[k] = ascii_lower(clean[k])
            o = label_to_text(clean, <uint8_t>m, out, o)
        else:
            o = label_to_text(lab + i + 1, lab[i], out, o)
        i += 1 + lab[i]
    return o


# A reserved host name: it wins over the client's (Kea: currentHost()->getHostname()),
# qualified, then lower-cased; with the trailing dot in option 81, without it in option 12.
cdef void name_reserved(const NamePolicy* pol, const uint8_t* resv, uint16_t resv_len,
                        bint trailing_dot, ClientName* cn) noexcept nogil:
    cdef uint16_t n, w
    memcpy(cn.text, resv, resv_len)
    n = name_qualify(pol, cn.text, resv_len, trailing_dot)
    for w in range(n):
        cn.text[w] = ascii_lower(cn.text[w])
    cn.len = n


cdef inline void name_failed(ClientName* cn) noexcept nogil:
    cn.kind = NAME_NONE
    cn.fwd = cn.rev = False
    cn.len = 0


# What the reply says and the lease keeps, before the address is known (Kea's processClientName:
# the FQDN option when the client sent one, else the Host Name option). `resv`: the client's
# reserved host name (NULL: none).
cdef void name_decide(const NamePolicy* pol, const uint8_t* v12, int n12, const uint8_t* v81,
                      int n81, const uint8_t* resv, uint16_t resv_len, ClientName* cn) noexcept nogil:
    cdef uint8_t lab[256]
    cdef uint8_t raw[NAME_WORK]
    cdef uint16_t n, w, start, end
    cdef int labels, mask
    cdef bint full, server_s, server_n
    cn.kind = NAME_NONE
    cn.generate = False
    cn.fwd = cn.rev = False
    cn.len = 0
    if n81 >= 0:
        # RFC 4702 §3 / D2ClientMgr::analyzeFqdn: the server's S and N from the client's.
        mask = (2 if v81[0] & FQDN_N else 0) + (1 if v81[0] & FQDN_S else 0)
        if mask == 0:
            server_s = pol.updates and pol.override_client_update
            server_n = not pol.updates
        elif mask == 1:
            server_s = pol.updates
            server_n = not server_s
        else:
            server_s = pol.updates and pol.override_no_update
            server_n = not server_s
        cn.kind = NAME_FQDN
        cn.flags = (FQDN_S if server_s else 0) | (FQDN_N if server_n else 0) | \
            (FQDN_O if (v81[0] & FQDN_S != 0) != server_s else 0) | (v81[0] & FQDN_E)
        cn.rcode1, cn.rcode2 = v81[1], v81[2]
        cn.fwd = server_s
        cn.rev = not server_n
        if resv != NULL and resv_len:
            name_reserved(pol, resv, resv_len, True, cn)
            return
        w = fqdn_labels(v81, <uint16_t>n81, lab, &full)
        if pol.replace == RCM_ALWAYS or pol.replace == RCM_WHEN_PRESENT or w == 0:
            cn.generate = True
            return
        n = labels_to_text(pol, lab, w, cn.text)
        if full:
            if n < NAME_WORK:
                cn.text[n] = 46
                n += 1
        else:
            n = name_qualify(pol, cn.text, n, True)
        if not name_text_to_wire(cn.text, n, NULL, &w, &labels):
            name_failed(cn)                   # (Kea: DHCP4_CLIENT_NAME_PROC_FAIL, no option)
            return
        for w in range(n):                    # (read back as a name, lower-cased)
            cn.text[w] = ascii_lower(cn.text[w])
        cn.len = n
        return
    # Option 12 (Dhcpv4Srv::processHostnameOption); with a name in the reply, both updates.
    cn.fwd = cn.rev = pol.updates
    if resv != NULL and resv_len:
        cn.kind = NAME_HOST
        name_reserved(pol, resv, resv_len, False, cn)
        return
    if n12 < 0:
        if pol.replace == RCM_ALWAYS or pol.replace == RCM_WHEN_NOT_PRESENT:
            cn.kind = NAME_HOST
            cn.generate = True
        else:
            cn.fwd = cn.rev = False
        return
    start, end = 0, <uint16_t>n12
    while start < end and NAME_IS_SPACE(v12[start]):
        start += 1
    while end > start and NAME_IS_SPACE(v12[end - 1]):
        end -= 1
    if end == start or not name_text_to_wire(v12 + start, end - start, NULL, &w, &labels):
        cn.fwd = cn.rev = False               # empty or malformed: no name, no option
        return
    cn.kind = NAME_HOST
    if pol.replace == RCM_ALWAYS or pol.replace == RCM_WHEN_PRESENT or labels < 2:
        cn.generate = True
        return
    n = name_scrub(pol, v12 + start, end - start, cn.text, NAME_WORK - 256)
    for w in range(n):
        cn.text[w] = ascii_lower(cn.text[w])
    if labels == 2:               # unqualified: the suffix, no trailing dot
        n = name_qualify(pol, cn.text, n, False)
    if n == 0 or n > 255:
        name_failed(cn)                       # (an empty string option cannot be made)
        return
    cn.len = n


# Once the address is known: the generated name, when one is due.
cdef inline void name_finish(const NamePolicy* pol, uint32_t addr, ClientName* cn) noexcept nogil:
    if cn.generate and cn.kind != NAME_NONE:
        cn.len = name_generate(pol, addr, cn.kind == NAME_FQDN, cn.text)
        cn.generate = False


# The reply's option: 12 with the name, or 81 with flags, RCODEs and the name (wire form with E,
# else ASCII). Returns the bytes written (0: nothing to send).
cdef uint16_t name_option(const ClientName* cn, uint8_t* out) noexcept nogil:
    cdef uint16_t w = 0, i
    cdef int labels
    if cn.kind == NAME_HOST:
        if cn.len == 0 or cn.len > 255:
            return 0
        out[0] = 12
        out[1] = <uint8_t>cn.len
        memcpy(out + 2, cn.text, cn.len)
        return cn.len + 2
    if cn.kind != NAME_FQDN:
        return 0
    out[0] = 81
    out[2] = cn.flags
    out[3] = cn.rcode1
    out[4] = cn.rcode2
    if cn.len == 0:
        w = 0
    elif cn.flags & FQDN_E:
        if not name_text_to_wire(cn.text, cn.len, out + 5, &w, &labels):
            w = 0
    else:
        if cn.len > 252:
            return 0
        memcpy(out + 5, cn.text, cn.len)
        w = cn.len
    for i in range(5, 5 + w):                 # (Option4ClientFqdn keeps its name lower-cased)
        out[i] = ascii_lower(out[i])
    out[1] = <uint8_t>(3 + w)
    return 5 + w


# ---- NameChangeRequests -------------------------------------------------------------------------

# Queue one (Kea's queueNCR: only a lease with a name and an update to make). The identifier is
# the client id when the lease has one, else htype + hardware address (RFC 4701 §3.3).
cdef void ncr_put(NameChangeRing* ring, uint8_t change, uint32_t addr, int64_t cltt,
                  uint32_t valid_lft, const uint8_t* host, uint16_t host_len, bint fwd, bint rev,
                  bint conflict_resolution, const uint8_t* cid, uint8_t cid_len, uint8_t htype,
                  const uint8_t* hw, uint8_t hwlen) noexcept nogil:
    cdef NameChange* c
    if ring.cap == 0 or host_len == 0 or not (fwd or rev) or (cid_len == 0 and hwlen == 0):
        return
    if ring.n == ring.cap:
        ring.dropped += 1
        return
    c = &ring.items[(ring.head + ring.n) % ring.cap]
    ring.n += 1
    ring.queued += 1
    c.change = change
    c.addr = addr
    c.cltt = cltt
    c.valid_lft = valid_lft
    c.fwd = fwd
    c.rev = rev
    c.conflict_resolution = conflict_resolution
    if host_len > NAME_TEXT_MAX:
        host_len = NAME_TEXT_MAX
    c.host_len = <uint8_t>host_len
    memcpy(c.host, host, host_len)
    if cid_len:
        c.id_type = NCR_ID_CLIENTID
        c.id_len = cid_len
        memcpy(c.id, cid, cid_len)
    else:
        c.id_type = NCR_ID_HWADDR
        c.id[0] = htype
        memcpy(c.id + 1, hw, hwlen)
        c.id_len = hwlen + 1


# ---- the policy (Python: config load) ----------------------------------------------------------

cdef void name_policy_defaults(NamePolicy* pol) noexcept:
    name_policy_set(pol, False, False, False, RCM_NEVER, False, True, "myhost", "",
                    "[^A-Za-z0-9.-]", "")


def _bracket_end(str pattern):
    """Where a leading POSIX bracket expression ends (the index after its ']'), or -1."""
    cdef int i = 1, n = len(pattern)
    if n < 2 or pattern[0] != "[":
        return -1
    if i < n and pattern[i] == "^":
        i += 1
    if i < n and pattern[i] == "]":
        i += 1                                # a ']' first is one of the set
    while i < n:
        if pattern[i] == "[" and i + 1 < n and pattern[i + 1] in ":.=":
            close = pattern.find(pattern[i + 1] + "]", i + 2)
            if close < 0:
                return -1
            i = close + 2
        elif pattern[i] == "]":
            return i + 1
        else:
            i += 1
    return -1


cdef name_policy_set(NamePolicy* pol, bint updates, bint override_no_update,
                     bint override_client_update, int replace, bint update_on_renew,
                     bint conflict_resolution, str prefix, str suffix, str char_set,
                     str replacement):
    cdef regex_t rx
    cdef bytes b_prefix = prefix.encode()[:63], b_suffix = suffix.encode()[:254]
    cdef bytes b_repl = replacement.encode()[:254], b_set = char_set.encode(), one
    cdef int c, end
    pol.updates = updates
    pol.override_no_update = override_no_update
    pol.override_client_update = override_client_update
    pol.replace = replace
    pol.update_on_renew = update_on_renew
    pol.conflict_resolution = conflict_resolution
    pol.prefix_len = len(b_prefix)
    memcpy(pol.prefix, <const char*>b_prefix, len(b_prefix))
    pol.suffix_len = len(b_suffix)
    memcpy(pol.suffix, <const char*>b_suffix, len(b_suffix))
    pol.repl_len = len(b_repl)
    memcpy(pol.repl, <const char*>b_repl, len(b_repl))
    pol.sanitize = SANITIZE_NONE
    pol.regex = NULL
    if not char_set:
        return
    if regcomp(&rx, b_set, REG_EXTENDED) != 0:
        raise ValueError(f"not a POSIX extended regular expression: {char_set!r}")
    end = _bracket_end(char_set)
    if end > 0 and (end == len(char_set) or char_set[end:] == "+"):
        # One bracket expression (the usual case, Kea's default among them): which bytes it
        # matches, asked of the regex itself, into a table.
        pol.sanitize = SANITIZE_TABLE
        pol.collapse = end < len(char_set)
        pol.match[0] = char_set.startswith("[^")
        for c in range(1, 256):
            one = bytes((c,))
            pol.match[c] = regexec(&rx, one, 0, NULL, 0) == 0
        regfree(&rx)
        return
    pol.regex = <regex_t*>malloc(sizeof(regex_t))
    if pol.regex == NULL:
        regfree(&rx)
        raise MemoryError()
    memcpy(pol.regex, &rx, sizeof(regex_t))
    pol.sanitize = SANITIZE_REGEX


cdef extern from "<regex.h>" nogil:
    size_t regerror(int errcode, const regex_t* preg, char* errbuf, size_t errbuf_size)


def posix_regex_error(str pattern):
    """Why ``pattern`` is not a POSIX extended regular expression (as regcomp says), or None."""
    cdef regex_t rx
    cdef char msg[256]
    cdef bytes raw = pattern.encode()
    cdef int rc = regcomp(&rx, raw, REG_EXTENDED)
    if rc == 0:
        regfree(&rx)
        return None
    regerror(rc, &rx, msg, sizeof(msg))
    return msg.decode("utf-8", "replace")
