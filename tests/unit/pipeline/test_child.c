/*
 * child: the exec provider's child process.  Its stdout and stderr arrive on
 * the pipes, extra environment entries reach it (and win over ours), a
 * program that cannot run is reported by child_spawn with the reason, its
 * signals are at their defaults even when the parent blocks them, it gets
 * /dev/null as stdin, and child_reap says how it ended.
 */
#include <check.h>
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pipeline/child.h"
#include "tests/integration/harness.h"

/* Everything on fd until its end (at most 10 s), NUL-terminated. */
static char *
s_read_all (int fd)
{
    size_t cap = 4096, len = 0;
    char *buf = malloc (cap);
    long long end = h_now_ms () + 10000;
    while (h_now_ms () < end) {
        struct pollfd p = { fd, POLLIN, 0 };
        if (poll (&p, 1, 100) <= 0)
            continue;
        ssize_t n = read (fd, buf + len, cap - len - 1);
        if (n == 0)
            break;
        if (n < 0) {
            if (errno == EAGAIN || errno == EINTR)
                continue;
            break;
        }
        len += (size_t)n;
        if (cap - len < 2)
            buf = realloc (buf, cap *= 2);
    }
    buf[len] = '\0';
    return buf;
}

/* Reap within 10 s; the description of the end. */
static void
s_reap (child_t *c, char *how, size_t howlen)
{
    long long end = h_now_ms () + 10000;
    while (!child_reap (c, how, howlen) && h_now_ms () < end)
        h_sleep_ms (5);
    ck_assert_int_eq (c->pid, 0);
}

START_TEST (stdout_stderr_env_and_the_exit_status_come_back)
{
    child_t c;
    char err[256] = "";
    char *const argv[] = { "sh", "-c", "echo out:$MDP_TEST_VAR; echo err >&2; exit 7", NULL };
    char *const env[] = { "MDP_TEST_VAR=hello", NULL };
    ck_assert_int_eq (child_spawn (&c, argv, env, err, sizeof err), 0);
    ck_assert_int_gt (c.pid, 0);
    char *out = s_read_all (c.out_fd);
    char *er = s_read_all (c.err_fd);
    ck_assert_str_eq (out, "out:hello\n");
    ck_assert_str_eq (er, "err\n");
    char how[64];
    s_reap (&c, how, sizeof how);
    ck_assert_str_eq (how, "exit 7");
    child_close_pipes (&c);
    free (out);
    free (er);
}
END_TEST

START_TEST (a_program_that_cannot_run_is_reported_with_the_reason)
{
    child_t c;
    char err[256] = "";
    char *const argv[] = { "/nonexistent/feed", NULL };
    ck_assert_int_eq (child_spawn (&c, argv, NULL, err, sizeof err), -1);
    ck_assert_msg (strstr (err, "cannot run /nonexistent/feed") && strstr (err, "No such file"),
                   "%s", err);
    ck_assert_int_eq (c.pid, 0);
    char *const argv2[] = { "no-such-program-on-path-mdflow", NULL };
    ck_assert_int_eq (child_spawn (&c, argv2, NULL, err, sizeof err), -1);
    ck_assert_msg (strstr (err, "no-such-program-on-path-mdflow"), "%s", err);
    char *const argv3[] = { "/etc/passwd", NULL }; /* not executable */
    ck_assert_int_eq (child_spawn (&c, argv3, NULL, err, sizeof err), -1);
    ck_assert_msg (strstr (err, "Permission denied") || strstr (err, "No such file"), "%s", err);
}
END_TEST

START_TEST (signals_are_at_their_defaults_in_the_child_and_stdin_is_empty)
{
    /* the services block SIGTERM for sigtimedwait: the child must not */
    sigset_t set, old;
    sigemptyset (&set);
    sigaddset (&set, SIGTERM);
    pthread_sigmask (SIG_BLOCK, &set, &old);
    child_t c;
    char err[256] = "";
    char *const argv[] = { "sh", "-c", "read line; echo stdin:$?; exec sleep 30", NULL };
    ck_assert_int_eq (child_spawn (&c, argv, NULL, err, sizeof err), 0);
    pthread_sigmask (SIG_SETMASK, &old, NULL);
    char buf[64] = "";
    long long end = h_now_ms () + 10000;
    ssize_t n = -1;
    while (n <= 0 && h_now_ms () < end) {
        n = read (c.out_fd, buf, sizeof buf - 1);
        if (n <= 0)
            h_sleep_ms (5);
    }
    ck_assert_int_gt (n, 0);
    ck_assert_str_eq (buf, "stdin:1\n"); /* read hit the end of /dev/null */
    child_signal (&c, SIGTERM);
    char how[64];
    s_reap (&c, how, sizeof how);
    ck_assert_str_eq (how, "killed by signal 15");
    child_close_pipes (&c);
    ck_assert_int_eq (c.out_fd, -1);
}
END_TEST

int
main (void)
{
    Suite *s = suite_create ("child");
    TCase *tc = tcase_create ("child");
    tcase_set_timeout (tc, 30);
    tcase_add_test (tc, stdout_stderr_env_and_the_exit_status_come_back);
    tcase_add_test (tc, a_program_that_cannot_run_is_reported_with_the_reason);
    tcase_add_test (tc, signals_are_at_their_defaults_in_the_child_and_stdin_is_empty);
    suite_add_tcase (s, tc);
    return h_run_suite (s);
}
