/*
 * parse_bench: how fast tick lines decode, against a bare parse loop doing
 * the same work in the same run (bench/live/run.sh, "reading").
 *
 *   parse_bench FILE csv|ndjson [--rounds N]
 *
 * The file is read into memory once, then each round decodes every line
 * three ways: "bare" (CSV: split on commas, strtoll/strtod the fields;
 * NDJSON: json_loadb and json_object_get of each key, no checks), "mdflow"
 * (mdf_tick_csv_line / mdf_tick_json_line: the decoders md-pipeline uses,
 * validation included), alternating, and prints the median of the rounds:
 *   parse csv: mdflow 3.1 M lines/s = 0.92 x the bare loop (3.4 M lines/s)
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "proto/tick.h"

static double
s_now (void)
{
    struct timespec ts;
    clock_gettime (CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static volatile double s_sink; /* keeps the work from being optimised away */

static size_t
s_bare_csv (const char *buf, size_t len)
{
    size_t n = 0;
    double acc = 0;
    const char *p = buf, *end = buf + len;
    p = (const char *)memchr (p, '\n', (size_t)(end - p)) + 1; /* the header */
    while (p < end) {
        const char *nl = memchr (p, '\n', (size_t)(end - p));
        if (!nl)
            nl = end;
        const char *c1 = memchr (p, ',', (size_t)(nl - p));
        if (c1) {
            char *q;
            long long ts = strtoll (c1 + 1, &q, 10);
            double price = strtod (q + 1, &q);
            double size = strtod (q + 1, &q);
            acc += (double)ts + price + size + (double)(c1 - p);
            n++;
        }
        p = nl + 1;
    }
    s_sink = acc;
    return n;
}

static size_t
s_bare_json (const char *buf, size_t len)
{
    size_t n = 0;
    double acc = 0;
    const char *p = buf, *end = buf + len;
    while (p < end) {
        const char *nl = memchr (p, '\n', (size_t)(end - p));
        if (!nl)
            nl = end;
        json_t *o = json_loadb (p, (size_t)(nl - p), 0, NULL);
        if (o) {
            const char *sym = json_string_value (json_object_get (o, "symbol"));
            acc += json_number_value (json_object_get (o, "ts"))
                   + json_number_value (json_object_get (o, "price"))
                   + json_number_value (json_object_get (o, "size")) + (sym ? (double)sym[0] : 0);
            json_decref (o);
            n++;
        }
        p = nl + 1;
    }
    s_sink = acc;
    return n;
}

static size_t
s_mdf (const char *buf, size_t len, int ndjson)
{
    size_t n = 0;
    double acc = 0;
    mdf_tick_csv_t *csv = mdf_tick_csv_new ();
    const char *p = buf, *end = buf + len;
    char err[256];
    while (p < end) {
        const char *nl = memchr (p, '\n', (size_t)(end - p));
        if (!nl)
            nl = end;
        mdf_tick_t t;
        mdf_tick_rc_t rc = ndjson
                               ? mdf_tick_json_line (p, (size_t)(nl - p), &t, err, sizeof err)
                               : mdf_tick_csv_line (csv, p, (size_t)(nl - p), &t, err, sizeof err);
        if (rc == MDF_TICK_OK) {
            acc += (double)t.ts + t.price + t.size + (double)t.symbol[0];
            n++;
        }
        p = nl + 1;
    }
    mdf_tick_csv_destroy (&csv);
    s_sink = acc;
    return n;
}

static int
s_cmp (const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

int
main (int argc, char **argv)
{
    if (argc < 3) {
        fprintf (stderr, "usage: parse_bench FILE csv|ndjson [--rounds N]\n");
        return 2;
    }
    int ndjson = strcmp (argv[2], "ndjson") == 0;
    int rounds = argc > 4 && strcmp (argv[3], "--rounds") == 0 ? atoi (argv[4]) : 5;
    if (rounds < 1 || rounds > 99)
        rounds = 5;
    FILE *f = fopen (argv[1], "rb");
    if (!f) {
        perror (argv[1]);
        return 1;
    }
    fseek (f, 0, SEEK_END);
    size_t len = (size_t)ftell (f);
    fseek (f, 0, SEEK_SET);
    char *buf = malloc (len + 1);
    if (!buf || fread (buf, 1, len, f) != len) {
        fprintf (stderr, "parse_bench: cannot read %s\n", argv[1]);
        return 1;
    }
    fclose (f);
    double bare[99], mdf[99];
    size_t nb = 0, nm = 0;
    for (int r = 0; r < rounds; r++) {
        double t0 = s_now ();
        nb = ndjson ? s_bare_json (buf, len) : s_bare_csv (buf, len);
        double t1 = s_now ();
        nm = s_mdf (buf, len, ndjson);
        double t2 = s_now ();
        bare[r] = (double)nb / (t1 - t0);
        mdf[r] = (double)nm / (t2 - t1);
    }
    if (nm != nb) {
        fprintf (stderr, "parse_bench: mdflow decoded %zu lines, the bare loop %zu\n", nm, nb);
        return 1;
    }
    double ratio[99];
    for (int r = 0; r < rounds; r++)
        ratio[r] = mdf[r] / bare[r];
    qsort (bare, (size_t)rounds, sizeof *bare, s_cmp);
    qsort (mdf, (size_t)rounds, sizeof *mdf, s_cmp);
    qsort (ratio, (size_t)rounds, sizeof *ratio, s_cmp);
    printf ("parse %s: mdflow %.2f M lines/s = %.2f x the bare loop (%.2f M lines/s), %zu lines, "
            "median of %d rounds\n",
            argv[2], mdf[rounds / 2] / 1e6, ratio[rounds / 2], bare[rounds / 2] / 1e6, nm, rounds);
    free (buf);
    return 0;
}
