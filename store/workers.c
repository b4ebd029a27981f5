/*
 * workers: sink writer threads; see workers.h for the loop, the breaker and
 * the throttle.
 *
 * Shared state between threads: the queue (its own mutex), `lock` guarding
 * the breaker (store/breaker.h) and the sink's health, the throttle
 * (store/throttle.h, its own lock), and atomics (abort flag, alive count,
 * breaker state for readers).  Each thread's sink is its own.
 */
#include "store/workers.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/clock.h"
#include "common/cond.h"
#include "common/log.h"
#include "store/throttle.h"

/* An idle worker checks its sink connection this often (sink_check). */
#define S_IDLE_CHECK_MS 1000

struct _workers_t {
    workers_config_t cfg;
    queue_t *queue;
    stats_t *stats;
    pthread_t *threads;
    int started;
    pthread_t pinger;
    bool pinger_started;
    atomic_bool abort;
    atomic_int alive;
    atomic_int breaker_pub; /* breaker_state_t, for readers */
    throttle_t *throttle;   /* sink.max_rows_per_sec, live (SIGHUP) */
    pthread_mutex_t lock;
    pthread_cond_t ready_cond;
    /* under lock: */
    int ready; /* threads past their start-up (ok or not) */
    breaker_t *breaker;
    char last_error[256];
    mdf_ratelimit_t log_rl;
    /* sink health, under lock (workers.h) */
    pthread_cond_t pinger_cond; /* monotonic: wakes the pinger to stop */
    bool pinger_stop;
    bool checked;     /* a ping finished or a write committed */
    bool ping_failed; /* the last ping failed and no write committed since */
    int64_t ok_ns;    /* last successful ping or commit */
    int failing;      /* workers retrying a failed write */
    char ping_error[256];
};

work_item_t *
work_item_new (void)
{
    return calloc (1, sizeof (work_item_t));
}

void
work_item_destroy (work_item_t **self_p)
{
    if (!*self_p)
        return;
    mdf_batch_clear (&(*self_p)->batch);
    free (*self_p);
    *self_p = NULL;
}

void
done_destroy (done_t **self_p)
{
    done_t *self = *self_p;
    if (!self)
        return;
    for (size_t i = 0; i < self->n; i++)
        work_item_destroy (&self->items[i]);
    free (self);
    *self_p = NULL;
}

/* Sleep until monotonic time `until_ns`, in slices, unless aborted. */
static bool
s_sleep_until (workers_t *self, int64_t until_ns)
{
    for (;;) {
        if (atomic_load (&self->abort))
            return false;
        int64_t left = until_ns - mdf_mono_ns ();
        if (left <= 0)
            return true;
        if (left > 50000000)
            left = 50000000;
        struct timespec ts = { 0, (long)left };
        nanosleep (&ts, NULL);
    }
}

/* Publish the breaker's state to readers (lock held). */
static void
s_publish_breaker (workers_t *self)
{
    breaker_state_t state = breaker_state (self->breaker);
    mdf_gauge_set (self->stats->breaker, (double)state);
    atomic_store (&self->breaker_pub, (int)state);
}

/* Wait until the breaker lets this worker write; false when aborted. */
static bool
s_breaker_acquire (workers_t *self, bool *probe)
{
    for (;;) {
        if (atomic_load (&self->abort))
            return false;
        pthread_mutex_lock (&self->lock);
        int64_t wait = breaker_acquire (self->breaker, probe);
        s_publish_breaker (self);
        pthread_mutex_unlock (&self->lock);
        if (wait == 0)
            return true;
        s_sleep_until (self, mdf_mono_ns () + wait);
    }
}

