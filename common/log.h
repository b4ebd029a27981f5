/*
 * log: levelled logging to stderr in logfmt.
 *
 *   ts=2026-11-22T22:30:01.123Z level=warn msg="batch rejected" producer=p1 batch_seq=7
 *
 * One line per call, written with a single write(2) so lines from different
 * threads never interleave.  The level is process-wide (an atomic), set from
 * config (`[log] level`) or the environment (MDF_LOG_LEVEL) by the service.
 *
 * The key=value tail is a printf format the caller writes; values that may hold
 * spaces, quotes or '=' go through mdf_log_quote() so the line stays logfmt.
 *
 * mdf_ratelimit_t keeps hostile or repeated input from flooding the log: the
 * first event of a burst is logged with context, the rest are counted and
 * summarised ("suppressed=N") when the next one is let through.
 */
#ifndef MDF_LOG_H
#define MDF_LOG_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum {
    MDF_LOG_DEBUG = 0,
    MDF_LOG_INFO = 1,
    MDF_LOG_WARN = 2,
    MDF_LOG_ERROR = 3,
} mdf_log_level_t;

/* Set / read the process-wide threshold (default INFO). Thread-safe. */
void mdf_log_set_level (mdf_log_level_t level);
mdf_log_level_t mdf_log_get_level (void);

/* Parse "debug", "info", "warn"/"warning", "error" (case-insensitive).
 * Returns 0 and sets *out, or -1 for anything else. */
int mdf_log_level_parse (const char *text, mdf_log_level_t *out);

/* The levels' names, in order, NULL-terminated (what configuration tables
 * accept for log.level). */
extern const char *const mdf_log_level_names[];

/* Name of a level as written in the log: "debug", "info", "warn", "error". */
const char *mdf_log_level_name (mdf_log_level_t level);

/* Redirect output to a file descriptor (default 2, stderr); for tests. */
void mdf_log_set_fd (int fd);

/* Log `msg` (quoted as needed) at `level`, followed by the key=value pairs
 * made from `kv_fmt` (may be NULL). Lines longer than 4 KiB are truncated. */
void mdf_log (mdf_log_level_t level, const char *msg, const char *kv_fmt, ...)
    __attribute__ ((format (printf, 3, 4)));
void mdf_logv (mdf_log_level_t level, const char *msg, const char *kv_fmt, va_list ap);

#define mdf_debug(msg, ...) mdf_log (MDF_LOG_DEBUG, (msg), __VA_ARGS__)
#define mdf_info(msg, ...) mdf_log (MDF_LOG_INFO, (msg), __VA_ARGS__)
#define mdf_warn(msg, ...) mdf_log (MDF_LOG_WARN, (msg), __VA_ARGS__)
#define mdf_error(msg, ...) mdf_log (MDF_LOG_ERROR, (msg), __VA_ARGS__)

/* Write `text` into `buf` as a logfmt value: unchanged when it is a plain
 * token, else double-quoted with \" \\ \n escaped; non-printable bytes as \xHH.
 * Always NUL-terminates (truncating). Returns buf, for use in an argument list. */
const char *mdf_log_quote (char *buf, size_t size, const char *text);

/* Read MDF_LOG_LEVEL from the environment and, when set, make it the level.
 * Returns 0 when the variable is unset, empty or valid; -1 with err
 * ("MDF_LOG_LEVEL: unknown level \"loud\" (debug, info, warn, error)") when
 * it holds something else (the level is then left unchanged).  Services call
 * it at start, after applying `[log] level`, so the environment wins. */
int mdf_log_init_from_env (char *err, size_t errlen);

/* At most `burst` events per `interval_ms`; thread-safe (C11 atomics: a tiny
 * spin lock guards the window, the counters are atomics so readers never
 * block).  Initialise with MDF_RATELIMIT_INIT or mdf_ratelimit_init. */
typedef struct {
    int64_t interval_ms;
    uint32_t burst;
    /* private */
    _Atomic int64_t window_start_ms;
    _Atomic uint32_t in_window;
    _Atomic uint64_t suppressed;
    _Atomic int lock;
    _Atomic int started;
} mdf_ratelimit_t;

#define MDF_RATELIMIT_INIT(interval_ms_, burst_)                                                   \
    {                                                                                              \
        (interval_ms_), (burst_), 0, 0, 0, 0, 0                                                    \
    }

/* Same as MDF_RATELIMIT_INIT, for limiters made at run time. */
void mdf_ratelimit_init (mdf_ratelimit_t *rl, int64_t interval_ms, uint32_t burst);

/* True when this event may be logged. *suppressed_out (may be NULL) receives
 * how many were held back since the last allowed one, so the caller can add
 * "suppressed=N" to its line (0 when refused). Uses the monotonic clock. */
bool mdf_ratelimit_allow (mdf_ratelimit_t *rl, uint64_t *suppressed_out);

/* mdf_ratelimit_allow at an explicit time `now_ms` (any monotonic
 * milliseconds), so tests and callers with their own clock need not sleep. */
bool mdf_ratelimit_allow_at (mdf_ratelimit_t *rl, int64_t now_ms, uint64_t *suppressed_out);

#endif
