/*
 * batcher: batches seal at batch_max or after linger, the window bounds the
 * sealed batches and blocks providers when full, pending counts open batches
 * too, release frees room, drain seals everything, close unblocks; providers
 * write in place (reserve, commit) and a batch being written is not sealed
 * under them; the sender is woken once per look, and by a first bar only when
 * it would otherwise oversleep the linger.
 */
#include <check.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/clock.h"
#include "pipeline/batcher.h"
#include "tests/integration/harness.h"

static mdf_bar_t bars[1000];

static void
setup (void)
{
    for (int i = 0; i < 1000; i++) {
        memset (&bars[i], 0, sizeof bars[i]);
        strcpy (bars[i].symbol, "A");
        bars[i].ts = i + 1;
        bars[i].open = bars[i].high = bars[i].low = bars[i].close = 1;
    }
}

START_TEST (settled_is_the_prefix_of_released_bars)
{
    batcher_t *b = batcher_new (2, 10, 8, 1000000000LL, 1, NULL, NULL);
    ck_assert_int_eq (batcher_push (b, 0, bars, 30), 0);
    ck_assert_int_eq (batcher_push (b, 1, bars, 10), 0);
    ck_assert_int_eq (batcher_push (b, 0, bars, 4), 0); /* open, not sealed */
    batch_t *out[8];
    ck_assert_int_eq (batcher_take (b, out, 8), 4);
    ck_assert_uint_eq (batcher_settled (b, 0), 0);
    /* provider 0's batches are out[0], out[1], out[2] (bars 0..29) */
    ck_assert_uint_eq (out[1]->first, 10);
    batcher_release (b, out[1]); /* acked out of order: nothing settles */
    ck_assert_uint_eq (batcher_settled (b, 0), 0);
    batcher_release (b, out[0]);
    ck_assert_uint_eq (batcher_settled (b, 0), 20);
    batcher_release (b, out[3]); /* provider 1's */
    ck_assert_uint_eq (batcher_settled (b, 1), 10);
    ck_assert_uint_eq (batcher_settled (b, 0), 20);
    batcher_release (b, out[2]);
    ck_assert_uint_eq (batcher_settled (b, 0), 30); /* the 4 open bars are not */
    batcher_destroy (&b);
}
END_TEST

START_TEST (full_batches_seal_at_batch_max_with_increasing_seq)
{
    batcher_t *b = batcher_new (1, 10, 8, 1000000000LL, 100, NULL, NULL);
    ck_assert_int_eq (batcher_push (b, 0, bars, 25), 0);
    ck_assert_int_eq (batcher_window (b), 2);
    ck_assert_int_eq (batcher_pending (b), 3); /* 5 bars still open */
    batch_t *out[8];
    ck_assert_int_eq (batcher_take (b, out, 8), 2); /* the open one lingers */
    ck_assert_int_eq (out[0]->seq, 100);
    ck_assert_int_eq (out[1]->seq, 101);
    ck_assert_int_eq (out[0]->n, 10);
    ck_assert_int_eq (out[1]->bars[0].ts, 11);
    batcher_release (b, out[0]);
    batcher_release (b, out[1]);
    ck_assert_int_eq (batcher_window (b), 0);
    ck_assert_int_eq (batcher_pending (b), 1);
    batcher_destroy (&b);
    ck_assert_ptr_null (b);
}
END_TEST

START_TEST (a_partial_batch_seals_after_linger)
{
    batcher_t *b = batcher_new (2, 100, 8, 0, 1, NULL, NULL); /* linger 0 */
    ck_assert_int_eq (batcher_push (b, 1, bars, 3), 0);
    ck_assert_int_lt (batcher_next_linger (b), INT64_MAX);
    batch_t *out[8];
    ck_assert_int_eq (batcher_take (b, out, 8), 1);
    ck_assert_int_eq (out[0]->prov, 1);
    ck_assert_int_eq (out[0]->n, 3);
    batcher_release (b, out[0]);
    ck_assert_int_eq (batcher_pending (b), 0);
    ck_assert_int_eq (batcher_next_linger (b), INT64_MAX);
    batcher_destroy (&b);
}
END_TEST

typedef struct {
    batcher_t *b;
    atomic_int done;
    int rc;
} pusher_t;

static void *
s_push (void *arg)
{
    pusher_t *p = arg;
    p->rc = batcher_push (p->b, 0, bars, 5);
    atomic_store (&p->done, 1);
    return NULL;
}

