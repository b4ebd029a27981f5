/*
 * tickgen: ticks for the live benchmarks (bench/live/run.sh), on stdout.
 *
 *   tickgen [--symbols N] [--rate R] [--count N] [--format csv|ndjson]
 *           [--quotes] [--start-ts SECONDS] [--step-us US]
 *
 * Trades (or quotes with --quotes) for N symbols (SYM0000 ...), a random
 * walk each, round robin over the symbols.  --rate R paces them at R
 * ticks/s in real time with ts = the wall clock (a live feed); without it
 * (or 0) they come as fast as stdout takes them with ts advancing 1 ms a
 * tick (--step-us) from --start-ts (default 2024-01-02T00:00:00Z): a file or a
 * firehose.  --count N stops after N ticks (0: never).  CSV starts with
 * its header line.  Output is flushed every 10 ms of pacing, or by stdio's
 * buffer when unpaced.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static int64_t
s_now_ns (int clock)
{
    struct timespec ts;
    clock_gettime (clock, &ts);
    return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void
s_sleep_until (int64_t mono_ns)
{
    struct timespec ts = { (time_t)(mono_ns / 1000000000LL), (long)(mono_ns % 1000000000LL) };
    while (clock_nanosleep (CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) != 0)
        ;
}

int
main (int argc, char **argv)
{
    long symbols = 1000, count = 0;
    double rate = 0, start_s = 1704153600, step_us = 1000;
    bool ndjson = false, quotes = false;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp (a, "--quotes") == 0) {
            quotes = true;
            continue;
        }
        if (!v) {
            fprintf (stderr, "tickgen: %s needs a value\n", a);
            return 2;
        }
        i++;
        if (strcmp (a, "--symbols") == 0)
            symbols = atol (v);
        else if (strcmp (a, "--rate") == 0)
            rate = atof (v);
        else if (strcmp (a, "--count") == 0)
            count = atol (v);
        else if (strcmp (a, "--step-us") == 0)
            step_us = atof (v);
        else if (strcmp (a, "--start-ts") == 0)
            start_s = atof (v);
        else if (strcmp (a, "--format") == 0)
            ndjson = strcmp (v, "ndjson") == 0;
        else {
            fprintf (stderr, "tickgen: unknown option %s\n", a);
            return 2;
        }
    }
    if (symbols < 1 || symbols > 1000000 || rate < 0 || count < 0) {
        fprintf (stderr, "tickgen: bad values\n");
        return 2;
    }
    static char obuf[1 << 20];
    setvbuf (stdout, obuf, _IOFBF, sizeof obuf);
    double *px = malloc ((size_t)symbols * sizeof *px);
    for (long s = 0; s < symbols; s++)
        px[s] = 100 + (double)(s % 50);
    uint64_t rng = 0x9E3779B97F4A7C15ULL;
    if (!ndjson)
        puts (quotes ? "symbol,ts,bid,ask" : "symbol,ts,price,size");
    int64_t t0 = s_now_ns (CLOCK_MONOTONIC), next_flush = t0;
    int64_t ts = (int64_t)(start_s * 1e9);
    for (long n = 0; count == 0 || n < count; n++) {
        long s = n % symbols;
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        px[s] *= 1 + ((double)(rng % 2001) - 1000) * 1e-7;
        if (rate > 0) {
            int64_t due = t0 + (int64_t)((double)n * 1e9 / rate);
            if (due > s_now_ns (CLOCK_MONOTONIC)) {
                fflush (stdout);
                s_sleep_until (due);
            } else if (due >= next_flush) {
                fflush (stdout);
                next_flush = due + 10000000;
            }
            ts = s_now_ns (CLOCK_REALTIME);
        } else
            ts = (int64_t)(start_s * 1e9) + (int64_t)((double)n * step_us * 1000);
        unsigned size = (unsigned)(1 + rng % 9) * 100;
        if (ndjson && quotes)
            printf ("{\"symbol\":\"SYM%04ld\",\"ts\":%lld,\"bid\":%.4f,\"ask\":%.4f}\n", s,
                    (long long)ts, px[s] - 0.01, px[s] + 0.01);
        else if (ndjson)
            printf ("{\"symbol\":\"SYM%04ld\",\"ts\":%lld,\"price\":%.4f,\"size\":%u}\n", s,
                    (long long)ts, px[s], size);
        else if (quotes)
            printf ("SYM%04ld,%lld,%.4f,%.4f\n", s, (long long)ts, px[s] - 0.01, px[s] + 0.01);
        else
            printf ("SYM%04ld,%lld,%.4f,%u\n", s, (long long)ts, px[s], size);
        if (ferror (stdout))
            return 1; /* the reader went away */
    }
    fflush (stdout);
    free (px);
    return 0;
}
