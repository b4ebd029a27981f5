/*
 * auth: the store's CURVE keypair, its ZAP handler and the handshake monitors
 * (see auth.h).
 *
 * ZAP (RFC 27): libzmq sends each handshake as a request
 *   version "1.0", request id, domain, address, identity, mechanism, credentials
 * and waits for a reply
 *   version, request id, status code ("200" or "400"), text, user id, metadata.
 * For CURVE the one credential frame is the client's 32-byte public key.
 *
 * One actor owns the ZAP socket and, for every socket store_auth_apply
 * prepared, a PAIR reading that socket's monitor (libzmq's event messages: a
 * 6-byte frame, event id and value, then the endpoint).  It blocks the
 * signals the store handles, so SIGHUP or SIGTERM never end up interrupting
 * it, ignores czmq's interrupt flag and polls again after EINTR: only $TERM
 * (or the context ending) stops it.
 */
#include "store/auth.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <sys/stat.h>

#include "common/actor.h"
#include "common/log.h"

#define ZAP_ENDPOINT "inproc://zeromq.zap.01"
#define S_ZAP_DOMAIN "mdflow"
#define S_MONITORS_MAX 4

/* Listed among the draft options in zmq.h 4.3, but recognised by libzmq
 * since 4.2.3; store_auth_apply reads it back and refuses to go on when the
 * library does not know it. */
#ifndef ZMQ_ZAP_ENFORCE_DOMAIN
#define ZMQ_ZAP_ENFORCE_DOMAIN 93
#endif

typedef enum { S_KEY, S_MECHANISM, S_HANDSHAKE, S_INCOMPLETE, S_REASONS } s_reason_t;

static const char *const s_reason_names[S_REASONS]
    = { "key", "mechanism", "handshake", "incomplete" };

struct _store_auth_t {
    zcert_t *cert;                      /* the store's keypair */
    zcertstore_t *allowed;              /* public keys of authorised clients */
    zactor_t *zap;                      /* ZAP handler and monitor reader */
    mdf_counter_t *failures[S_REASONS]; /* mds_auth_failures_total{reason} */
    unsigned monitors;                  /* monitor endpoints made (main thread) */
    mdf_ratelimit_t rl;
};

/* One watched socket, in the actor. */
typedef struct {
    zsock_t *pair;
    char name[32];
} s_monitor_t;

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

/* Count one refusal and log it, rate-limited; `where` is "address=..." for a
 * ZAP refusal, "socket=... endpoint=..." for one the monitor saw. */
static void
s_refused (store_auth_t *self, s_reason_t reason, const char *where, const char *detail)
{
    mdf_counter_inc (self->failures[reason]);
    uint64_t sup = 0;
    if (!mdf_ratelimit_allow (&self->rl, &sup))
        return;
    char q[200];
    mdf_warn ("CURVE client refused", "%s reason=%s detail=%s suppressed=%llu", where,
              s_reason_names[reason], mdf_log_quote (q, sizeof q, detail), (unsigned long long)sup);
}

static void
s_answer (store_auth_t *self, zsock_t *zap)
{
    zmsg_t *req = zmsg_recv (zap);
    if (!req)
        return; /* interrupted: nothing was taken off the socket */
    bool ok = s_allowed (self, req);
    if (!ok) {
        char *address = NULL;
        if (zmsg_size (req) >= 4) {
            zframe_t *f = zmsg_first (req);
            for (int i = 0; i < 3; i++)
                f = zmsg_next (req);
            address = zframe_strdup (f);
        }
        char q[80], where[100];
        snprintf (where, sizeof where, "address=%s",
                  mdf_log_quote (q, sizeof q, address ? address : "?"));
        free (address);
        s_refused (self, S_KEY, where, "client key not in authorized_keys_dir");
    }
    s_reply (zap, req, ok);
    zmsg_destroy (&req);
}

/* A monitor event: count the handshake failures ZAP never saw (failures ZAP
 * refused, ZMQ_EVENT_HANDSHAKE_FAILED_AUTH, are not subscribed to).  A client
 * without CURVE sees the mismatch in our greeting as soon as we see it in
 * its own, and often hangs up first: we then get no protocol error, only
 * the connection ending mid-handshake (no detail, EPIPE or ECONNRESET).  So
 * that a keyless client is always counted, a connection that ends before its
 * handshake completed counts too, as "incomplete" (which also takes in port
 * scanners and clients that die mid-handshake). */
