/*
 * tick: trades and quotes, their rules and the CSV, NDJSON and msgpack
 * decoders (see tick.h for the format, proto/README.md "Ticks").
 *
 * The three decoders differ only in how they read a value; what a record
 * means is decided once: each decoder notes the keys it found in an s_rec_t
 * (symbol, ts and cursor go straight into the tick, the six numbers into
 * rec.num), then s_finish checks the required keys, picks the kind and runs
 * mdf_tick_validate.  So a record bad in one form is bad in the others with
 * the same error.
 *
 * CSV: the reader keeps one line buffer (grown to the longest line seen) and
 * splits it in place with the bar reader's mdf_csv_split, so a row costs no
 * allocation.  msgpack: wire_body_open's walk (proto/wire.h), reading values in
 * place.  JSON: jansson, one json_t tree per line.
 */
#include "proto/tick.h"

#include <ctype.h>
#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "proto/csv.h"
#include "proto/wire.h"

/* The keys, in the order of the README's table. */
enum { K_SYMBOL, K_TS, K_PRICE, K_SIZE, K_BID, K_ASK, K_BID_SIZE, K_ASK_SIZE, K_CURSOR, K_N };
static const char *const s_keys[K_N]
    = { "symbol", "ts", "price", "size", "bid", "ask", "bid_size", "ask_size", "cursor" };
#define S_BIT(k) (1u << (k))

/* What a decoder found: the keys present (S_BIT), the numbers' values. */
typedef struct {
    unsigned have;
    double num[K_N]; /* K_PRICE .. K_ASK_SIZE */
} s_rec_t;

/* The smallest integer ts read as ns (1e17 ns: 1973-03-03T09:46:40Z). */
#define S_NS_MIN 100000000000000000LL

/* A ts given as a string: longer is not a timestamp. */
#define S_TS_TEXT_MAX 64

/* ---- the rules ---- */

static const char *
s_num (double d, char *buf, size_t size)
{
    return wire_fmt_double (d, buf, size);
}

static int
s_positive (const char *name, double v, char *err, size_t errlen)
{
    char b[32];
    if (!isfinite (v))
        return wire_fail (err, errlen, "%s is not finite (%s)", name, s_num (v, b, sizeof b));
    if (v <= 0)
        return wire_fail (err, errlen, "%s (%s) must be > 0", name, s_num (v, b, sizeof b));
    return 0;
}

static int
s_not_negative (const char *name, double v, char *err, size_t errlen)
{
    char b[32];
    if (!isfinite (v))
        return wire_fail (err, errlen, "%s is not finite (%s)", name, s_num (v, b, sizeof b));
    if (v < 0)
        return wire_fail (err, errlen, "%s (%s) is negative", name, s_num (v, b, sizeof b));
    return 0;
}

int
mdf_tick_validate (const mdf_tick_t *t, char *err, size_t errlen)
{
    size_t n = strnlen (t->symbol, sizeof t->symbol);
    if (n == 0)
        return wire_fail (err, errlen, "empty symbol");
    if (n > MDF_SYMBOL_MAX)
        return wire_fail (err, errlen, "symbol over %d bytes", MDF_SYMBOL_MAX);
    if (!wire_utf8_valid (t->symbol, n))
        return wire_fail (err, errlen, "symbol is not valid UTF-8");
    if (t->ts <= 0)
        return wire_fail (err, errlen, "ts (%lld) must be > 0", (long long)t->ts);
    if (strnlen (t->cursor, sizeof t->cursor) > MDF_TICK_CURSOR_MAX)
        return wire_fail (err, errlen, "cursor over %d bytes", MDF_TICK_CURSOR_MAX);
    if (t->kind == MDF_TICK_TRADE) {
        if (s_positive ("price", t->price, err, errlen)
            || s_not_negative ("size", t->size, err, errlen))
            return -1;
        return 0;
    }
    if (t->kind != MDF_TICK_QUOTE)
        return wire_fail (err, errlen, "unknown kind %d", (int)t->kind);
    if (s_positive ("bid", t->bid, err, errlen) || s_positive ("ask", t->ask, err, errlen))
        return -1;
    if (t->bid > t->ask) {
        char b[32], a[32];
        return wire_fail (err, errlen, "bid %s > ask %s", s_num (t->bid, b, sizeof b),
                          s_num (t->ask, a, sizeof a));
    }
    if (s_not_negative ("bid_size", t->bid_size, err, errlen)
        || s_not_negative ("ask_size", t->ask_size, err, errlen))
        return -1;
    return 0;
}

