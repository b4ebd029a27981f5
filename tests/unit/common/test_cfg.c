/*
 * test_cfg: typed settings from an entry table.
 *
 * Each test writes a small TOML file to a temporary path, loads it against the
 * table below (modelled on store.toml), and checks the values a service would
 * see and the exact one-line errors (FILE:LINE or $ENV) a user would read.
 * Environment variables are set inside the test and unset before it ends, so
 * the suite also works with CK_FORK=no (valgrind).
 */
#include "common/cfg.h"

#include <check.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tests/integration/harness.h"

typedef struct {
    char *id;
    int64_t capacity, high, low;
    double scale;
    bool verbose;
    char *sink;
    mdf_strlist_t topics;
} settings_t;

typedef struct {
    char *name;
    double refill_rate;
    int64_t burst;
    mdf_strlist_t symbols;
} provider_t;

static const char *const s_sinks[] = { "sqlite", "postgres", NULL };

static const mdf_cfg_entry_t s_entries[] = {
    { "store.id", MDF_CFG_STRING, "bars-coordinator", 0, -1, NULL, offsetof (settings_t, id), 0,
      "coordinator_id in every event" },
    { "queue.capacity", MDF_CFG_INT, "10000", 1, 1000000, NULL, offsetof (settings_t, capacity), 0,
      "bars the queue holds" },
    { "queue.high_watermark", MDF_CFG_INT, "8000", 0, 1000000, NULL, offsetof (settings_t, high), 0,
      "fill that turns the level hard" },
    { "queue.low_watermark", MDF_CFG_INT, "5000", 0, 1000000, NULL, offsetof (settings_t, low), 0,
      "fill that turns the level soft" },
    { "feedback.scale_soft", MDF_CFG_DOUBLE, "0.75", 0, 1, NULL, offsetof (settings_t, scale),
      MDF_CFG_LIVE, "rate factor when soft" },
    { "log.verbose", MDF_CFG_BOOL, "false", 0, -1, NULL, offsetof (settings_t, verbose), 0,
      "more logs | more noise" },
    { "sink.type", MDF_CFG_STRING, "sqlite", 0, -1, s_sinks, offsetof (settings_t, sink), 0,
      "where bars go" },
    { "ingest.topics", MDF_CFG_STRLIST, "bars, ticks", 0, -1, NULL, offsetof (settings_t, topics),
      0, "topics to take" },
};
#define N_ENTRIES (sizeof s_entries / sizeof s_entries[0])

static const mdf_cfg_entry_t s_provider_entries[] = {
    { "name", MDF_CFG_STRING, "", 0, -1, NULL, offsetof (provider_t, name), 0, "provider name" },
    { "refill_rate", MDF_CFG_DOUBLE, "100", 0, 1000000, NULL, offsetof (provider_t, refill_rate),
      MDF_CFG_LIVE, "bars per second" },
    { "burst", MDF_CFG_INT, "10", 1, 1000, NULL, offsetof (provider_t, burst), 0, "bucket size" },
    { "symbols", MDF_CFG_STRLIST, "", 0, -1, NULL, offsetof (provider_t, symbols), 0, "symbols" },
};
#define N_PROVIDER (sizeof s_provider_entries / sizeof s_provider_entries[0])

static const char *const s_arrays[] = { "providers", NULL };

static char s_file[64];
static mdf_cfg_t *s_cfg;
static settings_t s_set;
static char s_err[512];

static void
s_write (const char *text)
{
    strcpy (s_file, "/tmp/test_cfg_XXXXXX.toml");
    int fd = mkstemps (s_file, 5);
    ck_assert_int_ge (fd, 0);
    ck_assert_int_eq (write (fd, text, strlen (text)), (ssize_t)strlen (text));
    close (fd);
}

/* Load `text` (NULL: no file); returns what mdf_cfg_load returned. */
static int
s_load (const char *text)
{
    if (text)
        s_write (text);
    s_cfg = mdf_cfg_new (s_entries, N_ENTRIES, "MDS");
    ck_assert_ptr_nonnull (s_cfg);
    memset (&s_set, 0, sizeof s_set);
    s_err[0] = '\0';
    return mdf_cfg_load (s_cfg, text ? s_file : NULL, s_arrays, &s_set, s_err, sizeof s_err);
}

