/*
 * discover: store discovery by DNS.  "localhost" resolves to the loopback
 * stores on the configured ports (127.0.0.1, and [::1] when the host has
 * it), sorted and without duplicates; a name that does not resolve gives no
 * store; and the discovery thread puts what it finds into the roster and
 * counts its lookups.
 *
 * Answers no test DNS server gives are faked by interposing getaddrinfo
 * (this executable's definition wins over libc's; other names go to libc):
 * "fleet.test" answers 70 addresses with 127.0.0.2 and 127.0.0.3 last,
 * "flaky.test" answers 127.0.0.1 or NXDOMAIN as s_flaky_gone says.
 */
#include <arpa/inet.h>
#include <check.h>
#include <dlfcn.h>
#include <netdb.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/metrics.h"
#include "pipeline/discover.h"
#include "tests/integration/harness.h"

static char s_mark[] = "fake answer";
static atomic_int s_flaky_gone;

typedef int (*s_gai_fn) (const char *, const char *, const struct addrinfo *, struct addrinfo **);
typedef void (*s_fai_fn) (struct addrinfo *);

/* A list of n IPv4 addresses in one block; the first is marked ours. */
static struct addrinfo *
s_fake_list (const char *const *addrs, int n)
{
    struct addrinfo *ai = calloc ((size_t)n, sizeof *ai);
    struct sockaddr_in *sa = calloc ((size_t)n, sizeof *sa);
    ck_assert (ai && sa);
    for (int i = 0; i < n; i++) {
        sa[i].sin_family = AF_INET;
        ck_assert_int_eq (inet_pton (AF_INET, addrs[i], &sa[i].sin_addr), 1);
        ai[i].ai_family = AF_INET;
        ai[i].ai_socktype = SOCK_STREAM;
        ai[i].ai_addrlen = sizeof sa[i];
        ai[i].ai_addr = (struct sockaddr *)&sa[i];
        ai[i].ai_next = i + 1 < n ? &ai[i + 1] : NULL;
    }
    ai[0].ai_canonname = s_mark;
    return ai;
}

int
getaddrinfo (const char *node, const char *service, const struct addrinfo *hints,
             struct addrinfo **res)
{
    if (node && strcmp (node, "fleet.test") == 0) {
        static char text[70][20];
        const char *addrs[70];
        for (int i = 0; i < 70; i++) { /* resolver order: the live ones last */
            if (i < 68)
                snprintf (text[i], sizeof text[i], "10.9.%d.%d", i / 10, i % 10 + 1);
            else
                snprintf (text[i], sizeof text[i], "127.0.0.%d", i - 66);
            addrs[i] = text[i];
        }
        *res = s_fake_list (addrs, 70);
        return 0;
    }
    if (node && strcmp (node, "flaky.test") == 0) {
        if (atomic_load (&s_flaky_gone))
            return EAI_NONAME;
        const char *one[] = { "127.0.0.1" };
        *res = s_fake_list (one, 1);
        return 0;
    }
    void *sym = dlsym (RTLD_NEXT, "getaddrinfo");
    s_gai_fn real;
    memcpy (&real, &sym, sizeof real); /* ISO C has no object-to-function cast */
    return real (node, service, hints, res);
}

void
freeaddrinfo (struct addrinfo *res)
{
    if (res && res->ai_canonname == s_mark) {
        free (res->ai_addr); /* the block of sockaddr_in */
        free (res);
        return;
    }
    void *sym = dlsym (RTLD_NEXT, "freeaddrinfo");
    s_fai_fn real;
    memcpy (&real, &sym, sizeof real);
    real (res);
}

START_TEST (localhost_gives_the_loopback_stores_on_the_ports)
{
    char ingest[8][80], feedback[8][80], err[256] = "";
    int n = discover_lookup ("localhost", 5555, 5556, ingest, feedback, 8, err, sizeof err);
    ck_assert_msg (n >= 1, "localhost did not resolve: %d %s", n, err);
    ck_assert_int_le (n, 2);
    ck_assert_str_eq (ingest[0], "tcp://127.0.0.1:5555");
    ck_assert_str_eq (feedback[0], "tcp://127.0.0.1:5556");
    if (n == 2) { /* the host has ::1 for localhost too */
        ck_assert_str_eq (ingest[1], "tcp://[::1]:5555");
        ck_assert_str_eq (feedback[1], "tcp://[::1]:5556");
    }
    /* at most max */
    ck_assert_int_eq (discover_lookup ("localhost", 1, 2, ingest, feedback, 1, err, sizeof err), 1);
}
END_TEST

START_TEST (an_address_gives_itself)
{
    char ingest[8][80], feedback[8][80], err[256] = "";
    ck_assert_int_eq (
        discover_lookup ("127.0.0.1", 7000, 7001, ingest, feedback, 8, err, sizeof err), 1);
    ck_assert_str_eq (ingest[0], "tcp://127.0.0.1:7000");
    ck_assert_str_eq (feedback[0], "tcp://127.0.0.1:7001");
    ck_assert_int_eq (discover_lookup ("::1", 7000, 7001, ingest, feedback, 8, err, sizeof err), 1);
    ck_assert_str_eq (ingest[0], "tcp://[::1]:7000");
}
END_TEST

START_TEST (a_name_that_does_not_resolve_gives_no_store)
{
    char ingest[8][80], feedback[8][80], err[256] = "";
    /* .invalid never resolves (RFC 6761): no store, whether the resolver
     * says so (0) or cannot be asked here (-1) */
    int n = discover_lookup ("no-such-store.invalid", 5555, 5556, ingest, feedback, 8, err,
                             sizeof err);
    ck_assert_int_le (n, 0);
}
END_TEST

