/*
 * settings: the pipeline's config table and cross-key rules.  See settings.h.
 */
#include "pipeline/settings.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/http.h"
#include "common/log.h"
#include "pipeline/coordinator.h"
#include "pipeline/members.h"
#include "pipeline/policy.h"

#define S_OFF(f) offsetof (settings_t, f)
#define P_OFF(f) offsetof (provider_settings_t, f)

static const char *const s_levels[] = { "ok", "soft", "hard", NULL };
static const char *const s_types[] = { "synthetic", "csv", "exec", "zmq", "tick_csv", NULL };
static const char *const s_formats[] = { "csv", "ndjson", NULL };
static const char *const s_intervals[] = { "1s", "1m", "5m", "1h", "1d", NULL };

/* clang-format off */
const mdf_cfg_entry_t pipeline_entries[] = {
    { "pipeline.id", MDF_CFG_STRING, "pipeline-1", 0, -1, NULL, S_OFF (id), 0,
      "producer_id in every batch sent to the store" },
    { "store.ingest", MDF_CFG_STRLIST, "tcp://127.0.0.1:5555", 0, -1, NULL, S_OFF (ingest), 0,
      "store ingest endpoints (ROUTER), one per store; a DEALER connects to each" },
    { "store.feedback", MDF_CFG_STRLIST, "tcp://127.0.0.1:5556", 0, -1, NULL, S_OFF (feedback), 0,
      "store feedback endpoints (XPUB), in the order of store.ingest; a SUB connects to each" },
    { "store.discover", MDF_CFG_STRING, "", 0, -1, NULL, S_OFF (discover), 0,
      "DNS name whose A/AAAA records are the stores (a headless Service), resolved again every "
      "discover_interval_ms; not with store.ingest / store.feedback" },
    { "store.discover_ingest_port", MDF_CFG_INT, "5555", 1, 65535, NULL,
      S_OFF (discover_ingest_port), 0, "ingest (ROUTER) port of each discovered store" },
    { "store.discover_feedback_port", MDF_CFG_INT, "5556", 1, 65535, NULL,
      S_OFF (discover_feedback_port), 0, "feedback (XPUB) port of each discovered store" },
    { "store.discover_interval_ms", MDF_CFG_INT, "500", 100, 3600000, NULL,
      S_OFF (discover_interval_ms), 0, "how often store.discover is resolved again" },
    { "store.batch_max", MDF_CFG_INT, "500", 1, 100000, NULL, S_OFF (batch_max), 0,
      "bars per batch, at most" },
    { "store.linger_ms", MDF_CFG_INT, "5", 0, 60000, NULL, S_OFF (linger_ms), 0,
      "send a partial batch once its first bar is this old" },
    { "store.max_inflight", MDF_CFG_INT, "8", 1, 10000, NULL, S_OFF (max_inflight), 0,
      "unacked batches at most; providers block when the window is full" },
    { "store.ack_timeout_ms", MDF_CFG_INT, "2000", 10, 600000, NULL, S_OFF (ack_timeout_ms), 0,
      "resend a batch whose ack has not come within this time" },
    { "store.retry_backoff_ms", MDF_CFG_INT, "50", 1, 60000, NULL, S_OFF (retry_backoff_ms), 0,
      "first wait before resending a batch answered \"retry\" (doubles per attempt)" },
    { "store.retry_backoff_max_ms", MDF_CFG_INT, "2000", 1, 600000, NULL,
      S_OFF (retry_backoff_max_ms), 0, "longest wait between resends of a \"retry\" batch" },
    { "store.drain_timeout_ms", MDF_CFG_INT, "5000", 0, 600000, NULL, S_OFF (drain_timeout_ms), 0,
      "on SIGTERM, how long to wait for the last acks" },
    { "feedback.enabled", MDF_CFG_BOOL, "true", 0, -1, NULL, S_OFF (fb_enabled), 0,
      "follow the store's backpressure; false keeps every provider at its base rate" },
    { "feedback.policy", MDF_CFG_STRING, "share", 0, -1, policy_name_list, S_OFF (policy_name), MDF_CFG_LIVE,
      "how a level becomes a rate scale" },
    { "feedback.scale_ok", MDF_CFG_DOUBLE, "1.0", 0, 1, NULL, S_OFF (policy.scale_ok), MDF_CFG_LIVE,
      "step policy: scale at level ok" },
    { "feedback.scale_soft", MDF_CFG_DOUBLE, "0.5", 0, 1, NULL, S_OFF (policy.scale_soft), MDF_CFG_LIVE,
      "step policy: scale at level soft" },
    { "feedback.scale_hard", MDF_CFG_DOUBLE, "0.0", 0, 1, NULL, S_OFF (policy.scale_hard), MDF_CFG_LIVE,
      "step policy: scale at level hard" },
    { "feedback.interval_ms", MDF_CFG_INT, "200", 1, 600000, NULL, S_OFF (policy.interval_ms), MDF_CFG_LIVE,
      "aimd/target: controller update period, also without new events" },
    { "feedback.decrease_ratio", MDF_CFG_DOUBLE, "0.5", 0.01, 0.99, NULL, S_OFF (policy.decrease_ratio), MDF_CFG_LIVE,
      "aimd: scale multiplier on entering soft and per interval while soft" },
    { "feedback.increase_step", MDF_CFG_DOUBLE, "0.05", 0.001, 1, NULL, S_OFF (policy.increase_step), MDF_CFG_LIVE,
      "aimd: scale added per interval while ok" },
    { "feedback.target_depth", MDF_CFG_DOUBLE, "0.1", 0.01, 0.95, NULL, S_OFF (policy.target_depth), MDF_CFG_LIVE,
      "target: queue depth to hold, as a fraction of the store's capacity" },
    { "feedback.kp", MDF_CFG_DOUBLE, "0.5", 0, 100, NULL, S_OFF (policy.kp), MDF_CFG_LIVE,
      "target: proportional gain, scale per unit of fill error" },
    { "feedback.ki", MDF_CFG_DOUBLE, "1.0", 0, 100, NULL, S_OFF (policy.ki), MDF_CFG_LIVE,
      "target: integral gain, scale per unit of fill error per second" },
    { "feedback.min_scale", MDF_CFG_DOUBLE, "0.01", 0, 1, NULL, S_OFF (policy.min_scale), MDF_CFG_LIVE,
      "aimd/target: lowest scale outside level hard" },
    { "feedback.low_fill", MDF_CFG_DOUBLE, "0.5", 0, 1, NULL, S_OFF (policy.low_fill), MDF_CFG_LIVE,
      "linear: fill at and below which the scale is scale_ok" },
    { "feedback.high_fill", MDF_CFG_DOUBLE, "0.8", 0.01, 1, NULL, S_OFF (policy.high_fill), MDF_CFG_LIVE,
      "linear: fill at and above which the scale is scale_hard" },
    { "feedback.min_dwell_ms", MDF_CFG_INT, "0", 0, 3600000, NULL, S_OFF (policy.min_dwell_ms), MDF_CFG_LIVE,
      "every policy: no increase sooner than this after the last change" },
    { "feedback.max_step", MDF_CFG_DOUBLE, "0", 0, 1, NULL, S_OFF (policy.max_step), MDF_CFG_LIVE,
      "every policy: largest increase per update, 0 = unlimited" },
    { "feedback.target_delay_ms", MDF_CFG_INT, "100", 1, 60000, NULL,
      S_OFF (policy.target_delay_ms), MDF_CFG_LIVE,
      "share: queue delay to hold at each store (its target depth is its service rate times "
      "this, at most target_depth)" },
    { "feedback.gain", MDF_CFG_DOUBLE, "2.0", 0, 100, NULL, S_OFF (policy.gain), MDF_CFG_LIVE,
      "share: part of the queue error corrected per second (1/s)" },
    { "feedback.integral", MDF_CFG_DOUBLE, "1.0", 0, 100, NULL, S_OFF (policy.integral),
      MDF_CFG_LIVE,
      "share: integral gain (1/s^2): takes up a share other producers leave unused" },
    { "feedback.stale_after_ms", MDF_CFG_INT, "3000", 1, 3600000, NULL, S_OFF (stale_after_ms), MDF_CFG_LIVE,
      "a store silent this long counts as the failsafe level" },
    { "feedback.forget_after_ms", MDF_CFG_INT, "10000", 1, 3600000, NULL,
      S_OFF (forget_after_ms), 0,
      "a store silent this long is forgotten with its state (no longer counted at all)" },
    { "feedback.failsafe", MDF_CFG_ENUM, "soft", 0, -1, s_levels, S_OFF (policy.failsafe), MDF_CFG_LIVE,
      "level assumed for a silent or not yet heard store" },
    { "feedback.providers", MDF_CFG_STRLIST, "", 0, -1, NULL, S_OFF (fb_providers), 0,
      "providers feedback drives (empty: all)" },
    { "http.listen", MDF_CFG_STRING, "127.0.0.1:9102", 0, -1, NULL, S_OFF (http_listen), 0,
      "HTTP address for /metrics, /health and /control/* (port 0: any)" },
    { "http.control_token", MDF_CFG_STRING, "", 0, -1, NULL, S_OFF (http_control_token), MDF_CFG_SECRET,
      "bearer token POST /control/* must carry (empty: no check); printed redacted" },
    { "http.control_token_file", MDF_CFG_STRING, "", 0, -1, NULL,
      S_OFF (http_control_token_file), 0,
      "or: a file whose first line is the token (a mounted secret); not with control_token" },
    { "security.curve", MDF_CFG_BOOL, "false", 0, -1, NULL, S_OFF (curve_on), 0,
      "CurveZMQ client on ingest and feedback (verifies the store's key)" },
    { "security.secret_key_file", MDF_CFG_STRING, "", 0, -1, NULL, S_OFF (curve_secret_file), 0,
      "the pipeline's keypair, a zcert secret file (mdctl keygen)" },
    { "security.server_public_key", MDF_CFG_STRING, "", 0, -1, NULL, S_OFF (curve_server_key), 0,
      "the store's public key, 40-character Z85 text" },
    { "security.server_public_key_file", MDF_CFG_STRING, "", 0, -1, NULL,
      S_OFF (curve_server_key_file), 0, "or: the store's public cert file (NAME.key)" },
    { "journal.dir", MDF_CFG_STRING, "data/journal", 0, -1, NULL, S_OFF (journal.dir), 0,
      "live providers (exec, zmq) append every tick here (DIR/PROVIDER/) before aggregating it, "
      "and replay it at start; empty: no journal" },
    { "journal.max_bytes", MDF_CFG_INT, "1073741824", 65536, 9e18, NULL, S_OFF (journal.max_bytes), 0,
      "per provider: when the journal holds this much, the source is not read until acks free room" },
    { "journal.fsync_ms", MDF_CFG_INT, "100", 0, 60000, NULL, S_OFF (journal.fsync_ms), 0,
      "fdatasync the journal at most this often (what a power cut can lose); 0: before every "
      "tick is aggregated" },
    { "log.level", MDF_CFG_STRING, "info", 0, -1, mdf_log_level_names, S_OFF (log_level), MDF_CFG_LIVE,
      "debug, info, warn or error" },
};
const size_t pipeline_entries_n = sizeof pipeline_entries / sizeof pipeline_entries[0];

