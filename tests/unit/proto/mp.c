/*
 * mp: hand-built msgpack bodies for the proto tests (see mp.h).
 */
#include "mp.h"

#include <stdlib.h>
#include <string.h>

void
mp_str (msgpack_packer *pk, const char *s, size_t n)
{
    msgpack_pack_str (pk, n);
    msgpack_pack_str_body (pk, s, n);
}

static void
s_value (msgpack_sbuffer *sb, msgpack_packer *pk, const mp_kv_t *kv)
{
    switch (kv->kind) {
    case MP_INT:
        msgpack_pack_int64 (pk, kv->i);
        break;
    case MP_UINT:
        msgpack_pack_uint64 (pk, kv->u);
        break;
    case MP_DBL:
        msgpack_pack_double (pk, kv->d);
        break;
    case MP_STR:
        mp_str (pk, kv->s, strlen (kv->s));
        break;
    case MP_STRN:
        mp_str (pk, kv->s, kv->n);
        break;
    case MP_NIL:
        msgpack_pack_nil (pk);
        break;
    case MP_BOOL:
        msgpack_pack_true (pk);
        break;
    case MP_RAW:
        msgpack_sbuffer_write (sb, kv->s, kv->n);
        break;
    }
}

void
mp_begin (msgpack_sbuffer *sb, msgpack_packer *pk)
{
    msgpack_sbuffer_init (sb);
    msgpack_packer_init (pk, sb, msgpack_sbuffer_write);
}

void
mp_end (msgpack_sbuffer *sb, mdf_buf_t *out)
{
    mdf_buf_free (out);
    out->size = sb->size;
    out->data = msgpack_sbuffer_release (sb);
}

void
mp_map (mdf_buf_t *out, const mp_kv_t *kvs, size_t n, const char *skip, const char *bad,
        const mp_kv_t *extra, size_t nextra)
{
    msgpack_sbuffer sb;
    msgpack_packer pk;
    mp_begin (&sb, &pk);
    size_t count = nextra;
    for (size_t i = 0; i < n; i++)
        count += !(skip && strcmp (kvs[i].key, skip) == 0);
    msgpack_pack_map (&pk, count);
    for (size_t i = 0; i < n; i++) {
        if (skip && strcmp (kvs[i].key, skip) == 0)
            continue;
        mp_str (&pk, kvs[i].key, strlen (kvs[i].key));
        if (bad && strcmp (kvs[i].key, bad) == 0)
            msgpack_pack_true (&pk);
        else
            s_value (&sb, &pk, &kvs[i]);
    }
    for (size_t i = 0; i < nextra; i++) {
        mp_str (&pk, extra[i].key, strlen (extra[i].key));
        s_value (&sb, &pk, &extra[i]);
    }
    mp_end (&sb, out);
}

size_t
mp_feedback_kvs (mp_kv_t *kvs)
{
    const mp_kv_t d[] = {
        { .key = "v", .kind = MP_INT, .i = 1 },
        { .key = "coordinator_id", .kind = MP_STR, .s = "bars-coordinator" },
        { .key = "epoch", .kind = MP_INT, .i = 1700000000000 },
        { .key = "seq", .kind = MP_UINT, .u = 3 },
        { .key = "level", .kind = MP_STR, .s = "hard" },
        { .key = "queue_size", .kind = MP_INT, .i = 8000 },
        { .key = "capacity", .kind = MP_INT, .i = 10000 },
        { .key = "reason", .kind = MP_STR, .s = "watermark" },
        { .key = "source", .kind = MP_STR, .s = "store" },
        { .key = "ts", .kind = MP_DBL, .d = 1700000001.25 },
    };
    memcpy (kvs, d, sizeof d);
    return sizeof d / sizeof d[0];
}

size_t
mp_ack_kvs (mp_kv_t *kvs)
{
    const mp_kv_t d[] = {
        { .key = "v", .kind = MP_INT, .i = 1 },
        { .key = "type", .kind = MP_STR, .s = "ack" },
        { .key = "batch_seq", .kind = MP_UINT, .u = 9 },
        { .key = "status", .kind = MP_STR, .s = "ok" },
        { .key = "count", .kind = MP_UINT, .u = 500 },
        { .key = "level", .kind = MP_STR, .s = "soft" },
    };
    memcpy (kvs, d, sizeof d);
    return sizeof d / sizeof d[0];
}

size_t
mp_batch_kvs (mp_kv_t *kvs, const mdf_buf_t *bars)
{
    const mp_kv_t d[] = {
        { .key = "v", .kind = MP_INT, .i = 1 },
        { .key = "type", .kind = MP_STR, .s = "bars" },
        { .key = "producer_id", .kind = MP_STR, .s = "pipeline-1" },
        { .key = "batch_seq", .kind = MP_UINT, .u = 77 },
        { .key = "provider", .kind = MP_STR, .s = "ibkr" },
        { .key = "bars", .kind = MP_RAW, .s = bars->data, .n = bars->size },
    };
    memcpy (kvs, d, sizeof d);
    return sizeof d / sizeof d[0];
}
