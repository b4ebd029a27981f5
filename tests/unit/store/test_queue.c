/*
 * queue: bounded in bars, whole batches, FIFO, push refuses instead of
 * blocking, level recomputed on push and release, stop with and without drain,
 * answers handed back in order with a pollable descriptor.
 */
#include <check.h>
#include <poll.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>

#include "store/queue.h"
#include "tests/integration/harness.h"

static int s_items[64]; /* item identities: &s_items[i] */
#define ITEM(i) ((void *)&s_items[i])

START_TEST (push_refuses_what_does_not_fit_and_keeps_the_rest)
{
    queue_t *q = queue_new (1000, 500, 800, 0);
    ck_assert_int_eq (queue_push (q, ITEM (0), 600), 0);
    ck_assert_int_eq (queue_push (q, ITEM (1), 401), -1); /* 1001 > 1000 */
    ck_assert_int_eq (queue_size (q), 600);
    ck_assert_int_eq (queue_push (q, ITEM (1), 400), 0); /* exactly full */
    ck_assert_int_eq (queue_size (q), 1000);
    ck_assert_int_eq (queue_push (q, ITEM (2), 1), -1);
    ck_assert_int_eq ((int)queue_batches (q), 2);
    queue_destroy (&q, NULL);
    ck_assert_ptr_null (q);
}
END_TEST

START_TEST (retry_fits_after_release)
{
    queue_t *q = queue_new (100, 50, 80, 0);
    ck_assert_int_eq (queue_push (q, ITEM (0), 100), 0);
    ck_assert_int_eq (queue_push (q, ITEM (1), 10), -1);
    void *items[4];
    int64_t bars;
    ck_assert_uint_eq (queue_take (q, 1000, items, 4, &bars), 1);
    /* taken but not committed: still counted */
    ck_assert_int_eq (queue_push (q, ITEM (1), 10), -1);
    queue_release (q, bars);
    ck_assert_int_eq (queue_push (q, ITEM (1), 10), 0);
    queue_destroy (&q, NULL);
}
END_TEST

START_TEST (take_is_fifo_whole_batches_up_to_max_bars)
{
    queue_t *q = queue_new (10000, 5000, 8000, 0);
    for (int i = 0; i < 5; i++)
        ck_assert_int_eq (queue_push (q, ITEM (i), 300), 0);
    void *items[8];
    int64_t bars;
    ck_assert_uint_eq (queue_take (q, 1000, items, 8, &bars), 3); /* 900; a 4th makes 1200 */
    ck_assert_int_eq (bars, 900);
    for (int i = 0; i < 3; i++)
        ck_assert_ptr_eq (items[i], ITEM (i));
    ck_assert_uint_eq (queue_take (q, 1000, items, 8, &bars), 2);
    ck_assert_ptr_eq (items[0], ITEM (3));
    ck_assert_ptr_eq (items[1], ITEM (4));
    ck_assert_int_eq (queue_waiting (q), 0);
    ck_assert_int_eq (queue_size (q), 1500);
    queue_destroy (&q, NULL);
}
END_TEST

/* A live feed's batches (urgent) are taken before the backfill queued
 * earlier, in their own arrival order; the others keep theirs. */
