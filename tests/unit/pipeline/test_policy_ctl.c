/*
 * policy controllers: linear, aimd and target against a
 * deterministic plant, plus the shaping common to every policy.
 *
 * The plant is the bench's store queue (bench/controllers): capacity CAP
 * bars, a sink draining `sink` bars/s (5000, the bench's C), arrivals =
 * scale x REFILL (10 x the sink) while the provider is on, reaching the queue
 * DELAY_MS after the scale was set (batching and transport), the queue
 * integrating the difference in DT steps.  Its level follows the store's
 * watermarks with hysteresis (soft at HIGH, ok again at LOW, hard when full);
 * anything arriving at a full queue would be answered `retry` and is counted.
 * The store publishes (level, queue_size) on every level change, every
 * REPORT_MS while the queue is not empty, and every HEARTBEAT_MS; the policy
 * is asked every TICK_MS like the feedback actor does.  Time is a plain
 * counter: no clock, no sleeps.
 */
#include <check.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "pipeline/policy.h"
#include "tests/integration/harness.h"
#include "tests/unit/pipeline/policy_defaults.h"

#define CAP 10000.0
#define HIGH 8000.0
#define LOW 5000.0
#define SINK 5000.0
#define REFILL 50000.0
#define DT_MS 10
#define TICK_MS 50
#define REPORT_MS 100
#define HEARTBEAT_MS 1000
#define DELAY_MS 100
#define NDELAY (DELAY_MS / DT_MS)
#define MS 1000000LL

typedef struct {
    double q, sink, refill;
    int on; /* the provider offers (refill) */
    int level, rep_level;
    double rep_fill;
    double served, capacity_s; /* bars committed, min(sink, offered) x time */
    double retry, max_q, sum_q;
    int changes, steps;
    double scale, max_scale;
    double pipe[NDELAY]; /* scales on their way to the queue */
    int last_report_ms, last_hb_ms;
} plant_t;

static void
plant_init (plant_t *p, double sink, double refill)
{
    memset (p, 0, sizeof *p);
    p->sink = sink;
    p->refill = refill;
    p->on = 1;
    p->level = MDF_LEVEL_OK;
    p->rep_level = MDF_LEVEL_OK;
}

static void
plant_reset_measures (plant_t *p)
{
    p->served = p->capacity_s = p->retry = p->max_q = p->sum_q = p->max_scale = 0;
    p->changes = p->steps = 0;
}

/* One DT step at time t_ms with sink rate `sink` (the scenario may vary it);
 * measure only when `measure`. */
static void
plant_step (plant_t *p, policy_t *pol, int t_ms, double sink, int measure)
{
    if (t_ms % TICK_MS == 0)
        p->scale = policy_scale (pol, p->rep_level, p->rep_fill, (int64_t)t_ms * MS);
    double dt = DT_MS / 1000.0;
    int slot = (t_ms / DT_MS) % NDELAY;
    double arriving = p->pipe[slot]; /* set NDELAY steps ago */
    p->pipe[slot] = p->on ? p->scale : 0;
    double in = arriving * p->refill * dt;
    double room = CAP - p->q;
    double over = in > room ? in - room : 0;
    p->q += in - over;
    double out = sink * dt < p->q ? sink * dt : p->q;
    p->q -= out;
    int lv = p->level;
    if (p->q >= CAP - 1e-9)
        lv = MDF_LEVEL_HARD;
    else if (p->q >= HIGH)
        lv = lv == MDF_LEVEL_HARD ? MDF_LEVEL_HARD : MDF_LEVEL_SOFT;
    else if (p->q <= LOW)
        lv = MDF_LEVEL_OK;
    else if (lv == MDF_LEVEL_HARD)
        lv = MDF_LEVEL_SOFT;
    bool changed = lv != p->level;
    p->level = lv;
    bool report = false, hb = t_ms - p->last_hb_ms >= HEARTBEAT_MS;
    if (t_ms - p->last_report_ms >= REPORT_MS) {
        report = p->q > 0; /* the store's report_ms: only while not idle */
        p->last_report_ms = t_ms;
    }
    if (hb)
        p->last_hb_ms = t_ms;
    if (changed || report || hb) {
        p->rep_level = lv;
        p->rep_fill = p->q / CAP;
    }
    if (measure) {
        double offered = p->on ? p->refill : 0;
        p->served += out;
        p->capacity_s += (sink < offered ? sink : offered) * dt;
        p->retry += over;
        p->max_q = p->q > p->max_q ? p->q : p->max_q;
        p->max_scale = p->scale > p->max_scale ? p->scale : p->max_scale;
        p->sum_q += p->q;
        p->steps++;
        p->changes += changed;
    }
}

