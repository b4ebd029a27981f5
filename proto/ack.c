/*
 * ack: codec of the store's reply to a bars request (declared in batch.h).
 *
 * Keys are written as v, type, batch_seq, status, count, [error], level: `error`
 * only when the status is "rejected", `level` always.  Decoding requires v,
 * type ("ack"), batch_seq, status and count; `error` is required when rejected
 * and ignored otherwise; `level` is optional (has_level says whether it came;
 * nil counts as absent).
 */
#include "proto/batch.h"

#include <string.h>

#include "proto/wire.h"

static const char *const s_status_names[] = { "ok", "retry", "rejected" };
#define S_NSTATUS (sizeof s_status_names / sizeof s_status_names[0])

const char *
mdf_ack_status_name (mdf_ack_status_t status)
{
    return (unsigned)status < S_NSTATUS ? s_status_names[status] : "unknown";
}

int
mdf_ack_encode (const mdf_ack_t *ack, mdf_buf_t *out)
{
    bool rejected = ack->status == MDF_ACK_REJECTED;
    wire_enc_t enc;
    wire_enc_begin (&enc, rejected ? 7 : 6, 0);
    wire_enc_int_kv (&enc, "v", MDF_PROTO_VERSION);
    wire_enc_str_kv (&enc, "type", "ack", 3);
    wire_enc_uint_kv (&enc, "batch_seq", ack->batch_seq);
    wire_enc_str_kv (&enc, "status", mdf_ack_status_name (ack->status), 16);
    wire_enc_uint_kv (&enc, "count", ack->count);
    if (rejected)
        wire_enc_str_kv (&enc, "error", ack->error, sizeof ack->error);
    wire_enc_str_kv (&enc, "level", mdf_level_name (ack->level), 16);
    return wire_enc_finish (&enc, out);
}

static int
s_decode_status (const wire_body_t *body, mdf_ack_status_t *out, char *err, size_t errlen)
{
    char text[16];
    const wire_obj_t *o = wire_find (body, "status");
    if (!o)
        return wire_fail (err, errlen, "key 'status' missing");
    if (o->type == WIRE_STR && o->n < sizeof text
        && wire_obj_str (o, "status", text, sizeof text - 1, false, NULL, 0) == 0) {
        for (size_t i = 0; i < S_NSTATUS; i++) {
            if (strcmp (text, s_status_names[i]) == 0) {
                *out = (mdf_ack_status_t)i;
                return 0;
            }
        }
    }
    if (o->type != WIRE_STR)
        return wire_fail (err, errlen, "key 'status': expected string, got %s", wire_type_name (o));
    char q[160];
    return wire_fail (err, errlen, "key 'status': unknown status '%s' (ok, retry, rejected)",
                      wire_quote (o->via.ptr, o->n, q, sizeof q));
}

static int
s_decode_fields (const wire_body_t *body, mdf_ack_t *ack, char *err, size_t errlen)
{
    if (wire_check_version (body, err, errlen) || wire_check_type (body, "ack", err, errlen)
        || wire_get_uint (body, "batch_seq", &ack->batch_seq, err, errlen)
        || s_decode_status (body, &ack->status, err, errlen)
        || wire_get_uint (body, "count", &ack->count, err, errlen))
        return -1;
    if (ack->status == MDF_ACK_REJECTED) {
        const wire_obj_t *e = wire_find (body, "error");
        if (!e)
            return wire_fail (err, errlen, "key 'error' missing (required when rejected)");
        if (wire_obj_str (e, "error", ack->error, MDF_ERROR_MAX, false, err, errlen))
            return -1;
    }
    const wire_obj_t *level = wire_find_opt (body, "level");
    if (level) {
        if (wire_obj_level (level, "level", &ack->level, err, errlen))
            return -1;
        ack->has_level = true;
    }
    return 0;
}

int
mdf_ack_decode (const void *data, size_t size, mdf_ack_t *ack, char *err, size_t errlen)
{
    memset (ack, 0, sizeof *ack);
    wire_key_t keys[]
        = { { .name = "v" },     { .name = "type" },  { .name = "batch_seq" }, { .name = "status" },
            { .name = "count" }, { .name = "error" }, { .name = "level" } };
    wire_body_t body;
    if (wire_body_open (&body, data, size, keys, sizeof keys / sizeof keys[0], err, errlen))
        return -1;
    return s_decode_fields (&body, ack, err, errlen);
}
