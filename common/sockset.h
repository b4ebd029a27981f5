/*
 * sockset: one connected socket per slot, following a changing set of
 * endpoints.
 *
 * An actor that talks to a set of peers that comes and goes (the pipeline's
 * stores, found by a list or by DNS) keeps one socket per peer so it knows
 * where each message came from and can choose where each one goes.  A sockset
 * owns those sockets, indexed by a small slot number the caller chooses (the
 * pipeline uses its members' slots):
 *
 *     mdf_sockset_t *subs = mdf_sockset_new (ZMQ_SUB, s_setup, self);
 *     mdf_sockset_set (subs, 3, "tcp://10.0.0.7:5556", err, sizeof err);
 *     ...
 *     mdf_sockset_set (subs, 3, NULL, NULL, 0);   // the peer left: close
 *
 * Setting a slot to the endpoint it already has does nothing; to another
 * endpoint replaces its socket; to NULL (or "") closes it.  `setup` runs on
 * every new socket before it connects (options, CurveZMQ keys, subscribe).
 * mdf_sockset_poll fills zmq_pollitem_t entries for every open slot, so the
 * owner polls them beside its own pipe and timers.
 *
 * Like any ZeroMQ socket, a sockset belongs to one thread.
 */
#ifndef MDF_SOCKSET_H
#define MDF_SOCKSET_H

#include <czmq.h>
#include <stddef.h>

#define MDF_SOCKSET_MAX 256

typedef struct _mdf_sockset_t mdf_sockset_t;

/* Prepare a new socket (before connect).  0, or -1 to refuse it. */
typedef int (mdf_sockset_setup_fn) (zsock_t *sock, void *arg);

/* A set of sockets of `type` (ZMQ_SUB, ZMQ_DEALER, ...). NULL when out of memory. */
mdf_sockset_t *mdf_sockset_new (int type, mdf_sockset_setup_fn *setup, void *arg);

/* Close every socket and free. */
void mdf_sockset_destroy (mdf_sockset_t **self_p);

/* Slot `slot` (< MDF_SOCKSET_MAX) connected to `endpoint`, or closed for
 * NULL / "".  0, or -1 with err (bad endpoint, setup refused, bad slot):
 * the slot is then closed. */
int mdf_sockset_set (mdf_sockset_t *self, size_t slot, const char *endpoint, char *err,
                     size_t errlen);

/* The socket of a slot, or NULL when closed. */
zsock_t *mdf_sockset_get (mdf_sockset_t *self, size_t slot);

/* The endpoint of a slot ("" when closed). */
const char *mdf_sockset_endpoint (const mdf_sockset_t *self, size_t slot);

/* Open slots. */
size_t mdf_sockset_size (const mdf_sockset_t *self);

/* Append a ZMQ_POLLIN item per open slot to items (at most max), its slot
 * into slots[] at the same index.  Returns how many were written. */
size_t mdf_sockset_poll (mdf_sockset_t *self, zmq_pollitem_t *items, int *slots, size_t max);

#endif
