/*
 * tick: live ticks (trades and quotes) and their three decoders, shared by
 * md-pipeline's exec provider (CSV or NDJSON lines on a child's stdout), its
 * zmq provider (one msgpack map per message) and tick CSV file replay, so the
 * three read a tick the same way (proto/README.md, "Ticks").
 *
 * Keys: symbol, ts, then a trade's price and size, or a quote's bid and ask
 * (bid_size and ask_size optional, 0 when absent); cursor (optional, an opaque
 * string of at most MDF_TICK_CURSOR_MAX bytes, "" when absent) in either.
 * A record with price is a trade (any quote keys are then ignored); one with
 * bid and ask and no price is a quote; anything else is bad.  Unknown keys or
 * columns are ignored; a JSON null, a msgpack nil or an empty CSV field
 * (other than symbol and ts, which the header guarantees) counts as absent.
 *
 * ts is read as the bar CSV reads it (proto/csv.h): as a string, RFC 3339,
 * epoch seconds with an optional fraction, or epoch ns (>= 1e17); as a number,
 * an integer >= 1e17 is ns, one < 1e10 seconds, a float seconds with a
 * fraction rounded to the ns (read as the shortest decimal giving that double,
 * so 1700000000.1 is exact); integers in between (ms, us) are refused.
 *
 * A bad tick (unparsable, a missing key, a wrong type, NaN/inf, price <= 0,
 * size < 0, bid <= 0, ask <= 0, bid > ask, a negative bid/ask size, an empty
 * symbol, a symbol over MDF_SYMBOL_MAX bytes or not UTF-8, ts <= 0, a cursor
 * over MDF_TICK_CURSOR_MAX bytes, a NUL byte in a string) gives
 * MDF_TICK_BAD and a short error: `missing key "ts"`, `bid 101.5 > ask 101.2`,
 * `symbol over 64 bytes (70)`.  Every decoder validates, so MDF_TICK_OK always
 * means a valid tick, and a bad one never stops the next from decoding.
 *
 * Error buffers: err may be NULL (errlen 0); MDF_ERROR_MAX + 1 bytes are
 * enough.  No decoder allocates per CSV line in the steady state; jansson
 * allocates per JSON object.
 */
#ifndef MDF_TICK_H
#define MDF_TICK_H

#include "proto/proto.h"

#define MDF_TICK_CURSOR_MAX 128

typedef enum { MDF_TICK_TRADE = 0, MDF_TICK_QUOTE = 1 } mdf_tick_kind_t;

typedef struct {
    char symbol[MDF_SYMBOL_MAX + 1];
    int64_t ts; /* ns since the Unix epoch */
    mdf_tick_kind_t kind;
    double price, size;                   /* trade (0 in a quote) */
    double bid, ask;                      /* quote (0 in a trade) */
    double bid_size, ask_size;            /* quote; 0 when absent */
    char cursor[MDF_TICK_CURSOR_MAX + 1]; /* "" when absent */
} mdf_tick_t;

typedef enum {
    MDF_TICK_OK = 0,
    MDF_TICK_SKIP = 1, /* a header or blank line consumed: no tick */
    MDF_TICK_BAD = 2,  /* err says why; the next line or message reads on */
} mdf_tick_rc_t;

/* The rules above on a filled tick: 0, or -1 with err. */
int mdf_tick_validate (const mdf_tick_t *t, char *err, size_t errlen);

/* The mid (bid + ask) / 2 of a quote, the price of a trade. */
double mdf_tick_value (const mdf_tick_t *t);

/* ---- CSV lines ----
 * The first non-blank line is the header: columns symbol, ts, price, size,
 * bid, ask, bid_size, ask_size, cursor in any order and case (others
 * ignored; of a name given twice the first counts).  It must name symbol and
 * ts and either price and size or bid and ask; otherwise the header line is
 * BAD with an error naming the missing column, and the stream is dead: every
 * later line is BAD with that error until mdf_tick_csv_reset.  Each later
 * non-blank line is one tick with as many fields as the header; a row may
 * leave the other kind's columns empty (a file mixing trades and quotes: an
 * empty price makes a quote).  Fields may be double-quoted like the bar CSV
 * ("" for a quote, commas inside quotes) and are trimmed; a trailing '\r' is
 * dropped; blank lines are SKIP. */
typedef struct _mdf_tick_csv_t mdf_tick_csv_t;

/* A reader with no header yet (owned; mdf_tick_csv_destroy), or NULL. */
mdf_tick_csv_t *mdf_tick_csv_new (void);
void mdf_tick_csv_destroy (mdf_tick_csv_t **self_p);

/* One line, without its '\n'; `line` need not be NUL-terminated.  The header
 * is SKIP (or BAD); a row is OK with *out filled, or BAD. */
mdf_tick_rc_t mdf_tick_csv_line (mdf_tick_csv_t *self, const char *line, size_t len,
                                 mdf_tick_t *out, char *err, size_t errlen);

/* Forget the header (a restarted child prints a new one). */
void mdf_tick_csv_reset (mdf_tick_csv_t *self);

/* ---- NDJSON lines ----
 * One JSON object per line with the keys above: numbers as JSON numbers, ts a
 * number or a string, symbol and cursor strings (cursor may also be an
 * integer, kept as its decimal text).  A blank line is SKIP; anything but one
 * object (an array, two objects, a truncation) is BAD. */
mdf_tick_rc_t mdf_tick_json_line (const char *line, size_t len, mdf_tick_t *out, char *err,
                                  size_t errlen);

/* ---- msgpack ----
 * One message body: a map with string keys, the keys above; numbers as msgpack
 * int or float, ts an int, float or str, symbol and cursor str (cursor may
 * also be an int, kept as its decimal text).  A non-map, trailing bytes, a
 * truncation, nesting deeper than 32, a non-string key, or a container where
 * a tick key's value should be is BAD (proto/README.md, "Encoding rules";
 * unknown keys are ignored whatever their value).  Never SKIP. */
mdf_tick_rc_t mdf_tick_msgpack_decode (const void *data, size_t size, mdf_tick_t *out, char *err,
                                       size_t errlen);

/* Encode (for tools, tests, benchmarks; does not validate): the keys of the
 * tick's kind in a fixed order (symbol, ts, price, size / symbol, ts, bid,
 * ask, bid_size, ask_size), then cursor if not "", ts as an integer of ns (a
 * ts in (0, 1e17) ns, before 1973-03-03, which an integer cannot say
 * unambiguously, as the string "67.000000000" of seconds), the numbers as
 * float64.  0, or -1 (out of memory, an unknown kind). */
int mdf_tick_msgpack_encode (const mdf_tick_t *t, mdf_buf_t *out);

#endif
