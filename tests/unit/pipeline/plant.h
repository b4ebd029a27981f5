/*
 * plant: a fluid model of stores and pipelines for the policy tests.
 *
 * Time advances in steps of PLANT_DT.  Each store has a queue counted in
 * bars, a sink that commits at most capacity_fn(t) bars/s (0 = an outage),
 * watermark levels with hysteresis as md-store computes them, and publishes
 * an event every PLANT_REPORT_S with what md-store publishes: level,
 * queue_size, capacity, service_rate (rows/s committed while the sink was
 * busy, over the last PLANT_RATE_WINDOW_S) and producers (pipelines that
 * sent there in the last second).  Events reach the pipelines PLANT_DELAY_S
 * later.  Each pipeline runs a real policy_t: on each event and every 50 ms
 * it turns what it knows of its stores into a scale; its providers then
 * offer scale x demand_fn(t) bars/s, plus live_fn(t) unscaled (live ticks' bars), in batches of
 * PLANT_BATCH bars, each to the store with the most headroom (lowest level, then fill in tenths, as
 * pipeline/members.c routes).  A batch that does not fit a queue is a
 * `retry` (counted; resent on the next step).
 *
 * What it measures: committed bars; the integral of min(sink capacity,
 * offered) (efficiency's denominator); each pipeline's sent bars; the
 * largest queue after the first two seconds; level changes; the bars'
 * queueing delay (q / capacity at arrival) as a histogram for p99.
 */
#ifndef TESTS_PLANT_H
#define TESTS_PLANT_H

#include <stddef.h>

#include "pipeline/policy.h"

#define PLANT_DT 0.005
#define PLANT_REPORT_S 0.1
#define PLANT_DELAY_S 0.002
#define PLANT_RATE_WINDOW_S 0.5
#define PLANT_BATCH 500
#define PLANT_MAX 16

typedef double (*plant_fn) (double t, void *arg);

typedef struct {
    /* setup */
    size_t nstores, npipes;
    double capacity[PLANT_MAX], high[PLANT_MAX], low[PLANT_MAX], hysteresis;
    plant_fn sink_rate[PLANT_MAX]; /* bars/s the sink takes at t */
    void *sink_arg[PLANT_MAX];
    plant_fn demand[PLANT_MAX]; /* bars/s each pipeline's providers ask at t */
    void *demand_arg[PLANT_MAX];
    plant_fn live[PLANT_MAX]; /* NULL, or bars/s of live (unpaced) bars each pipeline sends */
    void *live_arg[PLANT_MAX];
    double start[PLANT_MAX]; /* time a store joins (0: from the start) */
    const char *policy;      /* name */
    policy_params_t params;
    /* results */
    double committed, possible, sent[PLANT_MAX];
    double live_sent[PLANT_MAX]; /* live bars sent, included in sent[] */
    double max_q_after_2s, max_q;
    double retries;
    int level_changes;
    double delay_p99;
    double scale_last[PLANT_MAX];
} plant_t;

/* Defaults: one store (capacity 10000, watermarks 5000 / 8000, hysteresis
 * 200), one pipeline, params at the pipeline's defaults for `policy`. */
void plant_init (plant_t *p, const char *policy);

/* Run for `seconds` and fill the results (measured from `from_s` on for
 * committed / possible / sent / delay). */
void plant_run (plant_t *p, double seconds, double from_s);

double plant_const (double t, void *arg); /* *(double *)arg */

#endif
