/*
 * codec_bench: what the v1 batch codec costs next to bare msgpack-c.
 *
 * Two loops move the same bars through the same bytes, one batch per
 * iteration:
 *
 *   codec  mdf_batch_encode into a fresh buffer, then mdf_batch_decode of those
 *          bytes (every check md-store makes: the structure, the keys, each bar
 *          rule) into an mdf_batch_t, as md-pipeline's sender and md-store's
 *          ingest call them.
 *   bare   msgpack-c alone: msgpack_pack_* of the same map (the same six keys,
 *          the same 7-element bar arrays) into a fresh msgpack_sbuffer, then
 *          msgpack_unpack_next of it and a walk of the object tree that finds
 *          the keys and reads every field of every bar.  No validation.
 *
 * Both loops fold every field they decoded (each bar's symbol, ts and five
 * numbers; batch_seq, the ids) into the same checksum, which must come out
 * equal, so neither loop can skip work the other does.  The loops alternate,
 * after a warm-up, for --rounds rounds of --seconds each; the figure is the
 * best round of each (the least disturbed by other processes).  The heap is
 * kept warm (no trimming, no mmap per batch), as in a long-running service:
 * otherwise glibc's trim heuristics, which depend on what ran before, give
 * one loop or the other page faults on every batch and swamp the figures.
 *
 * stdout gets exactly one line, for batches of --bars bars (default 500):
 *
 *   codec: 4563210 bars/s = 1.23 x msgpack-c
 *
 * stderr gets the details, and the same comparison at 5000 bars per batch
 * (--bars2, 0 to skip).  --batches N runs each round for exactly N batches
 * instead of a time, for instruction counts under valgrind --tool=callgrind.
 *
 *   codec_bench [--bars 500] [--bars2 5000] [--rounds 5] [--seconds 0.4]
 *               [--batches N]
 */
#include <malloc.h>
#include <msgpack.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "proto/batch.h"

typedef struct {
    size_t nbars;
    mdf_batch_t in;  /* the bars both loops encode */
    mdf_batch_t out; /* the codec loop's decode target */
    uint64_t seq;    /* batch_seq, new for each batch */
    uint64_t checksum;
} s_ctx_t;

