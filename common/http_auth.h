/*
 * http_auth: the bearer token that guards a path prefix of the HTTP server
 * (common/http.h, mdf_http_protect), apart from the server so it can be
 * read and tested on its own: no sockets, no libmicrohttpd.
 *
 * A guard holds one prefix ("/control/") and one token.  mdf_http_auth_check
 * reads the value of an Authorization header: "Bearer TOKEN", the scheme
 * case-insensitive (RFC 7235), spaces or tabs around the token ignored.  The
 * token sits in a fixed buffer padded with zeros and the comparison walks the
 * whole buffer, so how long it takes depends neither on the token's content
 * nor on its length (only on the length the client sent).  The token is
 * never logged; mdf_http_auth_clear wipes it.
 */
#ifndef MDF_HTTP_AUTH_H
#define MDF_HTTP_AUTH_H

#include <stdbool.h>
#include <stddef.h>

/* Longest bearer token accepted, in bytes. */
#define MDF_HTTP_TOKEN_MAX 256

/* True when `token` can be a bearer token here: 1..MDF_HTTP_TOKEN_MAX bytes of
 * visible ASCII (0x21..0x7e; no spaces, no control bytes). */
bool mdf_http_token_ok (const char *token);

typedef enum {
    MDF_HTTP_AUTH_OK = 0,
    MDF_HTTP_AUTH_MISSING, /* no Authorization header, another scheme, or no token */
    MDF_HTTP_AUTH_INVALID, /* a bearer token, not ours */
} mdf_http_auth_result_t;

typedef struct {
    char prefix[128];                        /* "" when nothing is guarded */
    unsigned char token[MDF_HTTP_TOKEN_MAX]; /* zero-padded */
    size_t token_len;
} mdf_http_auth_t;

/* Guard paths starting with `prefix` (which starts with '/') by `token`
 * (copied).  0, or -1 (a prefix already set, a bad prefix, or a token that
 * fails mdf_http_token_ok); on -1 the guard is unchanged. */
int mdf_http_auth_set (mdf_http_auth_t *self, const char *prefix, const char *token);

/* True when `path` is under the guarded prefix. */
bool mdf_http_auth_covers (const mdf_http_auth_t *self, const char *path);

/* Judge an Authorization header value (NULL: no header). */
mdf_http_auth_result_t mdf_http_auth_check (const mdf_http_auth_t *self, const char *authorization);

/* Wipe the token and the prefix. */
void mdf_http_auth_clear (mdf_http_auth_t *self);

#endif
