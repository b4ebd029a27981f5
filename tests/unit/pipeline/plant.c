/*
 * plant: see plant.h.
 */
#include "plant.h"

#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pipeline/settings.h"

#define S_HIST 4000 /* delay histogram: 1 ms buckets up to 4 s */
#define S_EVENTS 256

typedef struct {
    double q, level_q_hi;
    double mine[PLANT_MAX]; /* bars of each pipeline in the queue (its batches in flight) */
    mdf_level_t level;
    double busy[200], done[200]; /* per step ring over the rate window */
    size_t ring;
    double last_send[PLANT_MAX];
    uint64_t seq;
    double next_report;
    double last_mu; /* -1 until the sink has worked */
} s_store_t;

typedef struct {
    double at;
    int store;
    policy_member_t m;
} s_event_t;

typedef struct {
    policy_t *policy;
    policy_member_t known[PLANT_MAX];
    int heard[PLANT_MAX];
    double scale, tokens, next_tick;
    double pending; /* bars of a batch refused (retry), resent first */
} s_pipe_t;

double
plant_const (double t, void *arg)
{
    (void)t;
    return *(double *)arg;
}

void
plant_init (plant_t *p, const char *policy)
{
    memset (p, 0, sizeof *p);
    p->nstores = 1;
    p->npipes = 1;
    p->hysteresis = 200;
    for (size_t i = 0; i < PLANT_MAX; i++) {
        p->capacity[i] = 10000;
        p->high[i] = 8000;
        p->low[i] = 5000;
    }
    p->policy = policy;
    settings_t s;
    ck_assert_int_eq (settings_defaults (&s), 0);
    p->params = s.policy;
    settings_free (&s);
}

static mdf_level_t
s_level (const plant_t *p, size_t i, const s_store_t *st)
{
    double q = st->q, h = p->hysteresis;
    if (q >= p->high[i])
        return MDF_LEVEL_HARD;
    if (st->level == MDF_LEVEL_HARD && q > p->high[i] - h)
        return MDF_LEVEL_HARD;
    if (q > p->low[i])
        return MDF_LEVEL_SOFT;
    if (st->level != MDF_LEVEL_OK && q > p->low[i] - h)
        return MDF_LEVEL_SOFT;
    return MDF_LEVEL_OK;
}

/* The store with the most headroom for pipeline `k`'s batch, or -1. */
static int
s_route (const plant_t *p, const s_pipe_t *pp, const s_store_t *st, size_t k, double t)
{
    int best = -1;
    double best_score = 0;
    for (size_t i = 0; i < p->nstores; i++) {
        if (t < p->start[i] || !pp->heard[i])
            continue;
        const policy_member_t *m = &pp->known[i];
        double n = m->producers >= 1 ? m->producers : 1; /* producers_credit: */
        double credit = (p->high[i] - 1) / n;
        if (m->service_rate >= 0) /* ... and within 1 s of the service rate */
            credit = fmax (1, fmin (credit, m->service_rate * 1.0 / n));
        if (st[i].mine[k] > 0 && st[i].mine[k] + fmin (pp->tokens, PLANT_BATCH) > credit)
            continue; /* the store's credit: a full window there */
        /* the delay its queue means: what it reported, plus what we sent
         * there and is not answered, over its service rate */
        double mu = m->service_rate > 0 ? m->service_rate : m->capacity;
        double score = (double)m->level * 1e6 + (m->queue_size + st[i].mine[k]) / mu;
        if (best < 0 || score < best_score) {
            best = (int)i;
            best_score = score;
        }
    }
    return best;
}

static void
s_evaluate (plant_t *p, s_pipe_t *pp, size_t k, double t)
{
    policy_member_t members[PLANT_MAX];
    size_t n = 0;
    for (size_t i = 0; i < p->nstores; i++)
        if (pp->heard[i])
            members[n++] = pp->known[i];
    double live = p->live[k] ? p->live[k](t, p->live_arg[k]) : 0;
    policy_input_t in = { members, n, p->demand[k](t, p->demand_arg[k]), live };
    pp->scale = policy_scale_members (pp->policy, &in, (int64_t)(t * 1e9));
}