static void
s_monitor_event (store_auth_t *self, s_monitor_t *mon)
{
    zmsg_t *msg = zmsg_recv (mon->pair);
    if (!msg)
        return;
    zframe_t *head = zmsg_first (msg);
    zframe_t *ep = zmsg_next (msg);
    if (head && zframe_size (head) == 6) {
        uint16_t event;
        uint32_t value;
        memcpy (&event, zframe_data (head), sizeof event);
        memcpy (&value, zframe_data (head) + 2, sizeof value);
        int reason = -1;
        const char *detail = "";
        char text[120];
        if (event == ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL
            && value == ZMQ_PROTOCOL_ERROR_ZMTP_MECHANISM_MISMATCH) {
            reason = S_MECHANISM;
            detail = "client does not use CURVE (no key)";
        } else if (event == ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL) {
            reason = S_HANDSHAKE;
            detail = "CURVE handshake failed (wrong server key or corrupt handshake)";
        } else if (event == ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL && value == EFAULT) {
            reason = S_HANDSHAKE;
            detail = "no ZAP handler answered";
        } else if (event == ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL) {
            reason = S_INCOMPLETE;
            snprintf (text, sizeof text, "connection ended during the handshake (%s)",
                      value ? zmq_strerror ((int)value) : "closed");
            detail = text;
        }
        if (reason >= 0) {
            char *endpoint = ep ? zframe_strdup (ep) : NULL;
            char q[120], where[200];
            snprintf (where, sizeof where, "socket=%s endpoint=%s", mon->name,
                      mdf_log_quote (q, sizeof q, endpoint ? endpoint : "?"));
            free (endpoint);
            s_refused (self, (s_reason_t)reason, where, detail);
        }
    }
    zmsg_destroy (&msg);
}

/* "MONITOR" endpoint name: connect a reader; answers with a signal (0 or 1).
 * false on $TERM. */
static bool
s_command (zsock_t *pipe, zpoller_t *poller, s_monitor_t *mons, size_t *nmons)
{
    char *cmd = NULL, *endpoint = NULL, *name = NULL;
    if (zstr_recvx (pipe, &cmd, &endpoint, &name, NULL) < 0 || !cmd) {
        zstr_free (&endpoint);
        zstr_free (&name);
        return zmq_errno () != ETERM; /* interrupted: go on */
    }
    bool term = streq (cmd, "$TERM");
    if (!term && streq (cmd, "MONITOR")) {
        zsock_t *pair = NULL;
        if (endpoint && name && *nmons < S_MONITORS_MAX) {
            pair = zsock_new (ZMQ_PAIR);
            if (pair && (zsock_connect (pair, "%s", endpoint) != 0 || zpoller_add (poller, pair)))
                zsock_destroy (&pair);
        }
        if (pair) {
            mons[*nmons].pair = pair;
            snprintf (mons[*nmons].name, sizeof mons[*nmons].name, "%s", name);
            (*nmons)++;
        }
        zsock_signal (pipe, pair ? 0 : 1);
    }
    zstr_free (&cmd);
    zstr_free (&endpoint);
    zstr_free (&name);
    return !term;
}

static void
s_block_signals (void)
{
    sigset_t set;
    sigemptyset (&set);
    sigaddset (&set, SIGHUP);
    sigaddset (&set, SIGINT);
    sigaddset (&set, SIGTERM);
    pthread_sigmask (SIG_BLOCK, &set, NULL);
}

