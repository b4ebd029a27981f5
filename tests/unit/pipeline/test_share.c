/*
 * share, the default policy, against the plant model (plant.h): each
 * scenario of bench/controllers in the model, with the goals the real
 * services are measured against (README, "Policies compared"): efficiency
 * >= 0.98, no retry, the queue below the high watermark after 2 s, at most
 * 6 level changes a minute, fair shares >= 0.95 and p99 queueing delay
 * <= 300 ms.  Plus the aggregate over several stores, also for step.
 * Every run prints its figures.
 */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "plant.h"
#include "tests/integration/harness.h"

static double C = 5000;
static double F2 = 10000, F10 = 50000, F100 = 500000;

static double
s_eff (const plant_t *p)
{
    return p->possible > 0 ? p->committed / p->possible : 0;
}

static double
s_fair (const plant_t *p)
{
    double mn = 1e18, mx = 0;
    for (size_t k = 0; k < p->npipes; k++) {
        mn = fmin (mn, p->sent[k]);
        mx = fmax (mx, p->sent[k]);
    }
    return mx > 0 ? mn / mx : 0;
}

static void
s_report (const char *name, const plant_t *p, double seconds)
{
    printf ("%-30s eff %.3f  max queue %5.0f (after 2 s %5.0f)  p99 %3.0f ms  level changes "
            "%4.1f/min  retries %.0f  fairness %.3f\n",
            name, s_eff (p), p->max_q, p->max_q_after_2s, p->delay_p99 * 1000,
            p->level_changes * 60.0 / seconds, p->retries, s_fair (p));
}

/* The goals, for a run of `seconds` measured. */
static void
s_goals (const char *name, const plant_t *p, double seconds)
{
    s_report (name, p, seconds);
    ck_assert_msg (s_eff (p) >= 0.98, "%s: efficiency %.3f", name, s_eff (p));
    ck_assert_msg (p->retries == 0, "%s: %.0f retries", name, p->retries);
    ck_assert_msg (p->max_q_after_2s < p->high[0], "%s: queue %.0f", name, p->max_q_after_2s);
    ck_assert_msg (p->level_changes * 60.0 / seconds <= 6, "%s: %d level changes", name,
                   p->level_changes);
    ck_assert_msg (p->delay_p99 <= 0.3, "%s: p99 %.3f s", name, p->delay_p99);
}

static void
s_one (plant_t *p, plant_fn sink, void *sink_arg, plant_fn demand, void *demand_arg)
{
    plant_init (p, "share");
    p->sink_rate[0] = sink;
    p->sink_arg[0] = sink_arg;
    p->demand[0] = demand;
    p->demand_arg[0] = demand_arg;
}

START_TEST (converges_at_any_overload_without_overshoot)
{
    double *f[] = { &F2, &F10, &F100 };
    const char *names[] = { "(a) overload 2x", "(a) overload 10x", "(a) overload 100x" };
    for (int i = 0; i < 3; i++) {
        plant_t p;
        s_one (&p, plant_const, &C, plant_const, f[i]);
        plant_run (&p, 30, 5);
        s_goals (names[i], &p, 25);
        /* the queue holds near target_delay x the sink's rate (500 bars) */
        ck_assert_double_lt (p.max_q, 2000);
    }
}
END_TEST

static double
s_sine (double t, void *arg)
{
    (void)arg; /* +-50 % with a 10 s period, in steps of 0.5 s (as the bench) */
    return C * (1 + 0.5 * sin (2 * M_PI * floor (t * 2) / 2 / 10));
}

/* Live bars (unpaced) count against the share: history gets what they
 * leave, the queue stays bounded, nothing is refused.  Live at 0.2 C and
 * 0.8 C beside history asking 50 C, and no live for reference. */
START_TEST (history_gets_what_live_bars_leave)
{
    double fractions[] = { 0, 0.2, 0.8 };
    for (int i = 0; i < 3; i++) {
        double live = fractions[i] * C, hist = 50 * C;
        plant_t p;
        s_one (&p, plant_const, &C, plant_const, &hist);
        if (live > 0) {
            p.live[0] = plant_const;
            p.live_arg[0] = &live;
        }
        plant_run (&p, 30, 5);
        char name[64];
        snprintf (name, sizeof name, "live %.1f C + history 50 C", fractions[i]);
        s_goals (name, &p, 25);
        double history = (p.sent[0] - p.live_sent[0]) / 25;
        printf ("%-30s history %.0f bars/s of the %.0f live leaves\n", name, history, C - live);
        ck_assert_msg (history >= 0.9 * (C - live), "%s: history %.0f bars/s", name, history);
    }
}
END_TEST

START_TEST (follows_a_changing_sink)
{
    plant_t p;
    s_one (&p, s_sine, NULL, plant_const, &F10);
    plant_run (&p, 30, 5);
    s_goals ("(b) sink +-50 %, 10 s period", &p, 25);
}
END_TEST

static double
s_onoff (double t, void *arg)
{
    (void)arg;
    return ((int)(t / 2)) % 2 ? 0 : F10;
}

