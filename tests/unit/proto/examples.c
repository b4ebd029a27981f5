/*
 * examples: the sample messages of proto/README.md (see examples.h).
 */
#include "examples.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void
example_feedback (mdf_feedback_t *ev)
{
    memset (ev, 0, sizeof *ev);
    ev->v = 1;
    strcpy (ev->coordinator_id, "bars-coordinator");
    ev->epoch = 1700000000000;
    ev->seq = 42;
    ev->level = MDF_LEVEL_SOFT;
    ev->queue_size = 6000;
    ev->capacity = 10000;
    strcpy (ev->reason, "watermark");
    strcpy (ev->source, "store");
    ev->ts = 1700000042.5;
}

void
example_batch (mdf_batch_t *batch)
{
    static mdf_bar_t bars[2];
    memset (bars, 0, sizeof bars);
    strcpy (bars[0].symbol, "AAPL");
    bars[0].ts = 1700000000000000000;
    bars[0].open = 189.5;
    bars[0].high = 190.25;
    bars[0].low = 189.0;
    bars[0].close = 190.0;
    bars[0].volume = 1200;
    strcpy (bars[1].symbol, "MSFT");
    bars[1].ts = 1700000000000000000;
    bars[1].open = 370;
    bars[1].high = 371.5;
    bars[1].low = 369.75;
    bars[1].close = 371;
    bars[1].volume = 800;
    memset (batch, 0, sizeof *batch);
    strcpy (batch->producer_id, "pipeline-1");
    batch->batch_seq = 7;
    strcpy (batch->provider, "ibkr");
    batch->bars = bars;
    batch->nbars = 2;
}

void
example_ack_ok (mdf_ack_t *ack)
{
    memset (ack, 0, sizeof *ack);
    ack->batch_seq = 7;
    ack->status = MDF_ACK_OK;
    ack->count = 2;
    ack->level = MDF_LEVEL_OK;
    ack->has_level = true;
}

void
example_ack_rejected (mdf_ack_t *ack)
{
    memset (ack, 0, sizeof *ack);
    ack->batch_seq = 8;
    ack->status = MDF_ACK_REJECTED;
    strcpy (ack->error, "bar 1: low (10.5) > high (10.2)");
    ack->level = MDF_LEVEL_OK;
    ack->has_level = true;
}

char *
example_hex (const mdf_buf_t *buf)
{
    char *text = malloc (buf->size * 3 + 1);
    if (!text)
        return NULL;
    size_t o = 0;
    for (size_t i = 0; i < buf->size; i++) {
        o += (size_t)sprintf (text + o, "%02x", (unsigned char)buf->data[i]);
        text[o++] = (i + 1 == buf->size) ? '\0' : ((i + 1) % 16 == 0 ? '\n' : ' ');
    }
    text[o] = '\0';
    return text;
}