static void
s_actor (zsock_t *pipe, mdf_actor_start_t *start, void *arg)
{
    store_auth_t *self = arg;
    s_block_signals ();
    zsock_t *zap = zsock_new (ZMQ_REP);
    if (!zap || zsock_bind (zap, ZAP_ENDPOINT) != 0) {
        mdf_actor_fail (start, "ZAP handler: cannot bind %s: %s", ZAP_ENDPOINT,
                        zmq_strerror (zmq_errno ()));
        zsock_destroy (&zap);
        return;
    }
    zpoller_t *poller = zpoller_new (pipe, zap, NULL);
    if (!poller) {
        mdf_actor_fail (start, "ZAP handler: cannot poll");
        zsock_destroy (&zap);
        return;
    }
    /* Only $TERM ends the handler, never czmq's interrupt flag (a SIGINT
     * caught by czmq's default handler would make every wait return at once). */
    zpoller_set_nonstop (poller, true);
    mdf_actor_ready (start);
    s_monitor_t mons[S_MONITORS_MAX];
    size_t nmons = 0;
    bool running = true;
    while (running) {
        void *which = zpoller_wait (poller, -1);
        if (which == zap)
            s_answer (self, zap);
        else if (which == pipe)
            running = s_command (pipe, poller, mons, &nmons);
        else if (which) {
            for (size_t i = 0; i < nmons; i++)
                if (which == mons[i].pair)
                    s_monitor_event (self, &mons[i]);
        } else
            running = zmq_errno () == EINTR; /* poll again; ETERM: the context ends */
    }
    zpoller_destroy (&poller);
    for (size_t i = 0; i < nmons; i++)
        zsock_destroy (&mons[i].pair);
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
    if (!self) {
        snprintf (err, errlen, "out of memory");
        return NULL;
    }
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
    if (!self->allowed) {
        snprintf (err, errlen, "security.authorized_keys_dir %s: cannot load the keys",
                  authorized_keys_dir);
        store_auth_destroy (&self);
        return NULL;
    }
    for (int r = 0; r < S_REASONS; r++)
        self->failures[r] = mdf_metrics_counter (
            metrics, "mds_auth_failures_total",
            "CURVE handshakes refused, by reason: key (not authorised), mechanism (client "
            "without CURVE), handshake (other failed CURVE handshakes), incomplete "
            "(connection ended mid-handshake)",
            "reason", s_reason_names[r], NULL);
    bool registered = true;
    for (int r = 0; r < S_REASONS; r++)
        registered = registered && self->failures[r];
    if (!registered) {
        snprintf (err, errlen, "cannot register mds_auth_failures_total");
        store_auth_destroy (&self);
        return NULL;
    }
    /* Fail closed: no handler, no CURVE sockets (libzmq would admit anyone). */
    self->zap = mdf_actor_new (s_actor, self, err, errlen);
    if (!self->zap) {
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

int
store_auth_apply (store_auth_t *self, zsock_t *sock, const char *name, char *err, size_t errlen)
{
    zcert_apply (self->cert, sock);
    zsock_set_curve_server (sock, 1);
    zsock_set_zap_domain (sock, S_ZAP_DOMAIN);
    /* Without a ZAP handler libzmq would let every CURVE client in: make it
     * refuse them instead, and check the library took the option. */
    void *handle = zsock_resolve (sock);
    int on = 1, got = 0;
    size_t len = sizeof got;
    if (zmq_setsockopt (handle, ZMQ_ZAP_ENFORCE_DOMAIN, &on, sizeof on) != 0
        || zmq_getsockopt (handle, ZMQ_ZAP_ENFORCE_DOMAIN, &got, &len) != 0 || got != 1) {
        snprintf (err, errlen, "%s: this libzmq cannot enforce ZAP (ZMQ_ZAP_ENFORCE_DOMAIN): %s",
                  name, zmq_strerror (zmq_errno ()));
        return -1;
    }
    char endpoint[80];
    snprintf (endpoint, sizeof endpoint, "inproc://mds-auth-monitor-%p-%u", (void *)self,
              self->monitors++);
    if (zmq_socket_monitor (handle, endpoint,
                            ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL
                                | ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL)
        != 0) {
        snprintf (err, errlen, "%s: cannot monitor the socket's handshakes: %s", name,
                  zmq_strerror (zmq_errno ()));
        return -1;
    }
    /* The reader must be connected before the first event: libzmq blocks on
     * a monitor event nobody reads. */
    if (zstr_sendx (self->zap, "MONITOR", endpoint, name, NULL) != 0
        || zsock_wait (self->zap) != 0) {
        zmq_socket_monitor (handle, NULL, 0);
        snprintf (err, errlen, "%s: cannot watch the socket's handshakes", name);
        return -1;
    }
    return 0;
}

void
store_auth_release (zsock_t *sock)
{
    if (sock)
        zmq_socket_monitor (zsock_resolve (sock), NULL, 0);
}

uint64_t
store_auth_failures (const store_auth_t *self)
{
    uint64_t total = 0;
    for (int r = 0; r < S_REASONS; r++)
        total += mdf_counter_value (self->failures[r]);
    return total;
}
