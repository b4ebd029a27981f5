/*
 * inflight: accepted, unanswered batches by (producer, batch_seq); see
 * inflight.h.
 *
 * Invariants: `count` == entries in the chains; nbuckets is a power of two
 * and grows (doubles) when count exceeds it; an entry's key is
 * kind byte ('p' producer_id, 'r' ROUTER identity) + those bytes, plus seq.
 */
#include "store/inflight.h"

#include <stdlib.h>
#include <string.h>

#define KEY_MAX (1 + (MDF_ID_MAX > INFLIGHT_IDENTITY_MAX ? MDF_ID_MAX : INFLIGHT_IDENTITY_MAX))

typedef struct entry_t {
    struct entry_t *next;
    uint64_t hash, seq;
    const mdf_batch_t *batch; /* the queued batch itself, alive until finish */
    size_t identity_len, key_len;
    uint8_t identity[INFLIGHT_IDENTITY_MAX];
    uint8_t key[]; /* key_len bytes */
} entry_t;

struct _inflight_t {
    entry_t **buckets;
    size_t nbuckets, count;
};

typedef struct {
    uint8_t bytes[KEY_MAX];
    size_t len;
    uint64_t seq, hash;
} ikey_t;

static uint64_t
s_fnv (uint64_t h, const void *data, size_t len)
{
    const uint8_t *p = data;
    for (size_t i = 0; i < len; i++)
        h = (h ^ p[i]) * 0x100000001b3ULL;
    return h;
}

static uint64_t
s_mix (uint64_t h, uint64_t v)
{
    h = (h ^ v) * 0x9e3779b97f4a7c15ULL;
    return h ^ (h >> 29);
}

static void
s_key (ikey_t *k, const mdf_batch_t *batch, const inflight_sender_t *from)
{
    size_t plen = strnlen (batch->producer_id, sizeof batch->producer_id);
    const void *src = plen ? (const void *)batch->producer_id : from->identity;
    size_t len = plen ? plen : from->identity_len;
    if (len > KEY_MAX - 1)
        len = KEY_MAX - 1;
    k->bytes[0] = plen ? 'p' : 'r';
    memcpy (k->bytes + 1, src, len);
    k->len = len + 1;
    k->seq = batch->batch_seq;
    k->hash = s_mix (s_fnv (0xcbf29ce484222325ULL, k->bytes, k->len), k->seq);
}

static entry_t **
s_slot (inflight_t *self, const ikey_t *k)
{
    entry_t **e = &self->buckets[k->hash & (self->nbuckets - 1)];
    while (*e
           && !((*e)->hash == k->hash && (*e)->seq == k->seq && (*e)->key_len == k->len
                && !memcmp ((*e)->key, k->bytes, k->len)))
        e = &(*e)->next;
    return e;
}

static void
s_set_identity (entry_t *e, const inflight_sender_t *from)
{
    e->identity_len
        = from->identity_len < INFLIGHT_IDENTITY_MAX ? from->identity_len : INFLIGHT_IDENTITY_MAX;
    memcpy (e->identity, from->identity, e->identity_len);
}

inflight_t *
inflight_new (void)
{
    inflight_t *self = calloc (1, sizeof *self);
    if (!self)
        return NULL;
    self->nbuckets = 64;
    self->buckets = calloc (self->nbuckets, sizeof *self->buckets);
    if (!self->buckets) {
        free (self);
        return NULL;
    }
    return self;
}

void
inflight_destroy (inflight_t **self_p)
{
    inflight_t *self = *self_p;
    if (!self)
        return;
    for (size_t b = 0; b < self->nbuckets; b++)
        for (entry_t *e = self->buckets[b], *next; e; e = next) {
            next = e->next;
            free (e);
        }
    free (self->buckets);
    free (self);
    *self_p = NULL;
}

/* Same provider and bars, bit for bit (only called on a key match: a resend
 * costs one pass over its bars, a new batch nothing). */
static bool
s_same_content (const mdf_batch_t *a, const mdf_batch_t *b)
{
    if (a == b)
        return true;
    if (a->nbars != b->nbars || strncmp (a->provider, b->provider, sizeof a->provider) != 0)
        return false;
    for (size_t i = 0; i < a->nbars; i++) {
        const mdf_bar_t *x = &a->bars[i], *y = &b->bars[i];
        const double px[5] = { x->open, x->high, x->low, x->close, x->volume };
        const double py[5] = { y->open, y->high, y->low, y->close, y->volume };
        if (x->ts != y->ts || strncmp (x->symbol, y->symbol, sizeof x->symbol) != 0
            || memcmp (px, py, sizeof px) != 0)
            return false;
    }
    return true;
}

inflight_found_t
inflight_find (inflight_t *self, const mdf_batch_t *batch, const inflight_sender_t *from)
{
    ikey_t k;
    s_key (&k, batch, from);
    entry_t *e = *s_slot (self, &k);
    if (!e)
        return INFLIGHT_ABSENT;
    if (!s_same_content (e->batch, batch))
        return INFLIGHT_CONFLICT;
    s_set_identity (e, from);
    return INFLIGHT_DUPLICATE;
}

/* Double the buckets; on failure keep the old ones (longer chains). */
static void
s_grow (inflight_t *self)
{
    size_t n = self->nbuckets * 2;
    entry_t **buckets = calloc (n, sizeof *buckets);
    if (!buckets)
        return;
    for (size_t b = 0; b < self->nbuckets; b++)
        for (entry_t *e = self->buckets[b], *next; e; e = next) {
            next = e->next;
            entry_t **dst = &buckets[e->hash & (n - 1)];
            e->next = *dst;
            *dst = e;
        }
    free (self->buckets);
    self->buckets = buckets;
    self->nbuckets = n;
}

int
inflight_add (inflight_t *self, const mdf_batch_t *batch, const inflight_sender_t *from)
{
    ikey_t k;
    s_key (&k, batch, from);
    entry_t *e = malloc (sizeof *e + k.len);
    if (!e)
        return -1;
    e->hash = k.hash;
    e->seq = k.seq;
    e->batch = batch;
    e->key_len = k.len;
    memcpy (e->key, k.bytes, k.len);
    s_set_identity (e, from);
    if (self->count >= self->nbuckets)
        s_grow (self);
    entry_t **head = &self->buckets[k.hash & (self->nbuckets - 1)];
    e->next = *head;
    *head = e;
    self->count++;
    return 0;
}

int
inflight_finish (inflight_t *self, const mdf_batch_t *batch, const inflight_sender_t *from,
                 uint8_t *identity, size_t *identity_len)
{
    ikey_t k;
    s_key (&k, batch, from);
    entry_t **slot = s_slot (self, &k);
    entry_t *e = *slot;
    if (!e)
        return -1;
    memcpy (identity, e->identity, e->identity_len);
    *identity_len = e->identity_len;
    *slot = e->next;
    free (e);
    self->count--;
    return 0;
}

size_t
inflight_count (const inflight_t *self)
{
    return self->count;
}
