# Group commit: a batch's lease rows reach the lease file (write) and, with durability fsync,
# stable storage (fdatasync) BEFORE the sendmmsg that carries that batch's ACKs. With fsync the
# work runs on a committer thread (plain pthread: no GIL, no Python) that syncs every batch
# queued since its last round at once, while the server receives, parses and decides the next
# ones. Batches commit in the order they were decided: the file's last row of an address must
# be its newest.
# Included by _core.pyx.

from libc.stdlib cimport realloc
from libc.string cimport memcpy, memset


cdef void pending_add(PendingRows* p, const uint8_t* rows, size_t n) noexcept nogil:
    cdef size_t cap = p.cap
    cdef uint8_t* grown
    if n == 0:
        return
    if p.len + n > PENDING_MAX:
        p.dropped += n
        return
    while cap < p.len + n:
        cap = cap * 2 if cap else 65536
    if cap != p.cap:
        grown = <uint8_t*>realloc(p.data, cap)
        if grown == NULL:
            p.dropped += n
            return
        p.data, p.cap = grown, cap
    memcpy(p.data + p.len, rows, n)
    p.len += n


cdef bint write_fully(int fd, const uint8_t* p, uint32_t n) noexcept nogil:
    cdef uint32_t done = 0
    cdef ssize_t w
    while done < n:
        w = write(fd, p + done, n - done)
        if w <= 0:
            if w < 0 and errno == EINTR:
                continue
            return False
        done += w
    return True