const mdf_cfg_entry_t provider_entries[] = {
    { "name", MDF_CFG_STRING, "", 0, -1, NULL, P_OFF (name), 0,
      "provider name (label `provider` in metrics, `provider` in batches)" },
    { "type", MDF_CFG_STRING, "synthetic", 0, -1, s_types, P_OFF (type), 0,
      "synthetic (random walk), csv (replay bars): paced; exec, zmq, tick_csv: live ticks" },
    { "capacity", MDF_CFG_INT, "1000", 1, 10000000, NULL, P_OFF (capacity), 0,
      "token bucket burst at most, in bars (the burst is 0.1 s of the current rate, at least 1)" },
    { "refill_rate", MDF_CFG_DOUBLE, "1000", 0, 1e9, NULL, P_OFF (refill_rate), MDF_CFG_LIVE,
      "bars per second at scale 1.0" },
    { "symbols", MDF_CFG_STRLIST, "", 0, -1, NULL, P_OFF (symbols), 0,
      "synthetic: the symbols to generate" },
    { "path", MDF_CFG_STRING, "", 0, -1, NULL, P_OFF (path), 0,
      "csv: bar file (header symbol,ts,open,high,low,close,volume); tick_csv: tick file" },
    { "loop", MDF_CFG_BOOL, "false", 0, -1, NULL, P_OFF (loop), 0,
      "csv: replay forever (oldest bar first), timestamps shifted past the previous pass" },
    { "symbol", MDF_CFG_STRING, "", 0, -1, NULL, P_OFF (symbol), 0,
      "csv: the symbol of every row, for a file without a symbol column" },
    { "columns", MDF_CFG_STRING, "", 0, -1, NULL, P_OFF (columns), 0,
      "csv: the file's names for mdflow's columns, \"ts=date,volume=Volume\" (any case)" },
    { "ts_format", MDF_CFG_STRING, "", 0, -1, NULL, P_OFF (ts_format), 0,
      "csv: strptime format of ts, read as UTC, e.g. \"%d-%b-%y\" (empty: RFC 3339, a date, "
      "epoch s or ns)" },
    { "ts_offset", MDF_CFG_STRING, "", 0, -1, NULL, P_OFF (ts_offset), 0,
      "csv: [-]HH:MM[:SS] added to every ts, e.g. \"21:00\" for a daily file's close" },
    { "seed", MDF_CFG_INT, "0", 0, 9e18, NULL, P_OFF (seed), 0,
      "synthetic: random seed (0: from the clock)" },
    { "start_price", MDF_CFG_DOUBLE, "100", 0.000001, 1e12, NULL, P_OFF (start_price), 0,
      "synthetic: first price of every symbol" },
    { "cooldown_ms", MDF_CFG_INT, "1000", 0, 3600000, NULL, P_OFF (cooldown_ms), 0,
      "pause after a provider error" },
    { "breaker_threshold", MDF_CFG_INT, "5", 0, 1000000, NULL, P_OFF (breaker_threshold), 0,
      "consecutive errors that open the circuit breaker (0: never)" },
    { "breaker_timeout_ms", MDF_CFG_INT, "30000", 0, 86400000, NULL, P_OFF (breaker_timeout_ms), 0,
      "how long an open breaker keeps the provider stopped" },
    { "command", MDF_CFG_STRLIST, "", 0, -1, NULL, P_OFF (command), 0,
      "exec: program and arguments (no shell); ticks are read from its stdout" },
    { "format", MDF_CFG_STRING, "csv", 0, -1, s_formats, P_OFF (format), 0,
      "exec: csv (a header line first) or ndjson (one JSON object a line)" },
    { "endpoint", MDF_CFG_STRING, "", 0, -1, NULL, P_OFF (endpoint), 0,
      "zmq: the tick feed's PUB endpoint to connect a SUB to" },
    { "topic", MDF_CFG_STRING, "", 0, -1, NULL, P_OFF (topic), 0,
      "zmq: subscription prefix (empty: every message)" },
    { "speed", MDF_CFG_DOUBLE, "1", 0, 1e9, NULL, P_OFF (speed), 0,
      "tick_csv: time warp (1 real time, 60 sixty times faster, 0 as fast as possible)" },
    { "bar_interval", MDF_CFG_STRING, "1m", 0, -1, s_intervals, P_OFF (bar_interval), 0,
      "tick providers: bar length, aligned to UTC (1s, 1m, 5m, 1h, 1d)" },
    { "grace_ms", MDF_CFG_INT, "2000", 0, 86400000, NULL, P_OFF (grace_ms), 0,
      "tick providers: a bar closes once ticks (or, after grace of silence, the clock) pass its end + grace" },
    { "late_ms", MDF_CFG_INT, "60000", 0, 86400000, NULL, P_OFF (late_ms), 0,
      "tick providers: a tick this far behind the newest still corrects its closed bar" },
    { "stop_grace_ms", MDF_CFG_INT, "5000", 0, 600000, NULL, P_OFF (stop_grace_ms), 0,
      "exec: time between SIGTERM and SIGKILL when the child is stopped" },
};
const size_t provider_entries_n = sizeof provider_entries / sizeof provider_entries[0];
/* clang-format on */

