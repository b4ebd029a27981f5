/*
 * sigbus: one log line naming the likely cause, then exit 1, when SQLite's
 * memory-mapped -shm file is truncated under the store (see sigbus.c).
 */
#ifndef STORE_SIGBUS_H
#define STORE_SIGBUS_H

#include "store/settings.h"

/* Prepare the line (the database path made absolute) and install the
 * handler. */
void store_sigbus_install (const store_settings_t *s);

#endif
