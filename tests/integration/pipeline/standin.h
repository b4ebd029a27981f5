/*
 * standin: a stand-in md-store for the pipeline's integration tests.
 *
 * A thread with its own ZeroMQ context binds a ROUTER (ingest) and an XPUB
 * (feedback) on 127.0.0.1 ports chosen by the test.  It decodes every batch
 * with proto/, records each distinct (provider, symbol, ts) as a database
 * would (so duplicates from resends count once), and answers according to
 * the mode the test sets: ack ok, drop the next N acks, answer "retry" to
 * the next N, or stop answering.  The XPUB publishes the level the test
 * chooses: on every change, every heartbeat_ms, and on each new subscription,
 * unless the test silences it.  Each start is a new epoch with seq from 1.
 *
 * Create the stand-in inside a test (Check forks each test).
 */
#ifndef STANDIN_H
#define STANDIN_H

#include <stdbool.h>
#include <stdint.h>

#include "proto/proto.h"

typedef enum {
    STANDIN_ACK = 0,   /* answer ok */
    STANDIN_DROP = 1,  /* swallow the next `n` acks, then ACK */
    STANDIN_RETRY = 2, /* answer retry to the next `n`, then ACK */
    STANDIN_MUTE = 3,  /* never answer */
} standin_mode_t;

typedef struct _standin_t standin_t;

/* Start on the given ports (the ingest and feedback endpoints the pipeline
 * connects to).  NULL if a bind fails. */
standin_t *standin_new (int ingest_port, int feedback_port, int heartbeat_ms);

/* Stop the thread and close the sockets (the store "goes away").  The record
 * of distinct bars survives: pass it on with standin_restart. */
void standin_destroy (standin_t **self_p);

/* Stop and start again on the same ports with a new epoch, keeping the record. */
int standin_restart (standin_t *self);

void standin_set_level (standin_t *self, mdf_level_t level);
void standin_set_silent (standin_t *self, bool silent);
void standin_set_mode (standin_t *self, standin_mode_t mode, int n);

/* Distinct bars stored, bars received (with duplicates), batches received. */
long standin_distinct (standin_t *self);
long standin_received (standin_t *self);
long standin_batches (standin_t *self);

#endif
