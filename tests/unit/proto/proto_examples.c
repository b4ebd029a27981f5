/*
 * proto_examples: print the README's example messages as hex dumps, in
 * Markdown, straight from the encoders.  Regenerate the README section with
 *   ninja -C BUILD tests/unit/proto/proto_examples && BUILD/tests/unit/proto/proto_examples
 */
#include <stdio.h>
#include <stdlib.h>

#include "examples.h"

static int
s_show (const char *title, const mdf_buf_t *buf)
{
    char *hex = example_hex (buf);
    if (!hex)
        return -1;
    printf ("%s (%zu bytes):\n\n```\n%s\n```\n\n", title, buf->size, hex);
    free (hex);
    return 0;
}

int
main (void)
{
    mdf_feedback_t ev;
    mdf_batch_t batch;
    mdf_ack_t ok, rejected;
    mdf_buf_t b1 = { 0 }, b2 = { 0 }, b3 = { 0 }, b4 = { 0 };
    example_feedback (&ev);
    example_batch (&batch);
    example_ack_ok (&ok);
    example_ack_rejected (&rejected);
    int rc = mdf_feedback_encode (&ev, &b1) || mdf_batch_encode (&batch, &b2)
             || mdf_ack_encode (&ok, &b3) || mdf_ack_encode (&rejected, &b4)
             || s_show ("Feedback event", &b1) || s_show ("Bars request", &b2)
             || s_show ("Ack, ok", &b3) || s_show ("Ack, rejected", &b4);
    mdf_buf_free (&b1);
    mdf_buf_free (&b2);
    mdf_buf_free (&b3);
    mdf_buf_free (&b4);
    return rc ? 1 : 0;
}
