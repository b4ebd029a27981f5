/*
 * json: the one JSON string escaper the services use for the bodies they
 * build by hand (the store's /health answers and webhook events, the
 * pipeline's /control/reload errors).
 *
 * mdf_json_escape writes `text` as the content of a JSON string (without the
 * quotes): '"' and '\\' get a backslash, every control byte (< 0x20, and
 * 0x7f) becomes \u00XX, anything else is copied as it is, so UTF-8 passes
 * through unchanged (a byte that does not start a whole UTF-8 sequence is
 * copied alone).  The output always fits `size` with its NUL: a text too
 * long is cut between whole escapes and whole UTF-8 sequences, never inside
 * one, so the result is always valid JSON string content.
 */
#ifndef MDF_JSON_H
#define MDF_JSON_H

#include <stddef.h>

/* Escape `text` (NULL counts as "") into buf (size >= 1); returns buf. */
const char *mdf_json_escape (char *buf, size_t size, const char *text);

#endif
