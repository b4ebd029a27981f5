/*
 * level: watermark state machine; see level.h for the exact transitions.
 * Rising is immediate so pipelines slow down as soon as a watermark is
 * reached; falling waits for the size to pass the watermark by `hysteresis`
 * bars, so a queue hovering at a boundary does not flap between levels.
 */
#include "store/level.h"

mdf_level_t
level_exact (int64_t low, int64_t high, int64_t size)
{
    if (size >= high)
        return MDF_LEVEL_HARD;
    if (size > low)
        return MDF_LEVEL_SOFT;
    return MDF_LEVEL_OK;
}

void
level_init (level_t *self, int64_t low, int64_t high, int64_t hysteresis)
{
    self->low = low;
    self->high = high;
    /* at most `low`, so that size 0 is always OK; never negative */
    self->hysteresis = hysteresis < 0 ? 0 : hysteresis > low ? low : hysteresis;
    self->level = MDF_LEVEL_OK;
}

static mdf_level_t
s_falling (const level_t *self, int64_t size)
{
    if (size <= self->low - self->hysteresis)
        return MDF_LEVEL_OK;
    if (self->level == MDF_LEVEL_HARD && size < self->high - self->hysteresis)
        return MDF_LEVEL_SOFT;
    return self->level;
}

bool
level_update (level_t *self, int64_t size)
{
    mdf_level_t exact = level_exact (self->low, self->high, size);
    mdf_level_t next = exact > self->level ? exact : s_falling (self, size);
    bool changed = next != self->level;
    self->level = next;
    return changed;
}
