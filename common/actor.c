/*
 * actor: zactor_new with an explicit start status (see actor.h).
 *
 * The starter keeps the shared record on its stack while zactor_new waits for
 * the first signal; the shim running on the actor's thread hands the actor a
 * start handle that points at it.  Reporting writes the outcome (text first,
 * then the status with release order), forgets the record and only then
 * signals, so the actor never touches the starter's stack after the starter
 * may have returned.  A status still pending when zactor_new returns means the
 * actor signalled on its own or ended without a word: both count as failures.
 */
#include "common/actor.h"

#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>

enum { S_PENDING, S_READY, S_FAILED };

typedef struct {
    mdf_actor_fn *fn;
    void *arg;
    atomic_int status;
    char err[MDF_ACTOR_ERR_MAX];
} s_shared_t;

struct _mdf_actor_start_t {
    s_shared_t *shared; /* NULL once reported */
    zsock_t *pipe;
};

void
mdf_actor_ready (mdf_actor_start_t *start)
{
    if (!start || !start->shared)
        return;
    atomic_store_explicit (&start->shared->status, S_READY, memory_order_release);
    start->shared = NULL;
    zsock_signal (start->pipe, 0);
}

void
mdf_actor_fail (mdf_actor_start_t *start, const char *fmt, ...)
{
    if (!start || !start->shared)
        return;
    s_shared_t *shared = start->shared;
    va_list ap;
    va_start (ap, fmt);
    vsnprintf (shared->err, sizeof shared->err, fmt ? fmt : "actor failed", ap);
    va_end (ap);
    if (!shared->err[0])
        snprintf (shared->err, sizeof shared->err, "actor failed");
    atomic_store_explicit (&shared->status, S_FAILED, memory_order_release);
    start->shared = NULL;
    zsock_signal (start->pipe, 1);
}

static void
s_shim (zsock_t *pipe, void *args)
{
    s_shared_t *shared = args;
    mdf_actor_fn *fn = shared->fn;
    void *arg = shared->arg;
    mdf_actor_start_t start = { shared, pipe };
    fn (pipe, &start, arg);
    mdf_actor_fail (&start, "actor ended without reporting its start");
}

zactor_t *
mdf_actor_new (mdf_actor_fn *fn, void *arg, char *err, size_t errlen)
{
    char scratch[8];
    if (!err || !errlen)
        err = scratch, errlen = sizeof scratch;
    if (!fn) {
        snprintf (err, errlen, "no actor function");
        return NULL;
    }
    s_shared_t shared = { fn, arg, S_PENDING, "" };
    zactor_t *actor = zactor_new (s_shim, &shared);
    if (!actor) {
        snprintf (err, errlen, "cannot create actor");
        return NULL;
    }
    int status = atomic_load_explicit (&shared.status, memory_order_acquire);
    if (status == S_READY)
        return actor;
    /* The actor is ending, or at least reported no success: stop it before
     * `shared` goes out of scope (a late report still writes into it). */
    zactor_destroy (&actor);
    status = atomic_load_explicit (&shared.status, memory_order_acquire);
    snprintf (err, errlen, "%s",
              status == S_FAILED ? shared.err : "actor ended without reporting its start");
    return NULL;
}
