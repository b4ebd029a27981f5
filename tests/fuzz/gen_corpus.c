/*
 * gen_corpus: write the seed corpus of the fuzz targets, a handful of small
 * valid and invalid bodies per decoder, from the encoders (so they follow the
 * contract) plus a few hand-made ones: encodings the encoder never writes,
 * and bodies broken after a readable batch_seq.  Usage: gen_corpus DIR writes
 * DIR/{feedback,batch,ack,tick}/NAME.  The committed corpus came from
 *   ninja -C build-fuzz tests/fuzz/gen_corpus && build-fuzz/tests/fuzz/gen_corpus tests/fuzz/corpus
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "examples.h"
#include "proto/tick.h"

static int
s_write (const char *dir, const char *target, const char *name, const void *data, size_t size)
{
    char path[4096];
    snprintf (path, sizeof path, "%s/%s", dir, target);
    if (mkdir (path, 0755) && errno != EEXIST)
        return -1;
    snprintf (path, sizeof path, "%s/%s/%s", dir, target, name);
    FILE *f = fopen (path, "wb");
    if (!f)
        return -1;
    int rc = fwrite (data, 1, size, f) == size ? 0 : -1;
    return fclose (f) || rc ? -1 : 0;
}

/* The valid body, its first half, and the body with a trailing byte. */
static int
s_variants (const char *dir, const char *target, const char *name, mdf_buf_t *buf)
{
    char n2[128];
    int rc = s_write (dir, target, name, buf->data, buf->size);
    snprintf (n2, sizeof n2, "%s-truncated", name);
    rc |= s_write (dir, target, n2, buf->data, buf->size / 2);
    char *longer = malloc (buf->size + 1);
    if (!longer)
        return -1;
    memcpy (longer, buf->data, buf->size);
    longer[buf->size] = (char)0xc0;
    snprintf (n2, sizeof n2, "%s-trailing", name);
    rc |= s_write (dir, target, n2, longer, buf->size + 1);
    free (longer);
    mdf_buf_free (buf);
    return rc;
}

static int
s_feedback (const char *dir)
{
    mdf_feedback_t ev;
    mdf_buf_t buf = { 0 };
    example_feedback (&ev);
    int rc = mdf_feedback_encode (&ev, &buf) || s_variants (dir, "feedback", "soft", &buf);
    ev.reason[0] = '\0';
    ev.level = MDF_LEVEL_HARD;
    rc |= mdf_feedback_encode (&ev, &buf) || s_variants (dir, "feedback", "nil-reason", &buf);
    ev.v = 2;
    rc |= mdf_feedback_encode (&ev, &buf) || s_variants (dir, "feedback", "v2", &buf);
    rc |= s_write (dir, "feedback", "array", "\x92\x01\x02", 3);
    return rc;
}

static int
s_batch (const char *dir)
{
    mdf_batch_t batch;
    mdf_buf_t buf = { 0 };
    example_batch (&batch);
    int rc = mdf_batch_encode (&batch, &buf) || s_variants (dir, "batch", "two-bars", &buf);
    mdf_bar_t bad = batch.bars[1];
    bad.low = bad.high + 1;
    batch.bars = &bad;
    batch.nbars = 1;
    rc |= mdf_batch_encode (&batch, &buf) || s_variants (dir, "batch", "low-above-high", &buf);
    batch.nbars = 0;
    rc |= mdf_batch_encode (&batch, &buf) || s_variants (dir, "batch", "empty", &buf);
    /* ints for prices, written by hand: {v:1,type:"bars",producer_id:"p",
     * batch_seq:1,provider:"x",bars:[["A",1,1,2,1,2,3]]} */
    static const char ints[] = "\x86\xa1v\x01\xa4type\xa4"
                               "bars\xab"
                               "producer_id\xa1p"
                               "\xa9"
                               "batch_seq\x01\xa8provider\xa1x\xa4"
                               "bars"
                               "\x91\x97\xa1"
                               "A\x01\x01\x02\x01\x02\x03";
    rc |= s_write (dir, "batch", "int-prices", ints, sizeof ints - 1);
    /* encodings the encoder never writes, each read by the decoder's general
     * path: bars as array 16, a bar as array 16, a str8 symbol, ts as int32
     * and int8, float32 and negative-int prices; batch_seq after the bars */
    static const char odd[] = "\x86\xa1v\x01\xa4type\xa4"
                              "bars\xab"
                              "producer_id\xa1p"
                              "\xa8provider\xa1x\xa4"
                              "bars"
                              "\xdc\x00\x02"
                              "\xdc\x00\x07\xd9\x04MSFT\xd2\x00\x01\x00\x00"
                              "\xca\x41\x20\x00\x00\xcb\x40\x26\x00\x00\x00\x00\x00\x00"
                              "\xff\x0a\xcc\xc8"
                              "\x97\xa2XY\xd0\x05\x01\x02\x01\x02\x03"
                              "\xa9"
                              "batch_seq\xcd\x01\x2c";
    rc |= s_write (dir, "batch", "odd-encodings", odd, sizeof odd - 1);
    /* broken after batch_seq, so still answered: an extra key nested 33 deep,
     * a non-string key, a reserved byte */
    static const char deep_head[] = "\x83\xa9"
                                    "batch_seq\x07\xa1v\x01\xa1x";
    char deep[sizeof deep_head - 1 + 32];
    memcpy (deep, deep_head, sizeof deep_head - 1);
    memset (deep + sizeof deep_head - 1, 0x91, 31);
    deep[sizeof deep - 1] = (char)0x90;
    rc |= s_write (dir, "batch", "nested-too-deep", deep, sizeof deep);
    rc |= s_write (dir, "batch", "non-string-key",
                   "\x82\xa9"
                   "batch_seq\x07\x05\xc0",
                   14);
    rc |= s_write (dir, "batch", "reserved-byte",
                   "\x82\xa9"
                   "batch_seq\x07\xa1x\xc1",
                   15);
    return rc;
}

