/*
 * pg_server: a throwaway PostgreSQL server for tests and benchmarks.
 *
 * initdb into a fresh temporary directory, then pg_ctl start with the socket
 * in that directory and TCP on 127.0.0.1 at a free port; pg_server_stop runs
 * pg_ctl stop -m fast and removes the directory.  PostgreSQL refuses to run
 * as root, so when the caller is root the server runs as the `postgres` user
 * (which exists once the postgresql package is installed; nothing is created).
 * Binaries come from $MDF_PG_BINDIR, /usr/lib/postgresql/15/bin, or PATH.
 *
 * pg_server_start returns -1 with a reason when the server cannot start (no
 * binaries, no postgres user, initdb or start failed): callers skip then.
 */
#ifndef MDF_PG_SERVER_H
#define MDF_PG_SERVER_H

#include <stdbool.h>
#include <stddef.h>

typedef struct {
    char dir[256]; /* temporary directory (data/, socket, log) */
    char bindir[256];
    int port;
    char conninfo[512]; /* "host=127.0.0.1 port=N user=postgres dbname=postgres" */
    bool durable;       /* started by pg_server_start_ex (.., true, ..) */
    bool running;
} pg_server_t;

/* Fast, not crash-safe (fsync=off): for tests. */
int pg_server_start (pg_server_t *pg, char *why, size_t whylen);
/* durable = true keeps PostgreSQL's default fsync/commit settings (benchmarks). */
int pg_server_start_ex (pg_server_t *pg, bool durable, char *why, size_t whylen);
void pg_server_stop (pg_server_t *pg);

/* An outage: pg_server_halt stops the server (pg_ctl stop -m fast) and keeps
 * its directory, so nothing listens on the port; pg_server_resume starts it
 * again on the same data, port and settings.  0, or -1 when pg_ctl failed.
 * The port is not held meanwhile: another process could take it. */
int pg_server_halt (pg_server_t *pg);
int pg_server_resume (pg_server_t *pg);

/* SELECT count(*) FROM bars on a connection of its own; -1 when the server
 * cannot be reached or the query fails. */
long pg_server_rows (const pg_server_t *pg);

#endif