static int
s_check_provider (mdf_cfg_t *cfg, const settings_t *s, size_t i, char *err, size_t errlen)
{
    const provider_settings_t *p = &s->providers[i];
    char key[64];
    if (!p->name || !*p->name) {
        snprintf (key, sizeof key, "providers[%zu].name", i);
        return mdf_cfg_fail (cfg, key, err, errlen, "%s is required", key);
    }
    if (strlen (p->name) > 128) {
        snprintf (key, sizeof key, "providers[%zu].name", i);
        return mdf_cfg_fail (cfg, key, err, errlen, "%s is longer than 128 bytes", key);
    }
    for (size_t j = 0; j < i; j++)
        if (strcmp (s->providers[j].name, p->name) == 0) {
            snprintf (key, sizeof key, "providers[%zu].name", i);
            return mdf_cfg_fail (cfg, key, err, errlen, "%s \"%s\" is used twice", key, p->name);
        }
    if (strcmp (p->type, "csv") == 0 && (!p->path || !*p->path)) {
        snprintf (key, sizeof key, "providers[%zu].type", i);
        return mdf_cfg_fail (cfg, key, err, errlen, "providers[%zu].path is required for csv", i);
    }
    mdf_csv_opts_t opts;
    const char *bad = NULL;
    char why[300];
    if (settings_csv_opts (p, &opts, &bad, why, sizeof why) != 0) {
        snprintf (key, sizeof key, "providers[%zu].%s", i, bad);
        return mdf_cfg_fail (cfg, key, err, errlen, "%s: %s", key, why);
    }
    if (strcmp (p->type, "tick_csv") == 0 && (!p->path || !*p->path)) {
        snprintf (key, sizeof key, "providers[%zu].type", i);
        return mdf_cfg_fail (cfg, key, err, errlen, "providers[%zu].path is required for tick_csv",
                             i);
    }
    if (strcmp (p->type, "exec") == 0 && p->command.count == 0) {
        snprintf (key, sizeof key, "providers[%zu].command", i);
        return mdf_cfg_fail (cfg, key, err, errlen,
                             "%s is required for exec (an array: program, then arguments)", key);
    }
    if (strcmp (p->type, "zmq") == 0 && (!p->endpoint || !strstr (p->endpoint, "://"))) {
        snprintf (key, sizeof key, "providers[%zu].endpoint", i);
        return mdf_cfg_fail (cfg, key, err, errlen,
                             "%s is required for zmq (an endpoint like tcp://host:port)", key);
    }
    if (strcmp (p->type, "synthetic") == 0 && p->symbols.count == 0) {
        snprintf (key, sizeof key, "providers[%zu].symbols", i);
        return mdf_cfg_fail (cfg, key, err, errlen, "%s must name at least one symbol", key);
    }
    for (size_t k = 0; k < p->symbols.count; k++) {
        size_t len = strlen (p->symbols.items[k]);
        if (len == 0 || len > 64) {
            snprintf (key, sizeof key, "providers[%zu].symbols", i);
            return mdf_cfg_fail (cfg, key, err, errlen, "%s: symbol %zu must be 1..64 bytes", key,
                                 k);
        }
    }
    return 0;
}

