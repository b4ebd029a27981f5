/*
 * service_main: see service_main.h.
 *
 * The flag is the only global; the handler only stores the signal number.
 * The saved mask (from before mdf_service_signals blocked the three) is what
 * mdf_service_unblock restores and what mdf_service_wait's sigsuspend sleeps
 * with, so a signal that arrives between the flag's check and the sleep
 * stays pending until the sleep, and wakes it.
 */
#include "common/service_main.h"

#include <czmq.h>
#include <getopt.h>
#include <malloc.h>
#include <pthread.h>
#include <string.h>

#include "common/log.h"
#include "common/malloc_tune.h"

#ifndef MDF_VERSION
#define MDF_VERSION "0.0.0"
#endif

static volatile sig_atomic_t s_flag = 0;
static sigset_t s_unblocked; /* the mask before mdf_service_signals */

void
mdf_service_init (void)
{
    mdf_malloc_tune (); /* before any thread starts */
    /* Keep the heap: every batch allocates and frees tens of KiB (the
     * received message, the decoded bars, the encoded body; often on
     * different threads), and with glibc's defaults those frees trim the heap
     * and map it back in, batch after batch; each trim flushes the TLB of
     * every CPU, which cost more than the decoding (docs/ARCHITECTURE.md,
     * "Path of a bar").  Memory stays bounded by the queue's capacity and
     * the pipeline's window; freed memory is kept for the next batches. */
    mallopt (M_MMAP_THRESHOLD, 32 << 20);
    mallopt (M_TRIM_THRESHOLD, 64 << 20);
}

void
mdf_service_usage (const mdf_service_t *svc, FILE *out)
{
    fprintf (out,
             "usage: %s %s [--check-config]\n"
             "       %s --version | --help\n\n"
             "  -c, --config FILE   %s\n"
             "      --check-config  validate the settings, print them with their origin, exit\n"
             "  -V, --version       print the version\n"
             "  -h, --help          this text and the configuration reference\n\n"
             "Every key can be overridden by %s_<SECTION>_<KEY>, e.g. %s.\n"
             "Signals: SIGHUP reloads the keys marked live below; SIGTERM/SIGINT stop.\n"
             "Exit codes: %s\n\n",
             svc->name, svc->config_required ? "--config FILE" : "[--config FILE]", svc->name,
             svc->config_help, svc->env_prefix, svc->env_example, svc->exit_codes);
}

static int
s_bad_usage (const mdf_service_t *svc, const char *what, const char *arg)
{
    if (arg)
        fprintf (stderr, "%s: %s '%s'\n", svc->name, what, arg);
    else
        fprintf (stderr, "%s: %s\n", svc->name, what);
    mdf_service_usage (svc, stderr);
    return 2;
}

int
mdf_service_args (const mdf_service_t *svc, int argc, char **argv, mdf_service_args_t *args)
{
    static const struct option opts[] = { { "config", required_argument, NULL, 'c' },
                                          { "check-config", no_argument, NULL, 'k' },
                                          { "version", no_argument, NULL, 'V' },
                                          { "help", no_argument, NULL, 'h' },
                                          { NULL, 0, NULL, 0 } };
    memset (args, 0, sizeof *args);
    opterr = 0; /* reported below, in one shape */
    optind = 1;
    int c;
    while ((c = getopt_long (argc, argv, ":c:Vh", opts, NULL)) != -1) {
        switch (c) {
        case 'c':
            args->config = optarg;
            break;
        case 'k':
            args->check = true;
            break;
        case 'V':
            printf ("%s %s\n", svc->name, MDF_VERSION);
            return 1;
        case 'h':
            mdf_service_usage (svc, stdout);
            mdf_cfg_print_schema_reference (svc->schema, svc->config_name, stdout);
            return 1;
        case ':':
            return s_bad_usage (svc, "missing the value of", argv[optind - 1]);
        default:
            return s_bad_usage (svc, "unexpected argument", argv[optind - 1]);
        }
    }
    if (optind < argc)
        return s_bad_usage (svc, "unexpected argument", argv[optind]);
    if (svc->config_required && !args->config)
        return s_bad_usage (svc, "--config FILE is required", NULL);
    return 0;
}

void
mdf_service_check_ok (const mdf_service_args_t *args)
{
    printf ("# %s: configuration ok\n", args->config ? args->config : "(no file)");
}

static void
s_on_signal (int sig)
{
    s_flag = sig;
}

static void
s_signal_set (sigset_t *set)
{
    sigemptyset (set);
    sigaddset (set, SIGTERM);
    sigaddset (set, SIGINT);
    sigaddset (set, SIGHUP);
}

void
mdf_service_signals (void)
{
    sigset_t set;
    s_signal_set (&set);
    pthread_sigmask (SIG_BLOCK, &set, &s_unblocked);
    sigdelset (&s_unblocked, SIGTERM);
    sigdelset (&s_unblocked, SIGINT);
    sigdelset (&s_unblocked, SIGHUP);
    struct sigaction sa;
    memset (&sa, 0, sizeof sa);
    sa.sa_handler = s_on_signal; /* no SA_RESTART: a poll(2) returns EINTR */
    sigemptyset (&sa.sa_mask);
    sigaction (SIGTERM, &sa, NULL);
    sigaction (SIGINT, &sa, NULL);
    sigaction (SIGHUP, &sa, NULL);
    signal (SIGPIPE, SIG_IGN);
    zsys_handler_set (NULL); /* ours, not czmq's */
}

void
mdf_service_unblock (void)
{
    pthread_sigmask (SIG_SETMASK, &s_unblocked, NULL);
}

volatile sig_atomic_t *
mdf_service_flag (void)
{
    return &s_flag;
}

int
mdf_service_wait (void)
{
    while (s_flag == 0)
        sigsuspend (&s_unblocked); /* returns after the handler ran */
    int sig = s_flag;
    s_flag = 0;
    return sig;
}

void
mdf_service_log_stop (int sig)
{
    mdf_info ("stopping", "signal=%s", sig == SIGINT ? "SIGINT" : "SIGTERM");
}
