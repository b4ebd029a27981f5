/*
 * curve: the pipeline's CurveZMQ client keys (docs/ARCHITECTURE.md, "CurveZMQ
 * and ZAP").
 *
 * With [security] curve = true the DEALER (ingest) and SUB (feedback) sockets
 * become CURVE clients: they present the pipeline's own keypair
 * (secret_key_file, a czmq zcert secret file) and verify the store's public
 * key (server_public_key as Z85 text, or server_public_key_file, a zcert
 * public file).  A store (or rogue XPUB) without the matching secret key never
 * completes the handshake, so no bar is sent to it and no event is read from it.
 *
 * mdp_curve_t is plain text (no ownership) so it can be copied into the
 * sender's and feedback's actors; `on` false means plain TCP.
 */
#ifndef PIPELINE_CURVE_H
#define PIPELINE_CURVE_H

#include <czmq.h>
#include <stdbool.h>
#include <stddef.h>

#include "common/cfg.h"

typedef struct {
    bool on;
    char public_txt[41]; /* ours, Z85 */
    char secret_txt[41];
    char server_txt[41]; /* the store's public key, Z85 */
} mdp_curve_t;

/* Fill `c` from the [security] keys (curve false: c->on = false, returns 0).
 * Errors name FILE:LINE of the key at fault (through `cfg`).  0 or -1. */
int mdp_curve_load (mdp_curve_t *c, const mdf_cfg_t *cfg, bool curve, const char *secret_key_file,
                    const char *server_public_key, const char *server_public_key_file, char *err,
                    size_t errlen);

/* Make `sock` a CURVE client with these keys (before connecting); no-op if
 * `c` is NULL or off. */
void mdp_curve_apply (const mdp_curve_t *c, zsock_t *sock);

#endif