int
settings_csv_opts (const provider_settings_t *p, mdf_csv_opts_t *opts, const char **bad_key,
                   char *err, size_t errlen)
{
    return mdf_csv_opts_parse (opts, p->symbol, p->columns, p->ts_format, p->ts_offset, bad_key,
                               err, errlen);
}

bool
settings_provider_is_live (const provider_settings_t *p)
{
    return p->type
           && (strcmp (p->type, "exec") == 0 || strcmp (p->type, "zmq") == 0
               || strcmp (p->type, "tick_csv") == 0);
}

/* Every endpoint of `list` looks like "transport://address". */
static int
s_check_endpoints (mdf_cfg_t *cfg, const char *key, const mdf_strlist_t *list, char *err,
                   size_t errlen)
{
    for (size_t i = 0; i < list->count; i++) {
        const char *sep = strstr (list->items[i], "://");
        if (!sep || sep == list->items[i] || sep[3] == '\0')
            return mdf_cfg_fail (cfg, key, err, errlen,
                                 "%s: \"%s\" is not an endpoint like tcp://host:port", key,
                                 list->items[i]);
    }
    return 0;
}

/* First line of `path` into a new string (trailing CR/LF, blanks stripped).
 * NULL with err set (naming the file, never its content). */
static char *
s_read_token_file (mdf_cfg_t *cfg, const char *path, char *err, size_t errlen)
{
    static const char *key = "http.control_token_file";
    FILE *f = fopen (path, "r");
    if (!f) {
        mdf_cfg_fail (cfg, key, err, errlen, "%s: cannot read %s: %s", key, path, strerror (errno));
        return NULL;
    }
    char line[MDF_HTTP_TOKEN_MAX + 8];
    bool got = fgets (line, sizeof line, f) != NULL;
    bool read_error = ferror (f) != 0;
    fclose (f);
    size_t n = got ? strlen (line) : 0;
    bool whole = n == 0 || line[n - 1] == '\n' || n < sizeof line - 1;
    while (n && strchr (" \t\r\n", line[n - 1]))
        line[--n] = '\0';
    char *token = NULL;
    if (read_error)
        mdf_cfg_fail (cfg, key, err, errlen, "%s: cannot read %s", key, path);
    else if (n == 0)
        mdf_cfg_fail (cfg, key, err, errlen, "%s: %s is empty (the token is its first line)", key,
                      path);
    else if (!whole || !mdf_http_token_ok (line))
        mdf_cfg_fail (cfg, key, err, errlen,
                      "%s: the first line of %s must be a token of 1..%d visible ASCII "
                      "characters (no spaces)",
                      key, path, MDF_HTTP_TOKEN_MAX);
    else if (!(token = strdup (line)))
        mdf_cfg_fail (cfg, key, err, errlen, "out of memory");
    explicit_bzero (line, sizeof line);
    return token;
}

