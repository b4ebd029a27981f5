/*
 * sink_null: accepts every write and stores nothing.  Measures the store
 * without a database (benchmarks, load tests of the ingest path).
 */
#include "store/sink.h"

#include <stdlib.h>

static void *
s_create (const sink_config_t *cfg)
{
    (void)cfg;
    return calloc (1, 1);
}

static int
s_open (void *state, char *err, size_t errlen)
{
    (void)state, (void)err, (void)errlen;
    return 0;
}

static int
s_write (void *state, const mdf_batch_t *const *batches, size_t n, char *err, size_t errlen)
{
    (void)state, (void)batches, (void)n, (void)err, (void)errlen;
    return 0;
}

static void
s_close (void *state)
{
    (void)state;
}

static void
s_destroy (void *state)
{
    free (state);
}

const sink_ops_t sink_null_ops
    = { "null", s_create, s_open, s_write, s_close, s_destroy, NULL, NULL };
