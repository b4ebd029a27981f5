/*
 * curve: --curve-secret / --curve-server-key for mdctl's sockets (mdctl.h).
 * Keys are read with czmq's zcert and set with plain zmq_setsockopt, since
 * mdctl's sockets are raw libzmq sockets.
 */
#include "tools/mdctl/mdctl.h"

#include <czmq.h>
#include <string.h>

static int
s_server_key (const char *cmd, const char *text, char out[41])
{
    uint8_t bin[32];
    if (strlen (text) == 40 && zmq_z85_decode (bin, text)) {
        memcpy (out, text, 41);
        return 0;
    }
    zcert_t *cert = zcert_load (text);
    if (!cert) {
        mdctl_fail (cmd, "--curve-server-key: neither a Z85 key nor a readable cert file: %s",
                    text);
        return -1;
    }
    snprintf (out, 41, "%s", zcert_public_txt (cert));
    zcert_destroy (&cert);
    return 0;
}

int
mdctl_curve_apply (const char *cmd, void *sock, const char *secret_file, const char *server_key,
                   bool server)
{
    if (!secret_file && !server_key)
        return 0;
    if (!secret_file || (!server && !server_key)) {
        mdctl_fail (cmd, "--curve-secret and --curve-server-key go together");
        return -1;
    }
    zcert_t *cert = zcert_load (secret_file);
    if (!cert) {
        mdctl_fail (cmd, "--curve-secret: cannot read a zcert secret file: %s", secret_file);
        return -1;
    }
    int rc = 0;
    if (server) {
        int on = 1;
        rc |= zmq_setsockopt (sock, ZMQ_CURVE_SERVER, &on, sizeof on);
        rc |= zmq_setsockopt (sock, ZMQ_CURVE_SECRETKEY, zcert_secret_txt (cert), 41);
    } else {
        char key[41];
        rc = s_server_key (cmd, server_key, key);
        if (rc == 0) {
            rc |= zmq_setsockopt (sock, ZMQ_CURVE_PUBLICKEY, zcert_public_txt (cert), 41);
            rc |= zmq_setsockopt (sock, ZMQ_CURVE_SECRETKEY, zcert_secret_txt (cert), 41);
            rc |= zmq_setsockopt (sock, ZMQ_CURVE_SERVERKEY, key, 41);
        }
    }
    zcert_destroy (&cert);
    return rc == 0 ? 0 : -1;
}