/* http.control_token or http.control_token_file (one at most) into
 * s->control_token. */
static int
s_load_control_token (mdf_cfg_t *cfg, settings_t *s, char *err, size_t errlen)
{
    const char *inline_token = s->http_control_token ? s->http_control_token : "";
    const char *file = s->http_control_token_file ? s->http_control_token_file : "";
    if (*inline_token && *file)
        return mdf_cfg_fail (cfg, "http.control_token_file", err, errlen,
                             "http.control_token_file and http.control_token are mutually "
                             "exclusive: set only one");
    if (*inline_token && !mdf_http_token_ok (inline_token))
        return mdf_cfg_fail (cfg, "http.control_token", err, errlen,
                             "http.control_token must be 1..%d visible ASCII characters "
                             "(no spaces)",
                             MDF_HTTP_TOKEN_MAX);
    s->control_token = *file ? s_read_token_file (cfg, file, err, errlen) : strdup (inline_token);
    if (!s->control_token && !*file)
        snprintf (err, errlen, "out of memory");
    return s->control_token ? 0 : -1;
}

/* The stores: lists (one feedback endpoint per ingest endpoint, same order)
 * or discovery, not both. */
static int
s_check_stores (mdf_cfg_t *cfg, const settings_t *s, char *err, size_t errlen)
{
    bool listed = strcmp (mdf_cfg_where (cfg, "store.ingest"), "default") != 0
                  || strcmp (mdf_cfg_where (cfg, "store.feedback"), "default") != 0;
    if (*s->discover) {
        if (listed)
            return mdf_cfg_fail (cfg, "store.discover", err, errlen,
                                 "store.discover and store.ingest / store.feedback are mutually "
                                 "exclusive: set one");
        return 0;
    }
    if (s->ingest.count == 0)
        return mdf_cfg_fail (cfg, "store.ingest", err, errlen,
                             "store.ingest needs at least one endpoint");
    if (s->ingest.count > MEMBERS_MAX)
        return mdf_cfg_fail (cfg, "store.ingest", err, errlen, "store.ingest: at most %d stores",
                             MEMBERS_MAX);
    if (s->fb_enabled && s->feedback.count != s->ingest.count)
        return mdf_cfg_fail (cfg, "store.feedback", err, errlen,
                             "store.feedback must list one endpoint per store.ingest endpoint, "
                             "in the same order (%zu for %zu)",
                             s->feedback.count, s->ingest.count);
    return 0;
}

