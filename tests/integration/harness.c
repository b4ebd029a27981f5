/*
 * harness: spawning and observing the real binaries in integration tests.
 *
 * Everything here waits on something observable with a deadline (a port that
 * answers, a metric that reaches a value, a child that exits); nothing sleeps
 * "to let things settle".  Children are started with fork/exec in their own
 * process group so a test can stop one and everything it spawned by PID, and
 * die with the test process (PR_SET_PDEATHSIG) when a failed check ends it;
 * every child and every directory a test owns is recorded so that a failed
 * test can print the logs and clean up (h_kill_all) and the runner can reap
 * what a test that died left (h_reaper_reap).
 * HTTP and metrics are harness_http.c.
 */
#include "tests/integration/harness.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <netinet/in.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

/* ---- the record of children and directories (see harness.h) ---- */

#define S_MAX_CHILDREN 64
#define S_MAX_DIRS 16
#define S_CMD_MAX 1024

typedef struct {
    pid_t pid; /* 0 once reaped */
    char log[512];
} s_child_t;

static s_child_t s_children[S_MAX_CHILDREN];
static size_t s_nchildren;
static char *s_dirs[S_MAX_DIRS];
static size_t s_ndirs;
static char s_reaper[512]; /* registry file, "" when not open */

/* Append one line to the registry file (when open). */
static void
s_reaper_note (const char *kind, long pid, const char *text)
{
    if (!*s_reaper)
        return;
    FILE *f = fopen (s_reaper, "a");
    if (f) {
        fprintf (f, "%s %ld %s\n", kind, pid, text);
        fclose (f);
    }
}

/* argv joined by spaces, as /proc/PID/cmdline reads with NULs turned into
 * spaces (cut at S_CMD_MAX - 1 bytes either way). */
static void
s_cmdline (char *const argv[], char *out)
{
    size_t o = 0;
    out[0] = '\0';
    for (size_t i = 0; argv[i] && o < S_CMD_MAX - 1; i++)
        o += (size_t)snprintf (out + o, S_CMD_MAX - o, "%s%s", i ? " " : "", argv[i]);
    if (o > S_CMD_MAX - 1)
        out[S_CMD_MAX - 1] = '\0';
}

static void
s_record (pid_t pid, char *const argv[], const char *log)
{
    if (s_nchildren < S_MAX_CHILDREN) {
        s_child_t *c = &s_children[s_nchildren++];
        c->pid = pid;
        snprintf (c->log, sizeof c->log, "%s", log);
    }
    char cmd[S_CMD_MAX];
    s_cmdline (argv, cmd);
    s_reaper_note ("p", (long)pid, cmd);
}

static void
s_reaped (pid_t pid)
{
    for (size_t i = 0; i < s_nchildren; i++)
        if (s_children[i].pid == pid)
            s_children[i].pid = 0;
}

/* Forget a child whose log is `log` (h_run's, deleted once read). */
static void
s_forget (const char *log)
{
    for (size_t i = 0; i < s_nchildren; i++)
        if (strcmp (s_children[i].log, log) == 0) {
            s_children[i] = s_children[--s_nchildren];
            i--;
        }
}

/* True when the log of child i was already seen at a lower index. */
static bool
s_seen_log (size_t i)
{
    for (size_t k = 0; k < i; k++)
        if (strcmp (s_children[k].log, s_children[i].log) == 0)
            return true;
    return false;
}

static void
s_forget_all (bool remove_dirs)
{
    for (size_t i = 0; i < s_ndirs; i++) {
        if (remove_dirs)
            h_rmtree (s_dirs[i]);
        free (s_dirs[i]);
    }
    s_ndirs = 0;
    s_nchildren = 0;
}

long long
h_now_ms (void)
{
    struct timespec ts;
    clock_gettime (CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000LL + ts.tv_nsec / 1000000LL;
}

void
h_sleep_ms (int ms)
{
    struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };
    while (nanosleep (&ts, &ts) == -1 && errno == EINTR)
        ;
}

char *
h_strf (const char *fmt, ...)
{
    va_list ap;
    va_start (ap, fmt);
    char *out = NULL;
    if (vasprintf (&out, fmt, ap) < 0)
        out = NULL;
    va_end (ap);
    return out;
}

static char *
s_root_path (const char *var, const char *fallback, const char *rel)
{
    const char *root = getenv (var);
    if (!root || !*root)
        root = fallback;
    return h_strf ("%s/%s", root, rel);
}

char *
h_build_path (const char *rel)
{
    return s_root_path ("MDF_BUILD_ROOT", ".", rel);
}

