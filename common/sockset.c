/*
 * sockset: see sockset.h.  A fixed array of MDF_SOCKSET_MAX slots, each
 * either closed (sock NULL, endpoint "") or one socket connected to its
 * endpoint.
 */
#include "common/sockset.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    zsock_t *sock;
    char endpoint[256];
} s_slot_t;

struct _mdf_sockset_t {
    int type;
    mdf_sockset_setup_fn *setup;
    void *arg;
    s_slot_t slots[MDF_SOCKSET_MAX];
    size_t open;
};

mdf_sockset_t *
mdf_sockset_new (int type, mdf_sockset_setup_fn *setup, void *arg)
{
    mdf_sockset_t *self = calloc (1, sizeof *self);
    if (!self)
        return NULL;
    self->type = type;
    self->setup = setup;
    self->arg = arg;
    return self;
}

static void
s_close (mdf_sockset_t *self, s_slot_t *s)
{
    if (s->sock) {
        zsock_destroy (&s->sock);
        self->open--;
    }
    s->endpoint[0] = '\0';
}

void
mdf_sockset_destroy (mdf_sockset_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    mdf_sockset_t *self = *self_p;
    for (size_t i = 0; i < MDF_SOCKSET_MAX; i++)
        s_close (self, &self->slots[i]);
    free (self);
    *self_p = NULL;
}

int
mdf_sockset_set (mdf_sockset_t *self, size_t slot, const char *endpoint, char *err, size_t errlen)
{
    if (slot >= MDF_SOCKSET_MAX) {
        if (err)
            snprintf (err, errlen, "socket slot %zu out of range", slot);
        return -1;
    }
    s_slot_t *s = &self->slots[slot];
    if (!endpoint || !*endpoint) {
        s_close (self, s);
        return 0;
    }
    if (s->sock && strcmp (s->endpoint, endpoint) == 0)
        return 0;
    s_close (self, s);
    if (strlen (endpoint) >= sizeof s->endpoint) {
        if (err)
            snprintf (err, errlen, "endpoint too long: %.60s...", endpoint);
        return -1;
    }
    zsock_t *sock = zsock_new (self->type);
    if (!sock || (self->setup && self->setup (sock, self->arg) != 0)
        || zsock_connect (sock, "%s", endpoint) < 0) {
        if (err)
            snprintf (err, errlen, "cannot connect to \"%s\": %s", endpoint,
                      sock ? zmq_strerror (zmq_errno ()) : "cannot create a socket");
        zsock_destroy (&sock);
        return -1;
    }
    s->sock = sock;
    snprintf (s->endpoint, sizeof s->endpoint, "%s", endpoint);
    self->open++;
    return 0;
}

zsock_t *
mdf_sockset_get (mdf_sockset_t *self, size_t slot)
{
    return slot < MDF_SOCKSET_MAX ? self->slots[slot].sock : NULL;
}

const char *
mdf_sockset_endpoint (const mdf_sockset_t *self, size_t slot)
{
    return slot < MDF_SOCKSET_MAX ? self->slots[slot].endpoint : "";
}

size_t
mdf_sockset_size (const mdf_sockset_t *self)
{
    return self->open;
}

size_t
mdf_sockset_poll (mdf_sockset_t *self, zmq_pollitem_t *items, int *slots, size_t max)
{
    size_t n = 0;
    for (size_t i = 0; i < MDF_SOCKSET_MAX && n < max; i++) {
        if (!self->slots[i].sock)
            continue;
        items[n] = (zmq_pollitem_t){ zsock_resolve (self->slots[i].sock), 0, ZMQ_POLLIN, 0 };
        slots[n++] = (int)i;
    }
    return n;
}
