/*
 * tickseq: a feed handler for the journal tests, run by md-pipeline's exec
 * provider.  It writes a known tick sequence as CSV on stdout at a steady
 * rate, as a live feed does: tick i is due at T0 + i / RATE, T0 being when
 * it first ran (kept in the file T0_FILE for the runs after).  Started without
 * a cursor it begins with the tick due now (what it missed is gone, as on a
 * live feed); with MDP_RESUME_CURSOR=K in its environment it starts at tick
 * K + 1 and catches up as fast as it can, as a vendor feed that replays from
 * a sequence number does.
 *
 *     tickseq COUNT RATE T0_FILE
 *
 * Tick i (0-based, cursor i): symbol S<i % 3>, ts 2024-01-02T00:00:00Z + i *
 * 10 ms, price 100 + (i * 7919 % 1000) / 4, size 1 + i % 7.  After the last
 * it sleeps until killed (an exit would be a provider failure).  The tests
 * compute the same sequence (tickseq_tick) for their reference bars.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "tests/integration/e2e/tickseq.h"

static double
s_now (void)
{
    struct timespec ts;
    clock_gettime (CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int
main (int argc, char **argv)
{
    if (argc != 4) {
        fprintf (stderr, "usage: tickseq COUNT RATE T0_FILE\n");
        return 2;
    }
    long count = atol (argv[1]);
    double rate = atof (argv[2]);
    double t0 = s_now ();
    bool first_run = false; /* the schedule starts now, at tick 0 */
    FILE *f = fopen (argv[3], "r");
    if (f) {
        if (fscanf (f, "%lf", &t0) != 1)
            return 2;
        fclose (f);
    } else if (!(f = fopen (argv[3], "w")) || fprintf (f, "%.6f\n", t0) < 0 || fclose (f) != 0) {
        fprintf (stderr, "tickseq: cannot write %s\n", argv[3]);
        return 2;
    } else {
        first_run = true;
    }
    const char *resume = getenv ("MDP_RESUME_CURSOR");
    long first = resume && *resume ? atol (resume) + 1
                 : first_run       ? 0
                                   : (long)((s_now () - t0) * rate);
    if (first < 0)
        first = 0;
    fprintf (stderr, "tickseq: from %ld to %ld at %.0f/s (%s)\n", first, count, rate,
             resume && *resume ? "resumed" : "live");
    printf ("symbol,ts,price,size,cursor\n");
    for (long i = first; i < count; i++) {
        tickseq_t t;
        tickseq_tick (i, &t);
        if (printf ("%s,%lld,%.2f,%d,%ld\n", t.symbol, (long long)t.ts, t.price, t.size, i) < 0)
            return 1;
        if ((i - first) % 20 == 19) {
            if (fflush (stdout) != 0)
                return 1;
            double wait = t0 + (double)(i + 1) / rate - s_now ();
            if (wait > 0)
                usleep ((useconds_t)(wait * 1e6));
        }
    }
    fflush (stdout);
    for (;;)
        pause ();
}
