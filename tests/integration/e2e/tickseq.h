/*
 * tickseq: the known tick sequence of the journal tests (tickseq.c writes
 * it, the tests aggregate it for their reference).
 */
#ifndef TESTS_TICKSEQ_H
#define TESTS_TICKSEQ_H

#include <stdint.h>
#include <stdio.h>

#define TICKSEQ_BASE_NS 1704153600000000000LL /* 2024-01-02T00:00:00Z */
#define TICKSEQ_STEP_NS 10000000LL            /* 10 ms of event time per tick */

typedef struct {
    char symbol[4];
    int64_t ts;
    double price; /* a multiple of 1/4: exact in any order */
    int size;
} tickseq_t;

static inline void
tickseq_tick (long i, tickseq_t *t)
{
    snprintf (t->symbol, sizeof t->symbol, "S%ld", i % 3);
    t->ts = TICKSEQ_BASE_NS + (int64_t)i * TICKSEQ_STEP_NS;
    t->price = 100 + (double)((i * 7919) % 1000) / 4;
    t->size = 1 + (int)(i % 7);
}

#endif
