/*
 * sigbus: md-store's SIGBUS handler (sigbus.h).
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
#include "store/sigbus.h"

#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/log.h"

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
void
store_sigbus_install (const store_settings_t *s)
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
