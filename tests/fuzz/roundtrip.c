/*
 * roundtrip: decode -> encode -> decode must give the same message, and a
 * batch decode must stay within its allocation bound (see roundtrip.h).  Doubles are compared bit
 * for bit (-0.0 and NaN payloads must survive).  An ack decoded without `level` comes back with
 * level "ok" (the encoder always writes it), so has_level is compared only when it was set.
 */
#include "roundtrip.h"

#include <stdio.h>
#include <string.h>

#include "alloc_probe.h"
#include "proto/batch.h"
#include "proto/feedback.h"

static int
s_why (char *why, size_t whylen, const char *what, const char *err)
{
    snprintf (why, whylen, "%s%s%s", what, err ? ": " : "", err ? err : "");
    return -1;
}

static int
s_same_double (double a, double b)
{
    return memcmp (&a, &b, sizeof a) == 0;
}

static int
s_same_feedback (const mdf_feedback_t *a, const mdf_feedback_t *b)
{
    return a->v == b->v && strcmp (a->coordinator_id, b->coordinator_id) == 0
           && a->epoch == b->epoch && a->seq == b->seq && a->level == b->level
           && a->queue_size == b->queue_size && a->capacity == b->capacity
           && strcmp (a->reason, b->reason) == 0 && strcmp (a->source, b->source) == 0
           && s_same_double (a->ts, b->ts);
}

int
roundtrip_feedback (const uint8_t *data, size_t size, char *why, size_t whylen)
{
    mdf_feedback_t a, b;
    char err[512] = "";
    if (mdf_feedback_decode (data, size, &a, err, sizeof err))
        return err[0] ? 0 : s_why (why, whylen, "feedback: failure without a message", NULL);
    mdf_buf_t buf = { 0 };
    int rc = 0;
    if (mdf_feedback_encode (&a, &buf))
        rc = s_why (why, whylen, "feedback: encode failed", NULL);
    else if (mdf_feedback_decode (buf.data, buf.size, &b, err, sizeof err))
        rc = s_why (why, whylen, "feedback: re-decode failed", err);
    else if (!s_same_feedback (&a, &b))
        rc = s_why (why, whylen, "feedback: round trip changed the event", NULL);
    mdf_buf_free (&buf);
    return rc;
}

static int
s_same_bar (const mdf_bar_t *a, const mdf_bar_t *b)
{
    return strcmp (a->symbol, b->symbol) == 0 && a->ts == b->ts && s_same_double (a->open, b->open)
           && s_same_double (a->high, b->high) && s_same_double (a->low, b->low)
           && s_same_double (a->close, b->close) && s_same_double (a->volume, b->volume);
}

static int
s_same_batch (const mdf_batch_t *a, const mdf_batch_t *b)
{
    if (strcmp (a->producer_id, b->producer_id) || a->batch_seq != b->batch_seq
        || a->has_batch_seq != b->has_batch_seq || strcmp (a->provider, b->provider)
        || a->nbars != b->nbars)
        return 0;
    for (size_t i = 0; i < a->nbars; i++)
        if (!s_same_bar (&a->bars[i], &b->bars[i]))
            return 0;
    return 1;
}

int
roundtrip_batch (const uint8_t *data, size_t size, char *why, size_t whylen)
{
    mdf_batch_t a = { 0 }, b = { 0 };
    char err[512] = "";
    alloc_probe_reset ();
    mdf_decode_t d = mdf_batch_decode (data, size, &a, 0, err, sizeof err);
    /* the documented bound: the bars array only, at most one bar per 9 bytes */
    if (alloc_probe_max () > size / 9 * sizeof (mdf_bar_t)) {
        char what[128];
        snprintf (what, sizeof what, "batch: decoding %zu bytes allocated %zu in one go", size,
                  alloc_probe_max ());
        mdf_batch_clear (&a);
        return s_why (why, whylen, what, NULL);
    }
    if (d != MDF_DECODE_OK) {
        int ok = err[0] && (d == MDF_DECODE_INVALID || d == MDF_DECODE_MALFORMED) && a.nbars == 0
                 && a.bars == NULL;
        mdf_batch_clear (&a);
        return ok ? 0 : s_why (why, whylen, "batch: bad failure (no message or bars kept)", NULL);
    }
    mdf_buf_t buf = { 0 };
    int rc = 0;
    if (mdf_batch_encode (&a, &buf))
        rc = s_why (why, whylen, "batch: encode failed", NULL);
    else if (mdf_batch_decode (buf.data, buf.size, &b, 0, err, sizeof err) != MDF_DECODE_OK)
        rc = s_why (why, whylen, "batch: re-decode failed", err);
    else if (!s_same_batch (&a, &b))
        rc = s_why (why, whylen, "batch: round trip changed the batch", NULL);
    mdf_buf_free (&buf);
    mdf_batch_clear (&a);
    mdf_batch_clear (&b);
    return rc;
}

int
roundtrip_ack (const uint8_t *data, size_t size, char *why, size_t whylen)
{
    mdf_ack_t a, b;
    char err[512] = "";
    if (mdf_ack_decode (data, size, &a, err, sizeof err))
        return err[0] ? 0 : s_why (why, whylen, "ack: failure without a message", NULL);
    mdf_buf_t buf = { 0 };
    int rc = 0;
    if (mdf_ack_encode (&a, &buf))
        rc = s_why (why, whylen, "ack: encode failed", NULL);
    else if (mdf_ack_decode (buf.data, buf.size, &b, err, sizeof err))
        rc = s_why (why, whylen, "ack: re-decode failed", err);
    else if (a.batch_seq != b.batch_seq || a.status != b.status || a.count != b.count
             || strcmp (a.error, b.error) || a.level != b.level || !b.has_level)
        rc = s_why (why, whylen, "ack: round trip changed the ack", NULL);
    mdf_buf_free (&buf);
    return rc;
}