/* Expect `want` with %s standing for the file path. */
static void
s_expect_err (const char *want)
{
    char full[512];
    snprintf (full, sizeof full, want, s_file);
    ck_assert_str_eq (s_err, full);
}

static void
s_teardown (void)
{
    mdf_cfg_free (s_entries, N_ENTRIES, &s_set);
    mdf_cfg_destroy (&s_cfg);
    if (s_file[0])
        unlink (s_file);
    s_file[0] = '\0';
    unsetenv ("MDS_QUEUE_CAPACITY");
    unsetenv ("MDS_INGEST_TOPICS");
    unsetenv ("MDS_LOG_VERBOSE");
    unsetenv ("MDS_FEEDBACK_SCALE_SOFT");
}

START_TEST (defaults_fill_every_field)
{
    ck_assert_int_eq (s_load (NULL), 0);
    ck_assert_str_eq (s_set.id, "bars-coordinator");
    ck_assert_int_eq (s_set.capacity, 10000);
    ck_assert_double_eq (s_set.scale, 0.75);
    ck_assert (!s_set.verbose);
    ck_assert_str_eq (s_set.sink, "sqlite");
    ck_assert_uint_eq (s_set.topics.count, 2);
    ck_assert_str_eq (s_set.topics.items[1], "ticks");
    ck_assert_str_eq (mdf_cfg_where (s_cfg, "queue.capacity"), "default");
    mdf_cfg_free (s_entries, N_ENTRIES, &s_set);
    ck_assert_ptr_null (s_set.id);
    ck_assert_ptr_null (s_set.topics.items);
    ck_assert_uint_eq (s_set.topics.count, 0);
}
END_TEST

START_TEST (file_overrides_defaults_and_records_lines)
{
    ck_assert_int_eq (s_load ("[store]\nid = \"c1\"\n\n[queue]\ncapacity = 20000\n"
                              "[feedback]\nscale_soft = 1  # integer accepted\n"
                              "[sink]\ntype = \"postgres\"\n"
                              "[ingest]\ntopics = [\"a\", \"b\", \"c\"]\n"),
                      0);
    ck_assert_str_eq (s_set.id, "c1");
    ck_assert_int_eq (s_set.capacity, 20000);
    ck_assert_int_eq (s_set.high, 8000);
    ck_assert_double_eq (s_set.scale, 1.0);
    ck_assert_str_eq (s_set.sink, "postgres");
    ck_assert_uint_eq (s_set.topics.count, 3);
    ck_assert_str_eq (s_set.topics.items[2], "c");
    char want[128];
    snprintf (want, sizeof want, "%s:5", s_file);
    ck_assert_str_eq (mdf_cfg_where (s_cfg, "queue.capacity"), want);
    ck_assert_str_eq (mdf_cfg_where (s_cfg, "queue.high_watermark"), "default");
}
END_TEST

START_TEST (environment_overrides_file)
{
    setenv ("MDS_QUEUE_CAPACITY", "30000", 1);
    setenv ("MDS_INGEST_TOPICS", " x, y ,,z ", 1);
    setenv ("MDS_LOG_VERBOSE", "yes", 1);
    setenv ("MDS_FEEDBACK_SCALE_SOFT", "0.5", 1);
    ck_assert_int_eq (s_load ("[queue]\ncapacity = 20000\n[ingest]\ntopics = [\"a\"]\n"), 0);
    ck_assert_int_eq (s_set.capacity, 30000);
    ck_assert (s_set.verbose);
    ck_assert_double_eq (s_set.scale, 0.5);
    ck_assert_uint_eq (s_set.topics.count, 3);
    ck_assert_str_eq (s_set.topics.items[0], "x");
    ck_assert_str_eq (s_set.topics.items[1], "y");
    ck_assert_str_eq (s_set.topics.items[2], "z");
    ck_assert_str_eq (mdf_cfg_where (s_cfg, "queue.capacity"), "$MDS_QUEUE_CAPACITY");
}
END_TEST