START_TEST (a_full_window_blocks_the_provider_until_a_release)
{
    batcher_t *b = batcher_new (1, 5, 2, 1000000000LL, 1, NULL, NULL);
    ck_assert_int_eq (batcher_push (b, 0, bars, 15), 0); /* 2 sealed + 1 full open */
    ck_assert_int_eq (batcher_window (b), 2);
    pusher_t p = { b, 0, 0 };
    pthread_t t;
    pthread_create (&t, NULL, s_push, &p);
    ck_assert (!h_wait_flag (&p.done, 100)); /* blocked: window full */
    ck_assert_int_le (batcher_window (b), 2);
    batch_t *out[4];
    ck_assert_int_eq (batcher_take (b, out, 4), 2);
    batcher_release (b, out[0]);
    ck_assert (h_wait_flag (&p.done, 2000));
    ck_assert_int_eq (p.rc, 0);
    pthread_join (t, NULL);
    ck_assert_int_le (batcher_window (b), 2);
    batcher_destroy (&b);
}
END_TEST

/* The release that makes room seals the full open batch itself: the sender's
 * next take has it, with no run of the provider in between. */
START_TEST (a_release_seals_the_full_open_batch_that_waited_for_room)
{
    batcher_t *b = batcher_new (1, 5, 2, 1000000000LL, 1, NULL, NULL);
    ck_assert_int_eq (batcher_push (b, 0, bars, 15), 0); /* 2 sealed + 1 full open */
    batch_t *out[4];
    ck_assert_int_eq (batcher_take (b, out, 4), 2);
    ck_assert_int_eq (batcher_take (b, out + 2, 2), 0); /* the full one waits for room */
    batcher_release (b, out[0]);
    ck_assert_int_eq (batcher_window (b), 2);
    ck_assert_int_eq (batcher_take (b, out + 2, 2), 1);
    ck_assert_uint_eq (out[2]->seq, 3);
    ck_assert_uint_eq (out[2]->n, 5);
    ck_assert_int_eq (out[2]->bars[4].ts, 15);
    ck_assert_uint_eq (batcher_pending_bars (b), 10);
    /* a partial open batch is not sealed by a release: it lingers */
    ck_assert_int_eq (batcher_push (b, 0, bars, 3), 0);
    batcher_release (b, out[1]);
    ck_assert_int_eq (batcher_take (b, out, 4), 0);
    ck_assert_uint_eq (batcher_pending_bars (b), 8);
    ck_assert_int_eq (batcher_drain (b, 0), -1); /* seals it (flush) */
    ck_assert_int_eq (batcher_take (b, out, 4), 1);
    ck_assert_uint_eq (out[0]->seq, 4);
    ck_assert_uint_eq (out[0]->n, 3);
    batcher_release (b, out[0]);
    batcher_release (b, out[2]);
    ck_assert_uint_eq (batcher_pending (b), 0);
    batcher_destroy (&b);
}
END_TEST

/* Live first: a live provider's batch is taken before history sealed
 * earlier, history keeps the last window slot free for it, and when room
 * frees the live provider's full batch is sealed before history's. */
START_TEST (live_batches_go_first_and_keep_a_window_slot)
{
    batcher_t *b = batcher_new (2, 5, 3, 1000000000LL, 1, NULL, NULL);
    batcher_set_live (b, 1, true);
    ck_assert_int_eq (batcher_push (b, 0, bars, 10), 0); /* history: 2 sealed */
    ck_assert_int_eq (batcher_window (b), 2);
    ck_assert_int_eq (batcher_push (b, 0, bars, 5), 0); /* full open: the last slot is live's */
    ck_assert_int_eq (batcher_window (b), 2);
    ck_assert_int_eq (batcher_push (b, 1, bars, 5), 0); /* live seals into it */
    ck_assert_int_eq (batcher_window (b), 3);
    batch_t *out[8];
    ck_assert_int_eq (batcher_take (b, out, 8), 3);
    ck_assert (out[0]->live);
    ck_assert_uint_eq (out[0]->prov, 1);
    ck_assert_uint_eq (out[0]->seq, 3);
    ck_assert (!out[1]->live);
    ck_assert_uint_eq (out[1]->seq, 1);
    /* both have a full open batch waiting; a release makes one slot of
     * room under history's limit: live's full batch takes it */
    ck_assert_int_eq (batcher_push (b, 1, bars, 5), 0);
    batcher_release (b, out[1]);
    ck_assert_int_eq (batcher_take (b, out + 3, 4), 1);
    ck_assert (out[3]->live);
    batcher_release (b, out[0]);
    batcher_release (b, out[2]);
    batcher_release (b, out[3]);
    /* with the window empty history seals up to max_inflight - 1 */
    ck_assert_int_eq (batcher_take (b, out, 8), 1);
    ck_assert (!out[0]->live);
    batcher_release (b, out[0]);
    batcher_destroy (&b);
}
END_TEST