double
mdf_tick_value (const mdf_tick_t *t)
{
    return t->kind == MDF_TICK_QUOTE ? (t->bid + t->ask) / 2 : t->price;
}

/* The required keys, the kind, the rules.  *t holds symbol, ts and cursor. */
static mdf_tick_rc_t
s_finish (const s_rec_t *rec, mdf_tick_t *t, char *err, size_t errlen)
{
    for (int k = K_SYMBOL; k <= K_TS; k++)
        if (!(rec->have & S_BIT (k))) {
            wire_fail (err, errlen, "missing key \"%s\"", s_keys[k]);
            return MDF_TICK_BAD;
        }
    const char *missing = NULL;
    if (rec->have & S_BIT (K_PRICE)) {
        t->kind = MDF_TICK_TRADE;
        if (!(rec->have & S_BIT (K_SIZE)))
            missing = "\"size\"";
        t->price = rec->num[K_PRICE];
        t->size = rec->num[K_SIZE];
    } else if ((rec->have & S_BIT (K_BID)) && (rec->have & S_BIT (K_ASK))) {
        t->kind = MDF_TICK_QUOTE;
        t->bid = rec->num[K_BID];
        t->ask = rec->num[K_ASK];
        t->bid_size = rec->num[K_BID_SIZE];
        t->ask_size = rec->num[K_ASK_SIZE];
    } else if (rec->have & S_BIT (K_BID))
        missing = "\"ask\"";
    else if (rec->have & S_BIT (K_ASK))
        missing = "\"bid\"";
    else
        missing = "\"price\" (a trade) or \"bid\" and \"ask\" (a quote)";
    if (missing) {
        wire_fail (err, errlen, "missing key %s", missing);
        return MDF_TICK_BAD;
    }
    return mdf_tick_validate (t, err, errlen) == 0 ? MDF_TICK_OK : MDF_TICK_BAD;
}

/* Copy a string value of n bytes into out[max + 1] (no NUL inside). */
static int
s_copy (int k, const char *s, size_t n, char *out, size_t max, char *err, size_t errlen)
{
    if (n > max)
        return wire_fail (err, errlen, "%s over %zu bytes (%zu)", s_keys[k], max, n);
    if (n > 0 && memchr (s, '\0', n))
        return wire_fail (err, errlen, "%s contains a NUL byte", s_keys[k]);
    if (n > 0)
        memcpy (out, s, n);
    out[n] = '\0';
    return 0;
}

/* A string value of key k (symbol, ts or cursor) into the tick. */
static int
s_string (int k, const char *s, size_t n, mdf_tick_t *t, char *err, size_t errlen)
{
    if (k == K_SYMBOL)
        return s_copy (k, s, n, t->symbol, MDF_SYMBOL_MAX, err, errlen);
    if (k == K_CURSOR)
        return s_copy (k, s, n, t->cursor, MDF_TICK_CURSOR_MAX, err, errlen);
    char text[S_TS_TEXT_MAX + 1];
    if (s_copy (k, s, n, text, S_TS_TEXT_MAX, err, errlen))
        return -1;
    return mdf_csv_parse_ts (text, &t->ts, err, errlen);
}

/* An integer cursor, kept as its decimal text. */
static void
s_int_cursor (mdf_tick_t *t, long long v, bool negative, unsigned long long u)
{
    if (negative)
        snprintf (t->cursor, sizeof t->cursor, "%lld", v);
    else
        snprintf (t->cursor, sizeof t->cursor, "%llu", u);
}

/* ---- CSV ---- */

#define S_FIELDS_MAX 64
#define S_HEADER_HELP "(expected symbol, ts and price, size or bid, ask)"

struct _mdf_tick_csv_t {
    char *buf; /* the current line, split in place */
    size_t alloc;
    bool have_header;
    bool dead;    /* the header was bad: header_err for every line */
    int ncols;    /* fields in the header */
    int col[K_N]; /* col[k]: the field of s_keys[k], or -1 */
    char header_err[MDF_ERROR_MAX + 1];
    char *fields[S_FIELDS_MAX];
};

