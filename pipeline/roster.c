/*
 * roster: a mutex around members_t, plus a change generation and two
 * eventfds.  See roster.h.
 */
#include "pipeline/roster.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

struct _roster_t {
    pthread_mutex_t lock;
    members_t *members;
    size_t turn; /* where roster_offer starts among the new addresses */
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

/* Slots free now (after the answer's unlisting). */
static size_t
s_free_slots (const members_t *m)
{
    size_t n = 0;
    for (int s = 0; s < MEMBERS_MAX; s++)
        n += members_get (m, s) == NULL;
    return n;
}

void
roster_offer (roster_t *self, const char *const *ingest, const char *const *feedback, size_t n,
              roster_offer_t *out)
{
    roster_offer_t local;
    out = out ? out : &local;
    memset (out, 0, sizeof *out);
    bool *known = calloc (n ? n : 1, sizeof *known);
    members_t *m = roster_lock (self);
    bool listed[MEMBERS_MAX] = { false };
    size_t nnew = 0;
    for (size_t i = 0; i < n; i++) {
        int slot = members_find (m, ingest[i]);
        if (slot < 0) {
            nnew++;
            continue;
        }
        bool added = false;
        members_add (m, ingest[i], feedback ? feedback[i] : "", &added); /* listed again */
        listed[slot] = true;
        if (known)
            known[i] = true;
    }
    for (int s = 0; s < MEMBERS_MAX; s++)
        if (members_get (m, s) && !listed[s])
            members_unlist (m, s);
    /* past the table: candidates that had their chance make room */
    size_t room = s_free_slots (m);
    for (int s = 0; s < MEMBERS_MAX && room < nnew; s++)
        if (listed[s] && members_evict (m, s))
            room++;
    /* the new addresses in turn, from the start-th: rank (rank - start) mod nnew */
    size_t start = nnew ? self->turn % nnew : 0, rank = 0;
    for (size_t i = 0; i < n && nnew; i++) {
        if (known ? known[i] : members_find (m, ingest[i]) >= 0)
            continue;
        size_t turn = (rank++ + nnew - start) % nnew;
        bool added = false;
        if (turn < room && members_add (m, ingest[i], feedback ? feedback[i] : "", &added) >= 0) {
            out->added += added;
            continue;
        }
        if (!out->left_out++)
            snprintf (out->left_out_example, sizeof out->left_out_example, "%s", ingest[i]);
    }
    self->turn += out->added;
    out->unlisted = members_unlisted (m);
    roster_unlock (self, true);
    free (known);
}
