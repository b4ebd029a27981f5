/*
 * settings: the store's configuration table and the cross-key checks.
 *
 * Defaults are the documented ones: README.md's configuration reference is
 * generated from this table.  Every entry becomes a TOML key
 * "section.key" and an environment variable MDS_SECTION_KEY.
 */
#include "store/settings.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

#define S_OFF(field) offsetof (store_settings_t, field)

static const char *const s_sink_types[] = { "sqlite", "postgres", "null", NULL };
static const char *const s_sync_modes[] = { "off", "normal", "full", NULL };
static const char *const s_log_levels[] = { "debug", "info", "warn", "error", NULL };

const mdf_cfg_entry_t store_settings_table[] = {
    { "store.id", MDF_CFG_STRING, "bars-coordinator", 0, 0, NULL, S_OFF (store_id),
      "coordinator_id carried by every feedback event and metric label" },
    { "store.drain_timeout_ms", MDF_CFG_INT, "30000", 0, 86400000, NULL, S_OFF (drain_timeout_ms),
      "on SIGTERM, how long to keep draining the queue into the sink before giving up" },
    { "ingest.endpoint", MDF_CFG_STRING, "tcp://127.0.0.1:5555", 0, 0, NULL,
      S_OFF (ingest_endpoint), "ROUTER endpoint (bound) where pipelines send batches" },
    { "feedback.endpoint", MDF_CFG_STRING, "tcp://127.0.0.1:5556", 0, 0, NULL,
      S_OFF (feedback_endpoint), "XPUB endpoint (bound) where feedback events are published" },
    { "feedback.heartbeat_ms", MDF_CFG_INT, "1000", 0, 3600000, NULL, S_OFF (heartbeat_ms),
      "period of heartbeat events (0: none); reloadable with SIGHUP" },
    { "feedback.report_ms", MDF_CFG_INT, "0", 0, 3600000, NULL, S_OFF (report_ms),
      "queue_size published at least this often while the queue is not empty, reason "
      "\"report\" (0: off); reloadable with SIGHUP" },
    { "feedback.sndhwm", MDF_CFG_INT, "1000", 1, 1000000, NULL, S_OFF (feedback_sndhwm),
      "events queued per subscriber before a slow one starts losing them" },
    { "queue.capacity", MDF_CFG_INT, "10000", 1, 100000000, NULL, S_OFF (capacity),
      "queue capacity in bars (accepted and not yet committed)" },
    { "queue.high_watermark", MDF_CFG_INT, "8000", 1, 100000000, NULL, S_OFF (high_watermark),
      "level is HARD at size >= high_watermark" },
    { "queue.low_watermark", MDF_CFG_INT, "5000", 0, 100000000, NULL, S_OFF (low_watermark),
      "level is OK at size <= low_watermark (SOFT in between)" },
    { "queue.hysteresis", MDF_CFG_INT, "200", 0, 100000000, NULL, S_OFF (hysteresis),
      "bars a falling level must go past a watermark before it drops (0: exact thresholds)" },
    { "workers.count", MDF_CFG_INT, "1", 1, 64, NULL, S_OFF (workers),
      "sink writer threads, each with its own connection" },
    { "workers.batch_max", MDF_CFG_INT, "5000", 1, 1000000, NULL, S_OFF (batch_max),
      "bars per transaction at most (whole batches; a larger batch goes alone)" },
    { "workers.retry_initial_ms", MDF_CFG_INT, "50", 1, 600000, NULL, S_OFF (retry_initial_ms),
      "first backoff after a failed write; doubles on each further failure" },
    { "workers.retry_max_ms", MDF_CFG_INT, "5000", 1, 3600000, NULL, S_OFF (retry_max_ms),
      "backoff ceiling" },
    { "workers.breaker_failures", MDF_CFG_INT, "5", 1, 1000000, NULL, S_OFF (breaker_failures),
      "consecutive failed writes that open the circuit breaker (sink_down)" },
    { "workers.breaker_cooldown_ms", MDF_CFG_INT, "2000", 1, 3600000, NULL,
      S_OFF (breaker_cooldown_ms), "while open, one probe write per cooldown" },
    { "sink.type", MDF_CFG_STRING, "sqlite", 0, 0, s_sink_types, S_OFF (sink_type),
      "sqlite, postgres (with conninfo) or null (discards; benchmarks)" },
    { "sink.path", MDF_CFG_STRING, "data/bars.db", 0, 0, NULL, S_OFF (sink_path),
      "SQLite database file; its parent directory is created if missing" },
    { "sink.conninfo", MDF_CFG_STRING, "", 0, 0, NULL, S_OFF (sink_conninfo),
      "libpq connection string for postgres, e.g. postgresql://user@host/db" },
    { "sink.table", MDF_CFG_STRING, "bars", 0, 0, NULL, S_OFF (sink_table),
      "table written (created if missing)" },
    { "sink.synchronous", MDF_CFG_STRING, "normal", 0, 0, s_sync_modes, S_OFF (sink_synchronous),
      "SQLite PRAGMA synchronous (WAL mode: normal survives a process crash)" },
    { "sink.max_rows_per_sec", MDF_CFG_INT, "0", 0, 1e12, NULL, S_OFF (max_rows_per_sec),
      "> 0 throttles the sink (all workers together): capacity tests and demos" },
    { "http.listen", MDF_CFG_STRING, "127.0.0.1:9101", 0, 0, NULL, S_OFF (http_listen),
      "HTTP address for /metrics and /health (\"\": no HTTP server)" },
    { "webhook.enabled", MDF_CFG_BOOL, "false", 0, 0, NULL, S_OFF (webhook_enabled),
      "POST each level change as JSON; reloadable" },
    { "webhook.url", MDF_CFG_STRING, "", 0, 0, NULL, S_OFF (webhook_url),
      "webhook URL; reloadable" },
    { "webhook.timeout_ms", MDF_CFG_INT, "2000", 1, 600000, NULL, S_OFF (webhook_timeout_ms),
      "timeout of one POST; reloadable" },
    { "webhook.queue", MDF_CFG_INT, "64", 1, 100000, NULL, S_OFF (webhook_queue),
      "POSTs waiting for the webhook thread; more are dropped (counted)" },
    { "log.level", MDF_CFG_STRING, "info", 0, 0, s_log_levels, S_OFF (log_level),
      "debug, info, warn or error; reloadable" },
    { "security.curve", MDF_CFG_BOOL, "false", 0, 0, NULL, S_OFF (curve),
      "CurveZMQ on ingest and feedback (the store is the CURVE server)" },
    { "security.secret_key_file", MDF_CFG_STRING, "", 0, 0, NULL, S_OFF (secret_key_file),
      "the store's keypair, a zcert secret file (mdctl keygen NAME_key_secret)" },
    { "security.authorized_keys_dir", MDF_CFG_STRING, "", 0, 0, NULL, S_OFF (authorized_keys_dir),
      "directory of public cert files of the clients allowed in" },
    { "ingest.max_message_bytes", MDF_CFG_INT, "16777216", 1024, 2147483647, NULL,
      S_OFF (max_message_bytes), "larger ingest messages drop the connection (ZMQ_MAXMSGSIZE)" },
    { "ingest.max_bars", MDF_CFG_INT, "100000", 1, 100000000, NULL, S_OFF (max_bars),
      "batches with more bars are rejected" },
};

