/*
 * proto/tick: live ticks in their three forms (CSV lines, NDJSON lines,
 * msgpack maps).  Most cases are written once, as msgpack key/values, and
 * rendered into all three forms (s_render), so the forms are held to the
 * same reading: every ts spelling, every bad-tick rule with its message (and
 * the next good tick still decoding after it), the symbol and cursor limits.
 * Then what is particular to each form: the CSV header and quoting, JSON's
 * framing, msgpack garbage.
 */
#include "proto/tick.h"

#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto/csv.h"
#include "mp.h"
#include "tests/integration/harness.h"

#define NS 1000000000LL
#define T0 1700000000LL /* 2023-11-14T22:13:20Z */

/* ---- one record, three forms ------------------------------------------------- */

/* The columns every rendered CSV header has. */
static const char *s_cols[]
    = { "symbol", "ts", "price", "size", "bid", "ask", "bid_size", "ask_size", "cursor" };
#define NCOLS (sizeof s_cols / sizeof s_cols[0])

typedef struct {
    char csv_header[256];
    char csv_row[4096];
    char json[4096];
    mdf_buf_t mp;
} s_forms_t;

/* A double as JSON/CSV text that reads back the same, always with a '.' or
 * an exponent (so JSON sees a float); "nan"/"inf" as they are. */
static void
s_dbl (char *buf, size_t size, double d)
{
    for (int prec = 15; prec <= 17; prec++) {
        snprintf (buf, size, "%.*g", prec, d);
        if (!isfinite (d) || strtod (buf, NULL) == d)
            break;
    }
    if (isfinite (d) && !strpbrk (buf, ".eEn"))
        strncat (buf, ".0", size - strlen (buf) - 1);
}

static void
s_append (char *dst, size_t size, const char *s)
{
    strncat (dst, s, size - strlen (dst) - 1);
}

static void
s_render (const mp_kv_t *kvs, size_t n, s_forms_t *f)
{
    memset (f, 0, sizeof *f);
    for (size_t c = 0; c < NCOLS; c++) {
        s_append (f->csv_header, sizeof f->csv_header, c ? "," : "");
        s_append (f->csv_header, sizeof f->csv_header, s_cols[c]);
        s_append (f->csv_row, sizeof f->csv_row, c ? "," : "");
        for (size_t i = 0; i < n; i++) {
            if (strcmp (kvs[i].key, s_cols[c]) != 0)
                continue;
            char v[256];
            switch (kvs[i].kind) {
            case MP_STR: { /* quoted, "" for a quote: the reader unquotes */
                size_t w = 0;
                v[w++] = '"';
                for (const char *p = kvs[i].s; *p && w + 3 < sizeof v; p++) {
                    if (*p == '"')
                        v[w++] = '"';
                    v[w++] = *p;
                }
                v[w++] = '"';
                v[w] = '\0';
                break;
            }
            case MP_INT:
                snprintf (v, sizeof v, "%lld", (long long)kvs[i].i);
                break;
            case MP_DBL:
                s_dbl (v, sizeof v, kvs[i].d);
                break;
            default:
                ck_abort_msg ("s_render: kind %d", kvs[i].kind);
            }
            s_append (f->csv_row, sizeof f->csv_row, v);
        }
    }
    s_append (f->json, sizeof f->json, "{\"extra\": {\"nested\": [1, 2]}");
    for (size_t i = 0; i < n; i++) {
        char v[512];
        switch (kvs[i].kind) {
        case MP_STR:
            snprintf (v, sizeof v, ", \"%s\": \"%s\"", kvs[i].key, kvs[i].s);
            break;
        case MP_INT:
            snprintf (v, sizeof v, ", \"%s\": %lld", kvs[i].key, (long long)kvs[i].i);
            break;
        default: {
            char d[64];
            s_dbl (d, sizeof d, kvs[i].d);
            snprintf (v, sizeof v, ", \"%s\": %s", kvs[i].key, d);
        }
        }
        s_append (f->json, sizeof f->json, v);
    }
    s_append (f->json, sizeof f->json, "}");
    mp_kv_t extra = { "extra", MP_STR, .s = "ignored" };
    mp_map (&f->mp, kvs, n, NULL, NULL, &extra, 1);
}

enum { F_CSV, F_JSON, F_MP, F_N };
static const char *s_form_names[F_N] = { "csv", "json", "msgpack" };

/* Decode form `form` of f (a fresh CSV reader that reads the header first). */
static mdf_tick_rc_t
s_decode (int form, const s_forms_t *f, mdf_tick_csv_t *csv, mdf_tick_t *t, char *err,
          size_t errlen)
{
    switch (form) {
    case F_CSV:
        return mdf_tick_csv_line (csv, f->csv_row, strlen (f->csv_row), t, err, errlen);
    case F_JSON:
        return mdf_tick_json_line (f->json, strlen (f->json), t, err, errlen);
    default:
        return mdf_tick_msgpack_decode (f->mp.data, f->mp.size, t, err, errlen);
    }
}

static mdf_tick_csv_t *
s_csv_reader (const s_forms_t *f)
{
    mdf_tick_csv_t *csv = mdf_tick_csv_new ();
    ck_assert_ptr_nonnull (csv);
    mdf_tick_t t;
    char err[256] = "";
    ck_assert_int_eq (
        mdf_tick_csv_line (csv, f->csv_header, strlen (f->csv_header), &t, err, sizeof err),
        MDF_TICK_SKIP);
    return csv;
}

