/*
 * roster: a mutex around members_t, plus a change generation and two
 * eventfds.  See roster.h.
 */
#include "pipeline/roster.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

struct _roster_t {
    pthread_mutex_t lock;
    members_t *members;
    atomic_uint_fast64_t generation;
    int fd[2];
};

roster_t *
roster_new (members_t *members)
{
    roster_t *self = calloc (1, sizeof *self);
    if (!self)
        return NULL;
    self->fd[0] = eventfd (0, EFD_NONBLOCK | EFD_CLOEXEC);
    self->fd[1] = eventfd (0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (self->fd[0] < 0 || self->fd[1] < 0) {
        if (self->fd[0] >= 0)
            close (self->fd[0]);
        if (self->fd[1] >= 0)
            close (self->fd[1]);
        free (self);
        return NULL;
    }
    pthread_mutex_init (&self->lock, NULL);
    self->members = members;
    return self;
}

void
roster_destroy (roster_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    roster_t *self = *self_p;
    members_destroy (&self->members);
    close (self->fd[0]);
    close (self->fd[1]);
    pthread_mutex_destroy (&self->lock);
    free (self);
    *self_p = NULL;
}

members_t *
roster_lock (roster_t *self)
{
    pthread_mutex_lock (&self->lock);
    return self->members;
}

void
roster_unlock (roster_t *self, bool changed)
{
    if (changed)
        atomic_fetch_add (&self->generation, 1);
    pthread_mutex_unlock (&self->lock);
    if (changed) {
        uint64_t one = 1;
        for (int i = 0; i < 2; i++)
            if (write (self->fd[i], &one, sizeof one) < 0) {
                /* counter saturated: already readable */
            }
    }
}

uint64_t
roster_generation (roster_t *self)
{
    return atomic_load (&self->generation);
}

int
roster_fd (roster_t *self, int reader)
{
    return self->fd[reader ? 1 : 0];
}

void
roster_clear (roster_t *self, int reader)
{
    uint64_t v;
    if (read (self->fd[reader ? 1 : 0], &v, sizeof v) < 0) {
        /* nothing pending */
    }
}

int
roster_set (roster_t *self, const char *const *ingest, const char *const *feedback, size_t n)
{
    members_t *m = roster_lock (self);
    bool listed[MEMBERS_MAX] = { false };
    int rc = 0;
    bool changed = false;
    for (size_t i = 0; i < n; i++) {
        bool added = false;
        int slot = members_add (m, ingest[i], feedback ? feedback[i] : "", &added);
        if (slot < 0) {
            rc = -1;
            continue;
        }
        listed[slot] = true;
        changed |= added;
    }
    for (int s = 0; s < MEMBERS_MAX; s++) {
        const member_t *mb = members_get (m, s);
        if (mb && !listed[s] && !mb->retired) {
            members_retire (m, s);
            changed = true;
        }
    }
    roster_unlock (self, true);
    (void)changed;
    return rc;
}