mdf_tick_csv_t *
mdf_tick_csv_new (void)
{
    return calloc (1, sizeof (mdf_tick_csv_t));
}

void
mdf_tick_csv_destroy (mdf_tick_csv_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    free ((*self_p)->buf);
    free (*self_p);
    *self_p = NULL;
}

void
mdf_tick_csv_reset (mdf_tick_csv_t *self)
{
    self->have_header = false;
    self->dead = false;
    self->header_err[0] = '\0';
}

/* The header's error: the stream is dead from here on. */
static mdf_tick_rc_t
s_dead (mdf_tick_csv_t *self, char *err, size_t errlen, const char *fmt, const char *what)
{
    snprintf (self->header_err, sizeof self->header_err, fmt, what);
    self->dead = true;
    wire_fail (err, errlen, "%s", self->header_err);
    return MDF_TICK_BAD;
}

static mdf_tick_rc_t
s_header (mdf_tick_csv_t *self, int n, char *err, size_t errlen)
{
    if (n < 0)
        return s_dead (self, err, errlen, "header: %s", "unterminated quote");
    if (n > S_FIELDS_MAX)
        return s_dead (self, err, errlen, "header: %s", "more than 64 columns");
    for (int k = 0; k < K_N; k++) {
        self->col[k] = -1;
        for (int i = 0; i < n && self->col[k] < 0; i++)
            if (strcasecmp (self->fields[i], s_keys[k]) == 0)
                self->col[k] = i;
    }
    const int *c = self->col;
    const char *lacks = c[K_SYMBOL] < 0 ? "symbol" : c[K_TS] < 0 ? "ts" : NULL;
    if (!lacks && !(c[K_PRICE] >= 0 && c[K_SIZE] >= 0) && !(c[K_BID] >= 0 && c[K_ASK] >= 0))
        lacks = c[K_PRICE] >= 0  ? "size"
                : c[K_BID] >= 0  ? "ask"
                : c[K_ASK] >= 0  ? "bid"
                : c[K_SIZE] >= 0 ? "price"
                                 : NULL;
    if (lacks)
        return s_dead (self, err, errlen, "header lacks column '%s' " S_HEADER_HELP, lacks);
    if (c[K_PRICE] < 0 && c[K_BID] < 0)
        return s_dead (self, err, errlen, "header lacks columns %s " S_HEADER_HELP,
                       "'price', 'size' or 'bid', 'ask'");
    self->ncols = n;
    self->have_header = true;
    return MDF_TICK_SKIP;
}

static int
s_csv_number (int k, const char *text, double *out, char *err, size_t errlen)
{
    char *end = NULL;
    errno = 0;
    double v = strtod (text, &end);
    if (*end || errno == ERANGE) {
        char q[80];
        return wire_fail (err, errlen, "%s '%s' is not a number", s_keys[k],
                          wire_quote (text, strlen (text), q, sizeof q));
    }
    *out = v;
    return 0;
}

static mdf_tick_rc_t
s_csv_row (mdf_tick_csv_t *self, int n, mdf_tick_t *t, char *err, size_t errlen)
{
    if (n < 0) {
        wire_fail (err, errlen, "unterminated quote");
        return MDF_TICK_BAD;
    }
    if (n != self->ncols) {
        wire_fail (err, errlen, "%d field(s), the header has %d", n, self->ncols);
        return MDF_TICK_BAD;
    }
    s_rec_t rec = { 0 };
    for (int k = 0; k < K_N; k++) {
        if (self->col[k] < 0)
            continue;
        const char *f = self->fields[self->col[k]];
        if (!*f && k != K_SYMBOL && k != K_TS)
            continue; /* an empty number or cursor is an absent key */
        int rc = k == K_SYMBOL || k == K_TS || k == K_CURSOR
                     ? s_string (k, f, strlen (f), t, err, errlen)
                     : s_csv_number (k, f, &rec.num[k], err, errlen);
        if (rc)
            return MDF_TICK_BAD;
        rec.have |= S_BIT (k);
    }
    return s_finish (&rec, t, err, errlen);
}

static bool
s_blank (const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!isspace ((unsigned char)s[i]))
            return false;
    return true;
}