# The rows of n batches, in order (after the rows of earlier failed commits): every write, then
# one fdatasync for them all. A write that fails part way is cut off again, or the next group's
# first row would be glued to the fragment; the group's rows then wait with the pending ones.
cdef bint commit_rows(const CommitJob* jobs, int n, CommitCounts* counts=NULL) noexcept nogil:
    cdef int k
    cdef int fd = jobs[0].lease_fd
    cdef PendingRows* pending = jobs[0].pending
    cdef bint ok = True
    cdef off_t start
    cdef uint64_t t0
    if jobs[0].pg != NULL:
        return pg_commit_rows(<PgStore*>jobs[0].pg, jobs, n, counts)
    if fd < 0:
        return True
    start = lseek(fd, 0, SEEK_END)
    if pending != NULL and pending.len:
        ok = write_fully(fd, pending.data, <uint32_t>pending.len)
    k = 0
    while ok and k < n:
        ok = write_fully(fd, jobs[k].rows, jobs[k].rows_len)
        k += 1
    if not ok:
        if start >= 0:
            ftruncate(fd, start)
        if pending != NULL:
            for k in range(n):
                pending_add(pending, jobs[k].rows, jobs[k].rows_len)
        return False
    if counts != NULL:
        counts.bytes += (pending.len if pending != NULL else 0)
        for k in range(n):
            counts.rows += jobs[k].n_rows
            counts.bytes += jobs[k].rows_len
        histo_add(&counts.group, n)
    if pending != NULL:
        pending.len = 0
    # (a group that wrote nothing, all its renewals cached leases, has nothing to make durable:
    # what earlier groups wrote was synced before their replies left)
    if jobs[0].durability == DUR_FSYNC and lseek(fd, 0, SEEK_END) != start:
        t0 = fastdhcp_mono_ns()
        if fdatasync(fd) != 0:
            return False
        if counts != NULL:
            histo_add(&counts.sync_us, (fastdhcp_mono_ns() - t0) // 1000)
    return True


cdef void commit_send(const CommitJob* j, CommitCounts* counts) noexcept nogil:
    cdef int failed = 0
    counts.sent += mm_send(j.fd, j.mm, j.count, j.tx, REPLY_CAPACITY, j.tx_len, j.dst, &failed)
    if j.raw_fd >= 0:
        counts.sent += mm_send_frames(j.raw_fd, j.mm, j.count, j.frames, j.frame_len,
                                      j.frame_if, j.frame_mac, &failed)
    counts.send_failed += failed


# A whole commit: rows durable first, then the replies. A group whose rows could not be made
# durable sends nothing: its clients retransmit, and no ACK names a lease the file lacks.
cdef void commit_run(const CommitJob* jobs, int n, CommitCounts* counts) noexcept nogil:
    cdef int k
    cdef uint64_t now
    if not commit_rows(jobs, n, counts):
        counts.commit_failed += 1
        return
    for k in range(n):
        commit_send(&jobs[k], counts)
    now = fastdhcp_mono_ns()
    for k in range(n):
        if jobs[k].t_recv:
            histo_add(&counts.reply_us, (now - jobs[k].t_recv) // 1000)


# What a commit adds up beyond the send counts: rows, bytes, histograms.
cdef void counts_fold_io(CommitCounts* into, const CommitCounts* c) noexcept nogil:
    into.rows += c.rows
    into.bytes += c.bytes
    histo_fold(&into.group, &c.group)
    histo_fold(&into.sync_us, &c.sync_us)
    histo_fold(&into.reply_us, &c.reply_us)


# ---- the committer thread: group commit ----------------------------------------------------------
# The engine submits each batch (lane) as it is decided; the committer takes every batch queued
# since its last round as one group: one fdatasync for all. While it syncs, the engine goes on
# receiving and deciding into its other lanes, so a slow disk makes groups bigger, not the
# server slower.


cdef void* committer_main(void* arg) noexcept nogil:
    cdef Committer* c = <Committer*>arg
    cdef CommitJob group[LANES]
    cdef int lanes[LANES]
    cdef int n, k
    cdef CommitCounts counts
    pthread_mutex_lock(&c.lock)
    while True:
        while c.n_queued == 0 and not c.stop:
            pthread_cond_wait(&c.cond, &c.lock)
        if c.n_queued == 0:
            break
        if c.n_queued < LANES:
            # Let the loop run first if it has work (one core: it would wait for us otherwise):
            # it queues more batches, and one fdatasync then covers them all. An idle loop
            # gives the CPU straight back.
            pthread_mutex_unlock(&c.lock)
            sched_yield()
            pthread_mutex_lock(&c.lock)
        n = c.n_queued
        for k in range(n):
            lanes[k] = c.order[k]
            group[k] = c.job[lanes[k]]
        c.n_queued = 0
        c.running = True
        pthread_mutex_unlock(&c.lock)
        memset(&counts, 0, sizeof(CommitCounts))
        commit_run(group, n, &counts)
        pthread_mutex_lock(&c.lock)
        c.counts.sent += counts.sent
        c.counts.send_failed += counts.send_failed
        c.counts.commit_failed += counts.commit_failed
        counts_fold_io(&c.counts, &counts)
        for k in range(n):
            c.in_use[lanes[k]] = False
        c.running = False
        pthread_cond_broadcast(&c.cond)
    pthread_mutex_unlock(&c.lock)
    return NULL


cdef Committer* committer_start() noexcept nogil:
    cdef Committer* c = <Committer*>calloc(1, sizeof(Committer))
    if c == NULL:
        return NULL
    pthread_mutex_init(&c.lock, NULL)
    pthread_cond_init(&c.cond, NULL)
    if pthread_create(&c.thread, NULL, committer_main, c) != 0:
        pthread_mutex_destroy(&c.lock)
        pthread_cond_destroy(&c.cond)
        free(c)
        return NULL
    return c


# Wait until lane k is free to be filled again, and claim it.
cdef void committer_claim(Committer* c, int k) noexcept nogil:
    pthread_mutex_lock(&c.lock)
    while c.in_use[k]:
        pthread_cond_wait(&c.cond, &c.lock)
    c.in_use[k] = True
    pthread_mutex_unlock(&c.lock)


cdef void committer_submit(Committer* c, int k, const CommitJob* job) noexcept nogil:
    pthread_mutex_lock(&c.lock)
    c.job[k] = job[0]
    c.order[c.n_queued] = k
    c.n_queued += 1
    pthread_cond_broadcast(&c.cond)
    pthread_mutex_unlock(&c.lock)


# Give back a claimed lane that had nothing to commit (an empty receive).
cdef void committer_release(Committer* c, int k) noexcept nogil:
    pthread_mutex_lock(&c.lock)
    c.in_use[k] = False
    pthread_mutex_unlock(&c.lock)


# Wait until everything submitted is committed; returns (and resets) the counts so far.
cdef CommitCounts committer_drain(Committer* c) noexcept nogil:
    cdef CommitCounts out
    pthread_mutex_lock(&c.lock)
    while c.n_queued or c.running:
        pthread_cond_wait(&c.cond, &c.lock)
    out = c.counts
    memset(&c.counts, 0, sizeof(CommitCounts))
    pthread_mutex_unlock(&c.lock)
    return out


cdef void committer_stop(Committer* c) noexcept nogil:
    committer_drain(c)
    pthread_mutex_lock(&c.lock)
    c.stop = True
    pthread_cond_broadcast(&c.cond)
    pthread_mutex_unlock(&c.lock)
    pthread_join(c.thread, NULL)
    pthread_mutex_destroy(&c.lock)
    pthread_cond_destroy(&c.cond)
    free(c)
