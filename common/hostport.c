/*
 * hostport: split and classify HOST:PORT (see hostport.h).
 */
#include "common/hostport.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>
#include <strings.h>

int
mdf_hostport_split (const char *text, char *host, size_t hostlen, int *port)
{
    if (!text)
        return -1;
    const char *hbeg = text, *hend, *colon;
    if (*text == '[') {
        hbeg = text + 1;
        hend = strchr (hbeg, ']');
        if (!hend || hend[1] != ':')
            return -1;
        colon = hend + 1;
    } else {
        colon = strrchr (text, ':');
        if (!colon || memchr (text, ':', (size_t)(colon - text)))
            return -1;
        hend = colon;
    }
    size_t hn = (size_t)(hend - hbeg);
    if (hn == 0 || hn >= hostlen)
        return -1;
    for (const char *c = hbeg; c < hend; c++)
        if (*c == ' ' || *c == '\t' || *c == '\n' || *c == '\r' || *c == '/')
            return -1;
    const char *p = colon + 1;
    size_t pn = strlen (p);
    if (pn == 0 || pn > 5 || strspn (p, "0123456789") != pn)
        return -1;
    long value = 0;
    for (size_t i = 0; i < pn; i++)
        value = value * 10 + (p[i] - '0');
    if (value > 65535)
        return -1;
    memcpy (host, hbeg, hn);
    host[hn] = '\0';
    *port = (int)value;
    return 0;
}

bool
mdf_hostport_is_loopback (const char *text)
{
    char host[256];
    int port;
    if (mdf_hostport_split (text, host, sizeof host, &port) != 0)
        return false;
    struct in_addr a4;
    struct in6_addr a6;
    if (inet_pton (AF_INET, host, &a4) == 1)
        return (ntohl (a4.s_addr) >> 24) == 127;
    if (inet_pton (AF_INET6, host, &a6) == 1)
        return IN6_IS_ADDR_LOOPBACK (&a6);
    return strcasecmp (host, "localhost") == 0;
}
