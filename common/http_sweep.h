/*
 * http_sweep: the HTTP server's live connections, their deadlines, its
 * connection limits and the deadline sweeper thread (common/http.c uses it;
 * nothing else should).
 *
 * A slow client cannot hold the server.  MHD's idle timeout is reset by
 * activity, so a client dribbling a byte every few seconds would keep a slot
 * forever.  Every request therefore also has deadlines that activity does not
 * move: its headers complete within MDF_HTTP_HEADERS_S of the connection's
 * accept (or of the previous response on a kept-alive connection;
 * MDF_HTTP_RESERVE_HEADERS_MS on a reserved connection), the whole exchange
 * within MDF_HTTP_REQUEST_S.  The sweeper thread shutdown()s the socket of a
 * connection past its deadline; MHD then sees the socket end and closes the
 * connection as usual.  MHD reports a closed connection before it closes the
 * descriptor (mdf_http_sweep_remove), and the list is only changed and
 * swept under one lock, so the sweeper never touches a descriptor number
 * that has been reused.
 *
 * Limits (mdf_http_sweep_admit, MHD's accept policy callback): at most
 * MDF_HTTP_PER_IP connections per client address and MDF_HTTP_MAX_CONN +
 * MDF_HTTP_RESERVE in all; a connection accepted while MDF_HTTP_MAX_CONN are
 * open is `reserved` (health probes only, http.c).  A refusal is counted
 * here, where it is decided, not read back from MHD's log.
 *
 * Counters (any may be NULL): cuts at the headers and at the request
 * deadline, refusals at accept.
 */
#ifndef MDF_HTTP_SWEEP_H
#define MDF_HTTP_SWEEP_H

#include <stdbool.h>
#include <sys/socket.h>

#include "common/metrics.h"

typedef struct _mdf_http_sweep_t mdf_http_sweep_t;
typedef struct _mdf_http_conn_t mdf_http_conn_t;

/* NULL when out of memory. */
mdf_http_sweep_t *mdf_http_sweep_new (void);

/* Set before mdf_http_sweep_start. */
void mdf_http_sweep_counters (mdf_http_sweep_t *self, mdf_counter_t *headers_timeout,
                              mdf_counter_t *request_timeout, mdf_counter_t *limit);

/* Start the sweeper thread: 0 or -1. */
int mdf_http_sweep_start (mdf_http_sweep_t *self);

/* Stop and join it (nothing when not running). */
void mdf_http_sweep_stop (mdf_http_sweep_t *self);

void mdf_http_sweep_destroy (mdf_http_sweep_t **self_p);

/* A client at `addr` connects: true to accept it, false (counted as
 * "limit") when its address or the server is at its limit. */
bool mdf_http_sweep_admit (mdf_http_sweep_t *self, const struct sockaddr *addr, socklen_t len);

/* An accepted connection on `fd` from `remote` (numeric address, for the
 * log and the per-address limit): tracked from now, with the headers
 * deadline.  NULL when out of memory (then only MHD's idle timeout
 * applies). */
mdf_http_conn_t *mdf_http_sweep_add (mdf_http_sweep_t *self, int fd, const char *remote);

/* MHD is about to close it: forget it (NULL: nothing). */
void mdf_http_sweep_remove (mdf_http_sweep_t *self, mdf_http_conn_t *c);

/* The headers are in: the rest of the exchange has MDF_HTTP_REQUEST_S from
 * the request's start (NULL: nothing). */
void mdf_http_sweep_headers_done (mdf_http_sweep_t *self, mdf_http_conn_t *c);

/* A response went out: a kept-alive connection's next request starts now
 * (NULL: nothing). */
void mdf_http_sweep_next_request (mdf_http_sweep_t *self, mdf_http_conn_t *c);

/* Accepted beyond MDF_HTTP_MAX_CONN: health probes only (NULL: false). */
bool mdf_http_conn_reserved (const mdf_http_conn_t *c);

#endif
