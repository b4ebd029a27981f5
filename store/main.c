/*
 * md-store: receives bars, queues them, writes them to a sink, and publishes
 * its backpressure level (docs/ARCHITECTURE.md).  This file is the table of contents:
 * arguments -> settings -> app -> run until a signal -> drain -> exit.
 *
 * Exit codes: 0 after a clean drain, 1 runtime failure (cannot bind, drain
 * timed out), 2 bad usage or configuration.
 * Signals: SIGTERM/SIGINT drain and exit; SIGHUP reloads the live keys.
 * The signal flag is the program's only global, besides the line SIGBUS
 * writes.
 *
 * SIGBUS: SQLite maps the -shm file beside the database into memory; when
 * another process truncates it (or it becomes unwritable) the next access
 * raises SIGBUS, which cannot be turned back into an error inside SQLite.
 * The handler writes one log line naming the likely cause and the database
 * path (prepared at start; the handler only formats the time and calls
 * write(2), both async-signal-safe) and exits with status 1.  Nothing is
 * lost: only committed batches were acked, and a restart rebuilds the index
 * from the -wal.  (The sink checks the -shm's size before touching it, so a
 * truncation between writes is a plain sink error; see sink_sqlite.c.)
 */
#include <curl/curl.h>
#include <czmq.h>
#include <limits.h>
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/log.h"
#include "common/malloc_tune.h"
#include "store/app.h"
#include "store/settings.h"

static volatile sig_atomic_t s_signal = 0;

static void
s_on_signal (int sig)
{
    s_signal = sig;
}

/* The SIGBUS log line after "ts=... ", prepared at start. */
static char s_bus_line[3072];
static size_t s_bus_len;

/* Digits of v (>= 0), zero-padded to `width`, at p; returns the end. */
static char *
s_put_num (char *p, long v, int width)
{
    char tmp[24];
    int n = 0;
    do
        tmp[n++] = (char)('0' + v % 10);
    while ((v /= 10) > 0 && n < 20);
    while (n < width)
        tmp[n++] = '0';
    while (n > 0)
        *p++ = tmp[--n];
    return p;
}

/* "ts=2026-11-22T22:30:01.123Z " like the log module, without gmtime (not
 * async-signal-safe): civil date from days since the epoch. */
static char *
s_put_ts (char *p)
{
    struct timespec now;
    clock_gettime (CLOCK_REALTIME, &now);
    long days = (long)(now.tv_sec / 86400), secs = (long)(now.tv_sec % 86400);
    long z = days + 719468, era = z / 146097, doe = z - era * 146097;
    long yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    long doy = doe - (365 * yoe + yoe / 4 - yoe / 100), mp = (5 * doy + 2) / 153;
    long d = doy - (153 * mp + 2) / 5 + 1, m = mp < 10 ? mp + 3 : mp - 9;
    long y = yoe + era * 400 + (m <= 2);
    memcpy (p, "ts=", 3), p += 3;
    p = s_put_num (p, y, 4), *p++ = '-', p = s_put_num (p, m, 2), *p++ = '-';
    p = s_put_num (p, d, 2), *p++ = 'T', p = s_put_num (p, secs / 3600, 2), *p++ = ':';
    p = s_put_num (p, secs / 60 % 60, 2), *p++ = ':', p = s_put_num (p, secs % 60, 2);
    *p++ = '.', p = s_put_num (p, now.tv_nsec / 1000000, 3);
    memcpy (p, "Z ", 2);
    return p + 2;
}

static void
s_on_bus (int sig, siginfo_t *info, void *ctx)
{
    (void)sig, (void)ctx;
    char line[sizeof s_bus_line + 96];
    char *p = s_put_ts (line);
    memcpy (p, s_bus_line, s_bus_len), p += s_bus_len;
    const char *code = info->si_code == BUS_ADRERR   ? "adrerr"
                       : info->si_code == BUS_OBJERR ? "objerr"
                       : info->si_code == BUS_ADRALN ? "adraln"
                       : info->si_code <= 0          ? "sent_by_a_process"
                                                     : "other";
    memcpy (p, " code=", 6), p += 6;
    memcpy (p, code, strlen (code)), p += strlen (code);
    *p++ = '\n';
    ssize_t w = write (2, line, (size_t)(p - line));
    (void)w;
    _exit (1);
}

/* Prepare the SIGBUS line (the database path made absolute) and install. */
static void
s_install_bus (const store_settings_t *s)
{
    bool sqlite = !strcmp (s->sink_type, "sqlite");
    char path[PATH_MAX + 2048] = "-", cwd[PATH_MAX] = "";
    if (sqlite && s->sink_path[0] != '/' && getcwd (cwd, sizeof cwd))
        snprintf (path, sizeof path, "%s/%s", cwd, s->sink_path);
    else if (sqlite)
        snprintf (path, sizeof path, "%s", s->sink_path);
    char q[sizeof path + 64];
    int n = snprintf (
        s_bus_line, sizeof s_bus_line,
        "level=error msg=\"fatal SIGBUS: a memory-mapped file was truncated or became "
        "unwritable, exiting\" likely_cause=%s path=%s exit_status=1",
        sqlite ? "\"the SQLite -shm file beside the database was truncated, deleted or made "
                 "read-only by another process (acked batches are safe: a restart rebuilds "
                 "it)\""
               : "\"a memory-mapped file was truncated by another process\"",
        mdf_log_quote (q, sizeof q, path));
    s_bus_len = n < 0 ? 0 : (size_t)n < sizeof s_bus_line ? (size_t)n : sizeof s_bus_line - 1;
    struct sigaction sa;
    memset (&sa, 0, sizeof sa);
    sa.sa_sigaction = s_on_bus;
    sa.sa_flags = SA_SIGINFO | SA_RESETHAND; /* a fault in the handler ends the process */
    sigemptyset (&sa.sa_mask);
    sigaction (SIGBUS, &sa, NULL);
}