static void
s_breaker_result (workers_t *self, bool ok, bool probe, const char *err)
{
    pthread_mutex_lock (&self->lock);
    int64_t failures = breaker_failures (self->breaker);
    breaker_change_t change = breaker_result (self->breaker, ok, probe);
    s_publish_breaker (self);
    if (ok) {
        if (change == BREAKER_CLOSED_AGAIN)
            mdf_info ("sink recovered, breaker closed", "failures=%lld", (long long)failures);
        self->last_error[0] = '\0';
        self->checked = true; /* a commit proves the sink reachable */
        self->ping_failed = false;
        self->ok_ns = mdf_mono_ns ();
    } else {
        snprintf (self->last_error, sizeof self->last_error, "%s", err);
        if (change == BREAKER_OPENED)
            mdf_warn ("sink failing, breaker open", "failures=%lld",
                      (long long)breaker_failures (self->breaker));
    }
    pthread_mutex_unlock (&self->lock);
}

/* Count this worker in (+1) or out (-1) of those retrying a failed write. */
static void
s_failing (workers_t *self, int delta)
{
    pthread_mutex_lock (&self->lock);
    self->failing += delta;
    pthread_mutex_unlock (&self->lock);
}

/* The retry loop of s_write; *failed is set (and this worker counted among
 * those failing) at the first failed attempt. */
static bool
s_write_until_committed (workers_t *self, sink_t *sink, const mdf_batch_t *const *batches, size_t n,
                         int64_t bars, bool *failed)
{
    int64_t backoff_ms = self->cfg.retry_initial_ms;
    for (;;) {
        bool probe;
        if (!s_breaker_acquire (self, &probe))
            return false;
        char err[512] = "";
        int64_t t0 = mdf_mono_ns ();
        int rc = sink_write (sink, batches, n, err, sizeof err);
        if (rc == 0)
            mdf_histogram_observe (self->stats->sink_write, (double)(mdf_mono_ns () - t0) / 1e9);
        if (rc != 0)
            mdf_counter_inc (self->stats->sink_errors); /* before the breaker shows it */
        if (rc != 0 && !*failed) {
            *failed = true;
            s_failing (self, +1);
        }
        s_breaker_result (self, rc == 0, probe, err);
        if (rc == 0)
            return true;
        uint64_t suppressed = 0;
        if (mdf_ratelimit_allow (&self->log_rl, &suppressed)) {
            char q[600];
            mdf_warn ("sink write failed, will retry",
                      "bars=%lld backoff_ms=%lld error=%s "
                      "suppressed=%llu",
                      (long long)bars, (long long)backoff_ms, mdf_log_quote (q, sizeof q, err),
                      (unsigned long long)suppressed);
        }
        if (!s_sleep_until (self, mdf_mono_ns () + backoff_ms * 1000000))
            return false;
        backoff_ms
            = backoff_ms * 2 > self->cfg.retry_max_ms ? self->cfg.retry_max_ms : backoff_ms * 2;
    }
}

/* Write until committed (true) or aborted (false). */
static bool
s_write (workers_t *self, sink_t *sink, const mdf_batch_t *const *batches, size_t n, int64_t bars)
{
    bool failed = false;
    bool committed = s_write_until_committed (self, sink, batches, n, bars, &failed);
    if (failed)
        s_failing (self, -1);
    return committed;
}

/* A done_t for n items.  Every taken item must go back to the ingest thread
 * (it counts them, answers them and forgets their resend keys), so when
 * memory is short this waits for it; NULL only once aborted. */
static done_t *
s_done_new (workers_t *self, size_t n)
{
    for (;;) {
        done_t *done = malloc (sizeof *done + n * sizeof *done->items);
        if (done)
            return done;
        mdf_error ("out of memory handing a batch back, waiting", "batches=%zu", n);
        if (!s_sleep_until (self, mdf_mono_ns () + 100000000))
            return NULL;
    }
}

