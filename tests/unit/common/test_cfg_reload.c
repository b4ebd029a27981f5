/*
 * cfg reload: the one routine both services reload through (common/cfg.h,
 * "reload").  A settings struct with a live and a restart-only key of every
 * kind, an enum, a secret and an array of named elements; each test loads
 * a running struct from one file, then reloads from another and checks what
 * moved, what stayed, what was reported and what the apply callback saw.
 */
#include <check.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/cfg.h"
#include "tests/integration/harness.h"

typedef struct {
    char *name;
    double rate; /* live */
    int64_t burst;
} elem_t;

typedef struct {
    char *id;              /* restart */
    int64_t period;        /* live */
    double gain;           /* live */
    bool verbose;          /* live */
    int level;             /* live enum */
    char *token;           /* restart, secret */
    mdf_strlist_t targets; /* restart */
    elem_t *elems;
    size_t nelems;
} conf_t;

static const char *const s_levels[] = { "ok", "soft", "hard", NULL };

static const mdf_cfg_entry_t s_entries[] = {
    { "svc.id", MDF_CFG_STRING, "one", 0, -1, NULL, offsetof (conf_t, id), 0, "id" },
    { "svc.period", MDF_CFG_INT, "100", 1, 10000, NULL, offsetof (conf_t, period), MDF_CFG_LIVE,
      "period" },
    { "svc.gain", MDF_CFG_DOUBLE, "0.5", 0, 10, NULL, offsetof (conf_t, gain), MDF_CFG_LIVE,
      "gain" },
    { "svc.verbose", MDF_CFG_BOOL, "false", 0, -1, NULL, offsetof (conf_t, verbose), MDF_CFG_LIVE,
      "verbose" },
    { "svc.level", MDF_CFG_ENUM, "soft", 0, -1, s_levels, offsetof (conf_t, level), MDF_CFG_LIVE,
      "level" },
    { "svc.token", MDF_CFG_STRING, "", 0, -1, NULL, offsetof (conf_t, token), MDF_CFG_SECRET,
      "token" },
    { "svc.targets", MDF_CFG_STRLIST, "a", 0, -1, NULL, offsetof (conf_t, targets), 0, "targets" },
};
#define N_ENTRIES (sizeof s_entries / sizeof s_entries[0])

static const mdf_cfg_entry_t s_elem_entries[] = {
    { "name", MDF_CFG_STRING, "", 0, -1, NULL, offsetof (elem_t, name), 0, "name" },
    { "rate", MDF_CFG_DOUBLE, "10", 0, 1e6, NULL, offsetof (elem_t, rate), MDF_CFG_LIVE, "rate" },
    { "burst", MDF_CFG_INT, "5", 1, 100, NULL, offsetof (elem_t, burst), 0, "burst" },
};

static const mdf_cfg_array_t s_arrays[] = {
    { "elems", s_elem_entries, sizeof s_elem_entries / sizeof s_elem_entries[0], sizeof (elem_t),
      offsetof (conf_t, elems), offsetof (conf_t, nelems), offsetof (elem_t, name) },
};

static const mdf_cfg_schema_t s_schema = { "svc", "SVC", s_entries, N_ENTRIES, s_arrays, 1 };

static void
s_free (void *settings)
{
    conf_t *c = settings;
    void *items = c->elems;
    mdf_cfg_free_array (s_elem_entries, 3, sizeof (elem_t), &items, &c->nelems);
    c->elems = NULL;
    mdf_cfg_free (s_entries, N_ENTRIES, c);
}

static mdf_cfg_t *
s_loader (const char *path, void *settings, char *err, size_t errlen)
{
    conf_t *c = settings;
    memset (c, 0, sizeof *c);
    mdf_cfg_t *cfg = mdf_cfg_new (s_entries, N_ENTRIES, "SVC");
    static const char *const arrays[] = { "elems", NULL };
    void *items = NULL;
    int rc = mdf_cfg_load (cfg, path, arrays, c, err, errlen);
    if (rc == 0)
        rc = mdf_cfg_load_array (cfg, "elems", s_elem_entries, 3, sizeof (elem_t), &items,
                                 &c->nelems, err, errlen);
    c->elems = items;
    if (rc != 0)
        mdf_cfg_destroy (&cfg);
    return cfg;
}

static char s_path[64];
static conf_t s_run;
static int s_applied_calls;
static double s_applied_gain;

static void
s_write (const char *text)
{
    if (!s_path[0]) {
        strcpy (s_path, "/tmp/test_cfg_reload_XXXXXX");
        int fd = mkstemp (s_path);
        ck_assert_int_ge (fd, 0);
        close (fd);
    }
    FILE *f = fopen (s_path, "w");
    ck_assert_ptr_nonnull (f);
    fputs (text, f);
    fclose (f);
}