const size_t store_settings_count = sizeof store_settings_table / sizeof store_settings_table[0];

/* The key to name in a two-key error: `a`, unless only `b` was set by the user
 * (so the message points at a line the user wrote). */
static const char *
s_blame (const mdf_cfg_t *cfg, const char *a, const char *b)
{
    bool a_default = !strcmp (mdf_cfg_where (cfg, a), "default");
    bool b_default = !strcmp (mdf_cfg_where (cfg, b), "default");
    return a_default && !b_default ? b : a;
}

/* curve on: both key paths set and readable (named by file:line: key). */
static int
s_check_security (const mdf_cfg_t *cfg, const store_settings_t *s, char *err, size_t errlen)
{
    if (!s->curve)
        return 0;
    const char *keys[] = { "security.secret_key_file", "security.authorized_keys_dir" };
    const char *vals[] = { s->secret_key_file, s->authorized_keys_dir };
    for (int i = 0; i < 2; i++) {
        if (!*vals[i])
            return mdf_cfg_fail (cfg, s_blame (cfg, keys[i], "security.curve"), err, errlen,
                                 "%s is empty but security.curve is true", keys[i]);
        if (access (vals[i], R_OK) != 0)
            return mdf_cfg_fail (cfg, keys[i], err, errlen, "%s: cannot read \"%s\": %s", keys[i],
                                 vals[i], strerror (errno));
    }
    return 0;
}

