/*
 * curve: loading and applying the pipeline's CURVE client keys (see curve.h).
 */
#include "pipeline/curve.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

static bool
s_z85_key (const char *txt)
{
    uint8_t bin[32];
    return txt && strlen (txt) == 40 && zmq_z85_decode (bin, txt) != NULL;
}

static int
s_readable (const mdf_cfg_t *cfg, const char *key, const char *path, char *err, size_t errlen)
{
    if (!*path)
        return mdf_cfg_fail (cfg, key, err, errlen, "%s is empty but security.curve is true", key);
    if (access (path, R_OK) != 0)
        return mdf_cfg_fail (cfg, key, err, errlen, "%s: cannot read \"%s\": %s", key, path,
                             strerror (errno));
    return 0;
}

static int
s_server_key (mdp_curve_t *c, const mdf_cfg_t *cfg, const char *text, const char *file, char *err,
              size_t errlen)
{
    if (*text) {
        if (!s_z85_key (text))
            return mdf_cfg_fail (cfg, "security.server_public_key", err, errlen,
                                 "security.server_public_key: not a 40-character Z85 key");
        snprintf (c->server_txt, sizeof c->server_txt, "%s", text);
        return 0;
    }
    if (!*file)
        return mdf_cfg_fail (cfg, "security.curve", err, errlen,
                             "security.curve is true but neither security.server_public_key "
                             "nor security.server_public_key_file is set");
    if (s_readable (cfg, "security.server_public_key_file", file, err, errlen))
        return -1;
    zcert_t *cert = zcert_load (file);
    if (!cert || !s_z85_key (zcert_public_txt (cert))) {
        zcert_destroy (&cert);
        return mdf_cfg_fail (cfg, "security.server_public_key_file", err, errlen,
                             "security.server_public_key_file: \"%s\" is not a zcert file", file);
    }
    snprintf (c->server_txt, sizeof c->server_txt, "%s", zcert_public_txt (cert));
    zcert_destroy (&cert);
    return 0;
}

int
mdp_curve_load (mdp_curve_t *c, const mdf_cfg_t *cfg, bool curve, const char *secret_key_file,
                const char *server_public_key, const char *server_public_key_file, char *err,
                size_t errlen)
{
    memset (c, 0, sizeof *c);
    if (!curve)
        return 0;
    if (s_readable (cfg, "security.secret_key_file", secret_key_file, err, errlen))
        return -1;
    zcert_t *cert = zcert_load (secret_key_file);
    const char *zero = "0000000000000000000000000000000000000000";
    if (!cert || !s_z85_key (zcert_secret_txt (cert)) || !strcmp (zcert_secret_txt (cert), zero)) {
        zcert_destroy (&cert);
        return mdf_cfg_fail (cfg, "security.secret_key_file", err, errlen,
                             "security.secret_key_file: \"%s\" is not a zcert secret file",
                             secret_key_file);
    }
    snprintf (c->public_txt, sizeof c->public_txt, "%s", zcert_public_txt (cert));
    snprintf (c->secret_txt, sizeof c->secret_txt, "%s", zcert_secret_txt (cert));
    zcert_destroy (&cert);
    if (s_server_key (c, cfg, server_public_key, server_public_key_file, err, errlen))
        return -1;
    c->on = true;
    return 0;
}

void
mdp_curve_apply (const mdp_curve_t *c, zsock_t *sock)
{
    if (!c || !c->on)
        return;
    zsock_set_curve_publickey (sock, c->public_txt);
    zsock_set_curve_secretkey (sock, c->secret_txt);
    zsock_set_curve_serverkey (sock, c->server_txt);
}
