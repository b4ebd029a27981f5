/*
 * actor: start a czmq actor and wait for it to say, explicitly, whether it
 * started.
 *
 * zactor_new waits for the actor's first zsock_signal but throws its status
 * away, so a thread that failed to set up (a socket it could not bind, an
 * endpoint it could not connect) looks exactly like one that works.  Here the
 * actor reports once, through the start handle it is given:
 *
 *     static void
 *     s_actor (zsock_t *pipe, mdf_actor_start_t *start, void *arg)
 *     {
 *         zsock_t *sock = zsock_new_rep ("inproc://example");
 *         if (!sock) {
 *             mdf_actor_fail (start, "cannot bind inproc://example: %s",
 *                             zmq_strerror (zmq_errno ()));
 *             return;
 *         }
 *         mdf_actor_ready (start);
 *         ... loop until "$TERM" arrives on `pipe` ...
 *         zsock_destroy (&sock);
 *     }
 *
 *     zactor_t *actor = mdf_actor_new (s_actor, self, err, sizeof err);
 *     if (!actor)
 *         return -1;  // err: "cannot bind inproc://example: Address in use"
 *
 * Rules
 *   - The actor calls mdf_actor_ready or mdf_actor_fail exactly once (a second
 *     report is ignored) and never zsock_signal for its start.  After
 *     mdf_actor_fail it returns, or waits for "$TERM" on the pipe.
 *   - mdf_actor_new returns only after the report.  On a failure (the actor
 *     failed, returned without reporting, or could not be created) it has
 *     already destroyed the actor: it returns NULL with the actor's text in
 *     `err`, and the caller cannot go on with a half-started thread.
 *   - The handle belongs to the actor's thread and is invalid once the actor
 *     function returns.  Everything the actor wrote before its report is
 *     visible to the starter after mdf_actor_new returns (the report is a
 *     release store, read with acquire).
 *   - Stopping is czmq's: zactor_destroy sends "$TERM" and waits for the actor
 *     function to return.
 */
#ifndef MDF_ACTOR_H
#define MDF_ACTOR_H

#include <czmq.h>
#include <stddef.h>

/* Longest error text kept from an actor, in bytes (longer ones are cut). */
#define MDF_ACTOR_ERR_MAX 256

typedef struct _mdf_actor_start_t mdf_actor_start_t;

/* The actor's body: `pipe` is the actor's end of the zactor pipe (commands,
 * "$TERM"), `start` the handle to report on, `arg` what mdf_actor_new got. */
typedef void (mdf_actor_fn) (zsock_t *pipe, mdf_actor_start_t *start, void *arg);

/* Start `fn` on its own thread and wait for its report.  Returns the actor
 * when it reported ready; NULL when it failed, with its error text in `err`
 * (or "actor ended without reporting its start", or "cannot create actor"). */
zactor_t *mdf_actor_new (mdf_actor_fn *fn, void *arg, char *err, size_t errlen);

/* From the actor: setup done, mdf_actor_new may return the actor. */
void mdf_actor_ready (mdf_actor_start_t *start);

/* From the actor: setup failed because of `fmt` (printf-style; cut at
 * MDF_ACTOR_ERR_MAX - 1 bytes).  mdf_actor_new returns NULL with that text. */
void mdf_actor_fail (mdf_actor_start_t *start, const char *fmt, ...)
    __attribute__ ((format (printf, 2, 3)));

#endif
