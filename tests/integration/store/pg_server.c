/*
 * pg_server: start / stop a temporary PostgreSQL (see pg_server.h).
 * Child processes drop to the postgres user with setgid/setuid before exec.
 */
#include "pg_server.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <grp.h>
#include <libpq-fe.h>
#include <netinet/in.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

static int
s_free_port (void)
{
    int fd = socket (AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = { 0 };
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl (INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    int port = -1;
    if (fd >= 0 && bind (fd, (struct sockaddr *)&a, sizeof a) == 0
        && getsockname (fd, (struct sockaddr *)&a, &len) == 0)
        port = ntohs (a.sin_port);
    if (fd >= 0)
        close (fd);
    return port;
}

static bool
s_find_bindir (pg_server_t *pg)
{
    const char *env = getenv ("MDF_PG_BINDIR");
    const char *cands[] = { env, "/usr/lib/postgresql/15/bin", "/usr/lib/postgresql/16/bin",
                            "/usr/local/bin", "/usr/bin" };
    for (size_t i = 0; i < sizeof cands / sizeof cands[0]; i++) {
        if (!cands[i])
            continue;
        char path[512];
        snprintf (path, sizeof path, "%s/initdb", cands[i]);
        if (access (path, X_OK) == 0) {
            snprintf (pg->bindir, sizeof pg->bindir, "%s", cands[i]);
            return true;
        }
    }
    return false;
}

/* Run argv as `pw` (NULL: as ourselves), output to log; exit code or -1. */
static int
s_run (const struct passwd *pw, char *const argv[], const char *log)
{
    pid_t pid = fork ();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        if (pw
            && (setgid (pw->pw_gid) != 0 || initgroups (pw->pw_name, pw->pw_gid) != 0
                || setuid (pw->pw_uid) != 0))
            _exit (126);
        int fd = open (log, O_WRONLY | O_CREAT | O_APPEND, 0644); /* owned by the server user */
        if (fd >= 0) {
            dup2 (fd, 1);
            dup2 (fd, 2);
            close (fd);
        }
        execv (argv[0], argv);
        _exit (127);
    }
    int status;
    if (waitpid (pid, &status, 0) < 0)
        return -1;
    return WIFEXITED (status) ? WEXITSTATUS (status) : -1;
}

/* "what failed: <last line of the log>" into why (the log goes with the dir). */
static void
s_why (const char *what, const char *log, char *why, size_t whylen)
{
    char tail[400] = "";
    FILE *f = fopen (log, "r");
    if (f) {
        char line[400];
        while (fgets (line, sizeof line, f))
            if (strlen (line) > 1)
                memcpy (tail, line, sizeof tail);
        fclose (f);
    }
    tail[strcspn (tail, "\n")] = '\0';
    snprintf (why, whylen, "%s: %s", what, *tail ? tail : "(no output)");
}

static const struct passwd *
s_user (char *why, size_t whylen, bool *ok)
{
    *ok = true;
    if (geteuid () != 0)
        return NULL;
    const struct passwd *pw = getpwnam ("postgres");
    if (!pw) {
        snprintf (why, whylen,
                  "running as root and no 'postgres' user exists "
                  "(install the postgresql package)");
        *ok = false;
    }
    return pw;
}

/* pg_ctl start on the server's data directory and port; its exit code. */
static int
s_ctl_start (const pg_server_t *pg, const struct passwd *pw)
{
    char pgctl[512], data[300], log[300], opts[512];
    snprintf (pgctl, sizeof pgctl, "%s/pg_ctl", pg->bindir);
    snprintf (data, sizeof data, "%s/data", pg->dir);
    snprintf (log, sizeof log, "%s/server.log", pg->dir);
    snprintf (opts, sizeof opts, "-k %s -c listen_addresses=127.0.0.1 -p %d%s", pg->dir, pg->port,
              pg->durable ? "" : " -c fsync=off -c synchronous_commit=off -c full_page_writes=off");
    char *argv[] = { pgctl, "start", "-w", "-t", "30", "-D", data, "-l", log, "-o", opts, NULL };
    return s_run (pw, argv, log);
}

/* pg_ctl stop -m fast on the server's data directory; its exit code. */
static int
s_ctl_stop (const pg_server_t *pg, const struct passwd *pw)
{
    char pgctl[512], data[300], log[300];
    snprintf (pgctl, sizeof pgctl, "%s/pg_ctl", pg->bindir);
    snprintf (data, sizeof data, "%s/data", pg->dir);
    snprintf (log, sizeof log, "%s/server.log", pg->dir);
    char *argv[] = { pgctl, "stop", "-w", "-t", "30", "-m", "fast", "-D", data, NULL };
    return s_run (pw, argv, log);
}

int
pg_server_start (pg_server_t *pg, char *why, size_t whylen)
{
    return pg_server_start_ex (pg, false, why, whylen);
}

int
pg_server_start_ex (pg_server_t *pg, bool durable, char *why, size_t whylen)
{
    memset (pg, 0, sizeof *pg);
    if (!s_find_bindir (pg)) {
        snprintf (why, whylen, "PostgreSQL server binaries (initdb) not found");
        return -1;
    }
    bool ok;
    const struct passwd *pw = s_user (why, whylen, &ok);
    if (!ok)
        return -1;
    snprintf (pg->dir, sizeof pg->dir, "/tmp/mdf-pg-XXXXXX");
    if (!mkdtemp (pg->dir) || (pw && chown (pg->dir, pw->pw_uid, pw->pw_gid) != 0)) {
        snprintf (why, whylen, "cannot prepare a temporary directory");
        return -1;
    }
    pg->durable = durable;
    char initdb[512], data[300], log[300];
    snprintf (initdb, sizeof initdb, "%s/initdb", pg->bindir);
    snprintf (data, sizeof data, "%s/data", pg->dir);
    snprintf (log, sizeof log, "%s/server.log", pg->dir);
    char *init_argv[]
        = { initdb, "-D", data, "-A", "trust", "-U", "postgres", "-E", "UTF8", "--no-sync", NULL };
    if (s_run (pw, init_argv, log) != 0) {
        s_why ("initdb failed", log, why, whylen);
        return -1;
    }
    /* a free port may be taken by a parallel test before the server binds it */
    int rc = -1;
    for (int attempt = 0; attempt < 3 && rc != 0; attempt++) {
        pg->port = s_free_port ();
        rc = s_ctl_start (pg, pw);
    }
    if (rc != 0) {
        s_why ("pg_ctl start failed", log, why, whylen);
        return -1;
    }
    pg->running = true;
    snprintf (pg->conninfo, sizeof pg->conninfo,
              "host=127.0.0.1 port=%d user=postgres dbname=postgres connect_timeout=5", pg->port);
    return 0;
}

void
pg_server_stop (pg_server_t *pg)
{
    if (!pg->dir[0])
        return;
    if (pg->running) {
        bool ok;
        char why[256];
        s_ctl_stop (pg, s_user (why, sizeof why, &ok));
        pg->running = false;
    }
    char *rm_argv[] = { "/bin/rm", "-rf", pg->dir, NULL };
    s_run (NULL, rm_argv, "/dev/null");
    pg->dir[0] = '\0';
}

int
pg_server_halt (pg_server_t *pg)
{
    bool ok;
    char why[256];
    const struct passwd *pw = s_user (why, sizeof why, &ok);
    if (!pg->dir[0] || !ok || s_ctl_stop (pg, pw) != 0)
        return -1;
    pg->running = false;
    return 0;
}

int
pg_server_resume (pg_server_t *pg)
{
    bool ok;
    char why[256];
    const struct passwd *pw = s_user (why, sizeof why, &ok);
    if (!pg->dir[0] || !ok || s_ctl_start (pg, pw) != 0)
        return -1;
    pg->running = true;
    return 0;
}

long
pg_server_rows (const pg_server_t *pg)
{
    PGconn *c = PQconnectdb (pg->conninfo);
    long n = -1;
    if (PQstatus (c) == CONNECTION_OK) {
        PGresult *r = PQexec (c, "SELECT count(*) FROM bars");
        n = PQresultStatus (r) == PGRES_TUPLES_OK ? atol (PQgetvalue (r, 0, 0)) : -1;
        PQclear (r);
    }
    PQfinish (c);
    return n;
}
