/*
 * log: levelled logfmt lines to stderr.  See log.h.
 *
 * Design
 *   - The threshold and the output descriptor are the module's only state;
 *     both are C11 atomics, so any thread may log or change them without a lock.
 *   - A line is assembled in a stack buffer (MDF_LOG_LINE_MAX bytes) and
 *     written with one write(2): POSIX makes a single write to a pipe of at
 *     most PIPE_BUF bytes atomic, and for stderr on a terminal or file a single
 *     call is what keeps lines from different threads whole in practice.
 *   - Lines that do not fit are cut and end with ` truncated=true` so a reader
 *     knows; every line ends with exactly one '\n'.
 *   - Timestamps are wall-clock UTC with milliseconds (they leave the process);
 *     rate limiting uses the monotonic clock (it is arithmetic).
 *
 * Rate limiter invariant: `in_window` counts events let through since
 * `window_start_ms`; `suppressed` counts refusals since the last allowed event
 * and is handed to (and reset by) the next allowed one.  The window update is
 * guarded by a spin lock on `lock` (a handful of instructions, never held
 * across a call), the counters themselves are atomics.
 */
#include "common/log.h"

#include "common/clock.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#define MDF_LOG_LINE_MAX 4096

static _Atomic int s_level = MDF_LOG_INFO;
static _Atomic int s_fd = 2;

const char *const mdf_log_level_names[] = { "debug", "info", "warn", "error", NULL };

void
mdf_log_set_level (mdf_log_level_t level)
{
    if (level >= MDF_LOG_DEBUG && level <= MDF_LOG_ERROR)
        atomic_store (&s_level, (int)level);
}

mdf_log_level_t
mdf_log_get_level (void)
{
    return (mdf_log_level_t)atomic_load (&s_level);
}

int
mdf_log_level_parse (const char *text, mdf_log_level_t *out)
{
    if (!text)
        return -1;
    for (int i = MDF_LOG_DEBUG; i <= MDF_LOG_ERROR; i++)
        if (strcasecmp (text, mdf_log_level_names[i]) == 0) {
            *out = (mdf_log_level_t)i;
            return 0;
        }
    if (strcasecmp (text, "warning") == 0) {
        *out = MDF_LOG_WARN;
        return 0;
    }
    return -1;
}

const char *
mdf_log_level_name (mdf_log_level_t level)
{
    if (level < MDF_LOG_DEBUG || level > MDF_LOG_ERROR)
        return "unknown";
    return mdf_log_level_names[level];
}

void
mdf_log_set_fd (int fd)
{
    atomic_store (&s_fd, fd);
}

int
mdf_log_init_from_env (char *err, size_t errlen)
{
    const char *text = getenv ("MDF_LOG_LEVEL");
    if (!text || !*text)
        return 0;
    mdf_log_level_t level;
    if (mdf_log_level_parse (text, &level) != 0) {
        char quoted[128];
        if (err && errlen)
            snprintf (err, errlen, "MDF_LOG_LEVEL: unknown level %s (debug, info, warn, error)",
                      mdf_log_quote (quoted, sizeof quoted, text));
        return -1;
    }
    mdf_log_set_level (level);
    return 0;
}

/* A plain logfmt token: non-empty, printable, no space, quote, '=' or '\'. */
static bool
s_is_plain (const char *text)
{
    if (!*text)
        return false;
    for (const unsigned char *p = (const unsigned char *)text; *p; p++)
        if (*p <= 0x20 || *p >= 0x7f || *p == '"' || *p == '=' || *p == '\\')
            return false;
    return true;
}

/* Escape of one byte into esc (NUL-terminated, at most 4 chars + NUL). */
static void
s_escape_byte (unsigned char c, char esc[5])
{
    if (c == '"' || c == '\\')
        snprintf (esc, 5, "\\%c", c);
    else if (c == '\n')
        snprintf (esc, 5, "\\n");
    else if (c < 0x20 || c == 0x7f)
        snprintf (esc, 5, "\\x%02x", c);
    else
        snprintf (esc, 5, "%c", c);
}

const char *
mdf_log_quote (char *buf, size_t size, const char *text)
{
    if (!buf || size == 0)
        return "";
    if (!text)
        text = "";
    if (s_is_plain (text)) {
        snprintf (buf, size, "%s", text);
        return buf;
    }
    if (size < 3) {
        buf[0] = '\0';
        return buf;
    }
    /* Keep room for the closing quote and the NUL so a cut value stays logfmt. */
    size_t len = 0;
    buf[len++] = '"';
    for (const unsigned char *p = (const unsigned char *)text; *p; p++) {
        char esc[5];
        s_escape_byte (*p, esc);
        size_t n = strlen (esc);
        if (len + n + 2 > size)
            break;
        memcpy (buf + len, esc, n);
        len += n;
    }
    buf[len++] = '"';
    buf[len] = '\0';
    return buf;
}