mdf_tick_rc_t
mdf_tick_csv_line (mdf_tick_csv_t *self, const char *line, size_t len, mdf_tick_t *out, char *err,
                   size_t errlen)
{
    memset (out, 0, sizeof *out);
    if (self->dead) {
        wire_fail (err, errlen, "%s", self->header_err);
        return MDF_TICK_BAD;
    }
    if (len > 0 && line[len - 1] == '\r')
        len--;
    if (s_blank (line, len))
        return MDF_TICK_SKIP;
    if (memchr (line, '\0', len)) {
        wire_fail (err, errlen, "line contains a NUL byte");
        return MDF_TICK_BAD;
    }
    if (len + 1 > self->alloc) {
        size_t alloc = self->alloc ? self->alloc : 256;
        while (alloc < len + 1)
            alloc *= 2;
        char *buf = realloc (self->buf, alloc);
        if (!buf) {
            wire_fail (err, errlen, "out of memory (a line of %zu bytes)", len);
            return MDF_TICK_BAD;
        }
        self->buf = buf;
        self->alloc = alloc;
    }
    memcpy (self->buf, line, len);
    self->buf[len] = '\0';
    int n = mdf_csv_split (self->buf, self->fields, S_FIELDS_MAX);
    if (!self->have_header)
        return s_header (self, n, err, errlen);
    return s_csv_row (self, n, out, err, errlen);
}

/* ---- NDJSON ---- */

static const char *
s_json_type (const json_t *v)
{
    switch (json_typeof (v)) {
    case JSON_OBJECT:
        return "object";
    case JSON_ARRAY:
        return "array";
    case JSON_STRING:
        return "string";
    case JSON_INTEGER:
        return "integer";
    case JSON_REAL:
        return "float";
    case JSON_TRUE:
    case JSON_FALSE:
        return "boolean";
    default:
        return "null";
    }
}

/* The value of key k into the tick or rec: 0, or -1 with err. */
/* "key 'K': expected T, got G", the same in every form. */
static int
s_wrong_type (int k, const char *got, char *err, size_t errlen)
{
    return wire_fail (err, errlen, "key '%s': expected %s, got %s", s_keys[k],
                      k == K_SYMBOL   ? "string"
                      : k == K_TS     ? "number or string"
                      : k == K_CURSOR ? "string or integer"
                                      : "number",
                      got);
}

static int
s_json_value (int k, const json_t *v, mdf_tick_t *t, s_rec_t *rec, char *err, size_t errlen)
{
    if (json_is_string (v) && (k == K_SYMBOL || k == K_TS || k == K_CURSOR))
        return s_string (k, json_string_value (v), json_string_length (v), t, err, errlen);
    if (k == K_TS && json_is_integer (v))
        return mdf_csv_ts_from_int (json_integer_value (v), &t->ts, err, errlen);
    if (k == K_TS && json_is_real (v))
        return mdf_csv_ts_from_double (json_real_value (v), &t->ts, err, errlen);
    if (k == K_CURSOR && json_is_integer (v)) {
        json_int_t i = json_integer_value (v);
        s_int_cursor (t, i, true, 0);
        return 0;
    }
    if (k != K_SYMBOL && k != K_TS && k != K_CURSOR && json_is_number (v)) {
        rec->num[k] = json_number_value (v);
        return 0;
    }
    return s_wrong_type (k, s_json_type (v), err, errlen);
}

mdf_tick_rc_t
mdf_tick_json_line (const char *line, size_t len, mdf_tick_t *out, char *err, size_t errlen)
{
    memset (out, 0, sizeof *out);
    if (s_blank (line, len))
        return MDF_TICK_SKIP;
    json_error_t jerr;
    json_t *root = json_loadb (line, len, 0, &jerr);
    if (!root) {
        wire_fail (err, errlen, "not JSON: %s (column %d)", jerr.text, jerr.column);
        return MDF_TICK_BAD;
    }
    mdf_tick_rc_t rc = MDF_TICK_BAD;
    if (!json_is_object (root)) {
        wire_fail (err, errlen, "not a JSON object (%s)", s_json_type (root));
        goto done;
    }
    s_rec_t rec = { 0 };
    for (int k = 0; k < K_N; k++) {
        const json_t *v = json_object_get (root, s_keys[k]);
        if (!v || json_is_null (v))
            continue;
        if (s_json_value (k, v, out, &rec, err, errlen))
            goto done;
        rec.have |= S_BIT (k);
    }
    rc = s_finish (&rec, out, err, errlen);
done:
    json_decref (root);
    return rc;
}