/* Run `secs` of constant sink; measure the last `measure_s`. */
static void
run (plant_t *p, policy_t *pol, int secs, int measure_s)
{
    for (int t = 0; t < secs * 1000; t += DT_MS)
        plant_step (p, pol, t, p->sink, t >= (secs - measure_s) * 1000);
}

/* pipeline/settings.c's defaults, with the bench's interval_ms */
static policy_params_t
params (void)
{
    policy_params_t pp = policy_test_defaults ();
    pp.interval_ms = 100;
    return pp;
}

static policy_t *
make (const char *name, const policy_params_t *pp)
{
    char err[128];
    policy_t *pol = policy_new (name, pp, err, sizeof err);
    ck_assert_msg (pol != NULL, "%s", err);
    return pol;
}

#define TARGET_Q (0.1 * CAP) /* params ().target_depth in bars */

START_TEST (target_starts_slowly_and_settles_at_its_depth)
{
    /* the bench's interval (100 ms) and the default one (200 ms) */
    const int64_t intervals[] = { 100, 200 };
    for (size_t k = 0; k < 2; k++) {
        policy_params_t pp = params ();
        pp.interval_ms = intervals[k];
        policy_t *pol = make ("target", &pp);
        plant_t p;
        plant_init (&p, SINK, REFILL); /* 10x overload from the first moment */
        for (int t = 0; t < 5000; t += DT_MS)
            plant_step (&p, pol, t, p.sink, 1);
        /* slow start: no overfill before the first events come back */
        ck_assert_double_eq (p.retry, 0);
        ck_assert_double_lt (p.max_q, 2 * TARGET_Q);
        ck_assert_int_eq (p.changes, 0);
        plant_reset_measures (&p);
        for (int t = 5000; t < 60000; t += DT_MS)
            plant_step (&p, pol, t, p.sink, 1);
        /* settled: the sink always busy, the queue near the target, not
         * beyond a bounded ripple */
        ck_assert_double_eq (p.retry, 0);
        ck_assert_double_gt (p.served / p.capacity_s, 0.99);
        ck_assert_double_lt (fabs (p.sum_q / p.steps - TARGET_Q), 0.02 * CAP);
        ck_assert_double_lt (p.max_q, 1.5 * TARGET_Q);
        ck_assert_double_lt (p.max_scale, 0.2); /* never 2x what the sink takes */
        policy_destroy (&pol);
    }
}
END_TEST

START_TEST (target_keeps_the_store_ok_and_the_sink_busy_when_the_sink_swings)
{
    policy_params_t pp = params ();
    policy_t *pol = make ("target", &pp);
    plant_t p;
    plant_init (&p, SINK, REFILL);
    run (&p, pol, 10, 0);
    for (int t = 0; t < 60000; t += DT_MS) {
        double sink = SINK * (1 + 0.5 * sin (2 * M_PI * t / 10000.0));
        plant_step (&p, pol, 10000 + t, sink, 1);
    }
    ck_assert_double_eq (p.retry, 0);
    ck_assert_double_lt (p.max_q, 3 * TARGET_Q); /* far from soft */
    ck_assert_int_eq (p.changes, 0);
    ck_assert_double_gt (p.served / p.capacity_s, 0.98);
    policy_destroy (&pol);
}
END_TEST