static void
s_apply (void *arg, const void *running, const mdf_cfg_changes_t *changes)
{
    (void)changes;
    ck_assert_ptr_eq (arg, &s_run);
    s_applied_calls++;
    s_applied_gain = ((const conf_t *)running)->gain;
}

static const mdf_cfg_reloader_t s_reloader
    = { &s_schema, sizeof (conf_t), s_loader, s_free, s_apply, &s_run };

static const char *s_base = "[svc]\nid = \"one\"\nperiod = 100\ngain = 0.5\ntoken = \"tok-0\"\n"
                            "[[elems]]\nname = \"x\"\nrate = 10\n"
                            "[[elems]]\nname = \"y\"\nrate = 20\n";

static void
s_setup (void)
{
    s_applied_calls = 0;
    s_write (s_base);
    char err[256];
    mdf_cfg_t *cfg = s_loader (s_path, &s_run, err, sizeof err);
    ck_assert_msg (cfg != NULL, "%s", err);
    mdf_cfg_destroy (&cfg);
}

static void
s_teardown (void)
{
    s_free (&s_run);
    if (s_path[0])
        unlink (s_path);
    s_path[0] = '\0';
}

START_TEST (live_keys_move_in_restart_keys_stay_and_are_reported)
{
    s_write ("[svc]\nid = \"two\"\nperiod = 250\ngain = 0.5\nverbose = true\nlevel = \"hard\"\n"
             "token = \"t1\"\ntargets = [\"a\", \"b\"]\n"
             "[[elems]]\nname = \"x\"\nrate = 11\nburst = 7\n"
             "[[elems]]\nname = \"y\"\nrate = 20\n");
    mdf_cfg_changes_t ch;
    char err[256] = "";
    ck_assert_int_eq (mdf_cfg_reload (&s_reloader, s_path, &s_run, &ch, err, sizeof err), 0);
    /* live: in the running struct now */
    ck_assert_int_eq (s_run.period, 250);
    ck_assert (s_run.verbose);
    ck_assert_int_eq (s_run.level, 2);
    ck_assert_double_eq (s_run.elems[0].rate, 11);
    /* restart-only: unchanged, reported */
    ck_assert_str_eq (s_run.id, "one");
    ck_assert_str_eq (s_run.token, "tok-0");
    ck_assert_uint_eq (s_run.targets.count, 1);
    ck_assert_int_eq (s_run.elems[0].burst, 5);
    ck_assert_str_eq (ch.applied, "svc.period,svc.verbose,svc.level,elems[x].rate");
    ck_assert_str_eq (ch.restart, "svc.id,svc.token,svc.targets,elems[x].burst");
    ck_assert_uint_eq (ch.napplied, 4);
    ck_assert_uint_eq (ch.nrestart, 4);
    ck_assert_int_eq (s_applied_calls, 1);
}
END_TEST

START_TEST (apply_sees_the_new_values)
{
    s_write ("[svc]\nid = \"one\"\nperiod = 100\ngain = 2.5\ntoken = \"tok-0\"\n"
             "[[elems]]\nname = \"x\"\nrate = 10\n[[elems]]\nname = \"y\"\nrate = 20\n");
    char err[256];
    mdf_cfg_changes_t ch;
    ck_assert_int_eq (mdf_cfg_reload (&s_reloader, s_path, &s_run, &ch, err, sizeof err), 0);
    ck_assert_double_eq (s_applied_gain, 2.5);
    ck_assert_str_eq (ch.applied, "svc.gain");
    ck_assert_uint_eq (ch.nrestart, 0);
}
END_TEST

START_TEST (elements_are_matched_by_name_not_position)
{
    /* y first now, x removed, z added: y's rate applies, the rest needs a restart */
    s_write ("[svc]\nid = \"one\"\nperiod = 100\ngain = 0.5\ntoken = \"tok-0\"\n"
             "[[elems]]\nname = \"y\"\nrate = 30\n[[elems]]\nname = \"z\"\nrate = 1\n");
    char err[256];
    mdf_cfg_changes_t ch;
    ck_assert_int_eq (mdf_cfg_reload (&s_reloader, s_path, &s_run, &ch, err, sizeof err), 0);
    ck_assert_double_eq (s_run.elems[1].rate, 30);
    ck_assert_double_eq (s_run.elems[0].rate, 10);
    ck_assert_str_eq (ch.applied, "elems[y].rate");
    ck_assert_str_eq (ch.restart, "elems[z] (new),elems[x] (removed)");
}
END_TEST

