/*
 * settings: md-store's configuration, one table (store_settings_table) from
 * which loading, defaults, bounds, environment overrides (MDS_<SECTION>_<KEY>),
 * --check-config and the README's reference all come (common/cfg.h).
 *
 * Cross-key rules the table cannot express are checked by store_settings_load:
 *   low_watermark < high_watermark <= capacity,
 *   sink.path set for sqlite, sink.conninfo set for postgres,
 *   webhook.url set when webhook.enabled.
 * A hysteresis above low_watermark is not an error: the level machine uses
 * min (hysteresis, low_watermark) so an empty queue is always OK (the server
 * logs a warning), which keeps small test configs that leave the default 200
 * working.
 * Errors name the file, line and key ("store.toml:12: queue.low_watermark ...").
 */
#ifndef STORE_SETTINGS_H
#define STORE_SETTINGS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "common/cfg.h"

typedef struct {
    char *store_id;           /* [store] id: coordinator_id in every event */
    int64_t drain_timeout_ms; /* [store] drain_timeout_ms */
    char *ingest_endpoint;    /* [ingest] endpoint (ROUTER, bound) */
    char *feedback_endpoint;  /* [feedback] endpoint (XPUB, bound) */
    int64_t heartbeat_ms;     /* [feedback] heartbeat_ms; 0 = no heartbeat */
    int64_t report_ms;        /* [feedback] report_ms; 0 = off */
    int64_t feedback_sndhwm;  /* [feedback] sndhwm */
    int64_t capacity;         /* [queue] capacity, bars */
    int64_t high_watermark;
    int64_t low_watermark;
    int64_t hysteresis;
    int64_t workers;          /* [workers] count */
    int64_t batch_max;        /* [workers] batch_max, bars per transaction */
    int64_t retry_initial_ms; /* [workers] retry_initial_ms: first backoff */
    int64_t retry_max_ms;     /* [workers] retry_max_ms: backoff ceiling */
    int64_t breaker_failures; /* [workers] breaker_failures: consecutive failures to open */
    int64_t breaker_cooldown_ms;
    char *sink_type;          /* "sqlite", "postgres", "null" */
    char *sink_path;          /* sqlite file */
    char *sink_conninfo;      /* libpq conninfo */
    char *sink_table;         /* table name */
    char *sink_synchronous;   /* sqlite PRAGMA synchronous */
    int64_t max_rows_per_sec; /* 0 = unthrottled */
    char *http_listen;        /* "" = no HTTP server */
    bool webhook_enabled;
    char *webhook_url;
    int64_t webhook_timeout_ms;
    int64_t webhook_queue; /* pending POSTs kept before dropping */
    char *log_level;
    bool curve;                /* [security] curve: CURVE on ingest and feedback */
    char *secret_key_file;     /* [security] the store's zcert secret file */
    char *authorized_keys_dir; /* [security] public cert files of allowed clients */
    int64_t max_message_bytes; /* [ingest] max_message_bytes: ZMQ_MAXMSGSIZE */
    int64_t max_bars;          /* [ingest] max_bars: bars per batch at most */
} store_settings_t;

extern const mdf_cfg_entry_t store_settings_table[];
extern const size_t store_settings_count;

/* Load `path` (+ environment) into `s`.  Returns the loader (owned by the caller,
 * for mdf_cfg_dump / mdf_cfg_where), or NULL with `err` set.  Call
 * store_settings_free(s) either way. */
mdf_cfg_t *store_settings_load (const char *path, store_settings_t *s, char *err, size_t errlen);

void store_settings_free (store_settings_t *s);

/* The table as a schema (reload, dump, reference), and the loader and
 * free function in the shape mdf_cfg_reload wants. */
extern const mdf_cfg_schema_t store_settings_schema;
mdf_cfg_t *store_settings_load_any (const char *path, void *settings, char *err, size_t errlen);
void store_settings_free_any (void *settings);

#endif