START_TEST (target_does_not_wind_up_over_idle_pauses)
{
    /* bursty provider: on 2 s, off 2 s.  Over a pause the queue is empty and
     * the PI would integrate the full error; it only probes, so the next
     * burst starts near the scale the sink took, not at a wound-up one. */
    policy_params_t pp = params ();
    policy_t *pol = make ("target", &pp);
    plant_t p;
    plant_init (&p, SINK, REFILL);
    run (&p, pol, 10, 0);
    for (int t = 0; t < 60000; t += DT_MS) {
        p.on = (t / 2000) % 2 == 0;
        plant_step (&p, pol, 10000 + t, p.sink, 1);
    }
    ck_assert_double_eq (p.retry, 0);
    ck_assert_double_lt (p.max_q, 2.5 * TARGET_Q);
    ck_assert_double_lt (p.max_scale, 0.3);
    ck_assert_int_eq (p.changes, 0);
    /* while on, the sink is kept busy (against min(sink, offered)) */
    ck_assert_double_gt (p.served / p.capacity_s, 0.97);
    policy_destroy (&pol);
}
END_TEST

START_TEST (target_rides_out_a_sink_outage_and_comes_back_where_it_was)
{
    policy_params_t pp = params ();
    policy_t *pol = make ("target", &pp);
    plant_t p;
    plant_init (&p, SINK, REFILL);
    run (&p, pol, 20, 0);
    plant_reset_measures (&p);
    for (int t = 20000; t < 23000; t += DT_MS)
        plant_step (&p, pol, t, 0, 1); /* outage: nothing committed for 3 s */
    ck_assert_double_le (p.scale, pp.min_scale + 1e-9);
    ck_assert_double_lt (p.max_q, LOW); /* the trickle at min_scale: still ok */
    ck_assert_int_eq (p.changes, 0);
    plant_reset_measures (&p);
    for (int t = 23000; t < 43000; t += DT_MS)
        plant_step (&p, pol, t, p.sink, 1);
    /* no burst after it (the integral was kept, not wound down to 0 or up),
     * and the sink busy again at once */
    ck_assert_double_eq (p.retry, 0);
    ck_assert_double_lt (p.max_scale, 0.2);
    ck_assert_double_gt (p.served / p.capacity_s, 0.99);
    ck_assert_double_lt (fabs (p.q - TARGET_Q), 0.05 * CAP);
    policy_destroy (&pol);
}
END_TEST

START_TEST (target_probes_up_when_the_sink_gets_faster)
{
    /* the sink triples: the queue empties and the controller must not stay
     * where it was (probing, then the integral, reach the new balance) */
    policy_params_t pp = params ();
    policy_t *pol = make ("target", &pp);
    plant_t p;
    plant_init (&p, SINK, REFILL);
    run (&p, pol, 20, 0);
    for (int t = 20000; t < 60000; t += DT_MS)
        plant_step (&p, pol, t, 3 * SINK, t >= 50000);
    ck_assert_double_gt (p.served / p.capacity_s, 0.99);
    ck_assert_double_gt (p.scale, 0.25);
    ck_assert_double_eq (p.retry, 0);
    policy_destroy (&pol);
}
END_TEST

START_TEST (target_takes_over_a_full_queue_from_step_and_drains_it)
{
    /* a live switch with the queue near the high watermark: no jump up at
     * the switch, and the PI brings the queue down to its target (its
     * integral steps down even when one step would cross min_scale) */
    const int64_t intervals[] = { 100, 300 };
    for (size_t k = 0; k < 2; k++) {
        policy_params_t pp = params ();
        pp.interval_ms = intervals[k];
        pp.kp = pp.ki = 0.5;
        policy_t *pol = make ("step", &pp);
        plant_t p;
        plant_init (&p, SINK, REFILL);
        run (&p, pol, 10, 0);
        ck_assert_double_gt (p.q, LOW);
        double before = p.scale;
        char err[128];
        ck_assert_int_eq (policy_update (pol, "target", &pp, err, sizeof err), 0);
        plant_reset_measures (&p);
        for (int t = 10000; t < 40000; t += DT_MS) {
            if (t == 10000 + DELAY_MS) /* step's last bars have landed */
                plant_reset_measures (&p);
            plant_step (&p, pol, t, p.sink, 1);
        }
        ck_assert_double_le (p.max_scale, before + 1e-9);
        ck_assert_double_eq (p.retry, 0);
        ck_assert_double_lt (fabs (p.q - TARGET_Q), 0.05 * CAP);
        policy_destroy (&pol);
    }
}
END_TEST

