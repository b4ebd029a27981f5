/*
 * inflight: a resend (same producer, batch_seq and bars) is recognised and
 * moves the answer to its sender; other producers, other seqs and other bars
 * are not resends; an empty producer_id falls back to the ROUTER identity;
 * finish forgets; the table grows without losing entries.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/inflight.h"
#include "tests/integration/harness.h"

static void
s_batch (mdf_batch_t *b, const char *producer, uint64_t seq, size_t n)
{
    memset (b, 0, sizeof *b);
    snprintf (b->producer_id, sizeof b->producer_id, "%s", producer);
    snprintf (b->provider, sizeof b->provider, "prov");
    b->batch_seq = seq;
    b->has_batch_seq = true;
    b->bars = calloc (n ? n : 1, sizeof *b->bars);
    b->nbars = n;
    for (size_t i = 0; i < n; i++) {
        snprintf (b->bars[i].symbol, sizeof b->bars[i].symbol, "S%zu", i);
        b->bars[i].ts = 1000 + (int64_t)i;
        b->bars[i].open = 10, b->bars[i].high = 11, b->bars[i].low = 9;
        b->bars[i].close = 10.5, b->bars[i].volume = 100;
    }
}

static const inflight_sender_t A = { (const uint8_t *)"\0AAAA", 5 };
static const inflight_sender_t B = { (const uint8_t *)"\0BBBB", 5 };

START_TEST (resend_is_a_duplicate_answered_to_the_newest_sender)
{
    inflight_t *f = inflight_new ();
    mdf_batch_t b;
    s_batch (&b, "p1", 7, 3);
    ck_assert_int_eq (inflight_find (f, &b, &A), INFLIGHT_ABSENT);
    ck_assert_int_eq (inflight_add (f, &b, &A), 0);
    ck_assert_uint_eq (inflight_count (f), 1);
    ck_assert_int_eq (inflight_find (f, &b, &A), INFLIGHT_DUPLICATE);
    ck_assert_int_eq (inflight_find (f, &b, &B), INFLIGHT_DUPLICATE); /* reconnected */
    uint8_t id[INFLIGHT_IDENTITY_MAX];
    size_t len = 0;
    ck_assert_int_eq (inflight_finish (f, &b, &A, id, &len), 0);
    ck_assert_uint_eq (len, 5);
    ck_assert_int_eq (memcmp (id, B.identity, 5), 0);
    ck_assert_uint_eq (inflight_count (f), 0);
    /* answered: a later copy is a new batch */
    ck_assert_int_eq (inflight_find (f, &b, &A), INFLIGHT_ABSENT);
    ck_assert_int_eq (inflight_finish (f, &b, &A, id, &len), -1);
    mdf_batch_clear (&b);
    inflight_destroy (&f);
    ck_assert_ptr_null (f);
}
END_TEST

START_TEST (other_producer_or_seq_is_not_a_resend)
{
    inflight_t *f = inflight_new ();
    mdf_batch_t b, other_prod, other_seq;
    s_batch (&b, "p1", 7, 3);
    s_batch (&other_prod, "p2", 7, 3);
    s_batch (&other_seq, "p1", 8, 3);
    ck_assert_int_eq (inflight_add (f, &b, &A), 0);
    ck_assert_int_eq (inflight_find (f, &other_prod, &A), INFLIGHT_ABSENT);
    ck_assert_int_eq (inflight_find (f, &other_seq, &A), INFLIGHT_ABSENT);
    mdf_batch_clear (&b);
    mdf_batch_clear (&other_prod);
    mdf_batch_clear (&other_seq);
    inflight_destroy (&f); /* frees what is left */
}
END_TEST

START_TEST (same_key_with_other_bars_is_a_conflict_and_changes_nothing)
{
    inflight_t *f = inflight_new ();
    mdf_batch_t b, c;
    s_batch (&b, "p1", 7, 3);
    s_batch (&c, "p1", 7, 3);
    c.bars[2].volume = 101;
    ck_assert_int_eq (inflight_add (f, &b, &A), 0);
    ck_assert_int_eq (inflight_find (f, &c, &B), INFLIGHT_CONFLICT);
    uint8_t id[INFLIGHT_IDENTITY_MAX];
    size_t len = 0;
    ck_assert_int_eq (inflight_finish (f, &b, &A, id, &len), 0);
    ck_assert_int_eq (memcmp (id, A.identity, 5), 0); /* B did not take it over */
    mdf_batch_clear (&b);
    mdf_batch_clear (&c);
    inflight_destroy (&f);
}
END_TEST