/* Decode kvs in each form: all must be OK, each tick is handed back. */
static void
s_all_ok (const mp_kv_t *kvs, size_t n, mdf_tick_t out[F_N])
{
    s_forms_t f;
    s_render (kvs, n, &f);
    mdf_tick_csv_t *csv = s_csv_reader (&f);
    for (int form = 0; form < F_N; form++) {
        char err[256] = "";
        mdf_tick_rc_t rc = s_decode (form, &f, csv, &out[form], err, sizeof err);
        ck_assert_msg (rc == MDF_TICK_OK, "%s: rc %d (%s)\n  csv: %s\n  json: %s",
                       s_form_names[form], rc, err, f.csv_row, f.json);
    }
    mdf_tick_csv_destroy (&csv);
    mdf_buf_free (&f.mp);
}

/* ---- every ts spelling, trades and quotes ----------------------------------------- */

START_TEST (each_form_decodes_trades_and_quotes_with_every_ts_spelling)
{
    struct {
        mp_kv_t ts;
        int64_t ns;
    } spellings[] = {
        { { "ts", MP_STR, .s = "2023-11-14T22:13:20Z" }, T0 * NS },
        { { "ts", MP_STR, .s = "2023-11-14T23:13:20.25+01:00" }, T0 * NS + 250000000 },
        { { "ts", MP_STR, .s = "1700000000" }, T0 * NS },
        { { "ts", MP_STR, .s = "1700000000.000000001" }, T0 * NS + 1 },
        { { "ts", MP_STR, .s = "1700000000123456789" }, T0 * NS + 123456789 },
        { { "ts", MP_INT, .i = T0 }, T0 * NS },
        { { "ts", MP_INT, .i = T0 * NS + 987654321 }, T0 * NS + 987654321 },
        { { "ts", MP_DBL, .d = 1700000000.5 }, T0 * NS + 500000000 },
        { { "ts", MP_DBL, .d = 1700000000.1 }, T0 * NS + 100000000 }, /* not ...099999905 */
        { { "ts", MP_DBL, .d = 1700000000.000123 }, T0 * NS + 123000 },
        { { "ts", MP_DBL, .d = 1700000000.0 }, T0 * NS },
    };
    for (size_t i = 0; i < sizeof spellings / sizeof spellings[0]; i++) {
        mp_kv_t trade[] = { { "symbol", MP_STR, .s = "AAPL" },
                            spellings[i].ts,
                            { "price", MP_DBL, .d = 189.25 },
                            { "size", MP_INT, .i = 300 } };
        mdf_tick_t t[F_N];
        s_all_ok (trade, 4, t);
        for (int form = 0; form < F_N; form++) {
            ck_assert_msg (t[form].ts == spellings[i].ns, "%s, spelling %zu: ts %lld, want %lld",
                           s_form_names[form], i, (long long)t[form].ts,
                           (long long)spellings[i].ns);
            ck_assert_str_eq (t[form].symbol, "AAPL");
            ck_assert_int_eq (t[form].kind, MDF_TICK_TRADE);
            ck_assert (t[form].price == 189.25 && t[form].size == 300);
            ck_assert (t[form].bid == 0 && t[form].ask == 0);
            ck_assert_str_eq (t[form].cursor, "");
            ck_assert (mdf_tick_value (&t[form]) == 189.25);
        }
        mp_kv_t quote[]
            = { { "symbol", MP_STR, .s = "EUR/USD" }, spellings[i].ts,
                { "bid", MP_DBL, .d = 1.0841 },       { "ask", MP_DBL, .d = 1.0843 },
                { "bid_size", MP_INT, .i = 1000000 }, { "cursor", MP_STR, .s = "q-17" } };
        s_all_ok (quote, 6, t);
        for (int form = 0; form < F_N; form++) {
            ck_assert_int_eq (t[form].ts, spellings[i].ns);
            ck_assert_int_eq (t[form].kind, MDF_TICK_QUOTE);
            ck_assert (t[form].bid == 1.0841 && t[form].ask == 1.0843);
            ck_assert (t[form].bid_size == 1000000 && t[form].ask_size == 0);
            ck_assert (t[form].price == 0 && t[form].size == 0);
            ck_assert_str_eq (t[form].cursor, "q-17");
            ck_assert (fabs (mdf_tick_value (&t[form]) - 1.0842) < 1e-12);
        }
    }
}
END_TEST

/* A record with price is a trade even if it has bid and ask too; an equal
 * bid and ask (a locked market) and a zero size are fine. */
START_TEST (price_makes_a_trade_and_edge_values_pass)
{
    mp_kv_t both[]
        = { { "symbol", MP_STR, .s = "X" }, { "ts", MP_INT, .i = T0 }, { "price", MP_DBL, .d = 10 },
            { "size", MP_DBL, .d = 0 },     { "bid", MP_DBL, .d = 9 }, { "ask", MP_DBL, .d = 11 } };
    mdf_tick_t t[F_N];
    s_all_ok (both, 6, t);
    for (int form = 0; form < F_N; form++) {
        ck_assert_int_eq (t[form].kind, MDF_TICK_TRADE);
        ck_assert (t[form].bid == 0 && t[form].ask == 0 && t[form].size == 0);
    }
    mp_kv_t locked[] = { { "symbol", MP_STR, .s = "X" },
                         { "ts", MP_INT, .i = T0 },
                         { "bid", MP_DBL, .d = 5 },
                         { "ask", MP_INT, .i = 5 } };
    s_all_ok (locked, 4, t);
    for (int form = 0; form < F_N; form++)
        ck_assert (t[form].kind == MDF_TICK_QUOTE && mdf_tick_value (&t[form]) == 5);
}
END_TEST