/* One transaction: write the taken items, account, hand them back. */
static void
s_handle (workers_t *self, sink_t *sink, work_item_t **items, const mdf_batch_t **batches, size_t n,
          int64_t bars)
{
    for (size_t i = 0; i < n; i++)
        batches[i] = &items[i]->batch;
    /* Wait for this write's slot of the throttle first: that wait is the
     * previous write's share of it, so it is not this write's sink time.
     * The write then counts as taking at least its own share (sinkrate_end's
     * min_busy), and its retries count as busy time. */
    int64_t cost_ns = throttle_cost_ns (self->throttle, bars);
    bool go = s_sleep_until (self, throttle_reserve (self->throttle, bars));
    int64_t started = self->cfg.sinkrate ? sinkrate_begin (self->cfg.sinkrate) : 0;
    bool committed = go && s_write (self, sink, batches, n, bars);
    if (self->cfg.sinkrate)
        sinkrate_end (self->cfg.sinkrate, started, committed ? bars : 0, cost_ns);
    if (committed) {
        int64_t now = mdf_mono_ns ();
        mdf_counter_add (self->stats->bars_written, (uint64_t)bars);
        for (size_t i = 0; i < n; i++)
            mdf_histogram_observe (self->stats->ingest_commit,
                                   (double)(now - items[i]->received_ns) / 1e9);
    }
    done_t *done = s_done_new (self, n);
    if (!done) { /* aborted at shutdown with no memory: nothing will be answered */
        queue_release (self->queue, bars);
        for (size_t i = 0; i < n; i++)
            work_item_destroy (&items[i]);
        return;
    }
    memcpy (done->items, items, n * sizeof *items);
    done->n = n;
    done->bars = bars;
    done->committed = committed;
    queue_finish (self->queue, bars, &done->link); /* the bars leave, the ingest thread acks */
}

/* Start-up is synchronous: workers_new returns once every thread got here. */
static void
s_signal_ready (workers_t *self)
{
    pthread_mutex_lock (&self->lock);
    self->ready++;
    pthread_cond_broadcast (&self->ready_cond);
    pthread_mutex_unlock (&self->lock);
}

static void *
s_thread (void *arg)
{
    workers_t *self = arg;
    char err[512];
    sink_t *sink = sink_new (&self->cfg.sink, err, sizeof err);
    size_t max_items = (size_t)self->cfg.batch_max;
    work_item_t **items = calloc (max_items, sizeof *items);
    const mdf_batch_t **batches = calloc (max_items, sizeof *batches);
    if (!sink || !items || !batches) {
        mdf_error ("worker cannot start", "reason=%s", "sink_or_memory");
        s_signal_ready (self);
        goto out;
    }
    atomic_fetch_add (&self->alive, 1);
    mdf_gauge_add (self->stats->workers_alive, 1);
    s_signal_ready (self);
    if (sink_open (sink, err, sizeof err) != 0) { /* early error report; writes retry */
        char q[600];
        mdf_counter_inc (self->stats->sink_errors);
        mdf_warn ("sink not available yet", "error=%s", mdf_log_quote (q, sizeof q, err));
    }
    for (;;) {
        int64_t bars = 0; /* the take follows a live change of the throttle */
        int64_t t0 = mdf_mono_ns ();
        size_t n = queue_take_timed (self->queue,
                                     throttle_take_max (self->throttle, self->cfg.batch_max),
                                     (void **)items, max_items, &bars, S_IDLE_CHECK_MS);
        if (n == 0) {
            /* 0 means stopped or timed out; only a timeout waits the full time
             * (once stopped, the next call returns at once) */
            if (mdf_mono_ns () - t0 < (int64_t)S_IDLE_CHECK_MS * 1000000)
                break;
            if (sink_check (sink, err, sizeof err) != 0) /* logged by the sink */
                mdf_counter_inc (self->stats->sink_errors);
            continue;
        }
        s_handle (self, sink, items, batches, n, bars);
    }
    atomic_fetch_sub (&self->alive, 1);
    mdf_gauge_add (self->stats->workers_alive, -1);
out:
    free (batches);
    free (items);
    sink_destroy (&sink);
    return NULL;
}