START_TEST (content_compare_covers_provider_and_every_field)
{
    /* the registered batch and a resend with one field changed: a conflict;
     * changed back: a duplicate again */
    inflight_t *f = inflight_new ();
    mdf_batch_t b, r;
    s_batch (&b, "p1", 1, 4);
    s_batch (&r, "p1", 1, 4);
    ck_assert_int_eq (inflight_add (f, &b, &A), 0);
    ck_assert_int_eq (inflight_find (f, &r, &A), INFLIGHT_DUPLICATE);
#define CHANGED(change, undo)                                                                      \
    do {                                                                                           \
        change;                                                                                    \
        ck_assert_int_eq (inflight_find (f, &r, &A), INFLIGHT_CONFLICT);                           \
        undo;                                                                                      \
        ck_assert_int_eq (inflight_find (f, &r, &A), INFLIGHT_DUPLICATE);                          \
    } while (0)
    CHANGED (r.provider[0] = 'q', r.provider[0] = 'p');
    CHANGED (r.bars[3].symbol[1] = '9', r.bars[3].symbol[1] = '3');
    CHANGED (r.bars[1].ts++, r.bars[1].ts--);
    CHANGED (r.bars[0].open = 10.000001, r.bars[0].open = 10);
    CHANGED (r.bars[0].high = 12, r.bars[0].high = 11);
    CHANGED (r.bars[2].low = 8, r.bars[2].low = 9);
    CHANGED (r.bars[2].close = 10.25, r.bars[2].close = 10.5);
    CHANGED (r.bars[3].volume = 0, r.bars[3].volume = 100);
    CHANGED (r.nbars = 3, r.nbars = 4);
#undef CHANGED
    mdf_batch_clear (&b);
    mdf_batch_clear (&r);
    inflight_destroy (&f);
}
END_TEST

START_TEST (empty_producer_id_falls_back_to_the_router_identity)
{
    inflight_t *f = inflight_new ();
    mdf_batch_t b;
    s_batch (&b, "", 7, 2);
    ck_assert_int_eq (inflight_add (f, &b, &A), 0);
    ck_assert_int_eq (inflight_find (f, &b, &B), INFLIGHT_ABSENT); /* another peer */
    ck_assert_int_eq (inflight_find (f, &b, &A), INFLIGHT_DUPLICATE);
    /* a producer named like the identity bytes is another key */
    mdf_batch_t named;
    s_batch (&named, "AAAA", 7, 2);
    ck_assert_int_eq (inflight_find (f, &named, &A), INFLIGHT_ABSENT);
    uint8_t id[INFLIGHT_IDENTITY_MAX];
    size_t len = 0;
    ck_assert_int_eq (inflight_finish (f, &b, &A, id, &len), 0);
    ck_assert_uint_eq (inflight_count (f), 0);
    mdf_batch_clear (&b);
    mdf_batch_clear (&named);
    inflight_destroy (&f);
}
END_TEST

START_TEST (grows_and_keeps_every_entry)
{
    enum { N = 20000 };
    inflight_t *f = inflight_new ();
    mdf_batch_t b;
    s_batch (&b, "p1", 0, 1);
    for (uint64_t seq = 0; seq < N; seq++) {
        b.batch_seq = seq;
        ck_assert_int_eq (inflight_add (f, &b, seq % 2 ? &A : &B), 0);
    }
    ck_assert_uint_eq (inflight_count (f), N);
    uint8_t id[INFLIGHT_IDENTITY_MAX];
    size_t len;
    for (uint64_t seq = 0; seq < N; seq++) {
        b.batch_seq = seq;
        ck_assert_int_eq (inflight_find (f, &b, seq % 2 ? &A : &B), INFLIGHT_DUPLICATE);
        ck_assert_int_eq (inflight_finish (f, &b, &A, id, &len), 0);
        ck_assert_int_eq (memcmp (id, (seq % 2 ? A : B).identity, 5), 0);
    }
    ck_assert_uint_eq (inflight_count (f), 0);
    mdf_batch_clear (&b);
    inflight_destroy (&f);
}
END_TEST

START_TEST (long_identity_is_kept_whole)
{
    uint8_t big[INFLIGHT_IDENTITY_MAX];
    for (size_t i = 0; i < sizeof big; i++)
        big[i] = (uint8_t)i;
    inflight_sender_t from = { big, sizeof big };
    inflight_t *f = inflight_new ();
    mdf_batch_t b;
    s_batch (&b, "", 3, 1);
    ck_assert_int_eq (inflight_add (f, &b, &from), 0);
    ck_assert_int_eq (inflight_find (f, &b, &from), INFLIGHT_DUPLICATE);
    uint8_t id[INFLIGHT_IDENTITY_MAX];
    size_t len = 0;
    ck_assert_int_eq (inflight_finish (f, &b, &from, id, &len), 0);
    ck_assert_uint_eq (len, sizeof big);
    ck_assert_int_eq (memcmp (id, big, sizeof big), 0);
    mdf_batch_clear (&b);
    inflight_destroy (&f);
}
END_TEST

int
main (void)
{
    Suite *s = suite_create ("store inflight");
    TCase *tc = tcase_create ("inflight");
    tcase_add_test (tc, resend_is_a_duplicate_answered_to_the_newest_sender);
    tcase_add_test (tc, other_producer_or_seq_is_not_a_resend);
    tcase_add_test (tc, same_key_with_other_bars_is_a_conflict_and_changes_nothing);
    tcase_add_test (tc, content_compare_covers_provider_and_every_field);
    tcase_add_test (tc, empty_producer_id_falls_back_to_the_router_identity);
    tcase_add_test (tc, grows_and_keeps_every_entry);
    tcase_add_test (tc, long_identity_is_kept_whole);
    suite_add_tcase (s, tc);
    return h_run_suite (s);
}
