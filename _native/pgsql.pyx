# The lease database: a group's lease rows committed to Kea's lease4 table in PostgreSQL, in one
# transaction, before that group's ACKs leave (durability "database"). The committer thread
# does it with libpq, no Python and no GIL, while the loop decides the next batches; a group
# whose transaction does not commit sends no ACK, and its rows wait (pending) for the next one.
#
# The rows are the Kea memfile CSV rows the engine renders for every commit anyway: COPY puts a
# group's rows into a temporary table of the session, and one statement merges them into lease4
# (the last row of each address wins; a row with valid_lifetime 0, Kea's removal marker,
# deletes), then COMMIT. Three round trips per group, whatever its size. Kea's own tables are
# written as kea-dhcp4 2.2 writes them (pgsql_lease_mgr.cc createBindForSend): an absent
# hardware address or client id as '', the expiry as cltt + valid-lifetime (cltt alone for an
# infinite lease), hostname and user_context as text.
# Included by _core.pyx.

from libc.stdlib cimport malloc
from libc.string cimport strlen, strncpy

# Per session (temporary objects: nothing of fastdhcp's is left in Kea's schema).
cdef const char* PG_SETUP = (
    b"SET synchronous_commit = on;"
    b"SET client_min_messages = warning;"
    b"CREATE TEMP TABLE IF NOT EXISTS fastdhcp_stage (seq bigserial, address text, hwaddr text,"
    b" client_id text, valid_lifetime bigint, expire bigint, subnet_id bigint, fqdn_fwd int,"
    b" fqdn_rev int, hostname text, state bigint, user_context text, pool_id bigint)"
    b" ON COMMIT DELETE ROWS;"
    # the memfile's "&#xHH" escapes (commas, "&", control bytes) back to their bytes
    b"CREATE OR REPLACE FUNCTION pg_temp.fastdhcp_text(s text) RETURNS text LANGUAGE plpgsql"
    b" IMMUTABLE AS $f$ DECLARE o text := ''; i int := 1; n int := length(s); BEGIN"
    b" IF s IS NULL THEN RETURN ''; END IF;"
    b" IF position('&#x' in s) = 0 THEN RETURN s; END IF;"
    b" WHILE i <= n LOOP"
    b"  IF substr(s, i, 3) = '&#x' AND i + 4 <= n AND substr(s, i + 3, 2) ~ '^[0-9a-fA-F]{2}$'"
    b"  THEN o := o || chr(('x' || substr(s, i + 3, 2))::bit(8)::int); i := i + 5;"
    b"  ELSE o := o || substr(s, i, 1); i := i + 1; END IF;"
    b" END LOOP; RETURN o; END $f$;"
    # a cluster's fence (fastdhcp/cluster): the server's shard rows locked FOR SHARE for the
    # rest of the transaction, each still the server's with its epoch, or the commit fails
    b"CREATE OR REPLACE FUNCTION pg_temp.fastdhcp_fence(me text, shards int[], epochs bigint[])"
    b" RETURNS void LANGUAGE plpgsql AS $f$ DECLARE n int; BEGIN"
    b" SELECT count(*) INTO n FROM (SELECT 1 FROM fastdhcp.shard s JOIN unnest(shards, epochs)"
    b"  AS o(shard, epoch) ON s.shard = o.shard WHERE s.owner = me AND s.epoch = o.epoch"
    b"  FOR SHARE OF s) t;"
    b" IF n <> coalesce(array_length(shards, 1), 0) THEN"
    b"  RAISE EXCEPTION 'fastdhcp: fenced: % no longer owns all of its shards', me; END IF;"
    b" END $f$;"
    # ... and the other way, for the load: what the memfile escapes, escaped (and "\\", which
    # COPY's text format would double)
    b"CREATE OR REPLACE FUNCTION pg_temp.fastdhcp_csv(s text) RETURNS text LANGUAGE sql"
    b" IMMUTABLE AS $f$ SELECT replace(replace(replace(replace(replace(replace(coalesce(s, ''),"
    b" '&', '&#x26'), ',', '&#x2c'), chr(10), '&#x0a'), chr(13), '&#x0d'), chr(9), '&#x09'),"
    b" '\\', '&#x5c') $f$;")