START_TEST (environment_errors_name_the_variable)
{
    setenv ("MDS_QUEUE_CAPACITY", "lots", 1);
    ck_assert_int_eq (s_load (NULL), -1);
    ck_assert_str_eq (s_err, "$MDS_QUEUE_CAPACITY: queue.capacity: \"lots\" is not an integer");
    mdf_cfg_free (s_entries, N_ENTRIES, &s_set);
    mdf_cfg_destroy (&s_cfg);
    setenv ("MDS_QUEUE_CAPACITY", "2000000", 1);
    ck_assert_int_eq (s_load (NULL), -1);
    ck_assert_str_eq (
        s_err, "$MDS_QUEUE_CAPACITY: queue.capacity (2000000) must be between 1 and 1000000");
    mdf_cfg_free (s_entries, N_ENTRIES, &s_set);
    mdf_cfg_destroy (&s_cfg);
    unsetenv ("MDS_QUEUE_CAPACITY");
    setenv ("MDS_LOG_VERBOSE", "maybe", 1);
    ck_assert_int_eq (s_load (NULL), -1);
    ck_assert_str_eq (s_err,
                      "$MDS_LOG_VERBOSE: log.verbose: \"maybe\" is not a boolean (true or false)");
}
END_TEST

START_TEST (bounds_and_choices_errors_name_file_and_line)
{
    ck_assert_int_eq (s_load ("# c\n[queue]\n\ncapacity = 0\n"), -1);
    s_expect_err ("%s:4: queue.capacity (0) must be between 1 and 1000000");
    s_teardown ();
    ck_assert_int_eq (s_load ("[feedback]\nscale_soft = 1.5\n"), -1);
    s_expect_err ("%s:2: feedback.scale_soft (1.5) must be between 0 and 1");
    s_teardown ();
    ck_assert_int_eq (s_load ("[sink]\n\ntype = \"mysql\"\n"), -1);
    s_expect_err ("%s:3: sink.type: \"mysql\" is not one of sqlite, postgres");
}
END_TEST

START_TEST (type_errors_name_key_and_expected_type)
{
    ck_assert_int_eq (s_load ("[queue]\ncapacity = 1.0\n"), -1);
    s_expect_err ("%s:2: queue.capacity: expected an integer, got float");
    s_teardown ();
    ck_assert_int_eq (s_load ("[store]\nid = 7\n"), -1);
    s_expect_err ("%s:2: store.id: expected a string, got integer");
    s_teardown ();
    ck_assert_int_eq (s_load ("[ingest]\ntopics = [\"a\", 2]\n"), -1);
    s_expect_err ("%s:2: ingest.topics[1]: expected a string, got integer");
    s_teardown ();
    ck_assert_int_eq (s_load ("[log]\nverbose = \"yes\"\n"), -1);
    s_expect_err ("%s:2: log.verbose: expected a boolean, got string");
}
END_TEST

START_TEST (unknown_keys_are_errors_with_suggestion)
{
    ck_assert_int_eq (s_load ("[queue]\ncapacity = 5\ncapcity = 6\n"), -1);
    s_expect_err ("%s:3: unknown key queue.capcity (did you mean queue.capacity?)");
    s_teardown ();
    ck_assert_int_eq (s_load ("[queue.deep]\nx = 1\n"), -1);
    s_expect_err ("%s:1: unknown key queue.deep (nested tables are not supported here)");
    s_teardown ();
    ck_assert_int_eq (s_load ("[zzz]\nqqq = 1\n"), -1);
    s_expect_err ("%s:2: unknown key zzz.qqq");
    s_teardown ();
    ck_assert_int_eq (s_load ("[queue]\ncapacity = \n"), -1);
    s_expect_err ("%s:2:12: expected a value after '='");
}
END_TEST

START_TEST (cross_key_checks_use_where)
{
    ck_assert_int_eq (s_load ("[queue]\nhigh_watermark = 8000\nlow_watermark = 9000\n"), 0);
    ck_assert (s_set.low >= s_set.high);
    ck_assert_int_eq (mdf_cfg_fail (s_cfg, "queue.low_watermark", s_err, sizeof s_err,
                                    "queue.low_watermark (%lld) must be below "
                                    "queue.high_watermark (%lld)",
                                    (long long)s_set.low, (long long)s_set.high),
                      -1);
    s_expect_err ("%s:3: queue.low_watermark (9000) must be below queue.high_watermark (8000)");
}
END_TEST