/* Every address of the answer is read before it is sorted: the stores last
 * in the resolver's order are not cut off (the first 64 were kept). */
START_TEST (a_long_answer_is_read_whole)
{
    static char ingest[128][80], feedback[128][80];
    char err[256] = "";
    int n = discover_lookup ("fleet.test", 5555, 5556, ingest, feedback, 128, err, sizeof err);
    ck_assert_int_eq (n, 70);
    ck_assert_str_eq (ingest[0], "tcp://10.9.0.1:5555");
    ck_assert_str_eq (ingest[68], "tcp://127.0.0.2:5555");
    ck_assert_str_eq (ingest[69], "tcp://127.0.0.3:5555");
    ck_assert_str_eq (feedback[69], "tcp://127.0.0.3:5556");
}
END_TEST

typedef struct {
    roster_t *roster;
    const char *ingest;
} s_find_t;

static bool
s_found (void *arg)
{
    s_find_t *f = arg;
    members_t *m = roster_lock (f->roster);
    bool found = members_find (m, f->ingest) >= 0;
    roster_unlock (f->roster, false);
    return found;
}

/* Discovery of `name` every 50 ms into a new roster (stale_after 5 s),
 * waited for until it found tcp://127.0.0.1:6555 (*f). */
static discover_t *
s_discovery (const char *name, roster_t **roster, mdf_metrics_t **reg, s_find_t *f)
{
    mdf_clock_t clk = mdf_clock_system ();
    members_t *m = members_new (5000000000LL, 10000000000LL, MDF_LEVEL_SOFT, true, &clk);
    *roster = roster_new (m);
    *reg = mdf_metrics_new ();
    discover_t *d = discover_new (name, 6555, 6556, 50, *roster, *reg);
    ck_assert_ptr_nonnull (d);
    *f = (s_find_t){ *roster, "tcp://127.0.0.1:6555" };
    ck_assert_int_eq (h_wait_until (s_found, f, 5000), 0);
    return d;
}

START_TEST (the_thread_puts_the_stores_into_the_roster)
{
    roster_t *roster;
    mdf_metrics_t *reg;
    s_find_t f;
    discover_t *d = s_discovery ("localhost", &roster, &reg, &f);
    members_t *mm = roster_lock (roster);
    ck_assert_str_eq (members_get (mm, members_find (mm, f.ingest))->feedback,
                      "tcp://127.0.0.1:6556");
    roster_unlock (roster, false);
    discover_destroy (&d);
    ck_assert_ptr_null (d);
    char *text = mdf_metrics_render (reg);
    ck_assert_double_ge (h_metric (text, "mdp_discovery_lookups_total{result=\"ok\"}"), 1);
    ck_assert_double_ge (h_metric (text, "mdp_discovery_stores"), 1);
    free (text);
    mdf_metrics_destroy (&reg);
    roster_destroy (&roster);
}
END_TEST

static bool
s_metric_at_least (void *arg)
{
    mdf_metrics_t *reg = arg;
    char *text = mdf_metrics_render (reg);
    bool ok = h_metric (text, "mdp_discovery_lookups_total{result=\"nxdomain\"}") >= 3;
    free (text);
    return ok;
}

/* NXDOMAIN retires no store that is heard: delivery goes on. */
START_TEST (nxdomain_keeps_the_stores_heard)
{
    atomic_store (&s_flaky_gone, 0);
    roster_t *roster;
    mdf_metrics_t *reg;
    s_find_t f;
    discover_t *d = s_discovery ("flaky.test", &roster, &reg, &f);
    mdf_feedback_t e;
    memset (&e, 0, sizeof e);
    e.v = 1;
    snprintf (e.coordinator_id, sizeof e.coordinator_id, "s1");
    e.ts = mdf_wall_s ();
    e.epoch = (int64_t)(e.ts * 1000) - 60000;
    e.seq = 1;
    e.capacity = 10000;
    snprintf (e.reason, sizeof e.reason, "report");
    members_result_t r;
    members_t *mm = roster_lock (roster);
    members_observe (mm, members_find (mm, f.ingest), &e, mdf_wall_s (), &r);
    roster_unlock (roster, true);
    ck_assert_int_eq (r.verdict, MEMBERS_APPLIED);
    atomic_store (&s_flaky_gone, 1);
    ck_assert_int_eq (h_wait_until (s_metric_at_least, reg, 5000), 0);
    mm = roster_lock (roster);
    int slot = members_find (mm, f.ingest);
    ck_assert_int_ge (slot, 0);
    ck_assert (members_routable (mm, slot));
    ck_assert (members_get (mm, slot)->unlisted);
    roster_unlock (roster, false);
    discover_destroy (&d);
    mdf_metrics_destroy (&reg);
    roster_destroy (&roster);
}
END_TEST

int
main (void)
{
    Suite *s = suite_create ("discover");
    TCase *tc = tcase_create ("discover");
    tcase_set_timeout (tc, 30);
    tcase_add_test (tc, localhost_gives_the_loopback_stores_on_the_ports);
    tcase_add_test (tc, an_address_gives_itself);
    tcase_add_test (tc, a_name_that_does_not_resolve_gives_no_store);
    tcase_add_test (tc, the_thread_puts_the_stores_into_the_roster);
    tcase_add_test (tc, a_long_answer_is_read_whole);
    tcase_add_test (tc, nxdomain_keeps_the_stores_heard);
    suite_add_tcase (s, tc);
    return h_run_suite (s);
}
