/*
 * tickbar: live ticks (trades and quotes) to OHLCV bars, in event time.
 *
 * Bars: interval_ns is 1 s, 1 min, 5 min, 1 h or 1 d, aligned to UTC: a tick
 * at ts belongs to the bar [s, s + interval) with s = ts - ts % interval (so
 * 1 d bars start at UTC midnight), and the bar's ts is s.  One bar per
 * (symbol, s) that received a tick; an interval without ticks has no bar.
 *
 * Trades and quotes: a bar built from trades is the OHLC of their prices and
 * the sum of their sizes; a bar built from quotes is the OHLC of the mids and
 * the number of quotes (the tick's volume field is not read for a quote).  A
 * bar that receives both is built from its trades only: a quote arriving into
 * a bar that holds a trade is ignored, and the first trade arriving into a
 * bar built from quotes restarts it from that trade.
 *
 * Order within a bar: ticks are placed by ts, not by arrival.  open is the
 * value of the earliest ts, close the value of the latest; on equal ts the
 * arrival order decides (open: the first arrived at the smallest ts; close:
 * the last arrived at the largest ts).  high and low are the max and min,
 * volume the sum in arrival order.
 *
 * Closing, by event time: the watermark W is the largest ts this operator
 * has seen (one operator per provider).  The bar [s, s + I) closes (is
 * emitted) when W >= s + I + grace_ns; a symbol may hold several open bars
 * meanwhile (ticks out of order by up to grace_ns still land in theirs).
 * And by wall-clock quiet time: once no tick has arrived for grace_ns of
 * monotonic time (at least 1 ns), the watermark goes on with the clock from
 * the last tick (W + the time since it arrived: what the ticks would have
 * made of it on a live feed), and the bars it passes by grace_ns close, so
 * a quiet feed's last bars are not held forever, and no longer than a
 * steady feed's.  (Closing every open bar at the first silence would cut a
 * sparse feed's minute or day bars into corrections at every pause.)  This
 * idle watermark only closes bars: the late/dropped rules and freeing use
 * the real W.  tickbar_poll does that from the owner's timer
 * (tickbar_deadline says when); tickbar_add does it first too, when called
 * that late.  tickbar_flush closes every open bar (stop, end of a replay).
 *
 * Late and dropped ticks, for a tick at ts in the bar [s, s + I):
 *  - the bar is open: the tick is added, whatever its ts relative to W
 *    (TICKBAR_ADDED);
 *  - the bar was closed (by W, by quiet time or by flush) and ts >= W -
 *    late_ns: the tick updates it and the corrected bar is emitted again at
 *    once with correction = true, for the store's upsert to replace the row
 *    (TICKBAR_LATE, counted `late`, and `corrections` if emitted; a quote into
 *    a closed bar built from trades changes nothing and is not re-emitted);
 *  - the bar never existed but would already be closed (s + I + grace_ns <=
 *    W) and ts >= W - late_ns: a new bar of that one tick, emitted at once
 *    with correction = false (TICKBAR_LATE, counted `late` and `bars`);
 *  - the bar is closed, or would already be, and ts < W - late_ns: the tick
 *    is dropped (TICKBAR_DROPPED, counted `dropped`).
 * A closed bar is kept only while a late tick could still reach it, until
 * W >= s + I + late_ns (if late_ns < grace_ns, until W >= s + I + grace_ns: a
 * bar closed early by quiet time stays known as closed until the watermark
 * would have closed it), then freed by the next sweep that closes bars (at
 * most one interval later, so one sweep per interval does both); so memory is
 * bounded by symbols x (open + retained bars), at most about symbols x
 * ((grace_ns + late_ns) / I + 3) bars, and the steady state allocates
 * nothing per tick.
 *
 * A tick is invalid, and dropped (TICKBAR_DROPPED, counted `dropped`,
 * watermark unchanged), when its symbol is empty or over MDF_SYMBOL_MAX
 * bytes, ts <= 0, value is not finite, or a trade's volume is negative or
 * not finite: so every emitted bar passes mdf_bar_validate.
 *
 * Emission: each closed bar is emitted once (correction = false), then once
 * per correction; bars closing in one sweep go out symbol by symbol (in the
 * order the symbols first appeared), oldest first.  Once the emit callback
 * returns -1 (consumer closed) nothing more is emitted and every call
 * returns -1.
 *
 * Cost: a tick into one of its symbol's newest open bar is a hash lookup
 * (open addressing over the symbol's bytes) and the OHLCV update; the
 * watermark costs one comparison per tick against the earliest moment
 * something is due (a bar to close or free), and a sweep over the symbols
 * when W passes it, i.e. about once per interval.
 *
 * Not thread-safe: the provider's thread owns it.
 */
#ifndef PIPELINE_TICKBAR_H
#define PIPELINE_TICKBAR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proto/batch.h"