# lease4 as Kea 2.2's memfile rows (11 columns), for the load at start
cdef const char* PG_DUMP = (
    b"COPY (SELECT host('0.0.0.0'::inet + address) || ',' ||"
    b" regexp_replace(encode(coalesce(hwaddr, ''), 'hex'), '(..)(?=.)', '\\1:', 'g') || ',' ||"
    b" regexp_replace(encode(coalesce(client_id, ''), 'hex'), '(..)(?=.)', '\\1:', 'g') || ',' ||"
    b" coalesce(valid_lifetime, 0) || ',' ||"
    b" (coalesce(extract(epoch from expire)::bigint, 0) +"
    b"  CASE WHEN valid_lifetime = 4294967295 THEN 4294967295 ELSE 0 END) || ',' ||"
    b" coalesce(subnet_id, 0) || ',' || CASE WHEN fqdn_fwd THEN '1' ELSE '0' END || ',' ||"
    b" CASE WHEN fqdn_rev THEN '1' ELSE '0' END || ',' || pg_temp.fastdhcp_csv(hostname) || ','"
    b" || coalesce(state, 0) || ',' || pg_temp.fastdhcp_csv(user_context)"
    b" FROM lease4 ORDER BY address) TO STDOUT")
# ... for the native loader, which takes hex without colons: no regexp per row (the load's
# cost is this statement's per-row formatting)
cdef bytes PG_DUMP_PLAIN = (<bytes>PG_DUMP).replace(
    b"regexp_replace(encode(coalesce(hwaddr, ''), 'hex'), '(..)(?=.)', '\\1:', 'g')",
    b"encode(coalesce(hwaddr, ''), 'hex')").replace(
    b"regexp_replace(encode(coalesce(client_id, ''), 'hex'), '(..)(?=.)', '\\1:', 'g')",
    b"encode(coalesce(client_id, ''), 'hex')")
# ... of some addresses only (a cluster's owned blocks): "<where>" replaces the marker
cdef bytes WHERE_CLAUSE = b"FROM lease4 WHERE (<where>) ORDER BY"

cdef const char* PG_COPY = (
    b"BEGIN; COPY pg_temp.fastdhcp_stage (address, hwaddr, client_id, valid_lifetime, expire,"
    b" subnet_id, fqdn_fwd, fqdn_rev, hostname, state, user_context, pool_id)"
    b" FROM STDIN WITH (FORMAT csv, QUOTE E'\\x01')")

# ... a Kea 2.0/2.2 memfile's 11 columns (fastdhcp leases import of such a file)
cdef const char* PG_COPY11 = (
    b"BEGIN; COPY pg_temp.fastdhcp_stage (address, hwaddr, client_id, valid_lifetime, expire,"
    b" subnet_id, fqdn_fwd, fqdn_rev, hostname, state, user_context)"
    b" FROM STDIN WITH (FORMAT csv, QUOTE E'\\x01')")

cdef const char* PG_COPY_FAILED = b"fastdhcp: the rows could not be sent"

cdef const char* PG_MERGE = (
    b"WITH last AS (SELECT DISTINCT ON (address) (address::inet - '0.0.0.0'::inet) AS a, *"
    b"  FROM pg_temp.fastdhcp_stage ORDER BY address, seq DESC),"
    b" gone AS (DELETE FROM lease4 WHERE address IN (SELECT a FROM last WHERE valid_lifetime = 0))"
    b" INSERT INTO lease4 (address, hwaddr, client_id, valid_lifetime, expire, subnet_id,"
    b"  fqdn_fwd, fqdn_rev, hostname, state, user_context)"
    b" SELECT a, decode(replace(coalesce(hwaddr, ''), ':', ''), 'hex'),"
    b"  decode(replace(coalesce(client_id, ''), ':', ''), 'hex'), valid_lifetime,"
    b"  to_timestamp(CASE WHEN valid_lifetime = 4294967295 THEN expire - 4294967295"
    b"   ELSE expire END), subnet_id, fqdn_fwd = 1, fqdn_rev = 1,"
    b"  pg_temp.fastdhcp_text(hostname), state, coalesce(user_context, '')"
    b" FROM last WHERE valid_lifetime <> 0"
    b" ON CONFLICT (address) DO UPDATE SET hwaddr = EXCLUDED.hwaddr,"
    b"  client_id = EXCLUDED.client_id, valid_lifetime = EXCLUDED.valid_lifetime,"
    b"  expire = EXCLUDED.expire, subnet_id = EXCLUDED.subnet_id, fqdn_fwd = EXCLUDED.fqdn_fwd,"
    b"  fqdn_rev = EXCLUDED.fqdn_rev, hostname = EXCLUDED.hostname, state = EXCLUDED.state,"
    b"  user_context = EXCLUDED.user_context;"
    b"COMMIT")


