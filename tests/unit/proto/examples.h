/*
 * examples: the sample messages shown in proto/README.md.  One definition,
 * used by the README dump program (proto_examples), by test_proto (which checks
 * the README still shows what the encoder writes) and by the fuzz corpus
 * generator.
 */
#ifndef MDF_TEST_EXAMPLES_H
#define MDF_TEST_EXAMPLES_H

#include "proto/batch.h"
#include "proto/feedback.h"

/* A "soft" feedback event with reason "watermark". */
void example_feedback (mdf_feedback_t *ev);
/* A batch of two bars; bars points to static storage (do not clear). */
void example_batch (mdf_batch_t *batch);
/* An ack "ok" for that batch, and a "rejected" one. */
void example_ack_ok (mdf_ack_t *ack);
void example_ack_rejected (mdf_ack_t *ack);

/* Lowercase hex of a buffer, 16 bytes per line separated by spaces; returns a
 * malloc'd string. */
char *example_hex (const mdf_buf_t *buf);

#endif