/* ---- the pinger ---- */

static void
s_ping_result (workers_t *self, bool ok, const char *err)
{
    pthread_mutex_lock (&self->lock);
    bool was_failed = self->ping_failed, first = !self->checked;
    self->checked = true;
    self->ping_failed = !ok;
    if (ok) {
        self->ok_ns = mdf_mono_ns ();
        self->ping_error[0] = '\0';
    } else
        snprintf (self->ping_error, sizeof self->ping_error, "%s", err);
    pthread_cond_broadcast (&self->ready_cond); /* workers_new waits for the first */
    pthread_mutex_unlock (&self->lock);
    char q[600];
    if (!ok && (first || !was_failed))
        mdf_warn ("sink not reachable", "type=%s error=%s", self->cfg.sink.type,
                  mdf_log_quote (q, sizeof q, err));
    else if (ok && was_failed)
        mdf_info ("sink reachable again", "type=%s", self->cfg.sink.type);
}

/* Ping at start and every ping_ms, sink_check every second in between (and
 * ping every second while pings fail), until workers_join stops it. */
static void *
s_pinger (void *arg)
{
    workers_t *self = arg;
    char err[512] = "";
    sink_t *sink = sink_new (&self->cfg.sink, err, sizeof err);
    int64_t next_ping = mdf_mono_ns ();
    pthread_mutex_lock (&self->lock);
    while (!self->pinger_stop) {
        int64_t now = mdf_mono_ns ();
        pthread_mutex_unlock (&self->lock);
        if (!sink)
            s_ping_result (self, false, err);
        else if (now >= next_ping) {
            int rc = sink_ping (sink, (int)self->cfg.ping_timeout_ms, err, sizeof err);
            s_ping_result (self, rc == 0, err);
            now = mdf_mono_ns ();
            /* a failed ping leaves no connection to check between pings:
             * ping again at the check's pace until one succeeds */
            next_ping = now + (rc == 0 ? self->cfg.ping_ms : S_IDLE_CHECK_MS) * 1000000;
        } else if (sink_check (sink, err, sizeof err) != 0)
            s_ping_result (self, false, err); /* the next ping reopens */
        int64_t wait = next_ping - now;
        if (wait > (int64_t)S_IDLE_CHECK_MS * 1000000)
            wait = (int64_t)S_IDLE_CHECK_MS * 1000000;
        pthread_mutex_lock (&self->lock);
        if (!self->pinger_stop && wait > 0)
            mdf_cond_wait_ns (&self->pinger_cond, &self->lock, wait);
    }
    pthread_mutex_unlock (&self->lock);
    sink_destroy (&sink);
    return NULL;
}

static void
s_pinger_stop (workers_t *self)
{
    if (!self->pinger_started)
        return;
    pthread_mutex_lock (&self->lock);
    self->pinger_stop = true;
    pthread_cond_broadcast (&self->pinger_cond);
    pthread_mutex_unlock (&self->lock);
    pthread_join (self->pinger, NULL);
    self->pinger_started = false;
}

void
workers_health (workers_t *self, workers_health_t *out)
{
    memset (out, 0, sizeof *out);
    out->breaker = workers_breaker (self);
    out->alive = workers_alive (self);
    pthread_mutex_lock (&self->lock);
    int64_t now = mdf_mono_ns ();
    int64_t stale_ns = (3 * self->cfg.ping_ms + self->cfg.ping_timeout_ms) * 1000000;
    out->checked = self->checked;
    out->last_ok_ms_ago = self->ok_ns ? (now - self->ok_ns) / 1000000 : -1;
    out->reachable
        = self->checked && !self->ping_failed && self->ok_ns && now - self->ok_ns <= stale_ns;
    out->failing_writes = self->failing;
    const char *error = self->failing > 0 || out->breaker != BREAKER_CLOSED ? self->last_error
                        : self->ping_failed                                 ? self->ping_error
                                                                            : "";
    if (!*error && out->checked && !out->reachable)
        error = "no successful sink check for 3 ping periods";
    snprintf (out->error, sizeof out->error, "%s", error);
    pthread_mutex_unlock (&self->lock);
}

