/*
 * auth: CurveZMQ for the store's two bound sockets (docs/ARCHITECTURE.md,
 * "CurveZMQ and ZAP").
 *
 * When [security] curve is true the store loads its keypair from
 * secret_key_file (a czmq zcert secret file) and makes ingest (ROUTER) and
 * feedback (XPUB) CURVE servers.  Clients are authorised by a ZAP handler
 * (an actor bound to inproc://zeromq.zap.01 in czmq's context) that accepts
 * only public keys found in authorized_keys_dir (zcert public files, read
 * by zcertstore, which reloads the directory on a lookup after it changed,
 * so a key added there admits its client without a restart).  Every refused
 * handshake increments mds_auth_failures_total and is logged, rate-limited.
 *
 * Invariants: store_auth_apply must be called before the socket binds (libzmq
 * copies security options into the listener at bind time); the ZAP actor owns
 * its only socket; the counter is a lock-free metric handle.
 */
#ifndef STORE_AUTH_H
#define STORE_AUTH_H

#include <czmq.h>
#include <stddef.h>

#include "common/metrics.h"

typedef struct _store_auth_t store_auth_t;

/* Load the keypair and the authorised keys, start the ZAP handler.  NULL with
 * `err` set on a missing/unreadable file or an empty key directory. */
store_auth_t *store_auth_new (const char *secret_key_file, const char *authorized_keys_dir,
                              mdf_metrics_t *metrics, char *err, size_t errlen);

void store_auth_destroy (store_auth_t **self_p);

/* Make `sock` a CURVE server with the store's keypair (before binding). */
void store_auth_apply (store_auth_t *self, zsock_t *sock);

/* Refused handshakes so far. */
uint64_t store_auth_failures (const store_auth_t *self);

#endif