/* "2026-11-22T22:30:01.123Z" into buf (at least 25 bytes). */
static void
s_timestamp (char *buf, size_t size)
{
    int64_t ns = mdf_wall_ns ();
    time_t secs = (time_t)(ns / 1000000000LL);
    int ms = (int)((ns / 1000000LL) % 1000);
    struct tm tm;
    gmtime_r (&secs, &tm);
    size_t n = strftime (buf, size, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf (buf + n, size - n, ".%03dZ", ms);
}

static void
s_write_all (int fd, const char *data, size_t len)
{
    /* One call for the whole line; loop only if the kernel takes part of it. */
    while (len > 0) {
        ssize_t n = write (fd, data, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return;
        data += n;
        len -= (size_t)n;
    }
}

void
mdf_logv (mdf_log_level_t level, const char *msg, const char *kv_fmt, va_list ap)
{
    if ((int)level < atomic_load (&s_level))
        return;
    static const char cut[] = " truncated=true\n";
    char line[MDF_LOG_LINE_MAX];
    char ts[32], qmsg[1024];
    s_timestamp (ts, sizeof ts);
    int n = snprintf (line, sizeof line, "ts=%s level=%s msg=%s", ts, mdf_log_level_name (level),
                      mdf_log_quote (qmsg, sizeof qmsg, msg ? msg : ""));
    size_t len = n < 0 ? 0 : (size_t)n;
    if (kv_fmt && *kv_fmt && len < sizeof line - 1) {
        line[len++] = ' ';
        n = vsnprintf (line + len, sizeof line - len, kv_fmt, ap);
        len += n < 0 ? 0 : (size_t)n;
    }
    /* Room for '\n' + NUL; otherwise cut and mark. */
    if (len + 2 > sizeof line) {
        len = sizeof line - sizeof cut;
        memcpy (line + len, cut, sizeof cut);
        len += sizeof cut - 1;
    } else {
        line[len++] = '\n';
        line[len] = '\0';
    }
    s_write_all (atomic_load (&s_fd), line, len);
}

void
mdf_log (mdf_log_level_t level, const char *msg, const char *kv_fmt, ...)
{
    va_list ap;
    va_start (ap, kv_fmt);
    mdf_logv (level, msg, kv_fmt, ap);
    va_end (ap);
}

/* ---- rate limiter ---- */

void
mdf_ratelimit_init (mdf_ratelimit_t *rl, int64_t interval_ms, uint32_t burst)
{
    rl->interval_ms = interval_ms;
    rl->burst = burst;
    atomic_init (&rl->window_start_ms, 0);
    atomic_init (&rl->in_window, 0);
    atomic_init (&rl->suppressed, 0);
    atomic_init (&rl->lock, 0);
    atomic_init (&rl->started, 0);
}

static void
s_lock (mdf_ratelimit_t *rl)
{
    int expected = 0;
    while (!atomic_compare_exchange_weak_explicit (&rl->lock, &expected, 1, memory_order_acquire,
                                                   memory_order_relaxed))
        expected = 0;
}

static void
s_unlock (mdf_ratelimit_t *rl)
{
    atomic_store_explicit (&rl->lock, 0, memory_order_release);
}

bool
mdf_ratelimit_allow_at (mdf_ratelimit_t *rl, int64_t now_ms, uint64_t *suppressed_out)
{
    s_lock (rl);
    int64_t start = atomic_load_explicit (&rl->window_start_ms, memory_order_relaxed);
    if (!atomic_load_explicit (&rl->started, memory_order_relaxed) || now_ms < start
        || now_ms - start >= rl->interval_ms) {
        atomic_store_explicit (&rl->started, 1, memory_order_relaxed);
        atomic_store_explicit (&rl->window_start_ms, now_ms, memory_order_relaxed);
        atomic_store_explicit (&rl->in_window, 0, memory_order_relaxed);
    }
    bool allow = atomic_load_explicit (&rl->in_window, memory_order_relaxed) < rl->burst;
    uint64_t held = 0;
    if (allow) {
        atomic_fetch_add_explicit (&rl->in_window, 1, memory_order_relaxed);
        held = atomic_exchange_explicit (&rl->suppressed, 0, memory_order_relaxed);
    } else
        atomic_fetch_add_explicit (&rl->suppressed, 1, memory_order_relaxed);
    s_unlock (rl);
    if (suppressed_out)
        *suppressed_out = held;
    return allow;
}

bool
mdf_ratelimit_allow (mdf_ratelimit_t *rl, uint64_t *suppressed_out)
{
    return mdf_ratelimit_allow_at (rl, mdf_mono_ms (), suppressed_out);
}