static int
s_check (mdf_cfg_t *cfg, settings_t *s, char *err, size_t errlen)
{
    if (s_check_endpoints (cfg, "store.ingest", &s->ingest, err, errlen) < 0
        || s_check_endpoints (cfg, "store.feedback", &s->feedback, err, errlen) < 0)
        return -1;
    if (mdp_curve_load (&s->curve, cfg, s->curve_on, s->curve_secret_file, s->curve_server_key,
                        s->curve_server_key_file, err, errlen)
        < 0)
        return -1;
    if (s_load_control_token (cfg, s, err, errlen) < 0)
        return -1;
    if (s_check_stores (cfg, s, err, errlen) < 0)
        return -1;
    if (!policy_known (s->policy_name))
        return mdf_cfg_fail (cfg, "feedback.policy", err, errlen,
                             "feedback.policy: unknown policy \"%s\" (known: %s)", s->policy_name,
                             policy_names ());
    if (s->policy.low_fill >= s->policy.high_fill)
        return mdf_cfg_fail (cfg, "feedback.low_fill", err, errlen,
                             "feedback.low_fill must be < feedback.high_fill");
    if (s->retry_backoff_max_ms < s->retry_backoff_ms)
        return mdf_cfg_fail (cfg, "store.retry_backoff_max_ms", err, errlen,
                             "store.retry_backoff_max_ms must be >= store.retry_backoff_ms");
    if (s->nproviders == 0)
        return mdf_cfg_fail (cfg, "providers", err, errlen,
                             "at least one [[providers]] table is required");
    if (s->nproviders > COORDINATOR_MAX_PROVIDERS)
        return mdf_cfg_fail (cfg, "providers", err, errlen, "at most %d providers",
                             COORDINATOR_MAX_PROVIDERS);
    for (size_t i = 0; i < s->nproviders; i++)
        if (s_check_provider (cfg, s, i, err, errlen) < 0)
            return -1;
    for (size_t k = 0; k < s->fb_providers.count; k++)
        if (settings_provider_index (s, s->fb_providers.items[k]) < 0)
            return mdf_cfg_fail (cfg, "feedback.providers", err, errlen,
                                 "feedback.providers: no provider named \"%s\"",
                                 s->fb_providers.items[k]);
    return 0;
}