/* ---- the symbol and cursor limits --------------------------------------------- */

START_TEST (a_symbol_of_64_bytes_is_accepted_and_65_refused_cursor_up_to_128)
{
    char sym64[65], sym65[66], cur128[129], cur129[130];
    memset (sym64, 'S', 64), sym64[64] = '\0';
    memset (sym65, 'S', 65), sym65[65] = '\0';
    memset (cur128, '7', 128), cur128[128] = '\0';
    memset (cur129, '7', 129), cur129[129] = '\0';
    mp_kv_t kvs[] = { { "symbol", MP_STR, .s = sym64 },
                      { "ts", MP_INT, .i = T0 },
                      { "price", MP_DBL, .d = 1 },
                      { "size", MP_DBL, .d = 1 },
                      { "cursor", MP_STR, .s = cur128 } };
    mdf_tick_t t[F_N];
    s_all_ok (kvs, 5, t);
    for (int form = 0; form < F_N; form++) {
        ck_assert_str_eq (t[form].symbol, sym64);
        ck_assert_str_eq (t[form].cursor, cur128);
    }
    kvs[0].s = sym65;
    s_forms_t f;
    s_render (kvs, 5, &f);
    mdf_tick_csv_t *csv = s_csv_reader (&f);
    for (int form = 0; form < F_N; form++) {
        char err[256] = "";
        ck_assert_int_eq (s_decode (form, &f, csv, &t[0], err, sizeof err), MDF_TICK_BAD);
        ck_assert_str_eq (err, "symbol over 64 bytes (65)");
    }
    mdf_tick_csv_destroy (&csv);
    mdf_buf_free (&f.mp);
    kvs[0].s = sym64;
    kvs[4].s = cur129;
    s_render (kvs, 5, &f);
    csv = s_csv_reader (&f);
    for (int form = 0; form < F_N; form++) {
        char err[256] = "";
        ck_assert_int_eq (s_decode (form, &f, csv, &t[0], err, sizeof err), MDF_TICK_BAD);
        ck_assert_str_eq (err, "cursor over 128 bytes (129)");
    }
    mdf_tick_csv_destroy (&csv);
    mdf_buf_free (&f.mp);
}
END_TEST

/* ---- every bad-tick rule, every form ------------------------------------------ */

#define SAME NULL
#define NOT_IN_FORM "-" /* the form cannot say it (e.g. CSV has no types) */

typedef struct {
    const char *what;
    mp_kv_t kvs[8];
    const char *error;                  /* the message (a substring of err) */
    const char *csv_error, *json_error; /* when the form words it otherwise */
} s_bad_t;

#define SYM                                                                                        \
    {                                                                                              \
        "symbol", MP_STR, .s = "IBM"                                                               \
    }
#define TS                                                                                         \
    {                                                                                              \
        "ts", MP_INT, .i = T0                                                                      \
    }
#define PRICE                                                                                      \
    {                                                                                              \
        "price", MP_DBL, .d = 150.5                                                                \
    }
#define SIZE                                                                                       \
    {                                                                                              \
        "size", MP_DBL, .d = 10                                                                    \
    }
#define BID                                                                                        \
    {                                                                                              \
        "bid", MP_DBL, .d = 101.2                                                                  \
    }
#define ASK                                                                                        \
    {                                                                                              \
        "ask", MP_DBL, .d = 101.5                                                                  \
    }