workers_t *
workers_new (const workers_config_t *cfg, queue_t *queue, stats_t *stats, char *err, size_t errlen)
{
    sink_t *probe = sink_new (&cfg->sink, err, errlen); /* validates the type */
    if (!probe)
        return NULL;
    sink_destroy (&probe);
    workers_t *self = calloc (1, sizeof *self);
    if (!self)
        return NULL;
    self->cfg = *cfg;
    self->throttle = throttle_new (cfg->max_rows_per_sec, NULL);
    self->breaker = breaker_new (cfg->breaker_failures, cfg->breaker_cooldown_ms, NULL);
    self->queue = queue;
    self->stats = stats;
    self->log_rl = (mdf_ratelimit_t)MDF_RATELIMIT_INIT (5000, 3);
    pthread_mutex_init (&self->lock, NULL);
    mdf_cond_init_monotonic (&self->ready_cond); /* timed wait for the first ping */
    mdf_cond_init_monotonic (&self->pinger_cond);
    self->threads = calloc ((size_t)cfg->count, sizeof (pthread_t));
    if (!self->threads || !self->throttle || !self->breaker) {
        workers_destroy (&self);
        snprintf (err, errlen, "out of memory");
        return NULL;
    }
    for (int i = 0; i < cfg->count; i++) {
        if (pthread_create (&self->threads[i], NULL, s_thread, self) != 0) {
            snprintf (err, errlen, "cannot start worker thread %d", i);
            queue_stop (queue, false);
            workers_destroy (&self);
            return NULL;
        }
        self->started++;
    }
    pthread_mutex_lock (&self->lock);
    while (self->ready < self->started)
        pthread_cond_wait (&self->ready_cond, &self->lock);
    pthread_mutex_unlock (&self->lock);
    if (pthread_create (&self->pinger, NULL, s_pinger, self) != 0) {
        snprintf (err, errlen, "cannot start the sink pinger thread");
        queue_stop (queue, false);
        workers_destroy (&self);
        return NULL;
    }
    self->pinger_started = true;
    /* so /health is right from the first request */
    pthread_mutex_lock (&self->lock);
    int64_t until = mdf_mono_ns () + (cfg->ping_timeout_ms + 1000) * 1000000;
    while (!self->checked && mdf_mono_ns () < until)
        mdf_cond_wait_ns (&self->ready_cond, &self->lock, until - mdf_mono_ns ());
    pthread_mutex_unlock (&self->lock);
    return self;
}

void
workers_abort (workers_t *self)
{
    atomic_store (&self->abort, true);
}

void
workers_join (workers_t *self)
{
    s_pinger_stop (self);
    for (int i = 0; i < self->started; i++)
        pthread_join (self->threads[i], NULL);
    self->started = 0;
}

void
workers_destroy (workers_t **self_p)
{
    workers_t *self = *self_p;
    if (!self)
        return;
    workers_join (self);
    pthread_cond_destroy (&self->pinger_cond);
    pthread_cond_destroy (&self->ready_cond);
    pthread_mutex_destroy (&self->lock);
    free (self->threads);
    throttle_destroy (&self->throttle);
    breaker_destroy (&self->breaker);
    free (self);
    *self_p = NULL;
}

void
workers_set_max_rows (workers_t *self, int64_t max_rows_per_sec)
{
    throttle_set_rate (self->throttle, max_rows_per_sec);
}

breaker_state_t
workers_breaker (workers_t *self)
{
    return (breaker_state_t)atomic_load (&self->breaker_pub);
}

int
workers_alive (workers_t *self)
{
    return atomic_load (&self->alive);
}