char *
h_source_path (const char *rel)
{
    return s_root_path ("MDF_SOURCE_ROOT", "..", rel);
}

/* The low end of the ephemeral port range (32768 when it cannot be read). */
static int
s_ephemeral_low (void)
{
    int low = 32768, high = 60999;
    FILE *f = fopen ("/proc/sys/net/ipv4/ip_local_port_range", "r");
    if (f) {
        if (fscanf (f, "%d %d", &low, &high) != 2)
            low = 32768;
        fclose (f);
    }
    return low;
}

static bool
s_bindable (int port)
{
    int fd = socket (AF_INET, SOCK_STREAM, 0);
    if (fd < 0)
        return false;
    struct sockaddr_in addr = { 0 };
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl (INADDR_LOOPBACK);
    addr.sin_port = htons ((uint16_t)port);
    bool ok = bind (fd, (struct sockaddr *)&addr, sizeof addr) == 0;
    close (fd);
    return ok;
}

int
h_free_port (void)
{
    static uint64_t rng;
    static uint8_t given[65536 / 8]; /* ports this process handed out */
    if (!rng)
        rng = ((uint64_t)getpid () << 32) ^ (uint64_t)h_now_ms () ^ 0x9e3779b97f4a7c15ULL;
    int low = 10000, span = s_ephemeral_low () - low;
    for (int tries = 0; span > 1000 && tries < 1000; tries++) {
        rng ^= rng >> 12, rng ^= rng << 25, rng ^= rng >> 27;
        int port = low + (int)((rng * 2685821657736338717ULL >> 33) % (uint64_t)span);
        if (given[port / 8] & (1u << (port % 8)) || !s_bindable (port))
            continue;
        given[port / 8] |= (uint8_t)(1u << (port % 8));
        return port;
    }
    return -1;
}

char *
h_tmpdir (void)
{
    const char *base = getenv ("TMPDIR");
    char *tmpl = h_strf ("%s/mdflow-test-XXXXXX", base && *base ? base : "/tmp");
    if (tmpl && !mkdtemp (tmpl)) {
        free (tmpl);
        return NULL;
    }
    return tmpl;
}

static int
s_rm_entry (const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove (path);
}