# Append to a growing buffer (no cap: the load's rows); False when memory runs out.
cdef bint buf_add(PendingRows* b, const uint8_t* p, size_t n) noexcept nogil:
    cdef size_t cap = b.cap
    cdef uint8_t* grown
    while cap < b.len + n:
        cap = cap * 2 if cap else (1 << 20)
    if cap != b.cap:
        grown = <uint8_t*>realloc(b.data, cap)
        if grown == NULL:
            return False
        b.data, b.cap = grown, cap
    memcpy(b.data + b.len, p, n)
    b.len += n
    return True


cdef void pg_note(PgStore* s, const char* what, const char* why) noexcept nogil:
    cdef size_t n = strlen(what)
    if n >= PG_ERROR_MAX - 1:
        n = PG_ERROR_MAX - 2
    strncpy(s.error, what, n)
    s.error[n] = 0
    if why != NULL and n + 2 < PG_ERROR_MAX - 1:
        s.error[n] = 58          # ':'
        s.error[n + 1] = 32
        strncpy(s.error + n + 2, why, PG_ERROR_MAX - n - 3)
        s.error[PG_ERROR_MAX - 1] = 0


# One statement (or several) that must succeed; False with the error noted.
cdef bint pg_run(PgStore* s, const char* sql, ExecStatusType want) noexcept nogil:
    cdef PGresult* r = PQexec(s.conn, sql)
    cdef bint ok = r != NULL and PQresultStatus(r) == want
    if not ok:
        pg_note(s, b"PostgreSQL", PQresultErrorMessage(r) if r != NULL else PQerrorMessage(s.conn))
    PQclear(r)
    return ok


cdef bint pg_setup(PgStore* s) noexcept nogil:
    return pg_run(s, PG_SETUP, PGRES_COMMAND_OK)


# Whether the connection can take a transaction now; a lost one is reconnected without
# blocking (PQresetStart/PQresetPoll, advanced on every call, so by commits and the ticks),
# once every reconnect_wait. Lock held.
cdef bint pg_ready(PgStore* s) noexcept nogil:
    cdef PostgresPollingStatusType st
    cdef uint64_t now
    if s.state == PG_UP:
        if PQstatus(s.conn) == CONNECTION_OK:
            return True
        s.state = PG_DOWN
        s.lost_connections += 1
        pg_note(s, b"the connection to the lease database was lost", PQerrorMessage(s.conn))
        s.next_try_ns = 0
    now = fastdhcp_mono_ns()
    if s.state == PG_DOWN:
        if now < s.next_try_ns:
            return False
        s.next_try_ns = now + s.reconnect_wait_ns
        s.attempts += 1
        if not PQresetStart(s.conn):
            pg_note(s, b"a reconnect could not start", PQerrorMessage(s.conn))
            return False
        s.state = PG_CONNECTING
    st = PQresetPoll(s.conn)
    if st == PGRES_POLLING_OK:
        if pg_setup(s):
            s.state = PG_UP
            s.attempts = 0
            return True
        s.state = PG_DOWN
        return False
    if st == PGRES_POLLING_FAILED:
        pg_note(s, b"a reconnect failed", PQerrorMessage(s.conn))
        s.state = PG_DOWN
    return False


cdef bint pg_copy(PgStore* s, const uint8_t* p, size_t n) noexcept nogil:
    cdef size_t piece
    while n:
        piece = n if n < (1 << 30) else (1 << 30)
        if PQputCopyData(s.conn, <const char*>p, <int>piece) != 1:
            return False
        p += piece
        n -= piece
    return True