static int
s_ack (const char *dir)
{
    mdf_ack_t ack;
    mdf_buf_t buf = { 0 };
    example_ack_ok (&ack);
    int rc = mdf_ack_encode (&ack, &buf) || s_variants (dir, "ack", "ok", &buf);
    ack.status = MDF_ACK_RETRY;
    ack.count = 0;
    ack.level = MDF_LEVEL_HARD;
    rc |= mdf_ack_encode (&ack, &buf) || s_variants (dir, "ack", "retry", &buf);
    example_ack_rejected (&ack);
    rc |= mdf_ack_encode (&ack, &buf) || s_variants (dir, "ack", "rejected", &buf);
    static const char nolevel[] = "\x85\xa1v\x01\xa4type\xa3"
                                  "ack\xa9"
                                  "batch_seq\x05"
                                  "\xa6status\xa2ok\xa5"
                                  "count\x03";
    rc |= s_write (dir, "ack", "no-level", nolevel, sizeof nolevel - 1);
    return rc;
}

/* Ticks: msgpack maps from the encoder, then CSV and NDJSON lines. */
static int
s_tick (const char *dir)
{
    mdf_tick_t trade = { .symbol = "AAPL",
                         .ts = 1700000000123456789LL,
                         .kind = MDF_TICK_TRADE,
                         .price = 189.25,
                         .size = 100,
                         .cursor = "seq-1" };
    mdf_tick_t quote = { .symbol = "EUR/USD",
                         .ts = 1700000000000000000LL,
                         .kind = MDF_TICK_QUOTE,
                         .bid = 1.0841,
                         .ask = 1.0843,
                         .bid_size = 1e6,
                         .ask_size = 2e6 };
    mdf_buf_t buf = { 0 };
    int rc = mdf_tick_msgpack_encode (&trade, &buf) || s_variants (dir, "tick", "trade", &buf);
    rc |= mdf_tick_msgpack_encode (&quote, &buf) || s_variants (dir, "tick", "quote", &buf);
    quote.bid = 2;
    rc |= mdf_tick_msgpack_encode (&quote, &buf) || s_variants (dir, "tick", "bid-above-ask", &buf);
    /* ts as a string and as a float, written by hand */
    static const char str_ts[] = "\x84\xa6symbol\xa1X\xa2ts\xb4"
                                 "2023-11-14T22:13:20Z"
                                 "\xa5price\x01\xa4size\x02";
    rc |= s_write (dir, "tick", "ts-string", str_ts, sizeof str_ts - 1);
    static const char csv[]
        = "symbol,ts,price,size,bid,ask,bid_size,ask_size,cursor\n"
          "AAPL,1700000000.25,189.25,100,,,,,c1\r\n"
          "\"EUR/USD\",2023-11-14T22:13:20.5+01:00,,,1.08,1.09,5,,\"c,\"\"2\"\"\"\n"
          "\n"
          "B,1700000000000,1,1,,,,,\n";
    rc |= s_write (dir, "tick", "csv-mixed", csv, sizeof csv - 1);
    static const char quotes_only[] = "Symbol,TS,Bid,Ask\nX,1700000000123456789,1,2\n";
    rc |= s_write (dir, "tick", "csv-quotes", quotes_only, sizeof quotes_only - 1);
    static const char json[]
        = "{\"symbol\":\"AAPL\",\"ts\":1700000000123456789,\"price\":189.25,\"size\":100,"
          "\"cursor\":42}\n"
          "{\"symbol\":\"EUR/USD\",\"ts\":\"2023-11-14T22:13:20Z\",\"bid\":1.08,\"ask\":1.09,"
          "\"bid_size\":null}\n"
          "{\"symbol\":\"X\",\"ts\":1700000000.5,\"bid\":2,\"ask\":1}\n";
    rc |= s_write (dir, "tick", "ndjson", json, sizeof json - 1);
    return rc;
}

int
main (int argc, char **argv)
{
    if (argc != 2) {
        fprintf (stderr, "usage: gen_corpus DIR\n");
        return 2;
    }
    if (mkdir (argv[1], 0755) && errno != EEXIST) {
        perror (argv[1]);
        return 1;
    }
    if (s_feedback (argv[1]) || s_batch (argv[1]) || s_ack (argv[1]) || s_tick (argv[1])) {
        fprintf (stderr, "gen_corpus: could not write %s\n", argv[1]);
        return 1;
    }
    return 0;
}