/* Without a live provider history has the whole window, as before. */
START_TEST (history_alone_fills_the_whole_window)
{
    batcher_t *b = batcher_new (2, 5, 3, 1000000000LL, 1, NULL, NULL);
    ck_assert_int_eq (batcher_push (b, 0, bars, 15), 0);
    ck_assert_int_eq (batcher_window (b), 3);
    batch_t *out[4];
    ck_assert_int_eq (batcher_take (b, out, 4), 3);
    for (int i = 0; i < 3; i++)
        batcher_release (b, out[i]);
    batcher_destroy (&b);
}
END_TEST

START_TEST (close_unblocks_a_waiting_provider_with_an_error)
{
    batcher_t *b = batcher_new (1, 5, 1, 1000000000LL, 1, NULL, NULL);
    ck_assert_int_eq (batcher_push (b, 0, bars, 10), 0); /* 1 sealed + 1 full open */
    pusher_t p = { b, 0, 0 };
    pthread_t t;
    pthread_create (&t, NULL, s_push, &p);
    ck_assert (!h_wait_flag (&p.done, 50));
    batcher_close (b);
    ck_assert (h_wait_flag (&p.done, 2000));
    ck_assert_int_eq (p.rc, -1);
    pthread_join (t, NULL);
    ck_assert_int_eq (batcher_push (b, 0, bars, 1), -1);
    batcher_destroy (&b);
}
END_TEST

START_TEST (drain_seals_open_batches_and_times_out_while_unacked)
{
    batcher_t *b = batcher_new (1, 100, 4, 1000000000LL, 1, NULL, NULL);
    ck_assert_int_eq (batcher_push (b, 0, bars, 7), 0);
    ck_assert_int_eq (batcher_drain (b, 20), -1); /* nothing acked it */
    batch_t *out[4];
    ck_assert_int_eq (batcher_take (b, out, 4), 1); /* draining: sealed at once */
    ck_assert_int_eq (out[0]->n, 7);
    batcher_release (b, out[0]);
    ck_assert_int_eq (batcher_drain (b, 20), 0);
    batcher_destroy (&b);
}
END_TEST

START_TEST (a_full_batch_sealed_by_linger_while_the_provider_waits_is_not_sealed_empty)
{
    /* Race the provider (woken by a release) against the sender sealing the
     * same full open batch on linger: never an empty batch, pending exact. */
    for (int round = 0; round < 200; round++) {
        batcher_t *b = batcher_new (1, 5, 2, 0, 1, NULL, NULL);
        ck_assert_int_eq (batcher_push (b, 0, bars, 15), 0); /* 2 sealed + full open */
        pusher_t p = { b, 0, 0 };
        pthread_t t;
        pthread_create (&t, NULL, s_push, &p);
        batch_t *first[2], *more[4];
        ck_assert_int_eq (batcher_take (b, first, 2), 2);
        batcher_release (b, first[0]);
        size_t n = batcher_take (b, more, 4); /* may seal the full open batch */
        ck_assert (h_wait_flag (&p.done, 2000));
        pthread_join (t, NULL);
        batcher_release (b, first[1]);
        n += batcher_take (b, more + n, 4 - n);
        ck_assert_int_eq (n, 2); /* the full open one and the pusher's */
        for (size_t i = 0; i < n; i++) {
            ck_assert_int_eq (more[i]->n, 5);
            batcher_release (b, more[i]);
        }
        ck_assert_int_eq (batcher_window (b), 0);
        ck_assert_int_eq (batcher_pending (b), 0);
        batcher_destroy (&b);
    }
}
END_TEST

static bool
s_woken (batcher_t *b)
{
    struct pollfd p = { batcher_fd (b), POLLIN, 0 };
    return poll (&p, 1, 0) == 1;
}

START_TEST (bars_written_in_place_are_the_batch_and_only_committed_ones_count)
{
    batcher_t *b = batcher_new (1, 10, 8, 1000000000LL, 1, NULL, NULL);
    mdf_bar_t *dst;
    ck_assert_uint_eq (batcher_reserve (b, 0, 64, &dst), 10); /* at most the batch's room */
    memcpy (dst, bars, 7 * sizeof *dst);
    ck_assert_int_eq (batcher_commit (b, 0, 4), 0); /* the source made only 4 */
    ck_assert_uint_eq (batcher_pending_bars (b), 4);
    ck_assert_uint_eq (batcher_reserve (b, 0, 64, &dst), 6);
    memcpy (dst, bars + 4, 6 * sizeof *dst);
    ck_assert_int_eq (batcher_commit (b, 0, 6), 0); /* full: sealed */
    batch_t *out[2];
    ck_assert_uint_eq (batcher_take (b, out, 2), 1);
    ck_assert_uint_eq (out[0]->n, 10);
    for (int i = 0; i < 10; i++)
        ck_assert_int_eq (out[0]->bars[i].ts, i + 1);
    batcher_recycle (b, out[0]); /* encoded: the bars may go */
    ck_assert_ptr_null (out[0]->bars);
    batcher_release (b, out[0]);
    ck_assert_uint_eq (batcher_reserve (b, 0, 3, &dst), 3);
    batcher_close (b);
    ck_assert_int_eq (batcher_commit (b, 0, 3), -1); /* closed meanwhile: not taken */
    ck_assert_uint_eq (batcher_pending_bars (b), 0);
    ck_assert_uint_eq (batcher_reserve (b, 0, 3, &dst), 0);
    batcher_destroy (&b);
}
END_TEST

