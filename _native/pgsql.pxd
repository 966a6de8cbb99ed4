# The lease database (pgsql.pyx): libpq, as the committer thread uses it, and the state of one
# connection to a PostgreSQL database holding Kea's lease4 table.
# Declared here, not in the part, so that no part depends on the include order.

from libc.stdint cimport int64_t, uint32_t, uint64_t
from commit cimport pthread_mutex_t


cdef extern from "<libpq-fe.h>" nogil:
    ctypedef struct PGconn:
        pass
    ctypedef struct PGresult:
        pass
    ctypedef enum ConnStatusType:
        CONNECTION_OK
        CONNECTION_BAD
    ctypedef enum ExecStatusType:
        PGRES_EMPTY_QUERY
        PGRES_COMMAND_OK
        PGRES_TUPLES_OK
        PGRES_COPY_OUT
        PGRES_COPY_IN
        PGRES_FATAL_ERROR
    ctypedef enum PostgresPollingStatusType:
        PGRES_POLLING_FAILED
        PGRES_POLLING_READING
        PGRES_POLLING_WRITING
        PGRES_POLLING_OK
    ctypedef enum PGTransactionStatusType:
        PQTRANS_IDLE
        PQTRANS_INTRANS
        PQTRANS_INERROR
    PGconn* PQconnectdb(const char* conninfo)
    void PQfinish(PGconn* conn)
    ConnStatusType PQstatus(const PGconn* conn)
    PGTransactionStatusType PQtransactionStatus(const PGconn* conn)
    char* PQerrorMessage(const PGconn* conn)
    int PQresetStart(PGconn* conn)
    PostgresPollingStatusType PQresetPoll(PGconn* conn)
    PGresult* PQexec(PGconn* conn, const char* query)
    ExecStatusType PQresultStatus(const PGresult* res)
    char* PQresultErrorMessage(const PGresult* res)
    char* PQcmdTuples(PGresult* res)
    int PQntuples(const PGresult* res)
    char* PQgetvalue(const PGresult* res, int row, int col)
    void PQclear(PGresult* res)
    PGresult* PQgetResult(PGconn* conn)
    int PQputCopyData(PGconn* conn, const char* buffer, int nbytes)
    int PQputCopyEnd(PGconn* conn, const char* errormsg)
    int PQsetnonblocking(PGconn* conn, int arg)
    int PQgetCopyData(PGconn* conn, char** buffer, int async)
    void PQfreemem(void* ptr)
    int PQnfields(const PGresult* res)
    int PQgetisnull(const PGresult* res, int row, int col)


cdef enum:
    PG_DOWN = 0                  # no connection (a reconnect is due after reconnect_wait)
    PG_CONNECTING = 1            # a reconnect in progress (PQresetStart/PQresetPoll)
    PG_UP = 2
    PG_ERROR_MAX = 512


# One connection. The committer thread commits through it; the loop thread (reclaim, lease
# commands, the reconnect tick) only after drain or with the lock: one user at a time.
ctypedef struct PgStore:
    PGconn* conn
    pthread_mutex_t lock
    int state                    # PG_*
    uint64_t reconnect_wait_ns   # Kea's reconnect-wait-time
    uint64_t next_try_ns         # fastdhcp_mono_ns() before which no reconnect starts
    uint64_t attempts            # reconnects started since the connection was last up
    uint64_t commits             # transactions committed
    uint64_t rows                # rows they carried
    uint64_t failures            # commits that failed (rows kept pending, no ACK sent)
    uint64_t lost_connections
    char error[PG_ERROR_MAX]     # the last failure, as PostgreSQL or libpq said it
    char* merge_sql              # the merge, after a cluster's fence (NULL: PG_MERGE alone)
