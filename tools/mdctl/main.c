/*
 * mdctl: operator tool of mdflow — dispatch to one subcommand.
 *
 *   mdctl watch ENDPOINT...          live view of the stores' feedback
 *   mdctl publish ENDPOINT --level L publish test feedback events
 *   mdctl send ENDPOINT FILE.csv     send bars from a CSV file, with acks
 *   mdctl record --feedback EP ...   sample feedback and metrics into a CSV
 *   mdctl plot run.csv --out run.png draw a recording with gnuplot
 *
 * main only finds the subcommand, sets up what every subcommand shares (the
 * signal flag, libcurl's global state) and returns the subcommand's exit code:
 * 0 done, 1 runtime failure, 2 bad usage or input.
 */
#include "tools/mdctl/mdctl.h"

#include <curl/curl.h>
#include <string.h>

#ifndef MDF_VERSION
#define MDF_VERSION "0.0.0"
#endif

typedef struct {
    const char *name;
    int (*run) (int argc, char **argv);
    const char *summary;
} mdctl_cmd_t;

static const mdctl_cmd_t s_cmds[] = {
    { "watch", mdctl_watch_main, "live view of feedback events (dashboard or plain lines)" },
    { "publish", mdctl_publish_main, "bind an XPUB and publish test feedback events" },
    { "send", mdctl_send_main, "send a CSV file of bars to a store, with acks" },
    { "record", mdctl_record_main, "sample feedback and metrics over time into a CSV" },
    { "plot", mdctl_plot_main, "plot a recording (queue, watermarks, level, rates) with gnuplot" },
    { "keygen", mdctl_keygen_main, "write a CurveZMQ keypair (NAME.key, NAME.key_secret)" },
};

static void
s_usage (FILE *out)
{
    fputs ("usage: mdctl COMMAND [ARGS...]\n"
           "       mdctl COMMAND --help | mdctl --help | mdctl --version\n\n"
           "Operator tool of mdflow (md-store, md-pipeline).\n\ncommands:\n",
           out);
    for (size_t i = 0; i < sizeof s_cmds / sizeof s_cmds[0]; i++)
        fprintf (out, "  %-8s %s\n", s_cmds[i].name, s_cmds[i].summary);
    fputs ("\nexit codes: 0 done, 1 runtime failure, 2 bad usage or input file\n", out);
}

int
main (int argc, char **argv)
{
    if (argc < 2) {
        s_usage (stderr);
        return MDCTL_EXIT_USAGE;
    }
    if (strcmp (argv[1], "--help") == 0 || strcmp (argv[1], "-h") == 0
        || strcmp (argv[1], "help") == 0) {
        s_usage (stdout);
        return MDCTL_EXIT_OK;
    }
    if (strcmp (argv[1], "--version") == 0 || strcmp (argv[1], "version") == 0) {
        printf ("mdctl %s\n", MDF_VERSION);
        return MDCTL_EXIT_OK;
    }
    for (size_t i = 0; i < sizeof s_cmds / sizeof s_cmds[0]; i++) {
        if (strcmp (argv[1], s_cmds[i].name) != 0)
            continue;
        mdctl_signals_install ();
        curl_global_init (CURL_GLOBAL_DEFAULT);
        int rc = s_cmds[i].run (argc - 1, argv + 1);
        curl_global_cleanup ();
        return rc;
    }
    fprintf (stderr, "mdctl: unknown command '%s'\n", argv[1]);
    s_usage (stderr);
    return MDCTL_EXIT_USAGE;
}