START_TEST (target_slow_start_doubles_until_the_queue_grows)
{
    policy_params_t pp = params ();
    policy_t *pol = make ("target", &pp);
    /* before anything is heard (failsafe soft): min_scale, not 0.5 */
    ck_assert_double_eq_tol (policy_scale (pol, POLICY_LEVEL_FAILSAFE, 0, 0), 0.01, 1e-12);
    double want = 0.01;
    ck_assert_double_eq_tol (policy_scale (pol, MDF_LEVEL_OK, 0, 1 * MS), want, 1e-12);
    for (int k = 1; k <= 6; k++) { /* x 2 every 200 ms, updated every 100 ms */
        want *= sqrt (2.0);
        ck_assert_double_eq_tol (policy_scale (pol, MDF_LEVEL_OK, 0, (1 + 100 * k) * MS), want,
                                 1e-9);
    }
    /* the first burst alone (fill up, then falling) does not end it */
    want *= sqrt (2.0);
    ck_assert_double_eq_tol (policy_scale (pol, MDF_LEVEL_OK, 0.01, 701 * MS), want, 1e-9);
    /* the queue past half the target and growing: half back, PI from there */
    double s = policy_scale (pol, MDF_LEVEL_OK, 0.06, 801 * MS);
    ck_assert_double_le (s, want / 2 + 1e-9);
    policy_destroy (&pol);
}
END_TEST

START_TEST (aimd_never_fills_the_queue_and_oscillates_between_watermarks)
{
    policy_params_t pp = params ();
    policy_t *pol = make ("aimd", &pp);
    plant_t p;
    plant_init (&p, 1000, 10000);
    run (&p, pol, 120, 100);
    ck_assert_double_eq (p.retry, 0);
    ck_assert_double_lt (p.max_q, CAP);
    ck_assert_double_gt (p.served / p.capacity_s, 0.97);
    /* bounded: a sawtooth, at most one soft episode per few seconds */
    ck_assert_int_le (p.changes, 2 * 100 / 3);
    policy_destroy (&pol);
}
END_TEST

START_TEST (linear_settles_between_the_watermarks)
{
    policy_params_t pp = params ();
    policy_t *pol = make ("linear", &pp);
    plant_t p;
    plant_init (&p, 1000, 10000);
    run (&p, pol, 60, 50);
    ck_assert_double_eq (p.retry, 0);
    ck_assert_double_lt (p.max_q, CAP);
    ck_assert_double_gt (p.served / p.capacity_s, 0.99);
    /* equilibrium: scale 0.1 at fill 0.5 + 0.9 x 0.3 = 0.77 */
    ck_assert_double_lt (fabs (p.q / CAP - 0.77), 0.03);
    policy_destroy (&pol);
}
END_TEST

START_TEST (step_still_fills_the_queue_under_10x_overload)
{
    /* the baseline the controllers improve on: soft 0.5 is still 5x */
    policy_params_t pp = params ();
    policy_t *pol = make ("step", &pp);
    plant_t p;
    plant_init (&p, 1000, 10000);
    run (&p, pol, 30, 25);
    ck_assert_double_gt (p.max_q, HIGH);
    policy_destroy (&pol);
}
END_TEST