START_TEST (a_batch_being_written_is_not_sealed_under_its_provider)
{
    batcher_t *b = batcher_new (1, 100, 8, 0, 1, NULL, NULL); /* linger 0 */
    ck_assert_int_eq (batcher_push (b, 0, bars, 3), 0);
    mdf_bar_t *dst;
    ck_assert_uint_eq (batcher_reserve (b, 0, 5, &dst), 5);
    batch_t *out[2];
    ck_assert_uint_eq (batcher_take (b, out, 2), 0);       /* lingered out, but being written */
    ck_assert_int_eq (batcher_next_linger (b), INT64_MAX); /* no spinning sender meanwhile */
    memcpy (dst, bars + 3, 5 * sizeof *dst);
    ck_assert_int_eq (batcher_commit (b, 0, 5), 0);
    ck_assert (s_woken (b)); /* the commit tells the sender it is due */
    ck_assert_uint_eq (batcher_take (b, out, 2), 1);
    ck_assert_uint_eq (out[0]->n, 8);
    ck_assert_int_eq (out[0]->bars[7].ts, 8);
    batcher_release (b, out[0]);
    batcher_destroy (&b);
}
END_TEST

START_TEST (the_sender_is_woken_once_and_by_a_first_bar_only_when_due_before_it_looks)
{
    int64_t linger = 1000000000LL; /* 1 s */
    batcher_t *b = batcher_new (1, 10, 8, linger, 1, NULL, NULL);
    /* the sender looks again within 100 ms anyway: a first bar due in 1 s
     * need not wake it */
    batcher_sleep_until (b, mdf_mono_ns () + 100000000);
    ck_assert_int_eq (batcher_push (b, 0, bars, 1), 0);
    ck_assert (!s_woken (b));
    batcher_destroy (&b);
    /* a sender that sleeps until further notice is woken by a first bar, and
     * the seals that follow before it looks write nothing more: one look
     * takes them all */
    b = batcher_new (1, 10, 8, linger, 1, NULL, NULL);
    batcher_sleep_until (b, INT64_MAX);
    ck_assert_int_eq (batcher_push (b, 0, bars, 1), 0);
    ck_assert (s_woken (b));
    ck_assert_int_eq (batcher_push (b, 0, bars, 29), 0);
    ck_assert_uint_eq (batcher_window (b), 3);
    uint64_t count = 0;
    ck_assert_int_eq (read (batcher_fd (b), &count, sizeof count), (ssize_t)sizeof count);
    ck_assert_uint_eq (count, 1);
    batcher_destroy (&b);
}
END_TEST

int
main (void)
{
    Suite *s = suite_create ("batcher");
    TCase *tc = tcase_create ("batcher");
    tcase_add_checked_fixture (tc, setup, NULL);
    tcase_set_timeout (tc, 20);
    tcase_add_test (tc, full_batches_seal_at_batch_max_with_increasing_seq);
    tcase_add_test (tc, settled_is_the_prefix_of_released_bars);
    tcase_add_test (tc, a_partial_batch_seals_after_linger);
    tcase_add_test (tc, a_full_window_blocks_the_provider_until_a_release);
    tcase_add_test (tc, a_release_seals_the_full_open_batch_that_waited_for_room);
    tcase_add_test (tc, a_full_batch_sealed_by_linger_while_the_provider_waits_is_not_sealed_empty);
    tcase_add_test (tc, live_batches_go_first_and_keep_a_window_slot);
    tcase_add_test (tc, history_alone_fills_the_whole_window);
    tcase_add_test (tc, close_unblocks_a_waiting_provider_with_an_error);
    tcase_add_test (tc, drain_seals_open_batches_and_times_out_while_unacked);
    tcase_add_test (tc, bars_written_in_place_are_the_batch_and_only_committed_ones_count);
    tcase_add_test (tc, a_batch_being_written_is_not_sealed_under_its_provider);
    tcase_add_test (tc, the_sender_is_woken_once_and_by_a_first_bar_only_when_due_before_it_looks);
    suite_add_tcase (s, tc);
    return h_run_suite (s);
}