# The group's rows (after those of earlier failed groups) in one transaction. On failure the
# group's rows join the pending ones and the transaction is rolled back: no ACK is sent.
cdef bint pg_commit_rows(PgStore* s, const CommitJob* jobs, int n,
                         CommitCounts* counts) noexcept nogil:
    return pg_commit_with(s, jobs, n, counts, PG_COPY)


cdef extern from "<string.h>" nogil:
    void* memrchr(const void* s, int c, size_t n)
    const void* memchr(const void* s, int c, size_t n)


# At most this many bytes of rows (about a thousand) go into one transaction; a bigger group
# (a backlog after an outage, an import) is committed as several, in order, before its ACKs.
# Why: Kea's row triggers update one lease4_stat row per new lease, and a transaction's own
# versions of that row cannot be pruned before it ends, so past about a thousand rows the cost
# per row grows with the transaction (measured: 55 us a row at 256-1000 rows, 228 at 20,000,
# 392 at 40,000).
cdef enum:
    PG_TXN_BYTES = 96 * 1024


# Source i of a commit's rows: the pending ones first, then each job's.
cdef inline void pg_source(PendingRows* pending, const CommitJob* jobs, int i,
                           const uint8_t** p, size_t* n) noexcept nogil:
    if pending != NULL:
        if i == 0:
            p[0], n[0] = pending.data, pending.len
            return
        i -= 1
    p[0], n[0] = jobs[i].rows, jobs[i].rows_len


# One transaction: rows from source src[0] at off[0] on, up to about PG_TXN_BYTES (cut at a
# row's end), COPYed, merged (after the fence), committed; the cursor moves past them.
cdef bint pg_transaction(PgStore* s, PendingRows* pending, const CommitJob* jobs, int n_src,
                         int* src, size_t* off, const char* copy_sql) noexcept nogil:
    cdef PGresult* r
    cdef bint ok
    cdef size_t budget = PG_TXN_BYTES, avail, take, n
    cdef const uint8_t* p
    cdef const uint8_t* cut
    r = PQexec(s.conn, copy_sql)
    ok = r != NULL and PQresultStatus(r) == PGRES_COPY_IN
    if not ok:
        pg_note(s, b"COPY", PQresultErrorMessage(r) if r != NULL else PQerrorMessage(s.conn))
    PQclear(r)
    while ok and src[0] < n_src and budget > 0:
        pg_source(pending, jobs, src[0], &p, &n)
        avail = n - off[0]
        if avail == 0:
            src[0] += 1
            off[0] = 0
            continue
        take = avail
        if take > budget:
            cut = <const uint8_t*>memrchr(p + off[0], 10, budget)
            if cut == NULL:
                cut = <const uint8_t*>memchr(p + off[0] + budget, 10, avail - budget)
            take = (cut - (p + off[0]) + 1) if cut != NULL else avail
        ok = pg_copy(s, p + off[0], take)
        off[0] += take
        budget = budget - take if take < budget else 0
        if off[0] == n:
            src[0] += 1
            off[0] = 0
    if PQputCopyEnd(s.conn, NULL if ok else PG_COPY_FAILED) != 1:
        ok = False
    r = PQgetResult(s.conn)
    while r != NULL:
        if PQresultStatus(r) != PGRES_COMMAND_OK and ok:
            ok = False
            pg_note(s, b"COPY", PQresultErrorMessage(r))
        PQclear(r)
        r = PQgetResult(s.conn)
    if ok:
        ok = pg_run(s, s.merge_sql if s.merge_sql != NULL else PG_MERGE, PGRES_COMMAND_OK)
    if not ok and PQstatus(s.conn) == CONNECTION_OK and \
            PQtransactionStatus(s.conn) != PQTRANS_IDLE:
        PQclear(PQexec(s.conn, b"ROLLBACK"))
    return ok