static const s_bad_t s_bad[] = {
    { "no symbol", { TS, PRICE, SIZE }, "missing key \"symbol\"", "empty symbol", SAME },
    { "no ts", { SYM, PRICE, SIZE }, "missing key \"ts\"", "ts is empty", SAME },
    { "trade without size", { SYM, TS, PRICE }, "missing key \"size\"", SAME, SAME },
    { "quote without ask", { SYM, TS, BID }, "missing key \"ask\"", SAME, SAME },
    { "quote without bid", { SYM, TS, ASK }, "missing key \"bid\"", SAME, SAME },
    { "neither",
      { SYM, TS, SIZE },
      "missing key \"price\" (a trade) or \"bid\" and \"ask\"",
      SAME,
      SAME },
    { "price a string",
      { SYM, TS, { "price", MP_STR, .s = "cheap" }, SIZE },
      "key 'price': expected number, got string",
      "price 'cheap' is not a number",
      SAME },
    { "symbol a number",
      { { "symbol", MP_INT, .i = 7 }, TS, PRICE, SIZE },
      "key 'symbol': expected string, got integer",
      NOT_IN_FORM,
      SAME },
    { "cursor a float",
      { SYM, TS, PRICE, SIZE, { "cursor", MP_DBL, .d = 1.5 } },
      "key 'cursor': expected string or integer, got float",
      NOT_IN_FORM,
      SAME },
    { "ts in ms",
      { SYM, { "ts", MP_INT, .i = T0 * 1000 }, PRICE, SIZE },
      "is neither epoch seconds (< 1e10) nor epoch nanoseconds (>= 1e17)",
      SAME,
      SAME },
    { "ts in us",
      { SYM, { "ts", MP_INT, .i = T0 * 1000000 }, PRICE, SIZE },
      "is neither epoch seconds",
      SAME,
      SAME },
    { "ts gibberish",
      { SYM, { "ts", MP_STR, .s = "yesterday" }, PRICE, SIZE },
      "ts 'yesterday' is not a number nor RFC 3339",
      SAME,
      SAME },
    { "ts 0", { SYM, { "ts", MP_INT, .i = 0 }, PRICE, SIZE }, "ts (0) must be > 0", SAME, SAME },
    { "ts negative",
      { SYM, { "ts", MP_INT, .i = -5 }, PRICE, SIZE },
      "ts (-5000000000) must be > 0",
      SAME,
      SAME },
    { "ts float nan",
      { SYM, { "ts", MP_DBL, .d = NAN }, PRICE, SIZE },
      "ts is not finite (nan)",
      "ts 'nan' is not a number nor RFC 3339",
      "not JSON" },
    { "ts float far future",
      { SYM, { "ts", MP_DBL, .d = 1.7e12 }, PRICE, SIZE },
      "out of range for epoch seconds",
      SAME,
      SAME },
    { "price nan",
      { SYM, TS, { "price", MP_DBL, .d = NAN }, SIZE },
      "price is not finite (nan)",
      SAME,
      "not JSON" },
    { "price inf",
      { SYM, TS, { "price", MP_DBL, .d = INFINITY }, SIZE },
      "price is not finite (inf)",
      SAME,
      "not JSON" },
    { "price 0",
      { SYM, TS, { "price", MP_DBL, .d = 0 }, SIZE },
      "price (0) must be > 0",
      SAME,
      SAME },
    { "price negative",
      { SYM, TS, { "price", MP_DBL, .d = -1.5 }, SIZE },
      "price (-1.5) must be > 0",
      SAME,
      SAME },
    { "size negative",
      { SYM, TS, PRICE, { "size", MP_DBL, .d = -1 } },
      "size (-1) is negative",
      SAME,
      SAME },
    { "size inf",
      { SYM, TS, PRICE, { "size", MP_DBL, .d = -INFINITY } },
      "size is not finite (-inf)",
      SAME,
      "not JSON" },
    { "bid 0", { SYM, TS, { "bid", MP_DBL, .d = 0 }, ASK }, "bid (0) must be > 0", SAME, SAME },
    { "ask negative",
      { SYM, TS, BID, { "ask", MP_DBL, .d = -101.5 } },
      "ask (-101.5) must be > 0",
      SAME,
      SAME },
    { "bid above ask",
      { SYM, TS, { "bid", MP_DBL, .d = 101.5 }, { "ask", MP_DBL, .d = 101.2 } },
      "bid 101.5 > ask 101.2",
      SAME,
      SAME },
    { "bid_size negative",
      { SYM, TS, BID, ASK, { "bid_size", MP_DBL, .d = -3 } },
      "bid_size (-3) is negative",
      SAME,
      SAME },
    { "ask_size negative",
      { SYM, TS, BID, ASK, { "ask_size", MP_INT, .i = -4 } },
      "ask_size (-4) is negative",
      SAME,
      SAME },
    { "empty symbol",
      { { "symbol", MP_STR, .s = "" }, TS, PRICE, SIZE },
      "empty symbol",
      SAME,
      SAME },
    { "symbol not UTF-8",
      { { "symbol", MP_STR, .s = "\xff\xfe" }, TS, PRICE, SIZE },
      "symbol is not valid UTF-8",
      SAME,
      "not JSON" },
};

START_TEST (each_bad_tick_rule_is_bad_in_each_form_and_the_next_tick_still_decodes)
{
    mp_kv_t good[] = { { "symbol", MP_STR, .s = "NEXT" },
                       { "ts", MP_INT, .i = T0 },
                       { "price", MP_DBL, .d = 1 },
                       { "size", MP_DBL, .d = 2 } };
    s_forms_t ok;
    s_render (good, 4, &ok);
    for (size_t i = 0; i < sizeof s_bad / sizeof s_bad[0]; i++) {
        const s_bad_t *c = &s_bad[i];
        size_t n = 0;
        while (n < 8 && c->kvs[n].key)
            n++;
        s_forms_t f;
        s_render (c->kvs, n, &f);
        mdf_tick_csv_t *csv = s_csv_reader (&f);
        for (int form = 0; form < F_N; form++) {
            const char *want = form == F_CSV && c->csv_error     ? c->csv_error
                               : form == F_JSON && c->json_error ? c->json_error
                                                                 : c->error;
            if (strcmp (want, NOT_IN_FORM) == 0)
                continue;
            mdf_tick_t t;
            char err[256] = "";
            mdf_tick_rc_t rc = s_decode (form, &f, csv, &t, err, sizeof err);
            ck_assert_msg (rc == MDF_TICK_BAD && strstr (err, want),
                           "%s, %s: rc %d, err '%s', want '%s'\n  csv: %s\n  json: %s", c->what,
                           s_form_names[form], rc, err, want, f.csv_row, f.json);
            /* never a stall: the next tick of the same stream decodes */
            err[0] = '\0';
            rc = s_decode (form, &ok, csv, &t, err, sizeof err);
            ck_assert_msg (rc == MDF_TICK_OK, "%s, %s: the next tick: %s", c->what,
                           s_form_names[form], err);
            ck_assert_str_eq (t.symbol, "NEXT");
        }
        mdf_tick_csv_destroy (&csv);
        mdf_buf_free (&f.mp);
    }
    mdf_buf_free (&ok.mp);
}
END_TEST

