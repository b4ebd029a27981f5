/*
 * plot: `mdctl plot run.csv --out run.png [--low N --high N]`, draw a
 * recording of `mdctl record` with gnuplot.
 *
 * The CSV's header says which columns exist (record writes the pipeline and
 * store columns only when it scraped them); plot reads it, generates a
 * gnuplot script for exactly those columns and runs `gnuplot SCRIPT` as a
 * child process.  Up to three panels share the time axis:
 *
 *   1. queue depth, with the low and high watermarks and the capacity;
 *   2. the level as steps (ok / soft / hard), and the pipeline's scale;
 *   3. the rates: bars ingested and acked by the pipeline, rows written by
 *      the store (only when the recording has them).
 *
 * Watermarks come from --low/--high, else 50% / 80% of the largest capacity
 * recorded (5000 / 8000 for 10000, the shipped watermarks).  pngcairo is used when gnuplot
 * has it, else the libgd png terminal.  Without gnuplot in PATH the command
 * exits 1 and says to install the Debian package gnuplot-nox.
 */
#include "tools/mdctl/mdctl.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

enum { COL_T, COL_QUEUE, COL_CAP, COL_LEVEL, COL_SCALE, COL_IN, COL_ACK, COL_WRITE, COL_COUNT };

static const char *s_col_names[COL_COUNT] = { "t",          "queue_size",      "capacity",
                                              "level_code", "pipeline_scale",  "ingested_rate",
                                              "acked_rate", "store_write_rate" };

typedef struct {
    const char *in, *out;
    int64_t low, high;
} plot_args_t;

typedef struct {
    int col[COL_COUNT]; /* 1-based gnuplot column, 0 when absent */
    long rows;
    int64_t max_capacity;
} plot_data_t;

static void
s_usage (FILE *out)
{
    fputs ("usage: mdctl plot run.csv --out run.png [--low N --high N]\n"
           "\n"
           "Draw a recording of `mdctl record` with gnuplot (Debian: gnuplot-nox): queue\n"
           "depth with the watermarks, the level and the pipeline's scale, and the rates.\n"
           "\n"
           "options:\n"
           "  --out FILE          the PNG to write (required)\n"
           "  --low N, --high N   watermarks to draw (default 50% and 80% of capacity)\n"
           "  -h, --help          this help\n",
           out);
}

static int
s_parse (int argc, char **argv, plot_args_t *a)
{
    static const struct option longopts[] = { { "out", required_argument, NULL, 'o' },
                                              { "low", required_argument, NULL, 'l' },
                                              { "high", required_argument, NULL, 'H' },
                                              { "help", no_argument, NULL, 'h' },
                                              { NULL, 0, NULL, 0 } };
    int opt;
    while ((opt = getopt_long (argc, argv, "h", longopts, NULL)) != -1) {
        int bad = 0;
        switch (opt) {
        case 'o':
            a->out = optarg;
            break;
        case 'l':
            bad = mdctl_parse_i64 (optarg, 0, INT64_MAX / 100, &a->low);
            break;
        case 'H':
            bad = mdctl_parse_i64 (optarg, 1, INT64_MAX / 100, &a->high);
            break;
        case 'h':
            s_usage (stdout);
            return -1;
        default:
            return mdctl_usage_error ("plot", "unknown or incomplete option");
        }
        if (bad)
            return mdctl_usage_error ("plot", "bad value '%s' for --%s", optarg,
                                      mdctl_opt_name (longopts, opt));
    }
    if (optind != argc - 1)
        return mdctl_usage_error ("plot", "expected one run.csv");
    if (!a->out)
        return mdctl_usage_error ("plot", "--out FILE is required");
    if (a->low && a->high && a->low >= a->high)
        return mdctl_usage_error ("plot", "--low must be below --high");
    a->in = argv[optind];
    return 0;
}

static void
s_map_header (char *line, plot_data_t *d)
{
    int i = 1;
    for (char *save = NULL, *tok = strtok_r (line, ",\r\n", &save); tok;
         tok = strtok_r (NULL, ",\r\n", &save), i++)
        for (int k = 0; k < COL_COUNT; k++)
            if (strcmp (tok, s_col_names[k]) == 0)
                d->col[k] = i;
}

/* The capacity field of a data row (0 when empty). */
static int64_t
s_row_capacity (const char *line, int col)
{
    const char *p = line;
    for (int i = 1; i < col && p; i++) {
        p = strchr (p, ',');
        if (p)
            p++;
    }
    return p ? strtoll (p, NULL, 10) : 0;
}

