/*
 * child: start a program with its stdout and stderr on pipes, for the exec
 * provider (pipeline/live.h).
 *
 * child_spawn resolves argv[0] on PATH in the parent, then forks; the child
 * asks for SIGKILL when the thread that started it ends
 * (PR_SET_PDEATHSIG: so it dies with the pipeline, even after a kill -9),
 * unblocks every signal and restores their default dispositions (the
 * services block SIGTERM and friends for sigtimedwait), puts stdin on
 * /dev/null and execs.  A program that cannot be run (not found, not
 * executable) is reported by child_spawn itself with errno's text, through
 * a close-on-exec pipe, rather than as an exit code later.  `env` entries
 * ("NAME=value") are added to the environment of the child.
 *
 * The pipes' parent ends are non-blocking and close-on-exec.  child_reap
 * collects the exit without blocking; child_signal sends a signal.  Not
 * thread-safe by itself: one thread owns a child_t.
 */
#ifndef PIPELINE_CHILD_H
#define PIPELINE_CHILD_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

typedef struct {
    pid_t pid;  /* 0: none */
    int out_fd; /* read end of its stdout, -1 once closed */
    int err_fd; /* read end of its stderr, -1 once closed */
} child_t;

/* Start argv (NULL-terminated, argv[0] looked up on PATH) with `env` (NULL
 * or NULL-terminated "NAME=value" strings added to ours).  0, or -1 with
 * err ("cannot run feed.py: No such file or directory"). */
int child_spawn (child_t *c, char *const *argv, char *const *env, char *err, size_t errlen);

/* Has it exited?  true once reaped, with a description of how it ended
 * ("exit 0", "killed by signal 9") in how. */
bool child_reap (child_t *c, char *how, size_t howlen);

/* Send sig if the child is still there. */
void child_signal (const child_t *c, int sig);

/* Close the pipes (the child is not waited for). */
void child_close_pipes (child_t *c);

#endif