START_TEST (linear_maps_fill_between_watermarks)
{
    policy_params_t pp = params ();
    policy_t *pol = make ("linear", &pp);
    ck_assert_double_eq_tol (policy_scale (pol, MDF_LEVEL_OK, 0.3, 0), 1.0, 1e-9);
    ck_assert_double_eq_tol (policy_scale (pol, MDF_LEVEL_OK, 0.65, 1), 0.5, 1e-9);
    ck_assert_double_eq_tol (policy_scale (pol, MDF_LEVEL_SOFT, 0.9, 2), 0.0, 1e-9);
    ck_assert_double_eq_tol (policy_scale (pol, MDF_LEVEL_HARD, 0.1, 3), 0.0, 1e-9);
    policy_destroy (&pol);
}
END_TEST

START_TEST (aimd_decreases_at_once_and_increases_per_interval)
{
    policy_params_t pp = params ();
    policy_t *pol = make ("aimd", &pp);
    ck_assert_double_eq_tol (policy_scale (pol, MDF_LEVEL_OK, 0, 0), 1.0, 1e-9);
    ck_assert_double_eq_tol (policy_scale (pol, MDF_LEVEL_SOFT, 0, 10 * MS), 0.5, 1e-9);
    /* lasting soft: once more per interval, not per call */
    ck_assert_double_eq_tol (policy_scale (pol, MDF_LEVEL_SOFT, 0, 50 * MS), 0.5, 1e-9);
    ck_assert_double_eq_tol (policy_scale (pol, MDF_LEVEL_SOFT, 0, 210 * MS), 0.25, 1e-9);
    ck_assert_double_eq_tol (policy_scale (pol, MDF_LEVEL_OK, 0, 300 * MS), 0.25, 1e-9);
    ck_assert_double_eq_tol (policy_scale (pol, MDF_LEVEL_OK, 0, 410 * MS), 0.30, 1e-9);
    ck_assert_double_eq_tol (policy_scale (pol, MDF_LEVEL_HARD, 0, 420 * MS), 0.0, 1e-9);
    policy_destroy (&pol);
}
END_TEST

START_TEST (dwell_delays_every_increase_but_no_decrease)
{
    policy_params_t pp = params ();
    pp.min_dwell_ms = 2000;
    policy_t *pol = make ("step", &pp);
    ck_assert_double_eq (policy_scale (pol, MDF_LEVEL_OK, 0, 0), 1.0);
    ck_assert_double_eq (policy_scale (pol, MDF_LEVEL_HARD, 0, 100 * MS), 0.0); /* at once */
    ck_assert_double_eq (policy_scale (pol, MDF_LEVEL_OK, 0, 200 * MS), 0.0);
    ck_assert_double_eq (policy_scale (pol, MDF_LEVEL_OK, 0, 2099 * MS), 0.0);
    ck_assert_double_eq (policy_scale (pol, MDF_LEVEL_OK, 0, 2100 * MS), 1.0);
    policy_destroy (&pol);
}
END_TEST

START_TEST (max_step_bounds_each_increase)
{
    policy_params_t pp = params ();
    pp.max_step = 0.2;
    policy_t *pol = make ("step", &pp);
    ck_assert_double_eq (policy_scale (pol, MDF_LEVEL_HARD, 0, 0), 0.0);
    double prev = 0;
    for (int i = 1; i <= 5; i++) {
        double s = policy_scale (pol, MDF_LEVEL_OK, 0, i * 100 * MS);
        ck_assert_double_eq_tol (s - prev, 0.2, 1e-9);
        prev = s;
    }
    ck_assert_double_eq_tol (policy_scale (pol, MDF_LEVEL_OK, 0, 600 * MS), 1.0, 1e-9);
    policy_destroy (&pol);
}
END_TEST

