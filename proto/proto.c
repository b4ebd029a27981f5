/*
 * proto: the small shared pieces of wire contract v1: level names and the
 * encoded-buffer type.  The codecs are in feedback.c and batch.c, their msgpack
 * helpers in wire.c.
 */
#include "proto/proto.h"

#include <stdlib.h>
#include <string.h>

static const char *const s_level_names[] = { "ok", "soft", "hard" };

const char *
mdf_level_name (mdf_level_t level)
{
    if ((unsigned)level < sizeof s_level_names / sizeof s_level_names[0])
        return s_level_names[level];
    return "unknown";
}

int
mdf_level_parse (const char *text, mdf_level_t *out)
{
    for (size_t i = 0; i < sizeof s_level_names / sizeof s_level_names[0]; i++) {
        if (text && strcmp (text, s_level_names[i]) == 0) {
            *out = (mdf_level_t)i;
            return 0;
        }
    }
    return -1;
}

void
mdf_buf_free (mdf_buf_t *buf)
{
    if (!buf)
        return;
    free (buf->data);
    buf->data = NULL;
    buf->size = 0;
}