static void
s_usage (FILE *out)
{
    fprintf (out, "usage: md-store [--config FILE] [--check-config] [--version] [--help]\n\n"
                  "  --config FILE    TOML settings (default: built-in defaults + environment)\n"
                  "  --check-config   validate the settings, print them with their origin, exit\n"
                  "  --version        print the version\n"
                  "  --help           this text and the configuration reference\n\n"
                  "Every key can be overridden by MDS_<SECTION>_<KEY>, e.g. "
                  "MDS_QUEUE_CAPACITY=20000.\n\n");
}

static void
s_install_signals (void)
{
    struct sigaction sa;
    memset (&sa, 0, sizeof sa);
    sa.sa_handler = s_on_signal; /* no SA_RESTART: the poll wakes up */
    sigemptyset (&sa.sa_mask);
    sigaction (SIGTERM, &sa, NULL);
    sigaction (SIGINT, &sa, NULL);
    sigaction (SIGHUP, &sa, NULL);
    signal (SIGPIPE, SIG_IGN);
}

/* Parse argv; returns -1 to exit 0 (help/version), 2 on bad usage, else 0. */
static int
s_args (int argc, char **argv, const char **config, bool *check)
{
    for (int i = 1; i < argc; i++) {
        if (!strcmp (argv[i], "--config") && i + 1 < argc)
            *config = argv[++i];
        else if (!strncmp (argv[i], "--config=", 9))
            *config = argv[i] + 9;
        else if (!strcmp (argv[i], "--check-config"))
            *check = true;
        else if (!strcmp (argv[i], "--version")) {
            printf ("md-store %s\n", MDF_VERSION);
            return -1;
        } else if (!strcmp (argv[i], "--help") || !strcmp (argv[i], "-h")) {
            s_usage (stdout);
            mdf_cfg_print_schema_reference (&store_settings_schema, "store.toml", stdout);
            return -1;
        } else {
            fprintf (stderr, "md-store: unexpected argument '%s'\n", argv[i]);
            s_usage (stderr);
            return 2;
        }
    }
    return 0;
}

static void
s_apply_live (void *arg, const void *running, const mdf_cfg_changes_t *changes)
{
    (void)running;
    (void)changes;
    store_app_apply_live (arg);
}

static void
s_reload (store_app_t *app, const char *path, store_settings_t *running)
{
    mdf_cfg_reloader_t r = { &store_settings_schema,
                             sizeof (store_settings_t),
                             store_settings_load_any,
                             store_settings_free_any,
                             s_apply_live,
                             app };
    char err[1024];
    mdf_cfg_reload (&r, path, running, NULL, err, sizeof err); /* logs either way */
}

int
main (int argc, char **argv)
{
    mdf_malloc_tune (); /* before any thread starts */
    const char *path = NULL;
    bool check = false;
    int rc = s_args (argc, argv, &path, &check);
    if (rc != 0)
        return rc < 0 ? 0 : rc;
    store_settings_t settings;
    char err[1024];
    mdf_cfg_t *cfg = store_settings_load (path, &settings, err, sizeof err);
    if (!cfg) {
        fprintf (stderr, "md-store: %s\n", err);
        store_settings_free (&settings);
        return 2;
    }
    if (check) {
        mdf_cfg_dump (cfg, &settings, stdout);
        printf ("# configuration ok\n");
        mdf_cfg_destroy (&cfg);
        store_settings_free (&settings);
        return 0;
    }
    mdf_log_level_t level;
    if (mdf_log_level_parse (settings.log_level, &level) == 0)
        mdf_log_set_level (level);
    /* Keep the heap: every batch allocates and frees tens of KiB (the
     * received message, the decoded bars), and with glibc's defaults those
     * frees trim the heap and map it back in, batch after batch; each trim
     * flushes the TLB of every CPU, which cost more than the decoding
     * (docs/ARCHITECTURE.md, "Path of a bar").  Memory stays bounded by the
     * queue's capacity; freed memory is kept for the next batches. */
    mallopt (M_MMAP_THRESHOLD, 32 << 20);
    mallopt (M_TRIM_THRESHOLD, 64 << 20);
    zsys_handler_set (NULL); /* our handler, not czmq's */
    s_install_signals ();
    s_install_bus (&settings);
    curl_global_init (CURL_GLOBAL_DEFAULT);
    store_app_t *app = store_app_new (&settings, err, sizeof err);
    if (!app) {
        char q[1100];
        mdf_error ("cannot start", "error=%s", mdf_log_quote (q, sizeof q, err));
        rc = 1;
    } else {
        int sig;
        while ((sig = store_app_run (app, &s_signal)) == SIGHUP)
            s_reload (app, path, &settings);
        mdf_info ("signal received, shutting down", "signal=%s", sig == SIGINT ? "INT" : "TERM");
        rc = store_app_drain (app) == 0 ? 0 : 1;
        store_app_destroy (&app);
    }
    mdf_cfg_destroy (&cfg);
    store_settings_free (&settings);
    curl_global_cleanup ();
    zsys_shutdown ();
    return rc;
}