static double
s_now (void)
{
    struct timespec ts;
    clock_gettime (CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ---- the checksum both loops compute ---- */

static inline uint64_t
s_bits (double d)
{
    uint64_t u;
    memcpy (&u, &d, sizeof u);
    return u;
}

static inline uint64_t
s_mix_str (const char *p, size_t n)
{
    return n + (n > 0 ? (uint8_t)p[0] + ((uint64_t)(uint8_t)p[n - 1] << 8) : 0);
}

static inline uint64_t
s_mix_bar (const char *sym, size_t symlen, int64_t ts, double o, double h, double l, double c,
           double v)
{
    return s_mix_str (sym, symlen) + (uint64_t)ts + s_bits (o) + s_bits (h) + s_bits (l)
           + s_bits (c) + s_bits (v);
}

/* ---- the bars ---- */

static void
s_make_bars (s_ctx_t *ctx, size_t nbars)
{
    static const char *const symbols[] = { "AAPL", "MSFT", "GOOG", "AMZN", "BRK.B", "NVDA" };
    memset (ctx, 0, sizeof *ctx);
    ctx->nbars = nbars;
    snprintf (ctx->in.producer_id, sizeof ctx->in.producer_id, "pipeline-1");
    snprintf (ctx->in.provider, sizeof ctx->in.provider, "synthetic");
    ctx->in.bars = calloc (nbars, sizeof *ctx->in.bars);
    if (!ctx->in.bars) {
        fprintf (stderr, "codec_bench: out of memory\n");
        exit (1);
    }
    ctx->in.nbars = nbars;
    for (size_t i = 0; i < nbars; i++) {
        mdf_bar_t *b = &ctx->in.bars[i];
        snprintf (b->symbol, sizeof b->symbol, "%s", symbols[i % 6]);
        b->ts = 1700000000000000000LL + (int64_t)i * 1000000000LL;
        b->open = 100.0 + (double)(i % 97) * 0.01;
        b->high = b->open + 0.25 * (double)(i % 5);
        b->low = b->open - 0.125 * (double)(i % 7);
        b->close = b->low + (b->high - b->low) / 3.0;
        b->volume = 1000 + (double)(i % 13) * 7.5;
    }
}

/* ---- one batch through each loop ---- */

static void
s_codec_once (s_ctx_t *ctx)
{
    ctx->in.batch_seq = ++ctx->seq;
    mdf_buf_t buf = { 0 };
    char err[MDF_ERROR_MAX + 1];
    if (mdf_batch_encode (&ctx->in, &buf) != 0) {
        fprintf (stderr, "codec_bench: mdf_batch_encode failed\n");
        exit (1);
    }
    if (mdf_batch_decode (buf.data, buf.size, &ctx->out, 0, err, sizeof err) != MDF_DECODE_OK) {
        fprintf (stderr, "codec_bench: mdf_batch_decode: %s\n", err);
        exit (1);
    }
    const mdf_batch_t *b = &ctx->out;
    uint64_t cs = 1 /* v */ + b->batch_seq + s_mix_str (b->producer_id, strlen (b->producer_id))
                  + s_mix_str (b->provider, strlen (b->provider));
    for (size_t i = 0; i < b->nbars; i++) {
        const mdf_bar_t *r = &b->bars[i];
        cs += s_mix_bar (r->symbol, strlen (r->symbol), r->ts, r->open, r->high, r->low, r->close,
                         r->volume);
    }
    ctx->checksum += cs;
    mdf_buf_free (&buf);
}

static void
s_pack_str (msgpack_packer *pk, const char *s)
{
    size_t n = strlen (s);
    msgpack_pack_str (pk, n);
    msgpack_pack_str_body (pk, s, n);
}

static bool
s_key_is (const msgpack_object *k, const char *name)
{
    size_t n = strlen (name);
    return k->type == MSGPACK_OBJECT_STR && k->via.str.size == n
           && memcmp (k->via.str.ptr, name, n) == 0;
}

static int64_t
s_obj_i64 (const msgpack_object *o)
{
    return o->type == MSGPACK_OBJECT_NEGATIVE_INTEGER ? o->via.i64 : (int64_t)o->via.u64;
}

static void
s_bare_once (s_ctx_t *ctx)
{
    const mdf_batch_t *in = &ctx->in;
    uint64_t seq = ++ctx->seq;
    msgpack_sbuffer sb;
    msgpack_packer pk;
    msgpack_sbuffer_init (&sb);
    msgpack_packer_init (&pk, &sb, msgpack_sbuffer_write);
    msgpack_pack_map (&pk, 6);
    s_pack_str (&pk, "v");
    msgpack_pack_int64 (&pk, 1);
    s_pack_str (&pk, "type");
    s_pack_str (&pk, "bars");
    s_pack_str (&pk, "producer_id");
    s_pack_str (&pk, in->producer_id);
    s_pack_str (&pk, "batch_seq");
    msgpack_pack_uint64 (&pk, seq);
    s_pack_str (&pk, "provider");
    s_pack_str (&pk, in->provider);
    s_pack_str (&pk, "bars");
    msgpack_pack_array (&pk, in->nbars);
    for (size_t i = 0; i < in->nbars; i++) {
        const mdf_bar_t *b = &in->bars[i];
        msgpack_pack_array (&pk, 7);
        s_pack_str (&pk, b->symbol);
        msgpack_pack_int64 (&pk, b->ts);
        msgpack_pack_double (&pk, b->open);
        msgpack_pack_double (&pk, b->high);
        msgpack_pack_double (&pk, b->low);
        msgpack_pack_double (&pk, b->close);
        msgpack_pack_double (&pk, b->volume);
    }

    msgpack_unpacked up;
    msgpack_unpacked_init (&up);
    size_t off = 0;
    if (msgpack_unpack_next (&up, sb.data, sb.size, &off) != MSGPACK_UNPACK_SUCCESS
        || up.data.type != MSGPACK_OBJECT_MAP) {
        fprintf (stderr, "codec_bench: msgpack_unpack_next failed\n");
        exit (1);
    }
    uint64_t cs = 0;
    const msgpack_object_map *map = &up.data.via.map;
    for (uint32_t k = 0; k < map->size; k++) {
        const msgpack_object *key = &map->ptr[k].key, *val = &map->ptr[k].val;
        if (s_key_is (key, "v") || s_key_is (key, "batch_seq"))
            cs += val->via.u64;
        else if (s_key_is (key, "producer_id") || s_key_is (key, "provider"))
            cs += s_mix_str (val->via.str.ptr, val->via.str.size);
        else if (s_key_is (key, "bars") && val->type == MSGPACK_OBJECT_ARRAY) {
            for (uint32_t i = 0; i < val->via.array.size; i++) {
                const msgpack_object *f = val->via.array.ptr[i].via.array.ptr;
                cs += s_mix_bar (f[0].via.str.ptr, f[0].via.str.size, s_obj_i64 (&f[1]),
                                 f[2].via.f64, f[3].via.f64, f[4].via.f64, f[5].via.f64,
                                 f[6].via.f64);
            }
        }
    }
    ctx->checksum += cs;
    msgpack_unpacked_destroy (&up);
    msgpack_sbuffer_destroy (&sb);
}

/* ---- timing ---- */

typedef void (*s_loop_fn) (s_ctx_t *ctx);

static long s_fixed_batches; /* --batches: rounds of a fixed size */

/* Run `fn` for at least `seconds` (or --batches batches); bars per second. */
static double
s_round (s_loop_fn fn, s_ctx_t *ctx, double seconds)
{
    size_t batches = 0;
    double t0 = s_now (), t = t0;
    if (s_fixed_batches > 0) {
        for (long i = 0; i < s_fixed_batches; i++)
            fn (ctx);
        batches = (size_t)s_fixed_batches;
        t = s_now ();
    } else
        do {
            for (int i = 0; i < 16; i++)
                fn (ctx);
            batches += 16;
            t = s_now ();
        } while (t - t0 < seconds);
    return (double)(batches * ctx->nbars) / (t - t0);
}

typedef struct {
    double codec, bare; /* best bars/s */
    size_t bytes;       /* encoded size of one batch */
} s_result_t;

static s_result_t
s_compare (size_t nbars, int rounds, double seconds)
{
    s_ctx_t codec, bare;
    s_make_bars (&codec, nbars);
    s_make_bars (&bare, nbars);
    /* the same batch_seq sequence in both, so the checksums must agree */
    const int per_check = 3;
    for (int i = 0; i < per_check; i++) {
        s_codec_once (&codec);
        s_bare_once (&bare);
    }
    if (codec.checksum != bare.checksum) {
        fprintf (stderr, "codec_bench: checksums differ (codec %llx, bare %llx)\n",
                 (unsigned long long)codec.checksum, (unsigned long long)bare.checksum);
        exit (1);
    }
    /* warm up (caches, allocator, CPU clock) */
    s_round (s_codec_once, &codec, seconds / 2);
    s_round (s_bare_once, &bare, seconds / 2);
    s_result_t r = { 0, 0, 0 };
    for (int i = 0; i < rounds; i++) {
        double c = s_round (s_codec_once, &codec, seconds);
        double b = s_round (s_bare_once, &bare, seconds);
        fprintf (stderr, "  bars=%zu round %d: codec %.0f bars/s, msgpack-c %.0f bars/s\n", nbars,
                 i + 1, c, b);
        r.codec = c > r.codec ? c : r.codec;
        r.bare = b > r.bare ? b : r.bare;
    }
    mdf_buf_t buf = { 0 };
    if (mdf_batch_encode (&codec.in, &buf) == 0)
        r.bytes = buf.size;
    mdf_buf_free (&buf);
    fprintf (stderr,
             "codec bars=%zu: codec %.0f bars/s (%.1f ns/bar), msgpack-c %.0f bars/s "
             "(%.1f ns/bar), ratio %.2f, %zu B/batch, checksums agree (%llx)\n",
             nbars, r.codec, 1e9 / r.codec, r.bare, 1e9 / r.bare, r.codec / r.bare, r.bytes,
             (unsigned long long)(codec.checksum ^ bare.checksum));
    mdf_batch_clear (&codec.out);
    free (codec.in.bars);
    free (bare.in.bars);
    return r;
}

static void
s_usage (void)
{
    fprintf (stderr, "usage: codec_bench [--bars N] [--bars2 N] [--rounds N] [--seconds S] "
                     "[--batches N]\n");
    exit (2);
}

int
main (int argc, char **argv)
{
    long bars = 500, bars2 = 5000, rounds = 5;
    double seconds = 0.4;
    for (int i = 1; i < argc; i++) {
        if (i + 1 >= argc)
            s_usage ();
        if (!strcmp (argv[i], "--bars"))
            bars = strtol (argv[++i], NULL, 10);
        else if (!strcmp (argv[i], "--bars2"))
            bars2 = strtol (argv[++i], NULL, 10);
        else if (!strcmp (argv[i], "--rounds"))
            rounds = strtol (argv[++i], NULL, 10);
        else if (!strcmp (argv[i], "--seconds"))
            seconds = strtod (argv[++i], NULL);
        else if (!strcmp (argv[i], "--batches"))
            s_fixed_batches = strtol (argv[++i], NULL, 10);
        else
            s_usage ();
    }
    if (bars < 1 || bars > MDF_BATCH_MAX_BARS || bars2 < 0 || bars2 > MDF_BATCH_MAX_BARS
        || rounds < 1 || !(seconds > 0) || s_fixed_batches < 0)
        s_usage ();
    mallopt (M_TRIM_THRESHOLD, 256 << 20);
    mallopt (M_MMAP_THRESHOLD, 64 << 20);
    s_result_t main_r = s_compare ((size_t)bars, (int)rounds, seconds);
    if (bars2 > 0)
        s_compare ((size_t)bars2, (int)rounds, seconds);
    printf ("codec: %.0f bars/s = %.2f x msgpack-c\n", main_r.codec, main_r.codec / main_r.bare);
    return 0;
}