static int
s_check (const mdf_cfg_t *cfg, const store_settings_t *s, char *err, size_t errlen)
{
    if (s->high_watermark > s->capacity)
        return mdf_cfg_fail (cfg, s_blame (cfg, "queue.high_watermark", "queue.capacity"), err,
                             errlen,
                             "queue.high_watermark (%lld) must not exceed queue.capacity (%lld)",
                             (long long)s->high_watermark, (long long)s->capacity);
    if (s->low_watermark >= s->high_watermark)
        return mdf_cfg_fail (cfg, s_blame (cfg, "queue.low_watermark", "queue.high_watermark"), err,
                             errlen,
                             "queue.low_watermark (%lld) must be below queue.high_watermark "
                             "(%lld)",
                             (long long)s->low_watermark, (long long)s->high_watermark);
    if (s->retry_max_ms < s->retry_initial_ms)
        return mdf_cfg_fail (cfg, s_blame (cfg, "workers.retry_max_ms", "workers.retry_initial_ms"),
                             err, errlen,
                             "workers.retry_max_ms must not be below workers.retry_initial_ms");
    if (!strcmp (s->sink_type, "sqlite") && !*s->sink_path)
        return mdf_cfg_fail (cfg, s_blame (cfg, "sink.path", "sink.type"), err, errlen,
                             "sink.path is empty (sqlite sink)");
    if (!strcmp (s->sink_type, "postgres") && !*s->sink_conninfo)
        return mdf_cfg_fail (cfg, s_blame (cfg, "sink.conninfo", "sink.type"), err, errlen,
                             "sink.conninfo is empty (postgres sink)");
    if (s->webhook_enabled && !*s->webhook_url)
        return mdf_cfg_fail (cfg, "webhook.enabled", err, errlen,
                             "webhook.url is empty but webhook.enabled is true");
    if (s_check_security (cfg, s, err, errlen))
        return -1;
    if (!*s->ingest_endpoint)
        return mdf_cfg_fail (cfg, "ingest.endpoint", err, errlen, "ingest.endpoint is empty");
    if (!*s->feedback_endpoint)
        return mdf_cfg_fail (cfg, "feedback.endpoint", err, errlen, "feedback.endpoint is empty");
    return 0;
}

mdf_cfg_t *
store_settings_load (const char *path, store_settings_t *s, char *err, size_t errlen)
{
    memset (s, 0, sizeof *s);
    mdf_cfg_t *cfg = mdf_cfg_new (store_settings_table, store_settings_count, "MDS");
    if (!cfg) {
        snprintf (err, errlen, "out of memory");
        return NULL;
    }
    if (mdf_cfg_load (cfg, path, NULL, s, err, errlen) != 0 || s_check (cfg, s, err, errlen)) {
        mdf_cfg_destroy (&cfg);
        return NULL;
    }
    return cfg;
}

void
store_settings_free (store_settings_t *s)
{
    mdf_cfg_free (store_settings_table, store_settings_count, s);
}

static bool
s_same (const mdf_cfg_entry_t *e, const store_settings_t *a, const store_settings_t *b)
{
    const char *pa = (const char *)a + e->offset;
    const char *pb = (const char *)b + e->offset;
    switch (e->type) {
    case MDF_CFG_STRING: {
        const char *sa = *(char *const *)pa, *sb = *(char *const *)pb;
        return !strcmp (sa ? sa : "", sb ? sb : "");
    }
    case MDF_CFG_INT:
        return *(const int64_t *)pa == *(const int64_t *)pb;
    case MDF_CFG_DOUBLE:
        return *(const double *)pa == *(const double *)pb;
    case MDF_CFG_BOOL:
        return *(const bool *)pa == *(const bool *)pb;
    default:
        return true; /* the store has no lists */
    }
}

int
store_settings_diff (const store_settings_t *a, const store_settings_t *b, char *buf, size_t size)
{
    int n = 0;
    size_t used = 0;
    if (size)
        buf[0] = '\0';
    for (size_t i = 0; i < store_settings_count; i++) {
        const mdf_cfg_entry_t *e = &store_settings_table[i];
        if (s_same (e, a, b))
            continue;
        if (used < size) {
            int w = snprintf (buf + used, size - used, "%s%s", n ? "," : "", e->key);
            used += w > 0 ? (size_t)w : 0;
        }
        n++;
    }
    return n;
}
