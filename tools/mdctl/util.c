/*
 * util: small helpers every mdctl subcommand uses.
 *
 * The only global of the program lives here: the signal flag.  SIGINT/SIGTERM
 * set it and nothing else; loops poll with bounded timeouts and check it, so
 * Ctrl-C always ends a subcommand cleanly (sockets closed, files flushed).
 * Handlers are installed without SA_RESTART so a blocking zmq_poll or
 * waitpid returns EINTR at once.
 */
#include "tools/mdctl/mdctl.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/hostport.h"

static volatile sig_atomic_t s_interrupted = 0;

static void
s_on_signal (int sig)
{
    (void)sig;
    s_interrupted = 1;
}

void
mdctl_signals_install (void)
{
    struct sigaction sa;
    memset (&sa, 0, sizeof sa);
    sa.sa_handler = s_on_signal;
    sigemptyset (&sa.sa_mask);
    sa.sa_flags = 0;
    sigaction (SIGINT, &sa, NULL);
    sigaction (SIGTERM, &sa, NULL);
    signal (SIGPIPE, SIG_IGN);
}

bool
mdctl_interrupted (void)
{
    return s_interrupted != 0;
}

int
mdctl_parse_i64 (const char *text, int64_t min, int64_t max, int64_t *out)
{
    if (!text || !*text || isspace ((unsigned char)*text))
        return -1;
    char *end = NULL;
    errno = 0;
    long long v = strtoll (text, &end, 10);
    if (errno || *end || v < min || v > max)
        return -1;
    *out = v;
    return 0;
}

int
mdctl_parse_f64 (const char *text, double min, double max, double *out)
{
    if (!text || !*text || isspace ((unsigned char)*text))
        return -1;
    char *end = NULL;
    errno = 0;
    double v = strtod (text, &end);
    if (errno || *end || !isfinite (v) || v < min || v > max)
        return -1;
    *out = v;
    return 0;
}

int
mdctl_usage_error (const char *cmd, const char *fmt, ...)
{
    va_list ap;
    va_start (ap, fmt);
    fprintf (stderr, "mdctl %s: ", cmd);
    vfprintf (stderr, fmt, ap);
    fprintf (stderr, "\nTry 'mdctl %s --help'.\n", cmd);
    va_end (ap);
    return MDCTL_EXIT_USAGE;
}

void
mdctl_fail (const char *cmd, const char *fmt, ...)
{
    va_list ap;
    va_start (ap, fmt);
    fprintf (stderr, "mdctl %s: ", cmd);
    vfprintf (stderr, fmt, ap);
    fputc ('\n', stderr);
    va_end (ap);
}

const char *
mdctl_fmt_wall (double ts, bool time_only, char *buf, size_t size)
{
    if (!isfinite (ts) || ts < 0)
        ts = 0;
    time_t secs = (time_t)ts;
    int ms = (int)((ts - (double)secs) * 1000.0);
    if (ms > 999)
        ms = 999;
    struct tm tm;
    gmtime_r (&secs, &tm);
    if (time_only)
        snprintf (buf, size, "%02d:%02d:%02d.%03d", tm.tm_hour, tm.tm_min, tm.tm_sec, ms);
    else
        snprintf (buf, size, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                  tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ms);
    return buf;
}

int
mdctl_http_url (const char *hostport, const char *path, char *buf, size_t size, char *err,
                size_t errlen)
{
    char host[256];
    int port = 0;
    if (mdf_hostport_split (hostport, host, sizeof host, &port) != 0 || port < 1) {
        snprintf (err, errlen, "'%s' is not HOST:PORT", hostport ? hostport : "");
        return -1;
    }
    if ((size_t)snprintf (buf, size, "http://%s%s", hostport, path) >= size) {
        snprintf (err, errlen, "'%s' is too long", hostport);
        return -1;
    }
    return 0;
}

const char *
mdctl_quote (const char *text, char *buf, size_t size)
{
    if (size == 0)
        return buf;
    if (!text || !*text) {
        snprintf (buf, size, "-");
        return buf;
    }
    bool plain = true;
    for (const char *p = text; *p; p++)
        if (*p <= ' ' || *p == '"' || *p == '=' || *p == '\\' || (unsigned char)*p >= 0x7f)
            plain = false;
    if (plain) {
        snprintf (buf, size, "%s", text);
        return buf;
    }
    size_t o = 0;
    buf[o++] = '"';
    for (const char *p = text; *p && o + 4 < size; p++) {
        unsigned char c = (unsigned char)*p;
        if (c == '"' || c == '\\') {
            buf[o++] = '\\';
            buf[o++] = (char)c;
        } else if (c < ' ' || c == 0x7f) {
            o += (size_t)snprintf (buf + o, size - o, "\\x%02x", c);
        } else {
            buf[o++] = (char)c;
        }
    }
    if (o + 1 < size)
        buf[o++] = '"';
    buf[o < size ? o : size - 1] = '\0';
    return buf;
}

const char *
mdctl_opt_name (const struct option *opts, int val)
{
    for (; opts->name; opts++)
        if (opts->val == val)
            return opts->name;
    return "?";
}
