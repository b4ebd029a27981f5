/*
 * child: fork/exec with pipes.  See child.h.
 */
#include "pipeline/child.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

/* argv0 resolved on PATH into buf (argv0 itself when it has a '/'). */
static int
s_resolve (const char *argv0, char *buf, size_t buflen)
{
    if (strchr (argv0, '/')) {
        snprintf (buf, buflen, "%s", argv0);
        return access (buf, X_OK) == 0 ? 0 : -1;
    }
    const char *path = getenv ("PATH");
    if (!path || !*path)
        path = "/usr/local/bin:/usr/bin:/bin";
    int saved = ENOENT;
    for (const char *p = path; *p;) {
        const char *end = strchr (p, ':');
        size_t len = end ? (size_t)(end - p) : strlen (p);
        if (len > 0 && (size_t)snprintf (buf, buflen, "%.*s/%s", (int)len, p, argv0) < buflen) {
            if (access (buf, X_OK) == 0)
                return 0;
            if (errno != ENOENT)
                saved = errno;
        }
        p += len + (end ? 1 : 0);
    }
    errno = saved;
    return -1;
}

/* environ + extra, in a malloc'd array (the strings are borrowed). */
static char **
s_env (char *const *extra)
{
    size_t n = 0, k = 0;
    while (environ && environ[n])
        n++;
    while (extra && extra[k])
        k++;
    char **env = calloc (n + k + 1, sizeof *env);
    if (!env)
        return NULL;
    size_t o = 0;
    for (size_t i = 0; i < k; i++)
        env[o++] = extra[i];
    for (size_t i = 0; i < n; i++) {
        /* an extra NAME=... wins over ours */
        const char *eq = strchr (environ[i], '=');
        size_t nl = eq ? (size_t)(eq - environ[i]) : strlen (environ[i]);
        bool dup = false;
        for (size_t j = 0; j < k && !dup; j++)
            dup = strncmp (extra[j], environ[i], nl) == 0 && extra[j][nl] == '=';
        if (!dup)
            env[o++] = environ[i];
    }
    return env;
}

/* In the forked child: only async-signal-safe calls from here on. */
static void
s_exec (const char *path, char *const *argv, char **env, int out_w, int err_w, int status_w)
{
    prctl (PR_SET_PDEATHSIG, SIGKILL);
    sigset_t none;
    sigemptyset (&none);
    sigprocmask (SIG_SETMASK, &none, NULL);
    for (int sig = 1; sig < NSIG; sig++)
        if (sig != SIGKILL && sig != SIGSTOP)
            signal (sig, SIG_DFL);
    int devnull = open ("/dev/null", O_RDONLY);
    if (devnull >= 0)
        dup2 (devnull, 0);
    dup2 (out_w, 1);
    dup2 (err_w, 2);
    execve (path, argv, env);
    int e = errno;
    ssize_t rc = write (status_w, &e, sizeof e);
    (void)rc;
    _exit (127);
}

int
child_spawn (child_t *c, char *const *argv, char *const *extra_env, char *err, size_t errlen)
{
    c->pid = 0;
    c->out_fd = c->err_fd = -1;
    char path[PATH_MAX];
    if (!argv || !argv[0] || s_resolve (argv[0], path, sizeof path) < 0) {
        snprintf (err, errlen, "cannot run %s: %s", argv && argv[0] ? argv[0] : "(none)",
                  strerror (errno));
        return -1;
    }
    int out[2] = { -1, -1 }, errp[2] = { -1, -1 }, st[2] = { -1, -1 };
    char **env = s_env (extra_env);
    if (!env || pipe2 (out, O_CLOEXEC) < 0 || pipe2 (errp, O_CLOEXEC) < 0
        || pipe2 (st, O_CLOEXEC) < 0) {
        snprintf (err, errlen, "cannot run %s: %s", argv[0], env ? strerror (errno) : "no memory");
        goto fail;
    }
    pid_t pid = fork ();
    if (pid < 0) {
        snprintf (err, errlen, "cannot run %s: fork: %s", argv[0], strerror (errno));
        goto fail;
    }
    if (pid == 0)
        s_exec (path, argv, env, out[1], errp[1], st[1]);
    free (env);
    env = NULL;
    close (out[1]);
    close (errp[1]);
    close (st[1]);
    out[1] = errp[1] = st[1] = -1;
    int e = 0;
    ssize_t got;
    do
        got = read (st[0], &e, sizeof e);
    while (got < 0 && errno == EINTR);
    close (st[0]);
    st[0] = -1;
    if (got == (ssize_t)sizeof e) { /* exec failed */
        waitpid (pid, NULL, 0);
        snprintf (err, errlen, "cannot run %s: %s", argv[0], strerror (e));
        goto fail;
    }
    fcntl (out[0], F_SETFL, fcntl (out[0], F_GETFL) | O_NONBLOCK);
    fcntl (errp[0], F_SETFL, fcntl (errp[0], F_GETFL) | O_NONBLOCK);
    c->pid = pid;
    c->out_fd = out[0];
    c->err_fd = errp[0];
    return 0;
fail:
    free (env);
    for (int i = 0; i < 2; i++) {
        if (out[i] >= 0)
            close (out[i]);
        if (errp[i] >= 0)
            close (errp[i]);
        if (st[i] >= 0)
            close (st[i]);
    }
    return -1;
}

bool
child_reap (child_t *c, char *how, size_t howlen)
{
    if (c->pid <= 0)
        return true;
    int status = 0;
    pid_t r = waitpid (c->pid, &status, WNOHANG);
    if (r == 0)
        return false;
    if (r < 0)
        snprintf (how, howlen, "lost (%s)", strerror (errno));
    else if (WIFEXITED (status))
        snprintf (how, howlen, "exit %d", WEXITSTATUS (status));
    else if (WIFSIGNALED (status))
        snprintf (how, howlen, "killed by signal %d", WTERMSIG (status));
    else
        snprintf (how, howlen, "ended (status %d)", status);
    c->pid = 0;
    return true;
}

void
child_signal (const child_t *c, int sig)
{
    if (c->pid > 0)
        kill (c->pid, sig);
}

void
child_close_pipes (child_t *c)
{
    if (c->out_fd >= 0)
        close (c->out_fd);
    if (c->err_fd >= 0)
        close (c->err_fd);
    c->out_fd = c->err_fd = -1;
}
