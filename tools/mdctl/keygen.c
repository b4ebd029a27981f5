/*
 * keygen: `mdctl keygen NAME [--dir DIR]` writes a CurveZMQ keypair in czmq's
 * zcert format: DIR/NAME.key (public: copy it into the store's
 * authorized_keys_dir, or give it to pipelines as server_public_key_file) and
 * DIR/NAME.key_secret (keep private: the secret_key_file of its owner).
 * The public key is also printed as Z85 text (for server_public_key).
 * Existing files are never overwritten (exit 1).
 */
#include "tools/mdctl/mdctl.h"

#include <czmq.h>
#include <getopt.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static void
s_help (FILE *out)
{
    fputs ("usage: mdctl keygen NAME [--dir DIR]\n\n"
           "Write a CurveZMQ keypair: DIR/NAME.key (public) and DIR/NAME.key_secret\n"
           "(secret, mode 0600), and print the public key (Z85).  DIR defaults to \".\".\n",
           out);
}

int
mdctl_keygen_main (int argc, char **argv)
{
    static const struct option longopts[]
        = { { "dir", required_argument, NULL, 'd' }, { "help", no_argument, NULL, 'h' }, { 0 } };
    const char *dir = ".";
    int opt;
    while ((opt = getopt_long (argc, argv, "h", longopts, NULL)) != -1) {
        if (opt == 'd')
            dir = optarg;
        else if (opt == 'h') {
            s_help (stdout);
            return MDCTL_EXIT_OK;
        } else
            return MDCTL_EXIT_USAGE;
    }
    if (optind + 1 != argc || !*argv[optind] || strchr (argv[optind], '/'))
        return mdctl_usage_error ("keygen", "one NAME (without '/') is required");
    char path[4096], secret[4200];
    snprintf (path, sizeof path, "%s/%s.key", dir, argv[optind]);
    snprintf (secret, sizeof secret, "%s_secret", path);
    if (access (path, F_OK) == 0 || access (secret, F_OK) == 0) {
        mdctl_fail ("keygen", "%s or %s already exists", path, secret);
        return MDCTL_EXIT_FAIL;
    }
    zcert_t *cert = zcert_new ();
    if (!cert) {
        mdctl_fail ("keygen", "cannot generate a keypair");
        return MDCTL_EXIT_FAIL;
    }
    zcert_set_meta (cert, "name", "%s", argv[optind]);
    mode_t old = umask (077);
    int rc = zcert_save (cert, path);
    umask (old);
    if (rc != 0) {
        mdctl_fail ("keygen", "cannot write %s: %s", path, strerror (errno));
        zcert_destroy (&cert);
        return MDCTL_EXIT_FAIL;
    }
    chmod (path, 0644);
    printf ("%s\n", zcert_public_txt (cert));
    zcert_destroy (&cert);
    return MDCTL_EXIT_OK;
}
