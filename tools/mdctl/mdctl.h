/*
 * mdctl: the operator tool of mdflow, one subcommand per file.
 *
 *   watch.c    live view of the stores' feedback (dashboard or plain lines)
 *   publish.c  bind an XPUB and publish test feedback events (drills, tests)
 *   send.c     send a CSV file of bars to a store, with acks and resends
 *   record.c   sample feedback and metrics over time into a CSV file
 *   plot.c     draw such a CSV with gnuplot
 *
 * Shared pieces live beside them, one concept each: util.c (signal flag,
 * number parsing, time formatting, usage errors), feed.{h,c} (SUB sockets that
 * yield decoded feedback events), scrape.{h,c} (GET /metrics and read series),
 * view.{h,c} (what watch draws), csv.{h,c} (the bar file reader).
 *
 * mdctl never touches msgpack: every body goes through proto/.  Exit codes are
 * the product's: 0 done, 1 runtime failure, 2 bad usage or bad input file.
 */
#ifndef MDCTL_H
#define MDCTL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <getopt.h>

#define MDCTL_EXIT_OK 0
#define MDCTL_EXIT_FAIL 1
#define MDCTL_EXIT_USAGE 2

/* Subcommand entry points: argv[0] is the subcommand name.  Each returns the
 * process exit code. */
int mdctl_watch_main (int argc, char **argv);
int mdctl_publish_main (int argc, char **argv);
int mdctl_send_main (int argc, char **argv);
int mdctl_record_main (int argc, char **argv);
int mdctl_plot_main (int argc, char **argv);
int mdctl_keygen_main (int argc, char **argv);

/* CURVE client keys for publish/watch/send (curve.c): --curve-secret FILE
 * (zcert secret file) and --curve-server-key KEY (Z85 text or a cert file).
 * mdctl_curve_apply: 0 (also when both are NULL: plain) or -1 with a message
 * on stderr.  `server` true makes the socket a CURVE server instead (publish:
 * a drill XPUB with its own keypair; --curve-server-key ignored). */
int mdctl_curve_apply (const char *cmd, void *sock, const char *secret_file, const char *server_key,
                       bool server);

/* Install SIGINT/SIGTERM handlers that only raise the process's one flag
 * (no SA_RESTART, so blocking polls return early), and ignore SIGPIPE. */
void mdctl_signals_install (void);

/* True once SIGINT or SIGTERM arrived. */
bool mdctl_interrupted (void);

/* Parse a whole decimal integer / number within [min, max].  0, or -1 when the
 * text is empty, has trailing characters or is out of range. */
int mdctl_parse_i64 (const char *text, int64_t min, int64_t max, int64_t *out);
int mdctl_parse_f64 (const char *text, double min, double max, double *out);

/* Print "mdctl CMD: message" and a hint to run --help on stderr; returns
 * MDCTL_EXIT_USAGE so callers can `return mdctl_usage_error (...)`. */
int mdctl_usage_error (const char *cmd, const char *fmt, ...)
    __attribute__ ((format (printf, 2, 3)));

/* Print "mdctl CMD: message" on stderr (runtime failures). */
void mdctl_fail (const char *cmd, const char *fmt, ...) __attribute__ ((format (printf, 2, 3)));

/* The long name of the option whose getopt value is `val` ("?" if none). */
const char *mdctl_opt_name (const struct option *opts, int val);

/* Wall seconds as RFC 3339 UTC with milliseconds ("2026-11-22T22:30:01.123Z");
 * with time_only, just "22:30:01.123".  Returns buf. */
const char *mdctl_fmt_wall (double ts, bool time_only, char *buf, size_t size);

/* Validate "HOST:PORT" and build "http://HOST:PORT<path>".  0, or -1 with err. */
int mdctl_http_url (const char *hostport, const char *path, char *buf, size_t size, char *err,
                    size_t errlen);

/* Write `text` as a logfmt value into buf: unchanged when it is a plain token,
 * else double-quoted with \" and \\ escaped; "" becomes "-".  Returns buf. */
const char *mdctl_quote (const char *text, char *buf, size_t size);

#endif
