/*
 * auth: CurveZMQ for the store's two bound sockets (docs/ARCHITECTURE.md,
 * "CurveZMQ and ZAP").
 *
 * When [security] curve is true the store loads its keypair from
 * secret_key_file (a czmq zcert secret file) and makes ingest (ROUTER) and
 * feedback (XPUB) CURVE servers.  Clients are authorised by a ZAP handler
 * (an actor bound to inproc://zeromq.zap.01 in czmq's context) that accepts
 * only public keys found in authorized_keys_dir (zcert public files, loaded
 * with zcertstore, which re-reads the directory when it changes).
 *
 * Fail closed: libzmq lets any client in when a CURVE server has no ZAP
 * handler.  So store_auth_new returns only once the handler is bound and
 * running (it is started through common/actor, which reports a failed bind),
 * and every socket store_auth_apply prepares has ZMQ_ZAP_ENFORCE_DOMAIN set:
 * should the handler ever be missing, libzmq refuses every client instead.
 *
 * Every refused handshake increments mds_auth_failures_total{reason} and is
 * logged, rate-limited:
 *   key        the ZAP handler refused the client's key (not in the directory)
 *   mechanism  the client does not speak CURVE at all (no key: NULL, or PLAIN)
 *   handshake  any other failed CURVE handshake (wrong server key, a corrupt
 *              handshake, no ZAP handler answering)
 *   incomplete the connection ended before its handshake did: a keyless
 *              client that hung up first on seeing CURVE, a port scanner
 * The last three never reach ZAP: a socket monitor on each prepared socket,
 * read by the same actor, reports them.
 *
 * Invariants: store_auth_apply must be called before the socket binds (libzmq
 * copies security options into the listener at bind time); store_auth_release
 * on each prepared socket, then destroying the sockets, comes before
 * store_auth_destroy (libzmq blocks the socket's I/O thread on a monitor event
 * nobody reads); the actor owns the ZAP socket and the monitor readers; the
 * counters are lock-free metric handles.
 */
#ifndef STORE_AUTH_H
#define STORE_AUTH_H

#include <czmq.h>
#include <stddef.h>

#include "common/metrics.h"

typedef struct _store_auth_t store_auth_t;

/* Load the keypair and the authorised keys, start the ZAP handler.  NULL with
 * `err` set on a missing/unreadable file, a key directory that is not one, or
 * a ZAP handler that cannot start ("ZAP handler: cannot bind
 * inproc://zeromq.zap.01: Address already in use"): the store must not run
 * CURVE sockets then. */
store_auth_t *store_auth_new (const char *secret_key_file, const char *authorized_keys_dir,
                              mdf_metrics_t *metrics, char *err, size_t errlen);

void store_auth_destroy (store_auth_t **self_p);

/* Make `sock` a CURVE server with the store's keypair, enforcing ZAP, and
 * count its failed handshakes; `name` ("ingest", "feedback") goes into the
 * log.  Before binding.  Returns 0, or -1 with `err` (the socket must then not
 * be used: it may accept clients without authentication). */
int store_auth_apply (store_auth_t *self, zsock_t *sock, const char *name, char *err,
                      size_t errlen);

/* Stop counting `sock`'s handshakes; call before destroying a socket given to
 * store_auth_apply (harmless on any other socket, and on NULL). */
void store_auth_release (zsock_t *sock);

/* Refused handshakes so far, every reason. */
uint64_t store_auth_failures (const store_auth_t *self);

#endif