/* One tick, the operator's input (borrowed for the call). */
typedef struct {
    const char *symbol; /* NUL-terminated, 1..64 bytes (MDF_SYMBOL_MAX) */
    size_t symbol_len;  /* strlen(symbol) (callers have it; saves a strlen) */
    int64_t ts;         /* event time, ns since the epoch, > 0 */
    double value;       /* trade price, or quote mid (bid+ask)/2 */
    double volume;      /* trade size; 1 for a quote (tick volume) */
    bool quote;         /* from a quote */
} tickbar_tick_t;

typedef struct {
    int64_t interval_ns; /* 1 s, 1 min, 5 min, 1 h or 1 d (tickbar_parse_interval) */
    int64_t grace_ns;    /* >= 0: event-time wait before a bar closes; also the quiet time */
    int64_t late_ns;     /* >= 0: how far behind W a tick may still correct a closed bar */
} tickbar_config_t;

/* Called for each closed (or corrected) bar; `correction` is true for a
 * re-emission.  Return 0, or -1 when the consumer is closed (tickbar_add,
 * tickbar_poll and tickbar_flush then return -1 too, after emitting no more).
 * The bar is only valid during the call. */
typedef int (tickbar_emit_fn) (void *arg, const mdf_bar_t *bar, bool correction);

typedef enum { TICKBAR_ADDED = 0, TICKBAR_LATE = 1, TICKBAR_DROPPED = 2 } tickbar_rc_t;

typedef struct {
    uint64_t ticks;       /* every tick given to tickbar_add (added + late + dropped) */
    uint64_t bars;        /* bars emitted for the first time */
    uint64_t corrections; /* re-emissions of corrected bars */
    uint64_t late, dropped;
    int64_t watermark;       /* W, 0 before any tick */
    int64_t last_closed_end; /* end ts (ns) of the latest bar closed, 0 none */
    size_t open_bars, symbols;
    size_t retained_bars; /* closed bars still kept for late ticks */
} tickbar_stats_t;

typedef struct _tickbar_t tickbar_t;

/* NULL when cfg is invalid (an interval not listed above, a negative grace
 * or late), emit is NULL, or out of memory. */
tickbar_t *tickbar_new (const tickbar_config_t *cfg, tickbar_emit_fn *emit, void *arg);
void tickbar_destroy (tickbar_t **self_p);

/* Take one tick.  now_ns: monotonic wall clock (for the quiet close).
 * Returns a tickbar_rc_t, or -1 if emit said closed.  A tick that needs
 * memory for a new symbol or bar and cannot get it is dropped (counted). */
int tickbar_add (tickbar_t *self, const tickbar_tick_t *t, int64_t now_ns);

/* Close what is due by wall-clock quiet time; call from a timer.  0 or -1
 * (emit closed). */
int tickbar_poll (tickbar_t *self, int64_t now_ns);

/* Monotonic ns when tickbar_poll next may have something to do (INT64_MAX:
 * no open bar): the last tick's arrival + the longer of grace_ns and the
 * time the idle watermark needs to reach the first bar due (at worst an
 * early wake that closes nothing). */
int64_t tickbar_deadline (const tickbar_t *self);

/* Close every open bar.  0 or -1 (emit closed). */
int tickbar_flush (tickbar_t *self);

void tickbar_stats (const tickbar_t *self, tickbar_stats_t *out);

/* ---- state, for the journal's snapshots (pipeline/live_journal.c) ----
 * tickbar_export lists every bar held (open, or closed and retained for late
 * ticks) with what the rules above need to go on with it; tickbar_import
 * puts such bars into a fresh operator, which then behaves as the exported
 * one did: open bars close and retained bars take corrections by the same
 * watermark (the counters in tickbar_stats start again from 0). */
typedef struct {
    const char *symbol; /* borrowed for the call; 1..MDF_SYMBOL_MAX bytes */
    size_t symbol_len;
    int64_t start;             /* the bar's ts, a multiple of the interval */
    int64_t first_ts, last_ts; /* ts of the open and of the close */
    double open, high, low, close, volume;
    bool quote;  /* built from quotes only so far */
    bool closed; /* emitted already (retained for late ticks) */
} tickbar_state_t;

typedef int (tickbar_state_fn) (void *arg, const tickbar_state_t *bar);

/* fn for every bar held, symbol by symbol, oldest first.  0, or the first
 * non-zero fn returned. */
int tickbar_export (const tickbar_t *self, tickbar_state_fn *fn, void *arg);

/* Into an operator that has taken no tick yet: the watermark W and the
 * arrival time of the last tick (monotonic ns, for the quiet close). */
void tickbar_import_watermark (tickbar_t *self, int64_t wm, int64_t now_ns);

/* One exported bar, in export order (a symbol's bars by ascending start).
 * 0, or -1 for a bar that does not fit (out of order, not aligned, bad
 * values) or out of memory. */
int tickbar_import (tickbar_t *self, const tickbar_state_t *bar);

/* "1s", "1m", "5m", "1h", "1d" -> ns; -1 for anything else. */
int64_t tickbar_parse_interval (const char *text);

#endif