START_TEST (arrays_of_tables_load_element_by_element)
{
    ck_assert_int_eq (s_load ("[queue]\ncapacity = 5\n\n[[providers]]\nname = \"a\"\n"
                              "symbols = [\"X\", \"Y\"]\n[[providers]]\nname = \"b\"\n"
                              "refill_rate = 2\nburst = 3\n"),
                      0);
    void *items;
    size_t count;
    ck_assert_int_eq (mdf_cfg_load_array (s_cfg, "providers", s_provider_entries, N_PROVIDER,
                                          sizeof (provider_t), &items, &count, s_err, sizeof s_err),
                      0);
    provider_t *p = items;
    ck_assert_uint_eq (count, 2);
    ck_assert_str_eq (p[0].name, "a");
    ck_assert_double_eq (p[0].refill_rate, 100);
    ck_assert_int_eq (p[0].burst, 10);
    ck_assert_uint_eq (p[0].symbols.count, 2);
    ck_assert_str_eq (p[1].name, "b");
    ck_assert_double_eq (p[1].refill_rate, 2);
    ck_assert_int_eq (p[1].burst, 3);
    ck_assert_uint_eq (p[1].symbols.count, 0);
    char want[128];
    snprintf (want, sizeof want, "%s:9", s_file);
    ck_assert_str_eq (mdf_cfg_where (s_cfg, "providers[1].refill_rate"), want);
    mdf_strlist_t copy;
    ck_assert_int_eq (mdf_strlist_copy (&copy, &p[0].symbols), 0);
    ck_assert_str_eq (copy.items[1], "Y");
    mdf_strlist_free (&copy);
    mdf_cfg_free_array (s_provider_entries, N_PROVIDER, sizeof (provider_t), &items, &count);
    ck_assert_ptr_null (items);
    ck_assert_int_eq (mdf_cfg_load_array (s_cfg, "absent", s_provider_entries, N_PROVIDER,
                                          sizeof (provider_t), &items, &count, s_err, sizeof s_err),
                      0);
    ck_assert_uint_eq (count, 0);
}
END_TEST

START_TEST (array_element_errors_name_the_index)
{
    ck_assert_int_eq (s_load ("[[providers]]\nname = \"a\"\n[[providers]]\nname = \"b\"\n"
                              "refill_rate = -1\n"),
                      0);
    void *items;
    size_t count;
    ck_assert_int_eq (mdf_cfg_load_array (s_cfg, "providers", s_provider_entries, N_PROVIDER,
                                          sizeof (provider_t), &items, &count, s_err, sizeof s_err),
                      -1);
    s_expect_err ("%s:5: providers[1].refill_rate (-1) must be between 0 and 1000000");
    mdf_cfg_free_array (s_provider_entries, N_PROVIDER, sizeof (provider_t), &items, &count);
    s_teardown ();
    ck_assert_int_eq (s_load ("[[providers]]\nname = \"a\"\nrefil_rate = 3\n"), 0);
    ck_assert_int_eq (mdf_cfg_load_array (s_cfg, "providers", s_provider_entries, N_PROVIDER,
                                          sizeof (provider_t), &items, &count, s_err, sizeof s_err),
                      -1);
    s_expect_err ("%s:3: unknown key providers[0].refil_rate (did you mean "
                  "providers[0].refill_rate?)");
    mdf_cfg_free_array (s_provider_entries, N_PROVIDER, sizeof (provider_t), &items, &count);
    s_teardown ();
    ck_assert_int_eq (s_load ("providers = [1, 2]\n"), 0);
    ck_assert_int_eq (mdf_cfg_load_array (s_cfg, "providers", s_provider_entries, N_PROVIDER,
                                          sizeof (provider_t), &items, &count, s_err, sizeof s_err),
                      -1);
    s_expect_err ("%s:1: providers must be an array of tables ([[providers]])");
}
END_TEST