START_TEST (failsafe_wins_over_every_controller)
{
    const char *names[] = { "linear", "aimd", "target" };
    for (size_t i = 0; i < 3; i++) {
        policy_params_t pp = params ();
        policy_t *pol = make (names[i], &pp);
        /* up to full scale (target: past its slow start, queue empty) */
        for (int t = 0; t < 40; t++)
            policy_scale (pol, MDF_LEVEL_OK, 0, t * 100 * MS);
        ck_assert_double_gt (policy_scale (pol, MDF_LEVEL_OK, 0, 4000 * MS), 0.5);
        /* a silent store, failsafe soft: at most scale_soft, and it stays
         * there however long the controller would have ramped */
        for (int t = 41; t < 90; t++)
            ck_assert_double_le (policy_scale_ex (pol, MDF_LEVEL_SOFT, 0, 1, t * 100 * MS), 0.5);
        ck_assert_double_le (policy_scale (pol, POLICY_LEVEL_FAILSAFE, 0, 9500 * MS), 0.5);
        policy_destroy (&pol);
    }
}
END_TEST

START_TEST (level_hard_stops_every_controller_at_once)
{
    const char *names[] = { "linear", "aimd", "target" };
    for (size_t i = 0; i < 3; i++) {
        policy_params_t pp = params ();
        policy_t *pol = make (names[i], &pp);
        policy_scale (pol, MDF_LEVEL_OK, 0, 0);
        ck_assert_double_eq (policy_scale (pol, MDF_LEVEL_HARD, 0.2, 1 * MS), 0.0);
        policy_destroy (&pol);
    }
}
END_TEST

START_TEST (switching_policy_live_never_jumps_up)
{
    policy_params_t pp = params ();
    policy_t *pol = make ("step", &pp);
    char err[128];
    ck_assert_double_eq (policy_scale (pol, MDF_LEVEL_SOFT, 0.9, 0), 0.5);
    ck_assert_int_eq (policy_update (pol, "target", &pp, err, sizeof err), 0);
    /* the PI starts from the current output, not from scale_ok */
    ck_assert_double_le (policy_scale (pol, MDF_LEVEL_OK, 0.9, 100 * MS), 0.5);
    ck_assert_int_eq (policy_update (pol, "aimd", &pp, err, sizeof err), 0);
    ck_assert_double_le (policy_scale (pol, MDF_LEVEL_OK, 0.9, 200 * MS), 0.55 + 1e-9);
    ck_assert_int_eq (policy_update (pol, "nope", &pp, err, sizeof err), -1);
    ck_assert_int_eq (policy_update (pol, "step", &pp, err, sizeof err), 0);
    ck_assert_double_eq (policy_scale (pol, MDF_LEVEL_OK, 0.9, 300 * MS), 1.0);
    policy_destroy (&pol);
}
END_TEST

int
main (void)
{
    Suite *s = suite_create ("policy_ctl");
    TCase *tc = tcase_create ("controllers");
    tcase_add_test (tc, target_starts_slowly_and_settles_at_its_depth);
    tcase_add_test (tc, target_keeps_the_store_ok_and_the_sink_busy_when_the_sink_swings);
    tcase_add_test (tc, target_does_not_wind_up_over_idle_pauses);
    tcase_add_test (tc, target_rides_out_a_sink_outage_and_comes_back_where_it_was);
    tcase_add_test (tc, target_probes_up_when_the_sink_gets_faster);
    tcase_add_test (tc, target_slow_start_doubles_until_the_queue_grows);
    tcase_add_test (tc, target_takes_over_a_full_queue_from_step_and_drains_it);
    tcase_add_test (tc, aimd_never_fills_the_queue_and_oscillates_between_watermarks);
    tcase_add_test (tc, linear_settles_between_the_watermarks);
    tcase_add_test (tc, step_still_fills_the_queue_under_10x_overload);
    tcase_add_test (tc, linear_maps_fill_between_watermarks);
    tcase_add_test (tc, aimd_decreases_at_once_and_increases_per_interval);
    tcase_add_test (tc, dwell_delays_every_increase_but_no_decrease);
    tcase_add_test (tc, max_step_bounds_each_increase);
    tcase_add_test (tc, failsafe_wins_over_every_controller);
    tcase_add_test (tc, level_hard_stops_every_controller_at_once);
    tcase_add_test (tc, switching_policy_live_never_jumps_up);
    suite_add_tcase (s, tc);
    return h_run_suite (s);
}
