/*
 * discover: finds the stores by DNS, for as long as the pipeline runs.
 *
 * With [store] discover = "NAME" (a headless Service, for instance) a thread
 * resolves NAME through the system resolver (getaddrinfo: every A and AAAA
 * record) at once and then every discover_interval_ms.  Each address becomes
 * a store, tcp://ADDR:discover_ingest_port for bars and
 * tcp://ADDR:discover_feedback_port for feedback ([ADDR] for IPv6), handed to
 * the roster (roster_offer).  DNS only adds stores: stores that appear are
 * added (the sender and listener connect to them); a store that disappears
 * leaves only once it is also silent for stale_after_ms, or when it says so
 * (`shutdown`), and keeps its batches while it is heard (members.h).  A name
 * that does not exist (NXDOMAIN) is an empty answer: the stores still heard
 * stay; a failure that may pass (a resolver timeout) keeps the last answer.
 * Either is logged (rate-limited) and counted.  Every address of an answer
 * is read (up to DISCOVER_ANSWER_MAX) and sorted before the roster chooses:
 * past MEMBERS_MAX (256) the stores already known are kept and the rest are
 * tried in turn, logged and counted.
 *
 * Metrics: mdp_discovery_stores (gauge, addresses in the last answer),
 * mdp_discovery_left_out (gauge, addresses of it not followed),
 * mdp_discovery_lookups_total{result="ok|nxdomain|error"}.
 */
#ifndef PIPELINE_DISCOVER_H
#define PIPELINE_DISCOVER_H

#include <stdint.h>

#include "common/metrics.h"
#include "pipeline/roster.h"

#define DISCOVER_ANSWER_MAX 4096 /* addresses read from one answer */

typedef struct _discover_t discover_t;

/* Start resolving `name` (copied); `roster` and `metrics` (may be NULL) are
 * borrowed.  NULL when the thread cannot start. */
discover_t *discover_new (const char *name, int ingest_port, int feedback_port, int64_t interval_ms,
                          roster_t *roster, mdf_metrics_t *metrics);

/* Stop the thread (waits for a lookup in progress) and free. */
void discover_destroy (discover_t **self_p);

/* Resolve once into endpoint strings (exposed for tests): the first max of
 * the answer's addresses (all of it, up to DISCOVER_ANSWER_MAX, sorted,
 * without duplicates).  Returns how many, 0 for a name that
 * does not exist, or -1 on another failure (err says which). */
int discover_lookup (const char *name, int ingest_port, int feedback_port, char (*ingest)[80],
                     char (*feedback)[80], int max, char *err, size_t errlen);

#endif