START_TEST (urgent_batches_go_ahead_of_the_rest_in_their_own_order)
{
    queue_t *q = queue_new (10000, 5000, 8000, 0);
    ck_assert_int_eq (queue_push_quiet (q, ITEM (0), 10, false), 0);
    ck_assert_int_eq (queue_push_quiet (q, ITEM (1), 10, false), 0);
    ck_assert_int_eq (queue_push_quiet (q, ITEM (2), 10, true), 0);
    ck_assert_int_eq (queue_push_quiet (q, ITEM (3), 10, false), 0);
    ck_assert_int_eq (queue_push_quiet (q, ITEM (4), 10, true), 0);
    void *items[8];
    int64_t bars;
    ck_assert_uint_eq (queue_take (q, 20, items, 8, &bars), 2);
    ck_assert_ptr_eq (items[0], ITEM (2));
    ck_assert_ptr_eq (items[1], ITEM (4));
    /* the run of urgent ones was taken: a new one goes first again */
    ck_assert_int_eq (queue_push_quiet (q, ITEM (5), 10, true), 0);
    ck_assert_uint_eq (queue_take (q, 1000, items, 8, &bars), 4);
    ck_assert_ptr_eq (items[0], ITEM (5));
    ck_assert_ptr_eq (items[1], ITEM (0));
    ck_assert_ptr_eq (items[2], ITEM (1));
    ck_assert_ptr_eq (items[3], ITEM (3));
    ck_assert_int_eq (bars, 40);
    /* an urgent batch into an empty queue, then a normal one after it */
    queue_release (q, 60);
    ck_assert_int_eq (queue_push_quiet (q, ITEM (6), 10, true), 0);
    ck_assert_int_eq (queue_push_quiet (q, ITEM (7), 10, false), 0);
    ck_assert_uint_eq (queue_take (q, 1000, items, 8, &bars), 2);
    ck_assert_ptr_eq (items[0], ITEM (6));
    ck_assert_ptr_eq (items[1], ITEM (7));
    queue_destroy (&q, NULL);
}
END_TEST

START_TEST (a_batch_larger_than_max_bars_goes_alone)
{
    queue_t *q = queue_new (10000, 5000, 8000, 0);
    queue_push (q, ITEM (0), 700);
    queue_push (q, ITEM (1), 10);
    void *items[8];
    int64_t bars;
    ck_assert_uint_eq (queue_take (q, 500, items, 8, &bars), 1);
    ck_assert_int_eq (bars, 700);
    ck_assert_uint_eq (queue_take (q, 500, items, 8, &bars), 1);
    ck_assert_ptr_eq (items[0], ITEM (1));
    queue_destroy (&q, NULL);
}
END_TEST

START_TEST (max_items_bounds_a_take)
{
    queue_t *q = queue_new (10000, 5000, 8000, 0);
    for (int i = 0; i < 5; i++)
        queue_push (q, ITEM (i), 1);
    void *items[2];
    int64_t bars;
    ck_assert_uint_eq (queue_take (q, 1000, items, 2, &bars), 2);
    ck_assert_int_eq (bars, 2);
    queue_destroy (&q, NULL);
}
END_TEST

START_TEST (level_follows_push_and_release)
{
    queue_t *q = queue_new (1000, 500, 800, 0);
    ck_assert_int_eq (queue_level (q), MDF_LEVEL_OK);
    queue_push (q, ITEM (0), 500);
    ck_assert_int_eq (queue_level (q), MDF_LEVEL_OK);
    queue_push (q, ITEM (1), 1);
    ck_assert_int_eq (queue_level (q), MDF_LEVEL_SOFT);
    queue_push (q, ITEM (2), 299);
    ck_assert_int_eq (queue_level (q), MDF_LEVEL_HARD);
    void *items[4];
    int64_t bars;
    queue_take (q, 500, items, 1, &bars);               /* 500 bars */
    ck_assert_int_eq (queue_level (q), MDF_LEVEL_HARD); /* taking does not release */
    ck_assert (queue_release (q, bars));                /* 300 left */
    ck_assert_int_eq (queue_level (q), MDF_LEVEL_OK);
    ck_assert (!queue_release (q, 0));
    queue_destroy (&q, NULL);
}
END_TEST