cdef bint pg_commit_with(PgStore* s, const CommitJob* jobs, int n, CommitCounts* counts,
                         const char* copy_sql) noexcept nogil:
    cdef PendingRows* pending = jobs[0].pending
    cdef bint ok = False
    cdef size_t total = pending.len if pending != NULL else 0
    cdef size_t off = 0
    cdef uint64_t t0, rows = 0, txns = 0
    cdef int k, src = 0
    cdef int n_src = n + (1 if pending != NULL else 0)
    for k in range(n):
        total += jobs[k].rows_len
        rows += jobs[k].n_rows
    if total == 0:
        return True
    pthread_mutex_lock(&s.lock)
    t0 = fastdhcp_mono_ns()
    if pg_ready(s):
        ok = True
        while ok and src < n_src:
            ok = pg_transaction(s, pending, jobs, n_src, &src, &off, copy_sql)
            txns += ok
    if ok:
        s.commits += txns
        s.rows += rows
        if counts != NULL:
            counts.bytes += total
            counts.rows += rows
            histo_add(&counts.group, n)
            histo_add(&counts.sync_us, (fastdhcp_mono_ns() - t0) // 1000)
        if pending != NULL:
            pending.len = 0
    else:
        # (what committed before the failure is in lease4; the group's rows are written
        # again with the next commit, an upsert each: no ACK of the group has left)
        s.failures += 1
        if pending != NULL:
            for k in range(n):
                pending_add(pending, jobs[k].rows, jobs[k].rows_len)
    pthread_mutex_unlock(&s.lock)
    return ok


cdef class LeaseDatabase:
    """One connection to a PostgreSQL lease database (Kea's schema) for the engine's commits.
    ``conninfo``: libpq's connection string; ``reconnect_wait``: seconds between reconnects
    (Kea's reconnect-wait-time). Raises ConnectionError with libpq's text if it cannot connect
    or set up its session."""

    cdef PgStore* s

    def __cinit__(self, str conninfo, double reconnect_wait=1.0):
        cdef bytes info = conninfo.encode()
        cdef const char* c_info = info
        self.s = <PgStore*>calloc(1, sizeof(PgStore))
        if self.s == NULL:
            raise MemoryError()
        pthread_mutex_init(&self.s.lock, NULL)
        self.s.reconnect_wait_ns = <uint64_t>(reconnect_wait * 1e9)
        with nogil:
            self.s.conn = PQconnectdb(c_info)
        if PQstatus(self.s.conn) != CONNECTION_OK:
            raise ConnectionError(PQerrorMessage(self.s.conn).decode(errors="replace").strip())
        if not pg_setup(self.s):
            raise ConnectionError(self.s.error.decode(errors="replace").strip())
        self.s.state = PG_UP

    def __dealloc__(self):
        if self.s != NULL:
            free(self.s.merge_sql)
            if self.s.conn != NULL:
                PQfinish(self.s.conn)
            pthread_mutex_destroy(&self.s.lock)
            free(self.s)

    cdef PgStore* store(self):
        return self.s

    def tick(self):
        """Advance a reconnect (the loop calls it every so often, commits or not); True when
        the connection is up. A commit in progress holds the connection: then its state is
        the answer, without waiting."""
        cdef bint up
        if pthread_mutex_trylock(&self.s.lock) != 0:
            return self.s.state == PG_UP
        up = pg_ready(self.s)
        pthread_mutex_unlock(&self.s.lock)
        return up

    def query(self, str sql):
        """The rows of one query as tuples of text (None for NULL): the start's checks and the
        status. Raises ConnectionError with PostgreSQL's text."""
        cdef bytes q = sql.encode()
        cdef PGresult* r
        cdef int i, j
        pthread_mutex_lock(&self.s.lock)
        try:
            if not pg_ready(self.s):
                raise ConnectionError(self.s.error.decode(errors="replace").strip()
                                      or "the lease database is not connected")
            r = PQexec(self.s.conn, q)
            try:
                if r == NULL or PQresultStatus(r) not in (PGRES_TUPLES_OK, PGRES_COMMAND_OK):
                    raise ConnectionError((PQresultErrorMessage(r) if r != NULL else
                                           PQerrorMessage(self.s.conn)).decode(
                                               errors="replace").strip())
                return [tuple(None if PQgetisnull(r, i, j) else
                              PQgetvalue(r, i, j).decode(errors="replace")
                              for j in range(PQnfields(r))) for i in range(PQntuples(r))]
            finally:
                PQclear(r)
        finally:
            pthread_mutex_unlock(&self.s.lock)

    def commit_csv(self, rows, int columns=12):
        """Kea memfile CSV rows (no header; ``columns``: 12, or 11 as Kea 2.0/2.2 write them)
        merged into lease4 in one transaction, as a group's commit merges them: the last row of
        an address wins, valid_lifetime 0 deletes. Raises ConnectionError if it did not commit."""
        cdef const uint8_t[::1] view = rows
        cdef CommitJob job
        cdef bint ok
        if columns not in (11, 12):
            raise ValueError("a Kea memfile row has 11 or 12 columns")
        memset(&job, 0, sizeof(CommitJob))
        job.rows = &view[0] if view.shape[0] else NULL
        job.rows_len = <uint32_t>view.shape[0]
        job.n_rows = bytes(rows).count(b"\n")
        with nogil:
            ok = pg_commit_with(self.s, &job, 1, NULL, PG_COPY if columns == 12 else PG_COPY11)
        if not ok:
            raise ConnectionError(self.s.error.decode(errors="replace").strip())
        return job.n_rows

    def set_fence(self, str sql=None):
        """A cluster's fence: SQL run in every commit's transaction before the merge, which
        must fail (raise) unless this server still owns its shards with its epochs; None: no
        fence. Waits for a commit in progress."""
        cdef bytes merged = (sql.encode() + b";" + PG_MERGE) if sql else None
        cdef char* copy = NULL
        if merged is not None:
            copy = <char*>malloc(len(merged) + 1)
            if copy == NULL:
                raise MemoryError()
            memcpy(copy, <const char*>merged, len(merged))
            copy[len(merged)] = 0
        with nogil:
            pthread_mutex_lock(&self.s.lock)
        free(self.s.merge_sql)
        self.s.merge_sql = copy
        pthread_mutex_unlock(&self.s.lock)

    def lease_rows(self, str where=None, bint kea_hex=False):
        """Every lease4 row as Kea 2.2's memfile CSV rows (no header), for Allocator.load_csv:
        one COPY, in address order; ``where``: an SQL condition on lease4 to keep some;
        ``kea_hex``: hardware addresses and client ids with colons, as Kea writes its files
        (the export; the loader takes either)."""
        cdef PGresult* r
        cdef char* buf
        cdef int n
        cdef PendingRows out                 # (a growing buffer: no object per row)
        memset(&out, 0, sizeof(PendingRows))
        pthread_mutex_lock(&self.s.lock)
        try:
            if not pg_ready(self.s):
                raise ConnectionError(self.s.error.decode(errors="replace").strip())
            dump = <bytes>PG_DUMP if kea_hex else PG_DUMP_PLAIN
            if where is not None:
                dump = dump.replace(b"FROM lease4 ORDER BY", WHERE_CLAUSE).replace(
                    b"<where>", where.encode())
            r = PQexec(self.s.conn, dump)
            if r == NULL or PQresultStatus(r) != PGRES_COPY_OUT:
                msg = (PQresultErrorMessage(r) if r != NULL else PQerrorMessage(self.s.conn))
                PQclear(r)
                raise ConnectionError(msg.decode(errors="replace").strip())
            PQclear(r)
            with nogil:
                while True:
                    n = PQgetCopyData(self.s.conn, &buf, 0)
                    if n < 0:
                        break
                    if not buf_add(&out, <const uint8_t*>buf, n):
                        out.dropped += n
                    PQfreemem(buf)
            r = PQgetResult(self.s.conn)
            ok = r != NULL and PQresultStatus(r) == PGRES_COMMAND_OK
            msg = PQresultErrorMessage(r) if r != NULL else b""
            while r != NULL:
                PQclear(r)
                r = PQgetResult(self.s.conn)
            if not ok:
                raise ConnectionError(msg.decode(errors="replace").strip())
            if out.dropped:
                raise MemoryError("the lease rows do not fit in memory")
            return out.data[:out.len] if out.len else b""
        finally:
            free(out.data)
            pthread_mutex_unlock(&self.s.lock)

    @property
    def status(self):
        """{"state": "up" | "connecting" | "down", "attempts", "commits", "rows", "failures",
        "lost-connections", "error"} (read without the lock: figures of a moment)."""
        return {"state": ("down", "connecting", "up")[self.s.state],
                "attempts": self.s.attempts, "commits": self.s.commits, "rows": self.s.rows,
                "failures": self.s.failures, "lost-connections": self.s.lost_connections,
                "error": self.s.error.decode(errors="replace").strip()}