void
plant_run (plant_t *p, double seconds, double from_s)
{
    s_store_t *st = calloc (p->nstores, sizeof *st);
    s_pipe_t *pp = calloc (p->npipes, sizeof *pp);
    s_event_t *ev = calloc (S_EVENTS, sizeof *ev);
    double *hist = calloc (S_HIST + 1, sizeof *hist);
    size_t nev = 0;
    size_t ring_len = (size_t)(PLANT_RATE_WINDOW_S / PLANT_DT + 0.5);
    for (size_t k = 0; k < p->npipes; k++) {
        char err[128];
        pp[k].policy = policy_new (p->policy, &p->params, err, sizeof err);
        ck_assert_msg (pp[k].policy != NULL, "%s", err);
    }
    for (size_t i = 0; i < p->nstores; i++) {
        st[i].next_report = p->start[i];
        st[i].last_mu = -1;
    }
    int steps = (int)(seconds / PLANT_DT + 0.5);
    for (int step = 0; step < steps; step++) {
        double t = step * PLANT_DT;
        /* deliver due events */
        for (size_t e = 0; e < nev;) {
            if (ev[e].at > t) {
                e++;
                continue;
            }
            for (size_t k = 0; k < p->npipes; k++) {
                pp[k].known[ev[e].store] = ev[e].m;
                pp[k].heard[ev[e].store] = 1;
                s_evaluate (p, &pp[k], k, t);
            }
            ev[e] = ev[--nev];
        }
        /* pipelines: ticks, then send */
        double offered = 0;
        for (size_t k = 0; k < p->npipes; k++) {
            if (t >= pp[k].next_tick) {
                s_evaluate (p, &pp[k], k, t);
                pp[k].next_tick = t + 0.05;
            }
            double demand = p->demand[k](t, p->demand_arg[k]);
            double live = p->live[k] ? p->live[k](t, p->live_arg[k]) : 0;
            offered += demand + live;
            pp[k].tokens += pp[k].scale * demand * PLANT_DT;
            if (pp[k].tokens > 2 * PLANT_BATCH)
                pp[k].tokens = 2 * PLANT_BATCH; /* the bucket's burst */
            pp[k].tokens += live * PLANT_DT;    /* live bars: never paced, never capped */
            if (t >= from_s)
                p->live_sent[k] += live * PLANT_DT;
            /* a batch is sealed full, or with what it holds once it lingered
             * (5 ms, one step) */
            while (pp[k].tokens >= 1 || pp[k].pending > 0) {
                int s = s_route (p, &pp[k], st, k, t);
                if (s < 0)
                    break;
                double bars
                    = pp[k].pending > 0 ? pp[k].pending : floor (fmin (pp[k].tokens, PLANT_BATCH));
                if (st[s].q + bars > p->capacity[s]) {
                    p->retries++;
                    pp[k].pending = bars;
                    break;
                }
                if (pp[k].pending > 0)
                    pp[k].pending = 0;
                else
                    pp[k].tokens -= bars;
                int idx = (int)(1000 * st[s].q / fmax (p->sink_rate[s](t, p->sink_arg[s]), 1));
                hist[idx < S_HIST ? idx : S_HIST] += t >= from_s ? bars : 0;
                st[s].q += bars;
                st[s].mine[k] += bars;
                st[s].last_send[k] = t;
                if (t >= from_s)
                    p->sent[k] += bars;
            }
            p->scale_last[k] = pp[k].scale;
        }
        /* stores: drain, levels, reports */
        double capacity_now = 0;
        for (size_t i = 0; i < p->nstores; i++) {
            if (t < p->start[i])
                continue;
            double rate = p->sink_rate[i](t, p->sink_arg[i]);
            capacity_now += rate;
            double busy = st[i].q > 0 ? PLANT_DT : 0;
            double d = fmin (st[i].q, rate * PLANT_DT);
            for (size_t k = 0; k < p->npipes && st[i].q > 0; k++)
                st[i].mine[k] -= d * st[i].mine[k] / st[i].q;
            st[i].q -= d;
            if (t >= from_s)
                p->committed += d;
            st[i].busy[st[i].ring] = busy;
            st[i].done[st[i].ring] = d;
            st[i].ring = (st[i].ring + 1) % ring_len;
            mdf_level_t lv = s_level (p, i, &st[i]);
            if (lv != st[i].level)
                p->level_changes += t >= from_s;
            st[i].level = lv;
            if (t >= 2 && st[i].q > p->max_q_after_2s)
                p->max_q_after_2s = st[i].q;
            if (st[i].q > p->max_q)
                p->max_q = st[i].q;
            if (t >= st[i].next_report && nev < S_EVENTS) {
                double b = 0, c = 0;
                int producers = 0;
                for (size_t r = 0; r < ring_len; r++) {
                    b += st[i].busy[r];
                    c += st[i].done[r];
                }
                /* as md-store counts them: every subscriber (each pipeline
                 * subscribes at its start), or more if more sent lately */
                for (size_t k = 0; k < p->npipes; k++)
                    producers += st[i].last_send[k] > 0 && t - st[i].last_send[k] < 10.0;
                if (producers < (int)p->npipes)
                    producers = (int)p->npipes;
                policy_member_t m
                    = { (int)i, 1, lv, 0, st[i].q, p->capacity[i], b > 0 ? c / b : 0, producers };
                ev[nev++] = (s_event_t){ t + PLANT_DELAY_S, (int)i, m };
                st[i].next_report = t + PLANT_REPORT_S;
            }
        }
        if (t >= from_s)
            p->possible += fmin (capacity_now, offered) * PLANT_DT;
        if (getenv ("PLANT_TRACE") && step % 20 == 0)
            fprintf (stderr, "t %.2f q %.0f scale %.3f %.3f\n", t, st[0].q, pp[0].scale,
                     p->npipes > 1 ? pp[1].scale : 0);
    }
    double total = 0, acc = 0;
    for (size_t b = 0; b <= S_HIST; b++)
        total += hist[b];
    p->delay_p99 = 0;
    for (size_t b = 0; b <= S_HIST; b++) {
        acc += hist[b];
        if (acc >= 0.99 * total) {
            p->delay_p99 = (double)b / 1000.0;
            break;
        }
    }
    for (size_t k = 0; k < p->npipes; k++)
        policy_destroy (&pp[k].policy);
    free (hist);
    free (ev);
    free (pp);
    free (st);
}