START_TEST (an_empty_file_is_refused_and_nothing_changes)
{
    const char *bodies[] = { "", "\n\n", "# only a comment\n", "[svc]\n" };
    for (size_t i = 0; i < sizeof bodies / sizeof bodies[0]; i++) {
        s_write (bodies[i]);
        char err[256] = "";
        ck_assert_int_eq (mdf_cfg_reload (&s_reloader, s_path, &s_run, NULL, err, sizeof err), -1);
        ck_assert_msg (strstr (err, "holds no setting"), "%s", err);
        ck_assert_int_eq (s_run.period, 100);
        ck_assert_double_eq (s_run.gain, 0.5);
        ck_assert_int_eq (s_applied_calls, 0);
    }
}
END_TEST

START_TEST (a_bad_file_is_refused_and_nothing_changes)
{
    s_write ("[svc]\nperiod = 20000\ngain = 3\n");
    char err[256] = "";
    ck_assert_int_eq (mdf_cfg_reload (&s_reloader, s_path, &s_run, NULL, err, sizeof err), -1);
    ck_assert_msg (strstr (err, "svc.period (20000) must be between 1 and 10000"), "%s", err);
    ck_assert_double_eq (s_run.gain, 0.5);
    ck_assert_int_eq (s_applied_calls, 0);
}
END_TEST

START_TEST (dump_redacts_secrets_and_names_enums)
{
    char err[256];
    mdf_cfg_t *cfg = mdf_cfg_new (s_entries, N_ENTRIES, "SVC");
    conf_t c;
    memset (&c, 0, sizeof c);
    ck_assert_int_eq (
        mdf_cfg_load (cfg, s_path, (const char *const[]){ "elems", NULL }, &c, err, sizeof err), 0);
    char *buf = NULL;
    size_t len = 0;
    FILE *out = open_memstream (&buf, &len);
    mdf_cfg_dump_schema (cfg, &s_schema, &s_run, out);
    fclose (out);
    ck_assert_msg (strstr (buf, "svc.token = \"(redacted)\""), "%s", buf);
    ck_assert_msg (!strstr (buf, "tok-0"), "%s", buf); /* no temporary path holds a - */
    ck_assert_msg (strstr (buf, "svc.level = \"soft\"  # default"), "%s", buf);
    ck_assert_msg (strstr (buf, "[[elems]]  # 1\nname = \"y\""), "%s", buf);
    free (buf);
    mdf_cfg_destroy (&cfg);
    mdf_cfg_free (s_entries, N_ENTRIES, &c);
}
END_TEST

START_TEST (enum_values_are_checked)
{
    s_write ("[svc]\nlevel = \"loud\"\n");
    char err[256] = "";
    ck_assert_int_eq (mdf_cfg_reload (&s_reloader, s_path, &s_run, NULL, err, sizeof err), -1);
    ck_assert_msg (strstr (err, "svc.level: \"loud\" is not one of ok, soft, hard"), "%s", err);
}
END_TEST

START_TEST (reference_has_the_reload_column_per_array)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *out = open_memstream (&buf, &len);
    mdf_cfg_print_schema_reference (&s_schema, "svc.toml", out);
    fclose (out);
    ck_assert_msg (strstr (buf, "### svc (`svc.toml`, environment `SVC_<SECTION>_<KEY>`)"), "%s",
                   buf);
    ck_assert_msg (strstr (buf, "| `svc.period` | integer | `100` | 1 .. 10000 | live | "), "%s",
                   buf);
    ck_assert_msg (strstr (buf, "| `svc.level` | string | `soft` | `ok`, `soft`, `hard` | live"),
                   "%s", buf);
    ck_assert_msg (strstr (buf, "#### `[[elems]]`"), "%s", buf);
    ck_assert_msg (strstr (buf, "| `burst` | integer | `5` | 1 .. 100 | restart | - |"), "%s", buf);
    free (buf);
}
END_TEST

int
main (void)
{
    Suite *s = suite_create ("cfg_reload");
    TCase *tc = tcase_create ("reload");
    tcase_add_checked_fixture (tc, s_setup, s_teardown);
    tcase_add_test (tc, live_keys_move_in_restart_keys_stay_and_are_reported);
    tcase_add_test (tc, apply_sees_the_new_values);
    tcase_add_test (tc, elements_are_matched_by_name_not_position);
    tcase_add_test (tc, an_empty_file_is_refused_and_nothing_changes);
    tcase_add_test (tc, a_bad_file_is_refused_and_nothing_changes);
    tcase_add_test (tc, dump_redacts_secrets_and_names_enums);
    tcase_add_test (tc, enum_values_are_checked);
    tcase_add_test (tc, reference_has_the_reload_column_per_array);
    suite_add_tcase (s, tc);
    return h_run_suite (s);
}
