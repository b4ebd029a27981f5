/*
 * http_auth: bearer-token guard of a path prefix (see http_auth.h).
 */
#include "common/http_auth.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

bool
mdf_http_token_ok (const char *token)
{
    if (!token || !*token)
        return false;
    size_t n = 0;
    for (const char *p = token; *p; p++, n++)
        if (n >= MDF_HTTP_TOKEN_MAX || *p < 0x21 || *p > 0x7e)
            return false;
    return true;
}

int
mdf_http_auth_set (mdf_http_auth_t *self, const char *prefix, const char *token)
{
    if (self->prefix[0] || !prefix || prefix[0] != '/' || strlen (prefix) >= sizeof self->prefix
        || !mdf_http_token_ok (token))
        return -1;
    snprintf (self->prefix, sizeof self->prefix, "%s", prefix);
    memset (self->token, 0, sizeof self->token);
    self->token_len = strlen (token);
    memcpy (self->token, token, self->token_len);
    return 0;
}

bool
mdf_http_auth_covers (const mdf_http_auth_t *self, const char *path)
{
    return self->prefix[0] && path && strncmp (path, self->prefix, strlen (self->prefix)) == 0;
}

/* Compare the client's token with ours over the whole fixed buffer: the time
 * depends only on MDF_HTTP_TOKEN_MAX, never on where the first difference is
 * or on our token's length. */
static bool
s_token_equal (const mdf_http_auth_t *self, const char *given, size_t given_len)
{
    volatile unsigned char diff = (unsigned char)(given_len != self->token_len);
    for (size_t i = 0; i < MDF_HTTP_TOKEN_MAX; i++) {
        unsigned char g = i < given_len ? (unsigned char)given[i] : 0;
        diff |= (unsigned char)(g ^ self->token[i]);
    }
    return diff == 0;
}

mdf_http_auth_result_t
mdf_http_auth_check (const mdf_http_auth_t *self, const char *v)
{
    if (!v)
        return MDF_HTTP_AUTH_MISSING;
    v += strspn (v, " \t");
    if (strncasecmp (v, "Bearer", 6) != 0 || (v[6] != ' ' && v[6] != '\t'))
        return MDF_HTTP_AUTH_MISSING;
    v += 6 + strspn (v + 6, " \t");
    size_t n = strlen (v);
    while (n && (v[n - 1] == ' ' || v[n - 1] == '\t'))
        n--;
    if (n == 0)
        return MDF_HTTP_AUTH_MISSING;
    if (n > MDF_HTTP_TOKEN_MAX)
        n = MDF_HTTP_TOKEN_MAX + 1; /* compared, and unequal by length */
    return s_token_equal (self, v, n) ? MDF_HTTP_AUTH_OK : MDF_HTTP_AUTH_INVALID;
}

void
mdf_http_auth_clear (mdf_http_auth_t *self)
{
    explicit_bzero (self, sizeof *self);
}