static int
s_scan (const char *path, plot_data_t *d)
{
    FILE *f = fopen (path, "r");
    if (!f) {
        mdctl_fail ("plot", "%s: %s", path, strerror (errno));
        return MDCTL_EXIT_USAGE;
    }
    char *line = NULL;
    size_t size = 0;
    if (getline (&line, &size, f) >= 0)
        s_map_header (line, d);
    while (getline (&line, &size, f) >= 0) {
        if (line[0] == '\n' || line[0] == '\0')
            continue;
        d->rows++;
        int64_t cap = d->col[COL_CAP] ? s_row_capacity (line, d->col[COL_CAP]) : 0;
        if (cap > d->max_capacity)
            d->max_capacity = cap;
    }
    free (line);
    fclose (f);
    if (!d->col[COL_T] || !d->col[COL_QUEUE] || !d->col[COL_LEVEL]) {
        mdctl_fail ("plot",
                    "%s:1: header lacks t, queue_size or level_code "
                    "(is it a file from `mdctl record`?)",
                    path);
        return MDCTL_EXIT_USAGE;
    }
    if (d->rows == 0) {
        mdctl_fail ("plot", "%s: no samples to plot", path);
        return MDCTL_EXIT_FAIL;
    }
    return 0;
}

/* Write s as a gnuplot single-quoted string ('' stands for a quote). */
static void
s_quoted (FILE *f, const char *s)
{
    fputc ('\'', f);
    for (; *s; s++) {
        if (*s == '\'')
            fputc ('\'', f);
        fputc (*s, f);
    }
    fputc ('\'', f);
}

static void
s_script_panels (FILE *f, const plot_data_t *d, int64_t low, int64_t high)
{
    const int *c = d->col;
    fputs ("set title 'queue depth: '.DATA\nset ylabel 'bars'\n", f);
    if (d->max_capacity > 0)
        fprintf (f, "set yrange [0:%lld]\n", (long long)(d->max_capacity + d->max_capacity / 20));
    else
        fputs ("set yrange [0:*]\n", f);
    fputs ("plot DATA skip 1 ", f);
    fprintf (f, "using %d:%d with lines lw 2 lc rgb '#1f77b4' title 'queue'", c[COL_T],
             c[COL_QUEUE]);
    fprintf (f, ", %lld with lines dt 2 lw 1.5 lc rgb '#e69f00' title 'low watermark (%lld)'",
             (long long)low, (long long)low);
    fprintf (f, ", %lld with lines dt 2 lw 1.5 lc rgb '#d62728' title 'high watermark (%lld)'",
             (long long)high, (long long)high);
    if (d->max_capacity > 0)
        fprintf (f, ", %lld with lines lw 1 lc rgb '#555555' title 'capacity (%lld)'",
                 (long long)d->max_capacity, (long long)d->max_capacity);
    fputs ("\n\nset title 'level'\nset ylabel ''\nset yrange [-0.2:2.2]\n"
           "set ytics ('ok' 0, 'soft' 1, 'hard' 2)\n",
           f);
    if (c[COL_SCALE])
        fputs ("set y2range [-0.1:1.1]\nset y2tics 0.25\nset y2label 'pipeline scale'\n", f);
    fprintf (f, "plot DATA skip 1 using %d:%d with steps lw 2 lc rgb '#d62728' title 'level'",
             c[COL_T], c[COL_LEVEL]);
    if (c[COL_SCALE])
        fprintf (f,
                 ", DATA skip 1 using %d:%d axes x1y2 with steps lw 1.5 lc rgb '#2ca02c' "
                 "title 'pipeline scale'",
                 c[COL_T], c[COL_SCALE]);
    fputs ("\nunset y2tics\nunset y2label\nset ytics auto\n", f);
    if (!c[COL_IN] && !c[COL_ACK] && !c[COL_WRITE])
        return;
    fputs (
        "\nset title 'rates'\nset ylabel 'bars/s'\nset yrange [0:*]\nset xlabel 'time (s)'\nplot ",
        f);
    const char *sep = "";
    static const struct {
        int col;
        const char *title, *color;
    } rates[] = { { COL_IN, "pipeline ingested", "#1f77b4" },
                  { COL_ACK, "pipeline acked", "#2ca02c" },
                  { COL_WRITE, "store rows written", "#9467bd" } };
    for (size_t i = 0; i < sizeof rates / sizeof rates[0]; i++) {
        if (!c[rates[i].col])
            continue;
        fprintf (f, "%sDATA skip 1 using %d:%d with lines lw 1.5 lc rgb '%s' title '%s'", sep,
                 c[COL_T], c[rates[i].col], rates[i].color, rates[i].title);
        sep = ", ";
    }
    fputc ('\n', f);
}