/* ---- msgpack ---- */

static int
s_mp_value (int k, const wire_obj_t *o, mdf_tick_t *t, s_rec_t *rec, char *err, size_t errlen)
{
    const bool text_key = k == K_SYMBOL || k == K_TS || k == K_CURSOR;
    if (o->type == WIRE_STR && text_key)
        return s_string (k, o->via.ptr, o->n, t, err, errlen);
    if (k == K_TS && (o->type == WIRE_UINT || o->type == WIRE_NEG)) {
        int64_t v;
        if (wire_obj_int64 (o, &v))
            return wire_fail (err, errlen, "ts %llu is out of range",
                              (unsigned long long)o->via.u64);
        return mdf_csv_ts_from_int (v, &t->ts, err, errlen);
    }
    if (k == K_TS && (o->type == WIRE_FLOAT32 || o->type == WIRE_FLOAT64))
        return mdf_csv_ts_from_double (o->via.f64, &t->ts, err, errlen);
    if (k == K_CURSOR && (o->type == WIRE_UINT || o->type == WIRE_NEG)) {
        s_int_cursor (t, o->type == WIRE_NEG ? o->via.i64 : 0, o->type == WIRE_NEG, o->via.u64);
        return 0;
    }
    if (!text_key && wire_obj_double (o, &rec->num[k]) == 0)
        return 0;
    return s_wrong_type (k, wire_type_name (o), err, errlen);
}

mdf_tick_rc_t
mdf_tick_msgpack_decode (const void *data, size_t size, mdf_tick_t *out, char *err, size_t errlen)
{
    memset (out, 0, sizeof *out);
    wire_key_t keys[K_N];
    for (int k = 0; k < K_N; k++)
        keys[k] = (wire_key_t){ .name = s_keys[k] };
    wire_body_t body;
    if (wire_body_open (&body, data, size, keys, K_N, err, errlen))
        return MDF_TICK_BAD;
    s_rec_t rec = { 0 };
    for (int k = 0; k < K_N; k++) {
        if (!keys[k].found || keys[k].val.type == WIRE_NIL)
            continue;
        if (s_mp_value (k, &keys[k].val, out, &rec, err, errlen))
            return MDF_TICK_BAD;
        rec.have |= S_BIT (k);
    }
    return s_finish (&rec, out, err, errlen);
}

int
mdf_tick_msgpack_encode (const mdf_tick_t *t, mdf_buf_t *out)
{
    if (t->kind != MDF_TICK_TRADE && t->kind != MDF_TICK_QUOTE)
        return -1;
    const bool cursor = t->cursor[0] != '\0';
    const bool trade = t->kind == MDF_TICK_TRADE;
    wire_enc_t enc;
    wire_enc_begin (&enc, (trade ? 4 : 6) + (cursor ? 1 : 0), 0);
    wire_enc_str_kv (&enc, "symbol", t->symbol, sizeof t->symbol);
    if (t->ts > 0 && t->ts < S_NS_MIN) {
        /* an int this small would read as ambiguous: seconds.fraction instead */
        char text[32];
        snprintf (text, sizeof text, "%lld.%09lld", (long long)(t->ts / 1000000000LL),
                  (long long)(t->ts % 1000000000LL));
        wire_enc_str_kv (&enc, "ts", text, sizeof text);
    } else
        wire_enc_int_kv (&enc, "ts", t->ts);
    if (trade) {
        wire_enc_double_kv (&enc, "price", t->price);
        wire_enc_double_kv (&enc, "size", t->size);
    } else {
        wire_enc_double_kv (&enc, "bid", t->bid);
        wire_enc_double_kv (&enc, "ask", t->ask);
        wire_enc_double_kv (&enc, "bid_size", t->bid_size);
        wire_enc_double_kv (&enc, "ask_size", t->ask_size);
    }
    if (cursor)
        wire_enc_str_kv (&enc, "cursor", t->cursor, sizeof t->cursor);
    return wire_enc_finish (&enc, out);
}