void
h_rmtree (const char *dir)
{
    if (dir && *dir)
        nftw (dir, s_rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

char *
h_write_file (const char *dir, const char *name, const char *content)
{
    char *path = h_strf ("%s/%s", dir, name);
    FILE *f = path ? fopen (path, "w") : NULL;
    if (!f) {
        free (path);
        return NULL;
    }
    fputs (content, f);
    fclose (f);
    return path;
}

/* Build envp = environ + extra (extra entries win by being found first by
 * getenv in the child: we put them before the inherited ones). */
static char **
s_make_env (char *const extra[])
{
    size_t n_env = 0, n_extra = 0;
    while (environ[n_env])
        n_env++;
    while (extra && extra[n_extra])
        n_extra++;
    char **envp = calloc (n_env + n_extra + 1, sizeof *envp);
    if (!envp)
        return NULL;
    size_t k = 0;
    for (size_t i = 0; i < n_extra; i++)
        envp[k++] = extra[i];
    for (size_t i = 0; i < n_env; i++) {
        const char *eq = strchr (environ[i], '=');
        size_t keylen = eq ? (size_t)(eq - environ[i]) : strlen (environ[i]);
        int overridden = 0;
        for (size_t j = 0; j < n_extra; j++)
            if (strncmp (extra[j], environ[i], keylen) == 0 && extra[j][keylen] == '=')
                overridden = 1;
        if (!overridden)
            envp[k++] = environ[i];
    }
    return envp;
}

int
h_spawn (h_proc_t *proc, char *const argv[], char *const env[], const char *log_path)
{
    memset (proc, 0, sizeof *proc);
    snprintf (proc->log_path, sizeof proc->log_path, "%s", log_path ? log_path : "/dev/null");
    char **envp = s_make_env (env);
    if (!envp)
        return -1;
    pid_t parent = getpid ();
    pid_t pid = fork ();
    if (pid < 0) {
        free (envp);
        return -1;
    }
    if (pid == 0) {
        setpgid (0, 0);
        /* A failed check ends the test process without running its clean-up:
         * take the service down with it instead of leaving it running. */
        prctl (PR_SET_PDEATHSIG, SIGKILL);
        if (getppid () != parent)
            _exit (127);
        int fd = open (proc->log_path, O_WRONLY | O_CREAT | O_APPEND, 0644);
        if (fd >= 0) {
            dup2 (fd, 1);
            dup2 (fd, 2);
            close (fd);
        }
        int devnull = open ("/dev/null", O_RDONLY);
        if (devnull >= 0) {
            dup2 (devnull, 0);
            close (devnull);
        }
        execve (argv[0], argv, envp);
        fprintf (stderr, "harness: exec %s: %s\n", argv[0], strerror (errno));
        _exit (127);
    }
    free (envp);
    proc->pid = pid;
    s_record (pid, argv, proc->log_path);
    return 0;
}

static int
s_decode_status (int status)
{
    if (WIFEXITED (status))
        return WEXITSTATUS (status);
    if (WIFSIGNALED (status))
        return 128 + WTERMSIG (status);
    return -1;
}

bool
h_running (h_proc_t *proc)
{
    if (proc->pid <= 0)
        return false;
    int status = 0;
    pid_t r = waitpid (proc->pid, &status, WNOHANG);
    if (r == proc->pid || (r < 0 && errno != EINTR)) {
        if (r == proc->pid)
            s_reaped (proc->pid);
        proc->pid = 0;
        return false;
    }
    return true;
}

int
h_wait (h_proc_t *proc, int timeout_ms)
{
    if (proc->pid <= 0)
        return -1;
    long long deadline = h_now_ms () + timeout_ms;
    for (;;) {
        int status = 0;
        pid_t r = waitpid (proc->pid, &status, WNOHANG);
        if (r == proc->pid) {
            s_reaped (proc->pid);
            proc->pid = 0;
            return s_decode_status (status);
        }
        if (r < 0 && errno != EINTR) {
            proc->pid = 0;
            return -1;
        }
        if (h_now_ms () >= deadline)
            return -1;
        h_sleep_ms (10);
    }
}

void
h_signal (h_proc_t *proc, int sig)
{
    if (proc->pid > 0)
        kill (proc->pid, sig);
}

int
h_stop (h_proc_t *proc, int timeout_ms)
{
    if (proc->pid <= 0)
        return -1;
    kill (proc->pid, SIGTERM);
    int rc = h_wait (proc, timeout_ms);
    if (rc == -1 && proc->pid > 0) {
        kill (-proc->pid, SIGKILL);
        kill (proc->pid, SIGKILL);
        rc = h_wait (proc, 5000);
    }
    return rc;
}

static char *
s_slurp (const char *path)
{
    FILE *f = fopen (path, "r");
    if (!f)
        return NULL;
    size_t cap = 4096, len = 0;
    char *buf = malloc (cap);
    size_t n;
    while (buf && (n = fread (buf + len, 1, cap - len - 1, f)) > 0) {
        len += n;
        if (cap - len < 2) {
            char *bigger = realloc (buf, cap * 2);
            if (!bigger) {
                free (buf);
                buf = NULL;
                break;
            }
            buf = bigger;
            cap *= 2;
        }
    }
    fclose (f);
    if (buf)
        buf[len] = '\0';
    return buf;
}

void
h_dump_log (const h_proc_t *proc)
{
    char *text = s_slurp (proc->log_path);
    fprintf (stderr, "----- %s -----\n%s\n-----\n", proc->log_path, text ? text : "(unreadable)");
    free (text);
}

bool
h_log_contains (const h_proc_t *proc, const char *needle)
{
    char *text = s_slurp (proc->log_path);
    bool found = text && strstr (text, needle);
    free (text);
    return found;
}

bool
h_log_sanitizer (const h_proc_t *proc)
{
    char *text = s_slurp (proc->log_path);
    bool found = text && (strstr (text, "Sanitizer") || strstr (text, "runtime error:"));
    free (text);
    return found;
}

void
h_own_dir (const char *dir)
{
    if (!dir || !*dir)
        return;
    char *copy = strdup (dir);
    if (copy && s_ndirs < S_MAX_DIRS)
        s_dirs[s_ndirs++] = copy;
    else
        free (copy);
    s_reaper_note ("d", 0, dir);
}

void
h_kill_all (void)
{
    for (size_t i = 0; i < s_nchildren; i++) {
        h_proc_t p = { .pid = s_children[i].pid };
        snprintf (p.log_path, sizeof p.log_path, "%s", s_children[i].log);
        if (p.pid > 0) {
            kill (-p.pid, SIGKILL);
            kill (p.pid, SIGKILL);
            h_wait (&p, 5000);
        }
        if (!s_seen_log (i))
            h_dump_log (&p);
    }
    s_forget_all (true);
}

int
h_stop_all (int timeout_ms)
{
    int rc = 0;
    for (size_t i = 0; i < s_nchildren; i++) {
        h_proc_t p = { .pid = s_children[i].pid };
        snprintf (p.log_path, sizeof p.log_path, "%s", s_children[i].log);
        if (p.pid > 0)
            h_stop (&p, timeout_ms);
        if (!s_seen_log (i) && h_log_sanitizer (&p)) {
            fprintf (stderr, "harness: a sanitizer report in %s\n", p.log_path);
            h_dump_log (&p);
            rc = -1;
        }
    }
    s_forget_all (false);
    return rc;
}

void
h_reaper_open (void)
{
    char *dir = h_tmpdir ();
    snprintf (s_reaper, sizeof s_reaper, "%s/started", dir ? dir : "/tmp");
    free (dir);
}

/* True while `pid` runs `cmd` (its /proc cmdline, NULs read as spaces). */
static bool
s_runs (long pid, const char *cmd)
{
    char path[64], text[S_CMD_MAX];
    snprintf (path, sizeof path, "/proc/%ld/cmdline", pid);
    FILE *f = fopen (path, "r");
    if (!f)
        return false;
    size_t n = fread (text, 1, sizeof text - 1, f);
    fclose (f);
    while (n && text[n - 1] == '\0')
        n--;
    for (size_t i = 0; i < n; i++)
        if (text[i] == '\0')
            text[i] = ' ';
    text[n] = '\0';
    return n > 0 && strcmp (text, cmd) == 0;
}

void
h_reaper_reap (void)
{
    if (!*s_reaper)
        return;
    FILE *f = fopen (s_reaper, "r");
    char line[S_CMD_MAX + 64];
    while (f && fgets (line, sizeof line, f)) {
        line[strcspn (line, "\n")] = '\0';
        char kind = line[0];
        char *rest = NULL;
        long pid = line[0] ? strtol (line + 1, &rest, 10) : 0;
        if (!rest || *rest != ' ')
            continue;
        rest++;
        if (kind == 'p' && pid > 0 && s_runs (pid, rest)) {
            fprintf (stderr, "harness: stopping orphaned process %ld (%s)\n", pid, rest);
            kill ((pid_t)pid, SIGKILL);
            for (int i = 0; i < 100 && s_runs (pid, rest); i++)
                h_sleep_ms (10);
        } else if (kind == 'd')
            h_rmtree (rest);
    }
    if (f)
        fclose (f);
    char *slash = strrchr (s_reaper, '/');
    if (slash)
        *slash = '\0';
    h_rmtree (s_reaper);
    s_reaper[0] = '\0';
}

int
h_run_suite_reaped (Suite *s)
{
    h_reaper_open ();
    int rc = h_run_suite (s);
    h_reaper_reap ();
    return rc;
}

int
h_run (char *const argv[], char *const env[], int timeout_ms, char **output)
{
    char path[] = "/tmp/mdflow-run-XXXXXX";
    int fd = mkstemp (path);
    if (fd < 0)
        return -1;
    close (fd);
    h_proc_t proc;
    int rc = -1;
    if (h_spawn (&proc, argv, env, path) == 0) {
        rc = h_wait (&proc, timeout_ms);
        if (rc == -1)
            h_stop (&proc, 2000);
    }
    if (output)
        *output = s_slurp (path);
    s_forget (path);
    unlink (path);
    return rc;
}

bool
h_wait_flag (atomic_int *flag, int timeout_ms)
{
    long long deadline = h_now_ms () + timeout_ms;
    while (!atomic_load (flag)) {
        if (h_now_ms () >= deadline)
            return false;
        h_sleep_ms (1);
    }
    return true;
}

long
h_db_rows (const char *db)
{
    sqlite3 *h = NULL;
    long rows = -1;
    if (sqlite3_open_v2 (db, &h, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK) {
        sqlite3_busy_timeout (h, 5000);
        sqlite3_stmt *st = NULL;
        if (sqlite3_prepare_v2 (h, "SELECT count(*) FROM bars", -1, &st, NULL) == SQLITE_OK
            && sqlite3_step (st) == SQLITE_ROW)
            rows = (long)sqlite3_column_int64 (st, 0);
        sqlite3_finalize (st);
    }
    sqlite3_close (h);
    return rows;
}

int
h_wait_until (bool (*cond) (void *arg), void *arg, int timeout_ms)
{
    long long deadline = h_now_ms () + timeout_ms;
    for (;;) {
        if (cond (arg))
            return 0;
        if (h_now_ms () >= deadline)
            return -1;
        h_sleep_ms (20);
    }
}