START_TEST (level_uses_hysteresis_on_release)
{
    queue_t *q = queue_new (1000, 500, 800, 100);
    queue_push (q, ITEM (0), 750);
    queue_push (q, ITEM (1), 50);
    ck_assert_int_eq (queue_level (q), MDF_LEVEL_HARD);
    void *items[4];
    int64_t bars;
    queue_take (q, 50, items, 4, &bars); /* the 750 alone */
    queue_take (q, 50, items + 1, 3, &bars);
    queue_release (q, 50); /* 750: above high - h = 700 */
    ck_assert_int_eq (queue_level (q), MDF_LEVEL_HARD);
    queue_release (q, 750);
    ck_assert_int_eq (queue_level (q), MDF_LEVEL_OK);
    queue_destroy (&q, NULL);
}
END_TEST

typedef struct {
    queue_t *q;
    size_t n;
    void *item;
} taker_t;

static void *
s_taker (void *arg)
{
    taker_t *t = arg;
    int64_t bars;
    t->n = queue_take (t->q, 100, &t->item, 1, &bars);
    return NULL;
}

START_TEST (a_waiting_taker_wakes_on_push)
{
    queue_t *q = queue_new (1000, 500, 800, 0);
    taker_t t = { q, 99, NULL };
    pthread_t th;
    pthread_create (&th, NULL, s_taker, &t);
    queue_push (q, ITEM (7), 5);
    pthread_join (th, NULL);
    ck_assert_uint_eq (t.n, 1);
    ck_assert_ptr_eq (t.item, ITEM (7));
    queue_destroy (&q, NULL);
}
END_TEST

START_TEST (stop_with_drain_hands_out_the_rest_then_ends)
{
    queue_t *q = queue_new (1000, 500, 800, 0);
    queue_push (q, ITEM (0), 5);
    queue_stop (q, true);
    ck_assert_int_eq (queue_push (q, ITEM (1), 5), -1);
    void *items[4];
    int64_t bars;
    ck_assert_uint_eq (queue_take (q, 100, items, 4, &bars), 1);
    ck_assert_uint_eq (queue_take (q, 100, items, 4, &bars), 0);
    queue_destroy (&q, NULL);
}
END_TEST

START_TEST (stop_without_drain_wakes_takers_at_once)
{
    queue_t *q = queue_new (1000, 500, 800, 0);
    taker_t t = { q, 99, NULL };
    pthread_t th;
    pthread_create (&th, NULL, s_taker, &t);
    queue_stop (q, false);
    pthread_join (th, NULL);
    ck_assert_uint_eq (t.n, 0);
    queue_destroy (&q, NULL);
}
END_TEST

START_TEST (timed_take_returns_empty_after_timeout)
{
    queue_t *q = queue_new (1000, 500, 800, 0);
    void *items[1];
    int64_t bars;
    ck_assert_uint_eq (queue_take_timed (q, 10, items, 1, &bars, 20), 0);
    queue_destroy (&q, NULL);
}
END_TEST

static int s_freed;
static void
s_free (void *item)
{
    (void)item;
    s_freed++;
}

START_TEST (destroy_frees_queued_items)
{
    queue_t *q = queue_new (1000, 500, 800, 0);
    queue_push (q, ITEM (0), 1);
    queue_push (q, ITEM (1), 1);
    s_freed = 0;
    queue_destroy (&q, s_free);
    ck_assert_int_eq (s_freed, 2);
}
END_TEST

static bool
s_readable (queue_t *q)
{
    struct pollfd p = { queue_answers_fd (q), POLLIN, 0 };
    return poll (&p, 1, 0) == 1 && (p.revents & POLLIN);
}

