# Group commit (commit.pyx): durability modes, pending rows, a batch's commit job, the
# committer thread's state.
# Declared here, not in the part, so that no part depends on the include order.

from libc.stdint cimport int64_t, uint8_t, uint16_t, uint32_t, uint64_t
from netsys cimport *
from mmsg cimport *


cdef extern from "<pthread.h>" nogil:
    ctypedef unsigned long pthread_t
    ctypedef struct pthread_mutex_t:
        pass
    ctypedef struct pthread_cond_t:
        pass
    int pthread_create(pthread_t* thread, const void* attr, void* (*start)(void*) noexcept nogil,
                       void* arg)
    int pthread_join(pthread_t thread, void** result)
    int pthread_mutex_init(pthread_mutex_t* m, const void* attr)
    int pthread_mutex_destroy(pthread_mutex_t* m)
    int pthread_mutex_lock(pthread_mutex_t* m)
    int pthread_mutex_trylock(pthread_mutex_t* m)
    int pthread_mutex_unlock(pthread_mutex_t* m)
    int pthread_cond_init(pthread_cond_t* c, const void* attr)
    int pthread_cond_destroy(pthread_cond_t* c)
    int pthread_cond_wait(pthread_cond_t* c, pthread_mutex_t* m)
    int pthread_cond_broadcast(pthread_cond_t* c)


cdef extern from "<sched.h>" nogil:
    int sched_yield()


cdef extern from "<unistd.h>" nogil:
    ctypedef long off_t
    int fdatasync(int fd)
    off_t lseek(int fd, off_t offset, int whence)
    int ftruncate(int fd, off_t length)
    int SEEK_END


cdef enum:
    DUR_NONE = 0                 # persist false: no lease file
    DUR_WRITE = 1                # write() before the ACKs (Kea's memfile: survives kill -9)
    DUR_FSYNC = 2                # write() + fdatasync() before the ACKs (survives power loss)
    DUR_DATABASE = 3             # committed to the lease database (PostgreSQL) before the ACKs


# Rows a commit could not write (a full disk), kept to be written first by the next one: the
# file then catches up with the table, releases and declines included, which no client would
# send again. One per engine; used by one thread at a time (the committer, or the loop after
# drain). Past PENDING_MAX bytes the oldest are kept and the rest given up (counted).
cdef enum:
    PENDING_MAX = 64 << 20


ctypedef struct PendingRows:
    uint8_t* data
    size_t len
    size_t cap
    uint64_t dropped             # bytes given up


# One batch (one lane of the engine) as the commit sees it: its lease rows and its replies.
ctypedef struct CommitJob:
    PendingRows* pending         # the engine's rows of failed commits (NULL: none kept)
    void* pg                     # PgStore* (pgsql.pxd) with durability database, else NULL
    int durability
    int lease_fd
    int fd
    int raw_fd
    const uint8_t* rows
    uint32_t rows_len
    uint32_t n_rows
    uint64_t t_recv              # fastdhcp_mono_ns() when the batch was received (0: no replies)
    MmsgArrays* mm
    int count
    uint8_t* tx
    const uint16_t* tx_len
    const Endpoint* dst
    uint8_t** frames
    const uint16_t* frame_len
    const int* frame_if
    const uint8_t* frame_mac


# Histograms for the metrics (fastdhcp.control.metrics), one bucket increment per batch or
# group: bucket k holds the values v with 2^(k-1) < v <= 2^k (bucket 0: v <= 1), the last one
# everything above. `sum` in the histogram's unit.
cdef enum:
    HIST_BUCKETS = 24

ctypedef struct Histo:
    uint64_t bucket[HIST_BUCKETS]
    uint64_t sum

cdef extern from *:
    """
    #include <time.h>
    static inline unsigned long long fastdhcp_mono_ns(void) {
        struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t);
        return (unsigned long long)t.tv_sec * 1000000000ULL + t.tv_nsec;
    }
    static inline int fastdhcp_hist_bucket(unsigned long long v, int n) {
        int k = v <= 1 ? 0 : 64 - __builtin_clzll(v - 1);
        return k < n ? k : n - 1;
    }
    """
    uint64_t fastdhcp_mono_ns() nogil
    int fastdhcp_hist_bucket(uint64_t v, int n) nogil

cdef inline void histo_add(Histo* h, uint64_t v) noexcept nogil:
    h.bucket[fastdhcp_hist_bucket(v, HIST_BUCKETS)] += 1
    h.sum += v

cdef inline void histo_fold(Histo* into, const Histo* h) noexcept nogil:
    cdef int k
    for k in range(HIST_BUCKETS):
        into.bucket[k] += h.bucket[k]
    into.sum += h.sum

ctypedef struct CommitCounts:
    uint64_t sent
    uint64_t send_failed
    uint64_t commit_failed       # groups whose rows did not reach the file (or the disk)
    uint64_t rows                # lease rows written to the file
    uint64_t bytes               # and their bytes (pending rows written again included)
    Histo group                  # batches per commit group (one write round, one fdatasync)
    Histo sync_us                # fdatasync latency, microseconds
    Histo reply_us               # a batch's recvmmsg to its last sendmmsg, microseconds


cdef enum:
    LANES = 16                   # batches received ahead of the disk, at most


ctypedef struct Committer:
    pthread_t thread
    pthread_mutex_t lock
    pthread_cond_t cond
    CommitJob job[LANES]
    int order[LANES]             # queued lanes, in submission order
    int n_queued
    bint in_use[LANES]           # queued or being committed: the engine must not reuse it yet
    bint running
    bint stop
    CommitCounts counts