static void
s_script (FILE *f, const plot_args_t *a, const plot_data_t *d)
{
    int64_t cap = d->max_capacity > 0 ? d->max_capacity : 10000;
    int64_t low = a->low > 0 ? a->low : cap / 2;
    int64_t high = a->high > 0 ? a->high : cap * 8 / 10;
    int panels = (d->col[COL_IN] || d->col[COL_ACK] || d->col[COL_WRITE]) ? 3 : 2;
    fputs ("if (strstrt(GPVAL_TERMINALS, 'pngcairo') > 0) {\n"
           "  set terminal pngcairo size 1200,900 font ',10'\n"
           "} else {\n  set terminal png size 1200,900\n}\n",
           f);
    fputs ("set output ", f);
    s_quoted (f, a->out);
    fputs ("\nDATA = ", f);
    s_quoted (f, a->in);
    fputs ("\nset datafile separator ','\nset grid\n"
           "set key outside top center horizontal samplen 2\n"
           "set xrange [0:*]\nset lmargin 10\nset rmargin 12\n",
           f);
    fprintf (f, "set multiplot layout %d,1\n", panels);
    if (panels == 2)
        fputs ("set xlabel 'time (s)'\n", f);
    s_script_panels (f, d, low, high);
    fputs ("unset multiplot\nset output\n", f);
}

/* Search PATH for an executable gnuplot. */
static bool
s_have_gnuplot (void)
{
    const char *path = getenv ("PATH");
    if (!path)
        return false;
    char *copy = strdup (path), *save = NULL;
    bool found = false;
    for (char *dir = strtok_r (copy, ":", &save); dir && !found;
         dir = strtok_r (NULL, ":", &save)) {
        char full[4096];
        snprintf (full, sizeof full, "%s/gnuplot", *dir ? dir : ".");
        found = access (full, X_OK) == 0;
    }
    free (copy);
    return found;
}

static int
s_run_gnuplot (const char *script)
{
    pid_t pid = fork ();
    if (pid < 0) {
        mdctl_fail ("plot", "fork: %s", strerror (errno));
        return -1;
    }
    if (pid == 0) {
        execlp ("gnuplot", "gnuplot", script, (char *)NULL);
        fprintf (stderr, "mdctl plot: cannot run gnuplot: %s (install gnuplot-nox)\n",
                 strerror (errno));
        _exit (127);
    }
    int status = 0;
    while (waitpid (pid, &status, 0) < 0) {
        if (errno != EINTR)
            return -1;
        if (mdctl_interrupted ())
            kill (pid, SIGTERM);
    }
    if (!WIFEXITED (status) || WEXITSTATUS (status) != 0) {
        mdctl_fail ("plot", "gnuplot failed (status %d)", status);
        return -1;
    }
    return 0;
}

static int
s_plot (const plot_args_t *a, const plot_data_t *d)
{
    char script[] = "/tmp/mdctl-plot-XXXXXX";
    int fd = mkstemp (script);
    FILE *f = fd >= 0 ? fdopen (fd, "w") : NULL;
    if (!f) {
        mdctl_fail ("plot", "cannot write a gnuplot script: %s", strerror (errno));
        if (fd >= 0)
            close (fd);
        return MDCTL_EXIT_FAIL;
    }
    s_script (f, a, d);
    bool written = fclose (f) == 0;
    int rc = written && s_run_gnuplot (script) == 0 ? MDCTL_EXIT_OK : MDCTL_EXIT_FAIL;
    unlink (script);
    struct stat st;
    if (rc == MDCTL_EXIT_OK && (stat (a->out, &st) != 0 || st.st_size == 0)) {
        mdctl_fail ("plot", "gnuplot wrote no %s", a->out);
        rc = MDCTL_EXIT_FAIL;
    }
    if (rc == MDCTL_EXIT_OK)
        fprintf (stderr, "mdctl plot: %ld samples drawn into %s\n", d->rows, a->out);
    return rc;
}

int
mdctl_plot_main (int argc, char **argv)
{
    plot_args_t a = { 0 };
    int rc = s_parse (argc, argv, &a);
    if (rc != 0)
        return rc < 0 ? MDCTL_EXIT_OK : rc;
    if (!s_have_gnuplot ()) {
        mdctl_fail ("plot", "gnuplot not found in PATH; install it (Debian: apt-get install "
                            "gnuplot-nox)");
        return MDCTL_EXIT_FAIL;
    }
    plot_data_t d;
    memset (&d, 0, sizeof d);
    rc = s_scan (a.in, &d);
    if (rc != 0)
        return rc;
    return s_plot (&a, &d);
}
