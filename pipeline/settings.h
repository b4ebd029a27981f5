/*
 * settings: md-pipeline's configuration, from one table (common/cfg.h).
 *
 * pipeline_entries[] describes every scalar key (section.key, type, default,
 * bounds, help); provider_entries[] every key of a [[providers]] element.  From
 * them come loading, defaults, bounds, MDP_<SECTION>_<KEY> overrides, the
 * --check-config dump and the README's reference.  settings_load then checks
 * the rules that span keys (csv needs a path, synthetic needs symbols,
 * provider names unique, [feedback] providers must name providers, ...) and
 * reports them as "FILE:LINE: key ..." like the table's own errors.
 *
 * The bearer token of POST /control/... comes from http.control_token or from the first
 * line of http.control_token_file (not both) into `control_token`.  It is a
 * secret: no error message names its value and the --check-config dump prints
 * http.control_token as "(redacted)".
 */
#ifndef PIPELINE_SETTINGS_H
#define PIPELINE_SETTINGS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "common/cfg.h"
#include "pipeline/curve.h"
#include "pipeline/policy.h"
#include "proto/csv.h"

typedef struct {
    char *name;
    char *type; /* "synthetic", "csv" (paced history); "exec", "zmq", "tick_csv" (live ticks) */
    int64_t capacity;
    double refill_rate;
    mdf_strlist_t symbols; /* synthetic */
    char *path;            /* csv */
    bool loop;             /* csv */
    char *symbol;          /* csv: every row's symbol (a file without a symbol column) */
    char *columns;         /* csv: "ts=date,volume=Volume", mdflow's names to the file's */
    char *ts_format;       /* csv: strptime format of ts ("" = the default spellings) */
    char *ts_offset;       /* csv: "[-]HH:MM[:SS]" added to every ts */
    int64_t seed;          /* synthetic: 0 = from the clock */
    double start_price;    /* synthetic */
    int64_t cooldown_ms;
    int64_t breaker_threshold;
    int64_t breaker_timeout_ms;
    mdf_strlist_t command; /* exec: argv, no shell */
    char *format;          /* exec: "csv" or "ndjson" */
    char *endpoint;        /* zmq: the feed's PUB endpoint */
    char *topic;           /* zmq: subscription prefix ("" = everything) */
    double speed;          /* tick_csv: 1 = real time, 60 = 60x, 0 = as fast as possible */
    char *bar_interval;    /* tick providers: 1s, 1m, 5m, 1h, 1d */
    int64_t grace_ms;      /* tick providers: a bar closes grace after its end */
    int64_t late_ms;       /* tick providers: how late a tick may still correct a bar */
    int64_t stop_grace_ms; /* exec: SIGTERM, then SIGKILL after this */
} provider_settings_t;

/* A provider of live ticks (exec, zmq, tick_csv): not paced by a token
 * bucket, its bars go first (pipeline/live.h). */
bool settings_provider_is_live (const provider_settings_t *p);

/* [journal]: where live providers journal their ticks (pipeline/live.h). */
typedef struct {
    char *dir;         /* "" = no journal; each provider writes DIR/NAME/ */
    int64_t max_bytes; /* per provider: the source is not read while it is full */
    int64_t fsync_ms;  /* fdatasync at most this often; 0 = before a tick is aggregated */
} journal_settings_t;

/* A csv provider's file options (symbol, columns, ts_format, ts_offset)
 * into *opts: mdf_csv_opts_parse's result (*bad_key the key at fault). */
int settings_csv_opts (const provider_settings_t *p, mdf_csv_opts_t *opts, const char **bad_key,
                       char *err, size_t errlen);

typedef struct {
    char *id;
    mdf_strlist_t ingest;
    mdf_strlist_t feedback;
    char *discover;               /* [store] discover: DNS name of the stores ("" = lists) */
    int64_t discover_ingest_port; /* ports of each discovered store */
    int64_t discover_feedback_port;
    int64_t discover_interval_ms; /* how often the name is resolved again */
    int64_t batch_max;
    int64_t linger_ms;
    int64_t max_inflight;
    int64_t ack_timeout_ms;
    int64_t retry_backoff_ms;
    int64_t retry_backoff_max_ms;
    int64_t drain_timeout_ms;
    bool fb_enabled;
    char *policy_name;      /* [feedback] policy */
    policy_params_t policy; /* the policy's [feedback] keys, given to it as they are */
    int64_t stale_after_ms;
    int64_t forget_after_ms;    /* [feedback] forget_after_ms: a silent store is forgotten */
    mdf_strlist_t fb_providers; /* empty: all */
    char *http_listen;
    char *http_control_token;      /* [http] control_token (as written; never printed) */
    char *http_control_token_file; /* [http] control_token_file */
    char *control_token;           /* effective token from either key; "" = no check (owned) */
    char *log_level;
    bool curve_on;                  /* [security] curve */
    char *curve_secret_file;        /* [security] secret_key_file */
    char *curve_server_key;         /* [security] server_public_key (Z85) */
    char *curve_server_key_file;    /* [security] server_public_key_file */
    mdp_curve_t curve;              /* keys loaded from the above by settings_load */
    journal_settings_t journal;     /* [journal] */
    provider_settings_t *providers; /* owned */
    size_t nproviders;
} settings_t;

extern const mdf_cfg_entry_t pipeline_entries[];
extern const size_t pipeline_entries_n;
extern const mdf_cfg_entry_t provider_entries[];
extern const size_t provider_entries_n;
/* The whole table: main keys and [[providers]] (reload, dump, reference). */
extern const mdf_cfg_schema_t pipeline_schema;

/* Every key at its default (no file, no environment); free with settings_free. */
int settings_defaults (settings_t *s);

/* Load `path` (+ environment) into *s and validate.  When `dump` is not NULL
 * the effective settings are printed to it (--check-config).  0, or -1 with err
 * ("pipeline.toml:14: feedback.scale_soft ...").  Call settings_free either way. */
int settings_load (settings_t *s, const char *path, FILE *dump, char *err, size_t errlen);

/* The same for mdf_cfg_reload: the loader, or NULL with err. */
mdf_cfg_t *settings_load_cfg (const char *path, void *settings, char *err, size_t errlen);
void settings_free_any (void *settings);

void settings_free (settings_t *s);

/* Index of the provider named `name`, or -1. */
int settings_provider_index (const settings_t *s, const char *name);

#endif
