/*
 * sink: dispatch to a backend by type and track whether it is connected.
 * Backends keep no global state; the open flag lives here so a failed write
 * always leaves the sink closed (see sink.h).
 */
#include "store/sink.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct _sink_t {
    const sink_ops_t *ops;
    void *state;
    bool open;
    bool pinger; /* sink_ping was called: never used for writes */
};

static const sink_ops_t *const s_backends[]
    = { &sink_sqlite_ops, &sink_postgres_ops, &sink_null_ops };

sink_t *
sink_new (const sink_config_t *cfg, char *err, size_t errlen)
{
    const sink_ops_t *ops = NULL;
    for (size_t i = 0; i < sizeof s_backends / sizeof s_backends[0]; i++)
        if (cfg->type && !strcmp (cfg->type, s_backends[i]->name))
            ops = s_backends[i];
    if (!ops) {
        snprintf (err, errlen, "unknown sink type '%s'", cfg->type ? cfg->type : "");
        return NULL;
    }
    sink_t *self = calloc (1, sizeof *self);
    if (self)
        self->state = ops->create (cfg);
    if (!self || !self->state) {
        free (self);
        snprintf (err, errlen, "out of memory");
        return NULL;
    }
    self->ops = ops;
    return self;
}

int
sink_open (sink_t *self, char *err, size_t errlen)
{
    if (self->open)
        return 0;
    if (self->ops->open (self->state, err, errlen) != 0) {
        self->ops->close (self->state);
        return -1;
    }
    self->open = true;
    return 0;
}

int
sink_write (sink_t *self, const mdf_batch_t *const *batches, size_t n, char *err, size_t errlen)
{
    if (self->pinger) { /* its connection is not set up for writes (sink.h) */
        snprintf (err, errlen, "%s sink: this connection is used for pings only", self->ops->name);
        return -1;
    }
    if (sink_open (self, err, errlen) != 0)
        return -1;
    if (self->ops->write (self->state, batches, n, err, errlen) != 0) {
        sink_close (self);
        return -1;
    }
    return 0;
}

void
sink_close (sink_t *self)
{
    self->ops->close (self->state);
    self->open = false;
}

int
sink_ping (sink_t *self, int timeout_ms, char *err, size_t errlen)
{
    self->pinger = true;
    if (!self->ops->ping)
        return 0;
    if (self->ops->ping (self->state, timeout_ms, err, errlen) != 0) {
        sink_close (self);
        return -1;
    }
    return 0;
}

int
sink_check (sink_t *self, char *err, size_t errlen)
{
    if (!self->ops->check || self->ops->check (self->state, err, errlen) == 0)
        return 0;
    sink_close (self);
    return -1;
}

bool
sink_is_open (const sink_t *self)
{
    return self->open;
}

const char *
sink_type (const sink_t *self)
{
    return self->ops->name;
}

void
sink_destroy (sink_t **self_p)
{
    sink_t *self = *self_p;
    if (!self)
        return;
    sink_close (self);
    self->ops->destroy (self->state);
    free (self);
    *self_p = NULL;
}
