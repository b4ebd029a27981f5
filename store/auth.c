/*
 * auth: the store's CURVE keypair and its ZAP handler (see auth.h).
 *
 * ZAP (RFC 27): libzmq sends each handshake as a request
 *   version "1.0", request id, domain, address, identity, mechanism, credentials
 * and waits for a reply
 *   version, request id, status code ("200" or "400"), text, user id, metadata.
 * For CURVE the one credential frame is the client's 32-byte public key.
 */
#include "store/auth.h"

#include <string.h>
#include <sys/stat.h>

#include "common/log.h"

#define ZAP_ENDPOINT "inproc://zeromq.zap.01"

struct _store_auth_t {
    zcert_t *cert;           /* the store's keypair */
    zcertstore_t *allowed;   /* public keys of authorised clients */
    zactor_t *zap;           /* ZAP handler; reads `allowed` only */
    mdf_counter_t *failures; /* mds_auth_failures_total */
    mdf_ratelimit_t rl;
};

static bool
s_allowed (store_auth_t *self, zmsg_t *req)
{
    if (zmsg_size (req) < 7)
        return false;
    zframe_t *f = zmsg_first (req);
    for (int i = 0; i < 5; i++)
        f = zmsg_next (req); /* mechanism */
    if (!zframe_streq (f, "CURVE"))
        return false;
    zframe_t *key = zmsg_next (req);
    if (zframe_size (key) != 32)
        return false;
    char txt[41];
    zmq_z85_encode (txt, zframe_data (key), 32);
    return zcertstore_lookup (self->allowed, txt) != NULL;
}

static void
s_reply (zsock_t *zap, zmsg_t *req, bool ok)
{
    zframe_t *version = zmsg_pop (req);
    zframe_t *id = zmsg_pop (req);
    zmsg_t *rep = zmsg_new ();
    zmsg_append (rep, &version);
    zmsg_append (rep, &id);
    zmsg_addstr (rep, ok ? "200" : "400");
    zmsg_addstr (rep, ok ? "OK" : "client key not authorised");
    zmsg_addstr (rep, "");
    zmsg_addmem (rep, "", 0);
    zmsg_send (&rep, zap);
}

static void
s_log_refusal (store_auth_t *self, zmsg_t *req)
{
    uint64_t sup = 0;
    if (!mdf_ratelimit_allow (&self->rl, &sup))
        return;
    char *address = NULL;
    if (zmsg_size (req) >= 4) {
        zframe_t *f = zmsg_first (req);
        for (int i = 0; i < 3; i++)
            f = zmsg_next (req);
        address = zframe_strdup (f);
    }
    mdf_warn ("CURVE client refused", "address=%s suppressed=%llu", address ? address : "?",
              (unsigned long long)sup);
    free (address);
}

static void
s_actor (zsock_t *pipe, void *arg)
{
    store_auth_t *self = arg;
    zsock_t *zap = zsock_new_rep (ZAP_ENDPOINT);
    zsock_signal (pipe, zap ? 0 : 1);
    if (!zap)
        return;
    zpoller_t *poller = zpoller_new (pipe, zap, NULL);
    while (true) {
        zsock_t *which = zpoller_wait (poller, -1);
        if (which != zap)
            break; /* $TERM or interrupted */
        zmsg_t *req = zmsg_recv (zap);
        if (!req)
            break;
        bool ok = s_allowed (self, req);
        if (!ok) {
            mdf_counter_inc (self->failures);
            s_log_refusal (self, req);
        }
        s_reply (zap, req, ok);
        zmsg_destroy (&req);
    }
    zpoller_destroy (&poller);
    zsock_destroy (&zap);
}

static int
s_check_readable (const char *path, const char *what, char *err, size_t errlen)
{
    FILE *f = fopen (path, "r");
    if (!f) {
        snprintf (err, errlen, "%s %s: %s", what, path, strerror (errno));
        return -1;
    }
    fclose (f);
    return 0;
}

store_auth_t *
store_auth_new (const char *secret_key_file, const char *authorized_keys_dir,
                mdf_metrics_t *metrics, char *err, size_t errlen)
{
    if (s_check_readable (secret_key_file, "security.secret_key_file", err, errlen))
        return NULL;
    struct stat st;
    if (stat (authorized_keys_dir, &st) != 0 || !S_ISDIR (st.st_mode)) {
        snprintf (err, errlen, "security.authorized_keys_dir %s: not a readable directory",
                  authorized_keys_dir);
        return NULL;
    }
    store_auth_t *self = calloc (1, sizeof *self);
    if (!self)
        return NULL;
    mdf_ratelimit_init (&self->rl, 10000, 5);
    self->cert = zcert_load (secret_key_file);
    if (!self->cert || !*zcert_secret_txt (self->cert)
        || !strcmp (zcert_secret_txt (self->cert), "0000000000000000000000000000000000000000")) {
        snprintf (err, errlen, "security.secret_key_file %s: not a zcert secret key file",
                  secret_key_file);
        store_auth_destroy (&self);
        return NULL;
    }
    self->allowed = zcertstore_new (authorized_keys_dir);
    self->failures = mdf_metrics_counter (metrics, "mds_auth_failures_total",
                                          "CURVE handshakes refused (unknown client key)", NULL);
    self->zap = self->allowed ? zactor_new (s_actor, self) : NULL;
    if (!self->zap) {
        snprintf (err, errlen, "cannot start the ZAP handler (is another bound?)");
        store_auth_destroy (&self);
        return NULL;
    }
    return self;
}

void
store_auth_destroy (store_auth_t **self_p)
{
    store_auth_t *self = *self_p;
    if (!self)
        return;
    zactor_destroy (&self->zap);
    zcertstore_destroy (&self->allowed);
    zcert_destroy (&self->cert);
    free (self);
    *self_p = NULL;
}

void
store_auth_apply (store_auth_t *self, zsock_t *sock)
{
    zcert_apply (self->cert, sock);
    zsock_set_curve_server (sock, 1);
    zsock_set_zap_domain (sock, "mdflow");
}

uint64_t
store_auth_failures (const store_auth_t *self)
{
    return mdf_counter_value (self->failures);
}
