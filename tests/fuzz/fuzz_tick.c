/*
 * fuzz_tick: libFuzzer target for the tick decoders (proto/tick.h).  The input
 * goes to all three: whole, as one msgpack body and as one NDJSON line; split
 * at '\n', line by line to a CSV reader that takes its first line as the
 * header and to one given a valid header first.  Any input must decode or
 * fail with a message, never crash; every OK tick must pass mdf_tick_validate,
 * and a tick decoded from msgpack must survive encode -> decode unchanged.
 * Run via tests/fuzz/run.sh.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto/tick.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

static void
s_fail (const char *form, const char *why, const char *err)
{
    fprintf (stderr, "fuzz_tick: %s: %s (%s)\n", form, why, err);
    abort ();
}

/* The property on one decoder's answer. */
static void
s_check (const char *form, mdf_tick_rc_t rc, const mdf_tick_t *t, const char *err)
{
    char why[MDF_ERROR_MAX + 1];
    if (rc == MDF_TICK_BAD && err[0] == '\0')
        s_fail (form, "BAD without a message", "");
    if (rc == MDF_TICK_OK && mdf_tick_validate (t, why, sizeof why) != 0)
        s_fail (form, "an OK tick does not validate", why);
    if (rc != MDF_TICK_OK && rc != MDF_TICK_SKIP && rc != MDF_TICK_BAD)
        s_fail (form, "unknown rc", "");
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    mdf_tick_t t, again;
    char err[MDF_ERROR_MAX + 1] = "";

    mdf_tick_rc_t rc = mdf_tick_msgpack_decode (data, size, &t, err, sizeof err);
    s_check ("msgpack", rc, &t, err);
    if (rc == MDF_TICK_SKIP)
        s_fail ("msgpack", "SKIP", "");
    if (rc == MDF_TICK_OK) {
        mdf_buf_t buf = { 0 };
        if (mdf_tick_msgpack_encode (&t, &buf) != 0)
            s_fail ("msgpack", "a decoded tick does not encode", "");
        err[0] = '\0';
        if (mdf_tick_msgpack_decode (buf.data, buf.size, &again, err, sizeof err) != MDF_TICK_OK)
            s_fail ("msgpack", "the encoding does not decode", err);
        if (memcmp (&t, &again, sizeof t) != 0)
            s_fail ("msgpack", "decode -> encode -> decode changed the tick", "");
        mdf_buf_free (&buf);
    }

    err[0] = '\0';
    s_check ("json", mdf_tick_json_line ((const char *)data, size, &t, err, sizeof err), &t, err);

    mdf_tick_csv_t *raw = mdf_tick_csv_new ();
    mdf_tick_csv_t *primed = mdf_tick_csv_new ();
    if (!raw || !primed)
        abort ();
    static const char header[] = "symbol,ts,price,size,bid,ask,bid_size,ask_size,cursor";
    if (mdf_tick_csv_line (primed, header, sizeof header - 1, &t, err, sizeof err) != MDF_TICK_SKIP)
        s_fail ("csv", "the full header is refused", err);
    const char *p = (const char *)data, *end = p + size;
    while (p < end) {
        const char *nl = memchr (p, '\n', (size_t)(end - p));
        size_t len = (size_t)((nl ? nl : end) - p);
        err[0] = '\0';
        s_check ("csv", mdf_tick_csv_line (raw, p, len, &t, err, sizeof err), &t, err);
        err[0] = '\0';
        s_check ("csv", mdf_tick_csv_line (primed, p, len, &t, err, sizeof err), &t, err);
        err[0] = '\0';
        s_check ("json", mdf_tick_json_line (p, len, &t, err, sizeof err), &t, err);
        p += len + 1;
    }
    mdf_tick_csv_destroy (&raw);
    mdf_tick_csv_destroy (&primed);
    return 0;
}
