/*
 * feedback: codec of the store's backpressure event (wire contract v1).
 *
 * Keys are written in the order of proto/README.md's table (v, coordinator_id, epoch,
 * seq, level, queue_size, capacity, reason, source, ts, then with has_pacing
 * drain_rate, service_rate when known, producers, credit), so an event always
 * encodes to the same bytes.  Every key of the first table is required on
 * decoding; the pacing keys are optional, but of the right type when present;
 * `reason` may be nil, which decodes to "" (and "" encodes as nil).  `ts` must
 * be a finite number (an integer is accepted); `seq` a non-negative integer.
 */
#include "proto/feedback.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "proto/wire.h"

int
mdf_feedback_encode (const mdf_feedback_t *ev, mdf_buf_t *out)
{
    wire_enc_t enc;
    size_t optional = ev->has_pacing ? 3 + (ev->has_service_rate ? 1 : 0) : 0;
    wire_enc_begin (&enc, 10 + optional, 0);
    wire_enc_int_kv (&enc, "v", ev->v ? ev->v : MDF_PROTO_VERSION);
    wire_enc_str_kv (&enc, "coordinator_id", ev->coordinator_id, sizeof ev->coordinator_id);
    wire_enc_int_kv (&enc, "epoch", ev->epoch);
    wire_enc_uint_kv (&enc, "seq", ev->seq);
    wire_enc_str_kv (&enc, "level", mdf_level_name (ev->level), 16);
    wire_enc_int_kv (&enc, "queue_size", ev->queue_size);
    wire_enc_int_kv (&enc, "capacity", ev->capacity);
    wire_enc_key (&enc, "reason");
    if (ev->reason[0] == '\0') {
        if (msgpack_pack_nil (&enc.pk))
            enc.rc = -1;
    } else
        wire_enc_strn (&enc, ev->reason, sizeof ev->reason);
    wire_enc_str_kv (&enc, "source", ev->source, sizeof ev->source);
    wire_enc_double_kv (&enc, "ts", ev->ts);
    if (ev->has_pacing) {
        wire_enc_double_kv (&enc, "drain_rate", ev->drain_rate);
        if (ev->has_service_rate)
            wire_enc_double_kv (&enc, "service_rate", ev->service_rate);
        wire_enc_int_kv (&enc, "producers", ev->producers);
        wire_enc_int_kv (&enc, "credit", ev->credit);
    }
    return wire_enc_finish (&enc, out);
}

/* An optional number >= 0 (finite): 0 when absent, -1 with err when wrong. */
static int
s_opt_double (const wire_body_t *body, const char *key, double *out, bool *found, char *err,
              size_t errlen)
{
    const wire_obj_t *o = wire_find_opt (body, key);
    if (!o)
        return 0;
    if (wire_obj_double (o, out) != 0)
        return wire_fail (err, errlen, "key '%s': expected number, got %s", key,
                          wire_type_name (o));
    if (!isfinite (*out) || *out < 0)
        return wire_fail (err, errlen, "key '%s': must be a finite number >= 0", key);
    *found = true;
    return 0;
}

static int
s_opt_count (const wire_body_t *body, const char *key, int64_t *out, bool *found, char *err,
             size_t errlen)
{
    const wire_obj_t *o = wire_find_opt (body, key);
    if (!o)
        return 0;
    if (wire_obj_int64 (o, out) != 0)
        return wire_fail (err, errlen, "key '%s': expected integer, got %s", key,
                          wire_type_name (o));
    if (*out < 0)
        return wire_fail (err, errlen, "key '%s': must not be negative", key);
    *found = true;
    return 0;
}

/* The optional pacing keys (drain_rate, service_rate, producers, credit). */
static int
s_decode_pacing (const wire_body_t *body, mdf_feedback_t *ev, char *err, size_t errlen)
{
    bool any = false;
    if (s_opt_double (body, "drain_rate", &ev->drain_rate, &any, err, errlen)
        || s_opt_double (body, "service_rate", &ev->service_rate, &ev->has_service_rate, err,
                         errlen)
        || s_opt_count (body, "producers", &ev->producers, &any, err, errlen)
        || s_opt_count (body, "credit", &ev->credit, &any, err, errlen))
        return -1;
    ev->has_pacing = any || ev->has_service_rate;
    return 0;
}

static int
s_decode_fields (const wire_body_t *body, mdf_feedback_t *ev, char *err, size_t errlen)
{
    if (wire_check_version (body, err, errlen)
        || wire_get_str (body, "coordinator_id", ev->coordinator_id, MDF_ID_MAX, false, err, errlen)
        || wire_get_int (body, "epoch", &ev->epoch, err, errlen)
        || wire_get_uint (body, "seq", &ev->seq, err, errlen)
        || wire_get_level (body, "level", &ev->level, err, errlen)
        || wire_get_int (body, "queue_size", &ev->queue_size, err, errlen)
        || wire_get_int (body, "capacity", &ev->capacity, err, errlen)
        || wire_get_str (body, "reason", ev->reason, MDF_REASON_MAX, true, err, errlen)
        || wire_get_str (body, "source", ev->source, MDF_ID_MAX, false, err, errlen)
        || wire_get_double (body, "ts", &ev->ts, err, errlen))
        return -1;
    if (!isfinite (ev->ts))
        return wire_fail (err, errlen, "key 'ts': not a finite number");
    ev->v = MDF_PROTO_VERSION;
    return s_decode_pacing (body, ev, err, errlen);
}

int
mdf_feedback_decode (const void *data, size_t size, mdf_feedback_t *ev, char *err, size_t errlen)
{
    memset (ev, 0, sizeof *ev);
    wire_key_t keys[]
        = { { .name = "v" },         { .name = "coordinator_id" }, { .name = "epoch" },
            { .name = "seq" },       { .name = "level" },          { .name = "queue_size" },
            { .name = "capacity" },  { .name = "reason" },         { .name = "source" },
            { .name = "ts" },        { .name = "drain_rate" },     { .name = "service_rate" },
            { .name = "producers" }, { .name = "credit" } };
    wire_body_t body;
    if (wire_body_open (&body, data, size, keys, sizeof keys / sizeof keys[0], err, errlen))
        return -1;
    return s_decode_fields (&body, ev, err, errlen);
}

const char *
mdf_feedback_topic (const char *coordinator_id, char *buf, size_t size)
{
    if (buf && size > 0)
        snprintf (buf, size, "%s%s", MDF_FEEDBACK_TOPIC_PREFIX,
                  coordinator_id ? coordinator_id : "");
    return buf;
}