START_TEST (finished_takes_come_back_in_order_and_release_their_bars)
{
    queue_t *q = queue_new (1000, 500, 800, 0);
    queue_push (q, ITEM (0), 600);
    queue_push (q, ITEM (1), 300);
    ck_assert_int_eq (queue_level (q), MDF_LEVEL_HARD);
    void *items[4];
    int64_t bars;
    queue_answer_t a[3];
    ck_assert (!s_readable (q));
    ck_assert_ptr_null (queue_answers_take (q));
    queue_take (q, 600, items, 4, &bars);
    ck_assert (queue_finish (q, bars, &a[0])); /* 300 left: the level drops at once */
    ck_assert_int_eq (queue_level (q), MDF_LEVEL_OK);
    ck_assert (s_readable (q));
    queue_take (q, 600, items, 4, &bars);
    ck_assert (!queue_finish (q, bars, &a[1]));
    ck_assert_int_eq (queue_size (q), 0);
    queue_answer_t *got = queue_answers_take (q);
    ck_assert_ptr_eq (got, &a[0]);
    ck_assert_ptr_eq (got->next, &a[1]);
    ck_assert_ptr_null (got->next->next);
    ck_assert (!s_readable (q)); /* taken: nothing to wake for */
    ck_assert_ptr_null (queue_answers_take (q));
    queue_push (q, ITEM (2), 1);
    queue_take (q, 600, items, 4, &bars);
    queue_finish (q, bars, &a[2]);
    ck_assert (s_readable (q)); /* the next answer wakes again */
    ck_assert_ptr_eq (queue_answers_take (q), &a[2]);
    queue_destroy (&q, NULL);
}
END_TEST

typedef struct {
    queue_t *q;
    queue_answer_t answers[500];
} finisher_t;

static void *
s_finisher (void *arg)
{
    finisher_t *f = arg;
    for (size_t i = 0; i < 500; i++) {
        void *item;
        int64_t bars;
        if (queue_take (f->q, 1, &item, 1, &bars) == 1)
            queue_finish (f->q, bars, &f->answers[i]);
    }
    return NULL;
}

/* What a worker hands back while the ingest thread sleeps in poll always
 * wakes it: no answer is left behind with the descriptor quiet. */
START_TEST (every_answer_from_another_thread_is_taken)
{
    queue_t *q = queue_new (1000, 500, 800, 0);
    finisher_t f = { .q = q };
    pthread_t th;
    pthread_create (&th, NULL, s_finisher, &f);
    size_t pushed = 0, got = 0;
    while (got < 500) {
        while (pushed < 500 && queue_push (q, ITEM (pushed % 64), 1) == 0)
            pushed++;
        struct pollfd p = { queue_answers_fd (q), POLLIN, 0 };
        ck_assert_int_eq (poll (&p, 1, 5000), 1); /* never stuck with answers waiting */
        for (queue_answer_t *a = queue_answers_take (q); a; a = a->next) {
            ck_assert_ptr_eq (a, &f.answers[got]);
            got++;
        }
    }
    pthread_join (th, NULL);
    ck_assert_int_eq (queue_size (q), 0);
    queue_destroy (&q, NULL);
}
END_TEST

int
main (void)
{
    Suite *s = suite_create ("queue");
    TCase *tc = tcase_create ("queue");
    tcase_add_test (tc, push_refuses_what_does_not_fit_and_keeps_the_rest);
    tcase_add_test (tc, retry_fits_after_release);
    tcase_add_test (tc, take_is_fifo_whole_batches_up_to_max_bars);
    tcase_add_test (tc, urgent_batches_go_ahead_of_the_rest_in_their_own_order);
    tcase_add_test (tc, a_batch_larger_than_max_bars_goes_alone);
    tcase_add_test (tc, max_items_bounds_a_take);
    tcase_add_test (tc, level_follows_push_and_release);
    tcase_add_test (tc, level_uses_hysteresis_on_release);
    tcase_add_test (tc, a_waiting_taker_wakes_on_push);
    tcase_add_test (tc, stop_with_drain_hands_out_the_rest_then_ends);
    tcase_add_test (tc, stop_without_drain_wakes_takers_at_once);
    tcase_add_test (tc, timed_take_returns_empty_after_timeout);
    tcase_add_test (tc, destroy_frees_queued_items);
    tcase_add_test (tc, finished_takes_come_back_in_order_and_release_their_bars);
    tcase_add_test (tc, every_answer_from_another_thread_is_taken);
    suite_add_tcase (s, tc);
    return h_run_suite (s);
}
