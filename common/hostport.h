/*
 * hostport: the HOST:PORT addresses of the configuration and the command
 * line ([http] listen, mdctl's --metrics), read one way everywhere.
 *
 * Accepted: "HOST:PORT" where HOST holds no ':' (a name or an IPv4
 * address), or "[V6]:PORT" with the IPv6 address in brackets.  HOST is not
 * empty and holds no white space or '/'; PORT is decimal digits only, 0 to
 * 65535 (0: any free port, for a listener).  Anything else, "http://h:1",
 * "::1:80" without brackets, "host:" or "host:99999", is refused.
 */
#ifndef MDF_HOSTPORT_H
#define MDF_HOSTPORT_H

#include <stdbool.h>
#include <stddef.h>

/* Split `text` into host (without brackets, NUL-terminated, at most
 * hostlen - 1 bytes) and port.  0, or -1 when `text` is not HOST:PORT or
 * the host does not fit. */
int mdf_hostport_split (const char *text, char *host, size_t hostlen, int *port);

/* True when `text` is HOST:PORT with a loopback host: an address in
 * 127.0.0.0/8, ::1, or the name "localhost".  Anything else (0.0.0.0, ::,
 * another name, a routable address, a malformed text) may be reached from
 * elsewhere. */
bool mdf_hostport_is_loopback (const char *text);

#endif
