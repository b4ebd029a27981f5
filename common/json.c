/*
 * json: escape text into JSON string content (see json.h).
 */
#include "common/json.h"

#include <stdio.h>
#include <string.h>

/* Bytes the escape of byte c takes. */
static size_t
s_width (unsigned char c)
{
    if (c == '"' || c == '\\')
        return 2;
    if (c < 0x20 || c == 0x7f)
        return 6;
    return 1;
}

/* Length of the UTF-8 sequence a lead byte starts (1 for anything else, so
 * bytes that are not UTF-8 are copied one by one). */
static size_t
s_seq_len (unsigned char c)
{
    return c >= 0xf8 ? 1 : c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : c >= 0xc0 ? 2 : 1;
}

const char *
mdf_json_escape (char *buf, size_t size, const char *text)
{
    if (!buf || size == 0)
        return buf;
    const unsigned char *p = (const unsigned char *)(text ? text : "");
    size_t o = 0;
    while (*p) {
        size_t n = s_seq_len (*p);
        for (size_t k = 1; k < n; k++)
            if ((p[k] & 0xc0) != 0x80) { /* not a whole sequence: byte by byte */
                n = 1;
                break;
            }
        if (n > 1) {
            if (o + n >= size)
                break;
            memcpy (buf + o, p, n);
            o += n;
            p += n;
            continue;
        }
        size_t w = s_width (*p);
        if (o + w >= size)
            break;
        if (w == 6)
            snprintf (buf + o, size - o, "\\u%04x", *p);
        else if (w == 2) {
            buf[o] = '\\';
            buf[o + 1] = (char)*p;
        } else
            buf[o] = (char)*p;
        o += w;
        p++;
    }
    buf[o] = '\0';
    return buf;
}