START_TEST (a_bursty_provider_finds_the_sink_at_once)
{
    plant_t p;
    s_one (&p, plant_const, &C, s_onoff, NULL);
    plant_run (&p, 30, 5);
    s_goals ("(c) provider on/off 2 s", &p, 25);
}
END_TEST

static double
s_outage (double t, void *arg)
{
    (void)arg;
    return t >= 10 && t < 13 ? 0 : C;
}

START_TEST (an_outage_holds_the_queue_and_recovers)
{
    plant_t p;
    s_one (&p, s_outage, NULL, plant_const, &F10);
    plant_run (&p, 30, 5);
    s_report ("(d) 3 s sink outage", &p, 25);
    ck_assert_double_ge (s_eff (&p), 0.98);
    ck_assert_double_eq (p.retries, 0);
    ck_assert_double_lt (p.max_q_after_2s, p.high[0]);
    ck_assert_int_eq (p.level_changes, 0);
}
END_TEST

START_TEST (ten_pipelines_share_fairly)
{
    plant_t p;
    plant_init (&p, "share");
    p.npipes = 10;
    double each = F10 / 10;
    p.sink_rate[0] = plant_const;
    p.sink_arg[0] = &C;
    for (int k = 0; k < 10; k++) {
        p.demand[k] = plant_const;
        p.demand_arg[k] = &each;
    }
    plant_run (&p, 30, 5);
    s_goals ("(e) 10 pipelines, 10x in all", &p, 25);
    ck_assert_double_ge (s_fair (&p), 0.95);
    ck_assert_double_lt (p.max_q, p.high[0]); /* start-up included: the credit */
}
END_TEST

START_TEST (a_share_left_unused_goes_to_the_others)
{
    plant_t p;
    plant_init (&p, "share");
    p.npipes = 2;
    double low = 0.2 * C;
    p.sink_rate[0] = plant_const;
    p.sink_arg[0] = &C;
    p.demand[0] = plant_const;
    p.demand_arg[0] = &F10;
    p.demand[1] = plant_const;
    p.demand_arg[1] = &low;
    plant_run (&p, 30, 10);
    s_goals ("one pipeline asking 0.2x C", &p, 20);
    ck_assert_double_ge (p.sent[1], 0.97 * low * 20); /* the small one gets all it asks */
}
END_TEST

/* Three stores, one of them at a fifth of the others' speed. */
static double slow_c = 1000;

static void
s_three (plant_t *p, const char *policy)
{
    plant_init (p, policy);
    p->nstores = 3;
    p->npipes = 2;
    static double half = 15 * 5000;
    p->sink_rate[0] = plant_const;
    p->sink_arg[0] = &C;
    p->sink_rate[1] = plant_const;
    p->sink_arg[1] = &C;
    p->sink_rate[2] = plant_const;
    p->sink_arg[2] = &slow_c;
    for (int k = 0; k < 2; k++) {
        p->demand[k] = plant_const;
        p->demand_arg[k] = &half;
    }
}

START_TEST (the_rate_follows_the_aggregate_not_the_slowest_store)
{
    plant_t p;
    s_three (&p, "share");
    plant_run (&p, 30, 5);
    s_goals ("3 stores, one slow (share)", &p, 25);
    /* step maps each store's level and weighs them by capacity: the slow
     * store at HARD takes a third of the scale away, not all of it */
    s_three (&p, "step");
    plant_run (&p, 30, 5);
    s_report ("3 stores, one slow (step)", &p, 25);
    ck_assert_double_ge (s_eff (&p), 0.95);
    ck_assert_double_eq (p.retries, 0);
}
END_TEST

START_TEST (stores_joining_are_used_at_once)
{
    plant_t p;
    plant_init (&p, "share");
    p.nstores = 3;
    p.npipes = 2;
    double half = 15 * C;
    for (int i = 0; i < 3; i++) {
        p.sink_rate[i] = plant_const;
        p.sink_arg[i] = &C;
    }
    p.start[1] = p.start[2] = 10;
    for (int k = 0; k < 2; k++) {
        p.demand[k] = plant_const;
        p.demand_arg[k] = &half;
    }
    plant_run (&p, 30, 11);
    s_goals ("(f) 1 -> 3 stores at 10 s", &p, 19);
}
END_TEST

int
main (void)
{
    Suite *s = suite_create ("share");
    TCase *tc = tcase_create ("plant");
    tcase_set_timeout (tc, 60);
    tcase_add_test (tc, converges_at_any_overload_without_overshoot);
    tcase_add_test (tc, history_gets_what_live_bars_leave);
    tcase_add_test (tc, follows_a_changing_sink);
    tcase_add_test (tc, a_bursty_provider_finds_the_sink_at_once);
    tcase_add_test (tc, an_outage_holds_the_queue_and_recovers);
    tcase_add_test (tc, ten_pipelines_share_fairly);
    tcase_add_test (tc, a_share_left_unused_goes_to_the_others);
    tcase_add_test (tc, the_rate_follows_the_aggregate_not_the_slowest_store);
    tcase_add_test (tc, stores_joining_are_used_at_once);
    suite_add_tcase (s, tc);
    return h_run_suite (s);
}