START_TEST (validate_and_value_on_filled_ticks)
{
    char err[256];
    mdf_tick_t t = { .symbol = "A", .ts = 1, .kind = MDF_TICK_QUOTE, .bid = 1, .ask = 3 };
    ck_assert_int_eq (mdf_tick_validate (&t, err, sizeof err), 0);
    ck_assert (mdf_tick_value (&t) == 2);
    t.kind = (mdf_tick_kind_t)7;
    ck_assert_int_eq (mdf_tick_validate (&t, err, sizeof err), -1);
    ck_assert_str_eq (err, "unknown kind 7");
    t.kind = MDF_TICK_TRADE;
    ck_assert_int_eq (mdf_tick_validate (&t, err, sizeof err), -1);
    ck_assert_str_eq (err, "price (0) must be > 0");
    memset (t.symbol, 'x', sizeof t.symbol); /* not terminated */
    ck_assert_int_eq (mdf_tick_validate (&t, err, sizeof err), -1);
    ck_assert_str_eq (err, "symbol over 64 bytes");
    ck_assert_int_eq (mdf_tick_validate (&t, NULL, 0), -1);
}
END_TEST

/* ---- CSV ------------------------------------------------------------------------ */

static mdf_tick_rc_t
s_line (mdf_tick_csv_t *r, const char *line, mdf_tick_t *t, char *err)
{
    err[0] = '\0';
    return mdf_tick_csv_line (r, line, strlen (line), t, err, 256);
}

