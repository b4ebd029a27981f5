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

#include "common/log.h"

#define S_OFF(field) offsetof (store_settings_t, field)

static const char *const s_sink_types[] = { "sqlite", "postgres", "null", NULL };
static const char *const s_sync_modes[] = { "off", "normal", "full", NULL };

const mdf_cfg_entry_t store_settings_table[] = {
    { "store.id", MDF_CFG_STRING, "bars-coordinator", 0, 0, NULL, S_OFF (store_id), 0,
      "coordinator_id carried by every feedback event and metric label" },
    { "store.drain_timeout_ms", MDF_CFG_INT, "30000", 0, 86400000, NULL, S_OFF (drain_timeout_ms),
      0, "on SIGTERM, how long to keep draining the queue into the sink before giving up" },
    { "ingest.endpoint", MDF_CFG_STRING, "tcp://127.0.0.1:5555", 0, 0, NULL,
      S_OFF (ingest_endpoint), 0, "ROUTER endpoint (bound) where pipelines send batches" },
    { "feedback.endpoint", MDF_CFG_STRING, "tcp://127.0.0.1:5556", 0, 0, NULL,
      S_OFF (feedback_endpoint), 0, "XPUB endpoint (bound) where feedback events are published" },
    { "feedback.heartbeat_ms", MDF_CFG_INT, "1000", 0, 3600000, NULL, S_OFF (heartbeat_ms),
      MDF_CFG_LIVE, "period of heartbeat events (0: none)" },
    { "feedback.report_ms", MDF_CFG_INT, "100", 0, 3600000, NULL, S_OFF (report_ms), MDF_CFG_LIVE,
      "queue_size, drain and service rates published at least this often while the queue "
      "holds bars or producers send (and once when it empties), reason \"report\" (0: off); "
      "producers pace themselves by them" },
    { "feedback.sndhwm", MDF_CFG_INT, "1000", 1, 1000000, NULL, S_OFF (feedback_sndhwm), 0,
      "events queued per subscriber before a slow one starts losing them" },
    { "queue.capacity", MDF_CFG_INT, "10000", 1, 100000000, NULL, S_OFF (capacity), 0,
      "queue capacity in bars (accepted and not yet committed)" },
    { "queue.high_watermark", MDF_CFG_INT, "8000", 1, 100000000, NULL, S_OFF (high_watermark), 0,
      "level is HARD at size >= high_watermark" },
    { "queue.low_watermark", MDF_CFG_INT, "5000", 0, 100000000, NULL, S_OFF (low_watermark), 0,
      "level is OK at size <= low_watermark (SOFT in between)" },
    { "queue.hysteresis", MDF_CFG_INT, "200", 0, 100000000, NULL, S_OFF (hysteresis), 0,
      "bars a falling level must go past a watermark before it drops (0: exact thresholds)" },
    { "workers.count", MDF_CFG_INT, "1", 1, 64, NULL, S_OFF (workers), 0,
      "sink writer threads, each with its own connection" },
    { "workers.batch_max", MDF_CFG_INT, "5000", 1, 1000000, NULL, S_OFF (batch_max), 0,
      "bars per transaction at most (whole batches; a larger batch goes alone)" },
    { "workers.retry_initial_ms", MDF_CFG_INT, "50", 1, 600000, NULL, S_OFF (retry_initial_ms), 0,
      "first backoff after a failed write; doubles on each further failure" },
    { "workers.retry_max_ms", MDF_CFG_INT, "5000", 1, 3600000, NULL, S_OFF (retry_max_ms), 0,
      "backoff ceiling" },
    { "workers.breaker_failures", MDF_CFG_INT, "5", 1, 1000000, NULL, S_OFF (breaker_failures), 0,
      "consecutive failed writes that open the circuit breaker (sink_down)" },
    { "workers.breaker_cooldown_ms", MDF_CFG_INT, "2000", 1, 3600000, NULL,
      S_OFF (breaker_cooldown_ms), 0, "while open, one probe write per cooldown" },
    { "sink.type", MDF_CFG_STRING, "sqlite", 0, 0, s_sink_types, S_OFF (sink_type), 0,
      "sqlite, postgres (with conninfo) or null (discards; benchmarks)" },
    { "sink.path", MDF_CFG_STRING, "data/bars.db", 0, 0, NULL, S_OFF (sink_path), 0,
      "SQLite database file; its parent directory is created if missing" },
    { "sink.conninfo", MDF_CFG_STRING, "", 0, 0, NULL, S_OFF (sink_conninfo), 0,
      "libpq connection string for postgres, e.g. postgresql://user@host/db" },
    { "sink.table", MDF_CFG_STRING, "bars", 0, 0, NULL, S_OFF (sink_table), 0,
      "table written (created if missing)" },
    { "sink.synchronous", MDF_CFG_STRING, "normal", 0, 0, s_sync_modes, S_OFF (sink_synchronous), 0,
      "SQLite PRAGMA synchronous (WAL mode: normal survives a process crash)" },
    { "sink.max_rows_per_sec", MDF_CFG_INT, "0", 0, 1e12, NULL, S_OFF (max_rows_per_sec),
      MDF_CFG_LIVE, "> 0 throttles the sink (all workers together): capacity tests and demos" },
    { "http.listen", MDF_CFG_STRING, "127.0.0.1:9101", 0, 0, NULL, S_OFF (http_listen), 0,
      "HTTP address for /metrics and /health (\"\": no HTTP server)" },
    { "webhook.enabled", MDF_CFG_BOOL, "false", 0, 0, NULL, S_OFF (webhook_enabled), MDF_CFG_LIVE,
      "POST each level change as JSON" },
    { "webhook.url", MDF_CFG_STRING, "", 0, 0, NULL, S_OFF (webhook_url), MDF_CFG_LIVE,
      "webhook URL" },
    { "webhook.timeout_ms", MDF_CFG_INT, "2000", 1, 600000, NULL, S_OFF (webhook_timeout_ms),
      MDF_CFG_LIVE, "timeout of one POST" },
    { "webhook.queue", MDF_CFG_INT, "64", 1, 100000, NULL, S_OFF (webhook_queue), 0,
      "POSTs waiting for the webhook thread; more are dropped (counted)" },
    { "log.level", MDF_CFG_STRING, "info", 0, 0, mdf_log_level_names, S_OFF (log_level),
      MDF_CFG_LIVE, "debug, info, warn or error" },
    { "security.curve", MDF_CFG_BOOL, "false", 0, 0, NULL, S_OFF (curve), 0,
      "CurveZMQ on ingest and feedback (the store is the CURVE server)" },
    { "security.secret_key_file", MDF_CFG_STRING, "", 0, 0, NULL, S_OFF (secret_key_file), 0,
      "the store's keypair, a zcert secret file (mdctl keygen NAME_key_secret)" },
    { "security.authorized_keys_dir", MDF_CFG_STRING, "", 0, 0, NULL, S_OFF (authorized_keys_dir),
      0, "directory of public cert files of the clients allowed in" },
    { "ingest.max_message_bytes", MDF_CFG_INT, "16777216", 1024, 2147483647, NULL,
      S_OFF (max_message_bytes), 0, "larger ingest messages drop the connection (ZMQ_MAXMSGSIZE)" },
    { "ingest.max_bars", MDF_CFG_INT, "100000", 1, 100000000, NULL, S_OFF (max_bars), 0,
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

const mdf_cfg_schema_t store_settings_schema = {
    "md-store",
    "MDS",
    store_settings_table,
    sizeof store_settings_table / sizeof store_settings_table[0],
    NULL,
    0,
};

mdf_cfg_t *
store_settings_load_any (const char *path, void *settings, char *err, size_t errlen)
{
    return store_settings_load (path, settings, err, errlen);
}

void
store_settings_free_any (void *settings)
{
    store_settings_free (settings);
}