static const mdf_cfg_array_t s_arrays[] = {
    { "providers", provider_entries, sizeof provider_entries / sizeof provider_entries[0],
      sizeof (provider_settings_t), S_OFF (providers), S_OFF (nproviders), P_OFF (name) },
};

const mdf_cfg_schema_t pipeline_schema = {
    "md-pipeline", "MDP", pipeline_entries, sizeof pipeline_entries / sizeof pipeline_entries[0],
    s_arrays,      1,
};

mdf_cfg_t *
settings_load_cfg (const char *path, void *settings, char *err, size_t errlen)
{
    settings_t *s = settings;
    memset (s, 0, sizeof *s);
    mdf_cfg_t *cfg = mdf_cfg_new (pipeline_entries, pipeline_entries_n, "MDP");
    if (!cfg) {
        snprintf (err, errlen, "out of memory");
        return NULL;
    }
    static const char *const arrays[] = { "providers", NULL };
    void *items = NULL;
    int rc = mdf_cfg_load (cfg, path, arrays, s, err, errlen);
    if (rc == 0)
        rc = mdf_cfg_load_array (cfg, "providers", provider_entries, provider_entries_n,
                                 sizeof (provider_settings_t), &items, &s->nproviders, err, errlen);
    s->providers = items;
    if (rc == 0)
        rc = s_check (cfg, s, err, errlen);
    if (rc != 0)
        mdf_cfg_destroy (&cfg);
    return cfg;
}

int
settings_load (settings_t *s, const char *path, FILE *dump, char *err, size_t errlen)
{
    mdf_cfg_t *cfg = settings_load_cfg (path, s, err, errlen);
    if (cfg && dump)
        mdf_cfg_dump_schema (cfg, &pipeline_schema, s, dump);
    int rc = cfg ? 0 : -1;
    mdf_cfg_destroy (&cfg);
    return rc;
}

int
settings_defaults (settings_t *s)
{
    memset (s, 0, sizeof *s);
    return mdf_cfg_defaults (pipeline_entries, pipeline_entries_n, s);
}

void
settings_free_any (void *settings)
{
    settings_free (settings);
}

void
settings_free (settings_t *s)
{
    void *items = s->providers;
    if (items)
        mdf_cfg_free_array (provider_entries, provider_entries_n, sizeof (provider_settings_t),
                            &items, &s->nproviders);
    s->providers = NULL;
    if (s->control_token)
        explicit_bzero (s->control_token, strlen (s->control_token));
    free (s->control_token);
    s->control_token = NULL;
    if (s->http_control_token)
        explicit_bzero (s->http_control_token, strlen (s->http_control_token));
    mdf_cfg_free (pipeline_entries, pipeline_entries_n, s);
}

int
settings_provider_index (const settings_t *s, const char *name)
{
    for (size_t i = 0; i < s->nproviders; i++)
        if (s->providers[i].name && strcmp (s->providers[i].name, name) == 0)
            return (int)i;
    return -1;
}