START_TEST (csv_header_errors_name_the_missing_column_and_kill_the_stream)
{
    struct {
        const char *header, *error;
    } cases[] = {
        { "ts,price,size", "header lacks column 'symbol'" },
        { "symbol,price,size,bid,ask", "header lacks column 'ts'" },
        { "symbol,ts,price", "header lacks column 'size'" },
        { "symbol,ts,bid", "header lacks column 'ask'" },
        { "symbol,ts,ask,bid_size", "header lacks column 'bid'" },
        { "symbol,ts,size", "header lacks column 'price'" },
        { "symbol,ts,open,close", "header lacks columns 'price', 'size' or 'bid', 'ask'" },
        { "symbol,\"ts,price,size", "header: unterminated quote" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        mdf_tick_csv_t *r = mdf_tick_csv_new ();
        mdf_tick_t t;
        char err[256];
        ck_assert_int_eq (s_line (r, "", &t, err), MDF_TICK_SKIP);
        ck_assert_int_eq (s_line (r, cases[i].header, &t, err), MDF_TICK_BAD);
        ck_assert_msg (strstr (err, cases[i].error), "%s: %s", cases[i].header, err);
        /* dead: every later line says the header's error */
        ck_assert_int_eq (s_line (r, "symbol,ts,price,size", &t, err), MDF_TICK_BAD);
        ck_assert_ptr_nonnull (strstr (err, cases[i].error));
        ck_assert_int_eq (s_line (r, "A,1700000000,1,1", &t, err), MDF_TICK_BAD);
        ck_assert_ptr_nonnull (strstr (err, cases[i].error));
        /* until a reset: a restarted child prints a new header */
        mdf_tick_csv_reset (r);
        ck_assert_int_eq (s_line (r, "symbol,ts,price,size", &t, err), MDF_TICK_SKIP);
        ck_assert_int_eq (s_line (r, "A,1700000000,1,1", &t, err), MDF_TICK_OK);
        mdf_tick_csv_destroy (&r);
        ck_assert_ptr_null (r);
    }
    mdf_tick_csv_destroy (NULL);
}
END_TEST

START_TEST (csv_reads_a_mixed_quoted_crlf_reordered_file)
{
    const char *lines[] = {
        "",
        "   ",
        "Cursor, ASK ,Bid,TS,Symbol,venue,PRICE,Size,bid_size,ask_size\r",
        "c1,,,1700000000,\"AAPL\",XNAS,189.5,100,,\r",
        "\r",
        "c2,189.6,189.4,2023-11-14T22:13:21Z,AAPL,XNAS,,,300,200\r",
        "  ,  , , 1700000002.5 , \"BRK \"\"A\"\", Class\" ,\"a,b\",  612000 , 1 ,,",
        "\"\",\"101\",\"100\",1700000003000000000,MSFT,,,,,",
    };
    mdf_tick_rc_t want[] = { MDF_TICK_SKIP, MDF_TICK_SKIP, MDF_TICK_SKIP, MDF_TICK_OK,
                             MDF_TICK_SKIP, MDF_TICK_OK,   MDF_TICK_OK,   MDF_TICK_OK };
    mdf_tick_csv_t *r = mdf_tick_csv_new ();
    mdf_tick_t ticks[8];
    for (size_t i = 0; i < 8; i++) {
        char err[256];
        mdf_tick_rc_t rc = s_line (r, lines[i], &ticks[i], err);
        ck_assert_msg (rc == want[i], "line %zu: rc %d (%s)", i, rc, err);
    }
    mdf_tick_t *t = &ticks[3];
    ck_assert (t->kind == MDF_TICK_TRADE && t->price == 189.5 && t->size == 100);
    ck_assert_str_eq (t->symbol, "AAPL");
    ck_assert_str_eq (t->cursor, "c1");
    ck_assert_int_eq (t->ts, T0 * NS);
    t = &ticks[5];
    ck_assert (t->kind == MDF_TICK_QUOTE && t->bid == 189.4 && t->ask == 189.6);
    ck_assert (t->bid_size == 300 && t->ask_size == 200);
    ck_assert_int_eq (t->ts, (T0 + 1) * NS);
    ck_assert_str_eq (t->cursor, "c2");
    t = &ticks[6];
    ck_assert_str_eq (t->symbol, "BRK \"A\", Class");
    ck_assert (t->kind == MDF_TICK_TRADE && t->price == 612000 && t->size == 1);
    ck_assert_int_eq (t->ts, (T0 + 2) * NS + 500000000);
    ck_assert_str_eq (t->cursor, "");
    t = &ticks[7];
    ck_assert (t->kind == MDF_TICK_QUOTE && t->bid == 100 && t->ask == 101);
    ck_assert_int_eq (t->ts, (T0 + 3) * NS);
    mdf_tick_csv_destroy (&r);
}
END_TEST

START_TEST (csv_rows_that_do_not_fit_the_header_are_bad_and_the_stream_goes_on)
{
    mdf_tick_csv_t *r = mdf_tick_csv_new ();
    mdf_tick_t t;
    char err[256];
    ck_assert_int_eq (s_line (r, "symbol,ts,price,size", &t, err), MDF_TICK_SKIP);
    ck_assert_int_eq (s_line (r, "A,1700000000,1", &t, err), MDF_TICK_BAD);
    ck_assert_str_eq (err, "3 field(s), the header has 4");
    ck_assert_int_eq (s_line (r, "A,1700000000,1,2,3", &t, err), MDF_TICK_BAD);
    ck_assert_str_eq (err, "5 field(s), the header has 4");
    ck_assert_int_eq (s_line (r, "\"A,1700000000,1,2", &t, err), MDF_TICK_BAD);
    ck_assert_str_eq (err, "unterminated quote");
    ck_assert_int_eq (mdf_tick_csv_line (r, "A,1\0,1,2", 8, &t, err, sizeof err), MDF_TICK_BAD);
    ck_assert_str_eq (err, "line contains a NUL byte");
    /* not NUL-terminated: only len bytes count */
    const char buf[] = "B,1700000000,2,3GARBAGE";
    ck_assert_int_eq (mdf_tick_csv_line (r, buf, 16, &t, err, sizeof err), MDF_TICK_OK);
    ck_assert (t.size == 3);
    ck_assert_str_eq (t.symbol, "B");
    /* a long line grows the buffer once; the next short one still reads */
    char longline[5000];
    snprintf (longline, sizeof longline, "%s,1700000000,1,%04000d", "L", 5);
    ck_assert_int_eq (s_line (r, longline, &t, err), MDF_TICK_OK);
    ck_assert (t.size == 5);
    ck_assert_int_eq (s_line (r, "C,1700000000,1,1", &t, err), MDF_TICK_OK);
    mdf_tick_csv_destroy (&r);
}
END_TEST

/* ---- NDJSON --------------------------------------------------------------------- */

static mdf_tick_rc_t
s_json (const char *line, mdf_tick_t *t, char *err)
{
    err[0] = '\0';
    return mdf_tick_json_line (line, strlen (line), t, err, 256);
}

START_TEST (json_framing_nulls_and_integer_cursors)
{
    mdf_tick_t t;
    char err[256];
    ck_assert_int_eq (s_json ("", &t, err), MDF_TICK_SKIP);
    ck_assert_int_eq (s_json (" \t\r", &t, err), MDF_TICK_SKIP);
    ck_assert_int_eq (s_json ("[1, 2]", &t, err), MDF_TICK_BAD);
    ck_assert_str_eq (err, "not a JSON object (array)");
    ck_assert_int_eq (s_json ("42", &t, err), MDF_TICK_BAD);
    ck_assert_ptr_nonnull (strstr (err, "not JSON"));
    ck_assert_int_eq (s_json ("{\"symbol\": \"A\", \"ts\": 1700000000", &t, err), MDF_TICK_BAD);
    ck_assert_ptr_nonnull (strstr (err, "not JSON"));
    ck_assert_int_eq (s_json ("{} {}", &t, err), MDF_TICK_BAD);
    ck_assert_ptr_nonnull (strstr (err, "not JSON"));
    ck_assert_int_eq (s_json ("{\"symbol\": \"A\", \"ts\": 1700000000, \"price\": true, \"size\": "
                              "1}",
                              &t, err),
                      MDF_TICK_BAD);
    ck_assert_str_eq (err, "key 'price': expected number, got boolean");
    ck_assert_int_eq (
        s_json ("{\"symbol\": \"A\", \"ts\": [1], \"price\": 1, \"size\": 1}", &t, err),
        MDF_TICK_BAD);
    ck_assert_str_eq (err, "key 'ts': expected number or string, got array");
    ck_assert_int_eq (
        s_json ("{\"symbol\": \"A\\u0000B\", \"ts\": 1, \"price\": 1, \"size\": 1}", &t, err),
        MDF_TICK_BAD);
    ck_assert_ptr_nonnull (strstr (err, "not JSON")); /* jansson refuses \u0000 */
    /* null is absent: a quote with price null */
    ck_assert_int_eq (s_json ("{\"symbol\": \"A\", \"ts\": 1700000000, \"price\": null, \"size\": "
                              "null, \"bid\": 1, \"ask\": 2, \"cursor\": 9007199254740993}",
                              &t, err),
                      MDF_TICK_OK);
    ck_assert_int_eq (t.kind, MDF_TICK_QUOTE);
    ck_assert_str_eq (t.cursor, "9007199254740993");
    ck_assert_int_eq (s_json ("{\"symbol\": \"A\", \"ts\": 1700000000, \"price\": 1, \"size\": 1, "
                              "\"cursor\": -12}\r",
                              &t, err),
                      MDF_TICK_OK);
    ck_assert_str_eq (t.cursor, "-12");
    /* not NUL-terminated */
    const char buf[] = "{\"symbol\":\"B\",\"ts\":1700000000,\"price\":2,\"size\":3}}}}";
    ck_assert_int_eq (mdf_tick_json_line (buf, sizeof buf - 4, &t, err, sizeof err), MDF_TICK_OK);
    ck_assert_str_eq (t.symbol, "B");
}
END_TEST

/* ---- msgpack -------------------------------------------------------------------- */

START_TEST (msgpack_round_trips_trades_and_quotes)
{
    mdf_tick_t in[] = {
        { .symbol = "AAPL",
          .ts = T0 * NS + 1,
          .kind = MDF_TICK_TRADE,
          .price = 189.25,
          .size = 0.5 },
        { .symbol = "EUR/USD",
          .ts = T0 * NS,
          .kind = MDF_TICK_QUOTE,
          .bid = 1.08,
          .ask = 1.09,
          .bid_size = 1e6,
          .ask_size = 0,
          .cursor = "seq-000123" },
        /* 67 s after the epoch: an int of ns would be ambiguous (found by fuzz_tick) */
        { .symbol = "OLD", .ts = 67 * NS + 5, .kind = MDF_TICK_TRADE, .price = 1, .size = 1 },
    };
    for (size_t i = 0; i < sizeof in / sizeof in[0]; i++) {
        mdf_buf_t buf = { 0 };
        ck_assert_int_eq (mdf_tick_msgpack_encode (&in[i], &buf), 0);
        mdf_tick_t out;
        char err[256] = "";
        ck_assert_msg (mdf_tick_msgpack_decode (buf.data, buf.size, &out, err, sizeof err)
                           == MDF_TICK_OK,
                       "%s", err);
        ck_assert_msg (memcmp (&in[i], &out, sizeof out) == 0, "tick %zu differs", i);
        /* the same bytes again */
        mdf_buf_t again = { 0 };
        ck_assert_int_eq (mdf_tick_msgpack_encode (&out, &again), 0);
        ck_assert (again.size == buf.size && memcmp (again.data, buf.data, buf.size) == 0);
        mdf_buf_free (&again);
        mdf_buf_free (&buf);
    }
    mdf_tick_t bad = { .kind = (mdf_tick_kind_t)3 };
    mdf_buf_t buf = { 0 };
    ck_assert_int_eq (mdf_tick_msgpack_encode (&bad, &buf), -1);
    ck_assert_ptr_null (buf.data);
}
END_TEST

static mdf_tick_rc_t
s_mp (const void *data, size_t size, char *err)
{
    mdf_tick_t t;
    err[0] = '\0';
    return mdf_tick_msgpack_decode (data, size, &t, err, 256);
}

START_TEST (msgpack_garbage_is_bad_never_a_crash)
{
    char err[256];
    mdf_tick_t tick = { .symbol = "AAPL",
                        .ts = T0 * NS,
                        .kind = MDF_TICK_TRADE,
                        .price = 1,
                        .size = 1,
                        .cursor = "c" };
    mdf_buf_t buf = { 0 };
    ck_assert_int_eq (mdf_tick_msgpack_encode (&tick, &buf), 0);
    /* every truncation */
    for (size_t n = 0; n < buf.size; n++)
        ck_assert_int_eq (s_mp (buf.data, n, err), MDF_TICK_BAD);
    ck_assert_ptr_nonnull (strstr (err, "truncated"));
    /* trailing bytes */
    char *longer = malloc (buf.size + 1);
    memcpy (longer, buf.data, buf.size);
    longer[buf.size] = 0x01;
    ck_assert_int_eq (s_mp (longer, buf.size + 1, err), MDF_TICK_BAD);
    ck_assert_str_eq (err, "1 trailing bytes after the body");
    free (longer);
    /* not a map */
    ck_assert_int_eq (s_mp ("\x92\x01\x02", 3, err), MDF_TICK_BAD);
    ck_assert_str_eq (err, "body is not a map (got array)");
    ck_assert_int_eq (s_mp ("\x2a", 1, err), MDF_TICK_BAD);
    ck_assert_str_eq (err, "body is not a map (got integer)");
    ck_assert_int_eq (s_mp (NULL, 0, err), MDF_TICK_BAD);
    ck_assert_str_eq (err, "empty body");
    /* a string claiming 4 GiB, a map claiming 2^32-1 pairs */
    ck_assert_int_eq (s_mp ("\x81\xa6symbol\xdb\xff\xff\xff\xff"
                            "AB",
                            14, err),
                      MDF_TICK_BAD);
    ck_assert_ptr_nonnull (strstr (err, "truncated"));
    ck_assert_int_eq (s_mp ("\xdf\xff\xff\xff\xff\xa1x", 7, err), MDF_TICK_BAD);
    ck_assert_ptr_nonnull (strstr (err, "truncated"));
    /* a non-string key; nesting deeper than 32 under an ignored key */
    ck_assert_int_eq (s_mp ("\x81\x01\x02", 3, err), MDF_TICK_BAD);
    ck_assert_ptr_nonnull (strstr (err, "non-string key"));
    char deep[64] = "\x81\xa1x";
    size_t n = 3;
    for (int i = 0; i < 40; i++)
        deep[n++] = (char)0x91;
    deep[n++] = 0x01;
    ck_assert_int_eq (s_mp (deep, n, err), MDF_TICK_BAD);
    ck_assert_ptr_nonnull (strstr (err, "nested more than 32"));
    mdf_buf_free (&buf);

    /* wrong types, a huge symbol, a ts past int64, a container as a value */
    static char huge[100000];
    memset (huge, 'Z', sizeof huge);
    mp_kv_t kvs[] = { { "symbol", MP_STR, .s = "A" },
                      { "ts", MP_UINT, .u = T0 },
                      { "price", MP_DBL, .d = 1 },
                      { "size", MP_DBL, .d = 1 } };
    struct {
        mp_kv_t bad;
        const char *error;
    } cases[] = {
        { { "symbol", MP_STRN, .s = huge, .n = sizeof huge }, "symbol over 64 bytes (100000)" },
        { { "symbol", MP_BOOL, .i = 0 }, "key 'symbol': expected string, got boolean" },
        { { "ts", MP_UINT, .u = UINT64_MAX }, "ts 18446744073709551615 is out of range" },
        { { "ts", MP_BOOL, .i = 0 }, "key 'ts': expected number or string, got boolean" },
        { { "ts", MP_STRN, .s = huge, .n = 65 }, "ts over 64 bytes (65)" },
        { { "price", MP_RAW, .s = "\x80", .n = 1 }, "key 'price': expected number, got map" },
        { { "size", MP_RAW, .s = "\xc4\x01x", .n = 3 }, "key 'size': expected number, got binary" },
        { { "cursor", MP_STRN, .s = "a\0b", .n = 3 }, "cursor contains a NUL byte" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        mdf_buf_t b = { 0 };
        mp_map (&b, kvs, 4, cases[i].bad.key, NULL, &cases[i].bad, 1);
        ck_assert_int_eq (s_mp (b.data, b.size, err), MDF_TICK_BAD);
        ck_assert_msg (strcmp (err, cases[i].error) == 0, "case %zu: '%s', want '%s'", i, err,
                       cases[i].error);
        mdf_buf_free (&b);
    }
    /* nil is absent; an integer cursor is its decimal text; unknown keys of
     * any type are ignored */
    mp_kv_t extra[] = { { "price", MP_NIL, .i = 0 },
                        { "bid", MP_INT, .i = 1 },
                        { "ask", MP_DBL, .d = 2 },
                        { "cursor", MP_UINT, .u = UINT64_MAX },
                        { "venue", MP_RAW, .s = "\x91\x80", .n = 2 } };
    mdf_buf_t b = { 0 };
    mp_map (&b, kvs, 4, "price", NULL, extra, 5);
    mdf_tick_t t;
    ck_assert_int_eq (mdf_tick_msgpack_decode (b.data, b.size, &t, err, sizeof err), MDF_TICK_OK);
    ck_assert_int_eq (t.kind, MDF_TICK_QUOTE);
    ck_assert_str_eq (t.cursor, "18446744073709551615");
    mdf_buf_free (&b);

    /* random bytes, and random flips of a good body */
    ck_assert_int_eq (mdf_tick_msgpack_encode (&tick, &buf), 0);
    uint32_t seed = 12345;
    unsigned char r[64];
    for (int i = 0; i < 20000; i++) {
        size_t len = 0;
        if (i % 2) {
            len = (seed = seed * 1103515245u + 12345u) % sizeof r;
            for (size_t k = 0; k < len; k++)
                r[k] = (unsigned char)((seed = seed * 1103515245u + 12345u) >> 16);
        } else {
            len = buf.size < sizeof r ? buf.size : sizeof r;
            memcpy (r, buf.data, len);
            seed = seed * 1103515245u + 12345u;
            r[(seed >> 8) % len] = (unsigned char)(seed >> 20);
        }
        mdf_tick_rc_t rc = mdf_tick_msgpack_decode (r, len, &t, err, sizeof err);
        ck_assert (rc == MDF_TICK_OK || rc == MDF_TICK_BAD);
        if (rc == MDF_TICK_OK)
            ck_assert_int_eq (mdf_tick_validate (&t, NULL, 0), 0);
    }
    mdf_buf_free (&buf);
}
END_TEST

int
main (void)
{
    Suite *s = suite_create ("proto_tick");
    TCase *tc = tcase_create ("tick");
    tcase_set_timeout (tc, 60);
    tcase_add_test (tc, each_form_decodes_trades_and_quotes_with_every_ts_spelling);
    tcase_add_test (tc, price_makes_a_trade_and_edge_values_pass);
    tcase_add_test (tc, a_symbol_of_64_bytes_is_accepted_and_65_refused_cursor_up_to_128);
    tcase_add_test (tc, each_bad_tick_rule_is_bad_in_each_form_and_the_next_tick_still_decodes);
    tcase_add_test (tc, validate_and_value_on_filled_ticks);
    tcase_add_test (tc, csv_header_errors_name_the_missing_column_and_kill_the_stream);
    tcase_add_test (tc, csv_reads_a_mixed_quoted_crlf_reordered_file);
    tcase_add_test (tc, csv_rows_that_do_not_fit_the_header_are_bad_and_the_stream_goes_on);
    tcase_add_test (tc, json_framing_nulls_and_integer_cursors);
    tcase_add_test (tc, msgpack_round_trips_trades_and_quotes);
    tcase_add_test (tc, msgpack_garbage_is_bad_never_a_crash);
    suite_add_tcase (s, tc);
    return h_run_suite (s);
}