START_TEST (missing_file_is_an_error)
{
    s_cfg = mdf_cfg_new (s_entries, N_ENTRIES, "MDS");
    ck_assert_int_eq (
        mdf_cfg_load (s_cfg, "/nonexistent/store.toml", NULL, &s_set, s_err, sizeof s_err), -1);
    ck_assert_str_eq (s_err, "/nonexistent/store.toml: No such file or directory");
}
END_TEST

START_TEST (dump_and_reference_come_from_the_table)
{
    setenv ("MDS_QUEUE_CAPACITY", "30000", 1);
    ck_assert_int_eq (s_load ("[store]\nid = \"a\\\"b\"\n"), 0);
    char *buf = NULL;
    size_t len = 0;
    FILE *out = open_memstream (&buf, &len);
    mdf_cfg_dump (s_cfg, &s_set, out);
    fclose (out);
    char want[256];
    snprintf (want, sizeof want, "store.id = \"a\\\"b\"  # %s:2\n", s_file);
    ck_assert_msg (strstr (buf, want), "%s", buf);
    ck_assert_msg (strstr (buf, "queue.capacity = 30000  # $MDS_QUEUE_CAPACITY\n"), "%s", buf);
    ck_assert_msg (strstr (buf, "ingest.topics = [\"bars\", \"ticks\"]  # default\n"), "%s", buf);
    ck_assert_msg (strstr (buf, "feedback.scale_soft = 0.75  # default\n"), "%s", buf);
    free (buf);
    out = open_memstream (&buf, &len);
    mdf_cfg_print_reference (s_entries, N_ENTRIES, "MDS", out);
    fclose (out);
    ck_assert_msg (
        strncmp (buf, "| key | type | default | range | reload | env | help |\n|---|", 59) == 0,
        "%s", buf);
    ck_assert_msg (strstr (buf, "| `queue.capacity` | integer | `10000` | 1 .. 1000000 | restart | "
                                "`MDS_QUEUE_CAPACITY` | bars the queue holds |\n"),
                   "%s", buf);
    ck_assert_msg (strstr (buf, "| `feedback.scale_soft` | number | `0.75` | 0 .. 1 | live | "),
                   "%s", buf);
    ck_assert_msg (strstr (buf, "| `sink.type` | string | `sqlite` | `sqlite`, `postgres` | "
                                "restart | `MDS_SINK_TYPE` | where bars go |\n"),
                   "%s", buf);
    ck_assert_msg (strstr (buf, "more logs \\| more noise"), "%s", buf);
    free (buf);
    /* an empty default reads "(empty)", not a pair of stray backticks */
    out = open_memstream (&buf, &len);
    mdf_cfg_print_reference (s_provider_entries, N_PROVIDER, NULL, out);
    fclose (out);
    ck_assert_msg (strstr (buf, "| `name` | string | (empty) | "), "%s", buf);
    ck_assert_msg (!strstr (buf, "``"), "%s", buf);
    free (buf);
}
END_TEST

int
main (void)
{
    Suite *s = suite_create ("cfg");
    TCase *tc = tcase_create ("cfg");
    tcase_add_checked_fixture (tc, NULL, s_teardown);
    tcase_add_test (tc, defaults_fill_every_field);
    tcase_add_test (tc, file_overrides_defaults_and_records_lines);
    tcase_add_test (tc, environment_overrides_file);
    tcase_add_test (tc, environment_errors_name_the_variable);
    tcase_add_test (tc, bounds_and_choices_errors_name_file_and_line);
    tcase_add_test (tc, type_errors_name_key_and_expected_type);
    tcase_add_test (tc, unknown_keys_are_errors_with_suggestion);
    tcase_add_test (tc, cross_key_checks_use_where);
    tcase_add_test (tc, arrays_of_tables_load_element_by_element);
    tcase_add_test (tc, array_element_errors_name_the_index);
    tcase_add_test (tc, missing_file_is_an_error);
    tcase_add_test (tc, dump_and_reference_come_from_the_table);
    suite_add_tcase (s, tc);
    return h_run_suite (s);
}
