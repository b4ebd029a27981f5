/*
 * level: the store's backpressure level, a watermark state machine with
 * hysteresis (docs/ARCHITECTURE.md, "Levels").
 *
 * With watermarks L (low) < H (high) and hysteresis h (0 <= h <= L), after
 * level_update (size):
 *
 *   rising (immediate, exact thresholds):
 *     any level -> HARD  when size >= H
 *     OK        -> SOFT  when L < size < H
 *   falling (must pass the watermark by h bars):
 *     HARD -> SOFT  when L - h < size < H - h
 *     HARD -> OK    when size <= L - h
 *     SOFT -> OK    when size <= L - h
 *   otherwise the level stays.
 *
 * With h = 0 these are the exact thresholds: HARD at size >= H, SOFT at L < size < H,
 * OK at size <= L.  h is clamped to L, so an empty queue is always OK.
 *
 * A plain value type, no locking: the queue updates it under its own mutex.
 */
#ifndef STORE_LEVEL_H
#define STORE_LEVEL_H

#include <stdbool.h>
#include <stdint.h>

#include "proto/proto.h"

typedef struct {
    int64_t low, high, hysteresis;
    mdf_level_t level;
} level_t;

/* Start at OK.  Requires low < high; hysteresis is clamped to [0, low]. */
void level_init (level_t *self, int64_t low, int64_t high, int64_t hysteresis);

/* Feed the current queue size; returns true when the level changed. */
bool level_update (level_t *self, int64_t size);

/* The level for `size` with exact thresholds (no hysteresis, no state). */
mdf_level_t level_exact (int64_t low, int64_t high, int64_t size);

#endif
