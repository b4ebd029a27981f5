/*
 * test_toml: the TOML reader.
 *
 * Part one checks each feature and the error messages (NAME:LINE:COL) a user
 * sees.  Part two runs the public toml-test suite ($MDF_TOML_TEST_DIR, the
 * files-toml-1.0.0 list): every valid/X.toml must parse to the tree described
 * by valid/X.json (a tiny JSON reader below; tagged scalars compared exactly:
 * integers as integers, floats numerically incl. nan/inf, strings bytewise,
 * date-times by canonical text) and every invalid/X.toml must be rejected.
 * Only families listed in s_unsupported are skipped; it is empty, since the
 * reader supports all of TOML 1.0.0.
 *
 * The two parts are two meson tests: `toml` (no argument) and
 * `toml-conformance` (argument "conformance").  The corpus is not part of the
 * repository: without $MDF_TOML_TEST_DIR, or when it holds no
 * files-toml-1.0.0, the conformance test is skipped (exit 77, meson's
 * "skipped") with a message saying how to point it at a checkout.
 */
#include "common/toml.h"

#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tests/integration/harness.h"

static mdf_toml_t *
s_parse (const char *text, char *err)
{
    return mdf_toml_parse (text, strlen (text), "t.toml", err, 256);
}

/* Parsing must fail with exactly `want`. */
static void
s_expect_error (const char *text, const char *want)
{
    char err[256];
    mdf_toml_t *root = s_parse (text, err);
    ck_assert_msg (root == NULL, "accepted: %s", text);
    ck_assert_str_eq (err, want);
}

static const mdf_toml_t *
s_path (const mdf_toml_t *t, const char *a, const char *b)
{
    const mdf_toml_t *v = mdf_toml_get (t, a);
    return v && b ? mdf_toml_get (v, b) : v;
}

/* ------------------------------------------------------------ features */

START_TEST (tables_keep_document_order_and_positions)
{
    char err[256];
    mdf_toml_t *root = s_parse ("# top\nname = \"x\"\n\n[queue]\ncapacity = 10\n"
                                "  high.water = 8\n[[p]]\nid = 1\n[[p]]\nid = 2\n",
                                err);
    ck_assert_msg (root != NULL, "%s", err);
    ck_assert_uint_eq (mdf_toml_len (root), 3);
    ck_assert_str_eq (mdf_toml_key_at (root, 0), "name");
    ck_assert_str_eq (mdf_toml_key_at (root, 1), "queue");
    ck_assert_str_eq (mdf_toml_key_at (root, 2), "p");
    const mdf_toml_t *cap = s_path (root, "queue", "capacity");
    ck_assert_int_eq (mdf_toml_type (cap), MDF_TOML_INTEGER);
    ck_assert_int_eq (mdf_toml_int (cap), 10);
    ck_assert_int_eq (mdf_toml_line (cap), 5);
    ck_assert_int_eq (mdf_toml_column (cap), 12);
    const mdf_toml_t *hw = s_path (s_path (root, "queue", "high"), "water", NULL);
    ck_assert_int_eq (mdf_toml_int (hw), 8);
    ck_assert_int_eq (mdf_toml_line (s_path (root, "queue", NULL)), 4);
    const mdf_toml_t *p = mdf_toml_get (root, "p");
    ck_assert_int_eq (mdf_toml_type (p), MDF_TOML_ARRAY);
    ck_assert_uint_eq (mdf_toml_len (p), 2);
    ck_assert_int_eq (mdf_toml_int (mdf_toml_get (mdf_toml_at (p, 1), "id")), 2);
    ck_assert_int_eq (mdf_toml_line (mdf_toml_at (p, 1)), 9);
    ck_assert_ptr_null (mdf_toml_at (p, 2));
    ck_assert_ptr_null (mdf_toml_get (root, "missing"));
    mdf_toml_destroy (&root);
    ck_assert_ptr_null (root);
}
END_TEST

START_TEST (strings_decode_every_escape)
{
    char err[256];
    mdf_toml_t *root = s_parse ("a = \"tab\\t nl\\n q\\\" bs\\\\ \\b\\f\\r\"\n"
                                "b = \"\\u00E9\\U0001F600\\u0000z\"\n"
                                "c = 'C:\\no\\escape'\n"
                                "d = \"\"\"\nline1\n  line2 \\\n    joined\"\"\"\n"
                                "e = '''\n raw \\n '''\n"
                                "f = \"\"\"two quotes at the end\"\"\"\"\"\n"
                                "\"quoted key\" = 1\n'lit key' = 2\n",
                                err);
    ck_assert_msg (root != NULL, "%s", err);
    ck_assert_str_eq (mdf_toml_string (mdf_toml_get (root, "a")), "tab\t nl\n q\" bs\\ \b\f\r");
    const mdf_toml_t *b = mdf_toml_get (root, "b");
    ck_assert_uint_eq (mdf_toml_string_len (b), 2 + 4 + 1 + 1);
    ck_assert_int_eq (memcmp (mdf_toml_string (b), "\xC3\xA9\xF0\x9F\x98\x80\0z", 8), 0);
    ck_assert_str_eq (mdf_toml_string (mdf_toml_get (root, "c")), "C:\\no\\escape");
    ck_assert_str_eq (mdf_toml_string (mdf_toml_get (root, "d")), "line1\n  line2 joined");
    ck_assert_str_eq (mdf_toml_string (mdf_toml_get (root, "e")), " raw \\n ");
    ck_assert_str_eq (mdf_toml_string (mdf_toml_get (root, "f")), "two quotes at the end\"\"");
    ck_assert_int_eq (mdf_toml_int (mdf_toml_get (root, "quoted key")), 1);
    ck_assert_int_eq (mdf_toml_int (mdf_toml_get (root, "lit key")), 2);
    mdf_toml_destroy (&root);
}
END_TEST

START_TEST (integers_in_every_base_with_overflow_detected)
{
    char err[256];
    mdf_toml_t *root = s_parse ("a = 1_000\nb = -17\nc = 0xDEAD_beef\nd = 0o755\ne = 0b1101\n"
                                "max = 9223372036854775807\nmin = -9223372036854775808\n"
                                "z = +0\n",
                                err);
    ck_assert_msg (root != NULL, "%s", err);
    ck_assert_int_eq (mdf_toml_int (mdf_toml_get (root, "a")), 1000);
    ck_assert_int_eq (mdf_toml_int (mdf_toml_get (root, "b")), -17);
    ck_assert_int_eq (mdf_toml_int (mdf_toml_get (root, "c")), 0xDEADBEEF);
    ck_assert_int_eq (mdf_toml_int (mdf_toml_get (root, "d")), 0755);
    ck_assert_int_eq (mdf_toml_int (mdf_toml_get (root, "e")), 13);
    ck_assert_int_eq (mdf_toml_int (mdf_toml_get (root, "max")), INT64_MAX);
    ck_assert_int_eq (mdf_toml_int (mdf_toml_get (root, "min")), INT64_MIN);
    ck_assert_int_eq (mdf_toml_int (mdf_toml_get (root, "z")), 0);
    mdf_toml_destroy (&root);
    s_expect_error ("x = 9223372036854775808\n", "t.toml:1:5: integer out of range");
    s_expect_error ("x = 0x1_0000_0000_0000_0000\n", "t.toml:1:5: integer out of range");
    s_expect_error ("x = 012\n", "t.toml:1:5: leading zeros are not allowed");
    s_expect_error ("x = 1__2\n", "t.toml:1:5: invalid number");
    s_expect_error ("x = -0x1\n",
                    "t.toml:1:5: a sign is not allowed on hexadecimal, octal or binary integers");
    s_expect_error ("x = 0b102\n", "t.toml:1:5: invalid binary integer");
}
END_TEST

START_TEST (floats_with_exponents_inf_and_nan)
{
    char err[256];
    mdf_toml_t *root = s_parse ("a = 3.14\nb = -1e-3\nc = 6.626_070e-34\nd = -inf\ne = nan\n"
                                "f = 1E+2\n",
                                err);
    ck_assert_msg (root != NULL, "%s", err);
    ck_assert_int_eq (mdf_toml_type (mdf_toml_get (root, "a")), MDF_TOML_FLOAT);
    ck_assert_double_eq (mdf_toml_float (mdf_toml_get (root, "a")), 3.14);
    ck_assert_double_eq (mdf_toml_float (mdf_toml_get (root, "b")), -1e-3);
    ck_assert_double_eq (mdf_toml_float (mdf_toml_get (root, "c")), 6.626070e-34);
    ck_assert (isinf (mdf_toml_float (mdf_toml_get (root, "d"))));
    ck_assert (mdf_toml_float (mdf_toml_get (root, "d")) < 0);
    ck_assert (isnan (mdf_toml_float (mdf_toml_get (root, "e"))));
    ck_assert_double_eq (mdf_toml_float (mdf_toml_get (root, "f")), 100.0);
    mdf_toml_destroy (&root);
    s_expect_error ("x = 1.\n", "t.toml:1:5: invalid number");
    s_expect_error ("x = .5\n", "t.toml:1:5: expected a value");
    s_expect_error ("x = 1e1_000\n", "t.toml:1:5: float out of range");
    s_expect_error ("x = 1._5\n", "t.toml:1:5: invalid number");
}
END_TEST

START_TEST (arrays_may_mix_types_and_span_lines)
{
    char err[256];
    mdf_toml_t *root = s_parse ("a = [ 1, 'two', [3.0], {x = true}, ] # c\n"
                                "b = [\n  1, # one\n  2\n]\n",
                                err);
    ck_assert_msg (root != NULL, "%s", err);
    const mdf_toml_t *a = mdf_toml_get (root, "a");
    ck_assert_uint_eq (mdf_toml_len (a), 4);
    ck_assert_int_eq (mdf_toml_type (mdf_toml_at (a, 1)), MDF_TOML_STRING);
    ck_assert_int_eq (mdf_toml_type (mdf_toml_at (a, 2)), MDF_TOML_ARRAY);
    ck_assert (mdf_toml_bool (mdf_toml_get (mdf_toml_at (a, 3), "x")));
    ck_assert_uint_eq (mdf_toml_len (mdf_toml_get (root, "b")), 2);
    ck_assert_int_eq (mdf_toml_line (mdf_toml_at (mdf_toml_get (root, "b"), 1)), 4);
    mdf_toml_destroy (&root);
    s_expect_error ("a = [1 2]\n", "t.toml:1:8: expected ',' or ']' in array");
    s_expect_error ("a = [1,\n", "t.toml:2:1: expected a value, found end of input");
}
END_TEST

START_TEST (datetimes_are_validated_and_canonical)
{
    char err[256];
    mdf_toml_t *root = s_parse ("a = 1979-05-27 07:32:00z\nb = 1979-05-27t00:32:00.5-07:00\n"
                                "c = 2024-02-29\nd = 07:32:00.999\ne = 1979-05-27T07:32:00\n",
                                err);
    ck_assert_msg (root != NULL, "%s", err);
    ck_assert_int_eq (mdf_toml_type (mdf_toml_get (root, "a")), MDF_TOML_DATETIME);
    ck_assert_str_eq (mdf_toml_string (mdf_toml_get (root, "a")), "1979-05-27T07:32:00Z");
    ck_assert_str_eq (mdf_toml_string (mdf_toml_get (root, "b")), "1979-05-27T00:32:00.5-07:00");
    ck_assert_int_eq (mdf_toml_type (mdf_toml_get (root, "c")), MDF_TOML_DATE_LOCAL);
    ck_assert_int_eq (mdf_toml_type (mdf_toml_get (root, "d")), MDF_TOML_TIME_LOCAL);
    ck_assert_int_eq (mdf_toml_type (mdf_toml_get (root, "e")), MDF_TOML_DATETIME_LOCAL);
    ck_assert_str_eq (mdf_toml_type_name (MDF_TOML_DATE_LOCAL), "local date");
    mdf_toml_destroy (&root);
    s_expect_error ("d = 2023-02-29\n", "t.toml:1:5: invalid date-time: day out of range");
    s_expect_error ("d = 2023-01-01T10:00\n", "t.toml:1:5: invalid date-time: expected HH:MM:SS");
}
END_TEST

START_TEST (crlf_bom_and_utf8_checked)
{
    char err[256];
    mdf_toml_t *root = s_parse ("\xEF\xBB\xBF"
                                "a = 1\r\nb = \"\"\"x\r\ny\"\"\"\r\n",
                                err);
    ck_assert_msg (root != NULL, "%s", err);
    ck_assert_str_eq (mdf_toml_string (mdf_toml_get (root, "b")), "x\ny");
    mdf_toml_destroy (&root);
    s_expect_error ("a = 1\rb = 2\n", "t.toml:1:6: carriage return without line feed");
    s_expect_error ("a = \"\xC3\xA9\"\nb = \"\xC3\x28\"\n", "t.toml:2:6: invalid UTF-8");
    s_expect_error ("a = \"x\x01\"\n", "t.toml:1:7: control character 0x01 in string");
    s_expect_error ("a = 1 # bell\x07\n", "t.toml:1:13: control character 0x07 in comment");
}
END_TEST

START_TEST (redefinitions_are_errors_with_positions)
{
    s_expect_error ("a = 1\na = 2\n", "t.toml:2:1: duplicate key 'a'");
    s_expect_error ("[t]\nx = 1\n[t]\n", "t.toml:3:2: table 't' is already defined");
    s_expect_error ("a.b = 1\n[a]\n", "t.toml:2:2: table 'a' is already defined");
    s_expect_error ("a = {x = 1}\n[a.y]\n",
                    "t.toml:2:2: 'a' is already defined as an inline table");
    s_expect_error ("a = {x = 1}\na.y = 2\n",
                    "t.toml:2:1: cannot add keys to 'a' here: already defined");
    s_expect_error ("a = [1]\n[[a]]\n", "t.toml:2:3: cannot append to 'a': not an array of tables");
    s_expect_error ("[a.b]\nc = 1\n[a]\nb.d = 2\n",
                    "t.toml:4:1: cannot add keys to 'b' here: already defined");
    s_expect_error ("a = {x = 1,}\n", "t.toml:1:12: trailing comma in inline table");
    s_expect_error ("a = {x = 1\n}\n", "t.toml:1:11: expected ',' or '}' in inline table");
    s_expect_error ("x = \n", "t.toml:1:5: expected a value after '='");
    s_expect_error ("x = 1 y = 2\n", "t.toml:1:7: expected a newline after the value");
    s_expect_error ("x = \"abc\n", "t.toml:1:5: unterminated string");
    s_expect_error ("x = \"\\q\"\n", "t.toml:1:6: invalid escape sequence in string");
    /* implicit tables may be defined once later */
    char err[256];
    mdf_toml_t *root = s_parse ("[a.b]\nc = 1\n[a]\nd = 2\n", err);
    ck_assert_msg (root != NULL, "%s", err);
    mdf_toml_destroy (&root);
}
END_TEST

START_TEST (nesting_depth_is_bounded)
{
    char text[1024], err[256];
    strcpy (text, "a = ");
    for (int i = 0; i < 300; i++)
        strcat (text, "[");
    s_expect_error (text, "t.toml:1:133: nesting deeper than 128 levels");
    strcpy (text, "a = ");
    for (int i = 0; i < 100; i++)
        strcat (text, "[");
    for (int i = 0; i < 100; i++)
        strcat (text, "]");
    mdf_toml_t *root = s_parse (text, err);
    ck_assert_msg (root != NULL, "%s", err);
    mdf_toml_destroy (&root);
}
END_TEST

START_TEST (unreadable_file_names_the_path)
{
    char err[256];
    mdf_toml_t *root = mdf_toml_parse_file ("/nonexistent/x.toml", err, sizeof err);
    ck_assert_ptr_null (root);
    ck_assert_str_eq (err, "/nonexistent/x.toml: No such file or directory");
}
END_TEST

/* ------------------------------------------------------------ tiny JSON */

typedef struct json {
    enum { J_OBJ, J_ARR, J_STR } kind;
    char *s;
    size_t slen, n;
    char **keys;
    size_t *klens;
    struct json **vals;
} json_t;

typedef struct {
    const char *s;
    size_t pos, len;
} jp_t;

static void
s_jfree (json_t *j)
{
    if (!j)
        return;
    for (size_t i = 0; i < j->n; i++) {
        s_jfree (j->vals[i]);
        if (j->keys)
            free (j->keys[i]);
    }
    free (j->s);
    free (j->keys);
    free (j->klens);
    free (j->vals);
    free (j);
}

static void
s_jws (jp_t *p)
{
    while (p->pos < p->len && strchr (" \t\r\n", p->s[p->pos]))
        p->pos++;
}

static int
s_jhex4 (jp_t *p, unsigned *out)
{
    if (p->pos + 4 > p->len)
        return -1;
    char hex[5] = { 0 };
    memcpy (hex, p->s + p->pos, 4);
    char *end;
    *out = (unsigned)strtoul (hex, &end, 16);
    p->pos += 4;
    return *end ? -1 : 0;
}

static void
s_jput_utf8 (char *o, size_t *n, unsigned cp)
{
    if (cp < 0x80)
        o[(*n)++] = (char)cp;
    else if (cp < 0x800) {
        o[(*n)++] = (char)(0xC0 | (cp >> 6));
        o[(*n)++] = (char)(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
        o[(*n)++] = (char)(0xE0 | (cp >> 12));
        o[(*n)++] = (char)(0x80 | ((cp >> 6) & 0x3F));
        o[(*n)++] = (char)(0x80 | (cp & 0x3F));
    } else {
        o[(*n)++] = (char)(0xF0 | (cp >> 18));
        o[(*n)++] = (char)(0x80 | ((cp >> 12) & 0x3F));
        o[(*n)++] = (char)(0x80 | ((cp >> 6) & 0x3F));
        o[(*n)++] = (char)(0x80 | (cp & 0x3F));
    }
}

/* A JSON string at p->pos (the opening quote); decoded into malloc'd *out. */
static int
s_jstring (jp_t *p, char **out, size_t *outlen)
{
    char *o = malloc (p->len - p->pos + 1);
    size_t n = 0;
    p->pos++;
    while (p->pos < p->len && p->s[p->pos] != '"') {
        char c = p->s[p->pos++];
        if (c != '\\') {
            o[n++] = c;
            continue;
        }
        if (p->pos >= p->len)
            break;
        c = p->s[p->pos++];
        const char *from = "bfnrt\"\\/", *to = "\b\f\n\r\t\"\\/";
        const char *hit = strchr (from, c);
        unsigned cp, lo;
        if (hit && c)
            o[n++] = to[hit - from];
        else if (c == 'u' && s_jhex4 (p, &cp) == 0) {
            if (cp >= 0xD800 && cp < 0xDC00 && p->pos + 2 <= p->len && p->s[p->pos] == '\\') {
                p->pos += 2;
                if (s_jhex4 (p, &lo))
                    break;
                cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
            }
            s_jput_utf8 (o, &n, cp);
        } else
            break;
    }
    if (p->pos >= p->len || p->s[p->pos] != '"') {
        free (o);
        return -1;
    }
    p->pos++;
    o[n] = '\0';
    *out = o;
    *outlen = n;
    return 0;
}

static json_t *s_jvalue (jp_t *p, int depth);

static int
s_jpush (json_t *j, char *key, size_t klen, json_t *v)
{
    j->vals = realloc (j->vals, (j->n + 1) * sizeof *j->vals);
    if (j->kind == J_OBJ) {
        j->keys = realloc (j->keys, (j->n + 1) * sizeof *j->keys);
        j->klens = realloc (j->klens, (j->n + 1) * sizeof *j->klens);
        j->keys[j->n] = key;
        j->klens[j->n] = klen;
    }
    j->vals[j->n++] = v;
    return 0;
}

static json_t *
s_jcontainer (jp_t *p, int depth)
{
    json_t *j = calloc (1, sizeof *j);
    char close = p->s[p->pos] == '{' ? '}' : ']';
    j->kind = close == '}' ? J_OBJ : J_ARR;
    p->pos++;
    s_jws (p);
    if (p->pos < p->len && p->s[p->pos] == close) {
        p->pos++;
        return j;
    }
    for (;;) {
        char *key = NULL;
        size_t klen = 0;
        s_jws (p);
        if (j->kind == J_OBJ) {
            if (p->pos >= p->len || p->s[p->pos] != '"' || s_jstring (p, &key, &klen))
                break;
            s_jws (p);
            if (p->pos >= p->len || p->s[p->pos++] != ':') {
                free (key);
                break;
            }
        }
        json_t *v = s_jvalue (p, depth + 1);
        if (!v) {
            free (key);
            break;
        }
        s_jpush (j, key, klen, v);
        s_jws (p);
        if (p->pos < p->len && p->s[p->pos] == ',') {
            p->pos++;
            continue;
        }
        if (p->pos < p->len && p->s[p->pos] == close) {
            p->pos++;
            return j;
        }
        break;
    }
    s_jfree (j);
    return NULL;
}

static json_t *
s_jvalue (jp_t *p, int depth)
{
    s_jws (p);
    if (p->pos >= p->len || depth > 200)
        return NULL;
    char c = p->s[p->pos];
    if (c == '{' || c == '[')
        return s_jcontainer (p, depth);
    if (c != '"')
        return NULL;
    json_t *j = calloc (1, sizeof *j);
    j->kind = J_STR;
    if (s_jstring (p, &j->s, &j->slen)) {
        free (j);
        return NULL;
    }
    return j;
}

/* ------------------------------------------------------------ comparison */

static char *
s_slurp (const char *path, size_t *len)
{
    *len = 0;
    FILE *f = fopen (path, "rb");
    if (!f)
        return NULL;
    fseek (f, 0, SEEK_END);
    long n = ftell (f);
    fseek (f, 0, SEEK_SET);
    char *data = n >= 0 ? malloc ((size_t)n + 1) : NULL;
    if (!data) {
        fclose (f);
        return NULL;
    }
    *len = fread (data, 1, (size_t)n, f);
    data[*len] = '\0';
    fclose (f);
    return data;
}

static const json_t *
s_jget (const json_t *j, const char *key)
{
    for (size_t i = 0; j->kind == J_OBJ && i < j->n; i++)
        if (strcmp (j->keys[i], key) == 0)
            return j->vals[i];
    return NULL;
}

/* Date-time text with upper-case letters and no trailing zeros in the fraction. */
static void
s_canon_datetime (const char *in, char *out, size_t outlen)
{
    snprintf (out, outlen, "%s", in);
    for (char *c = out; *c; c++)
        if (*c == 't' || *c == 'z' || *c == ' ')
            *c = *c == ' ' ? 'T' : (char)(*c - 32);
    char *dot = strchr (out, '.');
    if (!dot)
        return;
    char *end = dot + 1;
    while (*end >= '0' && *end <= '9')
        end++;
    char *last = end;
    while (last > dot + 1 && last[-1] == '0')
        last--;
    if (last == dot + 1)
        last = dot;
    memmove (last, end, strlen (end) + 1);
}

static bool
s_same_float (const char *want, double got)
{
    if (strstr (want, "nan"))
        return isnan (got);
    if (strstr (want, "inf"))
        return isinf (got) && ((want[0] == '-') == (got < 0));
    double w = strtod (want, NULL);
    return w == got || fabs (w - got) <= 1e-15 * fabs (w);
}

static bool
s_same_scalar (const mdf_toml_t *t, const char *type, const char *value, size_t vlen)
{
    mdf_toml_type_t tt = mdf_toml_type (t);
    if (strcmp (type, "string") == 0)
        return tt == MDF_TOML_STRING && mdf_toml_string_len (t) == vlen
               && memcmp (mdf_toml_string (t), value, vlen) == 0;
    if (strcmp (type, "integer") == 0)
        return tt == MDF_TOML_INTEGER && mdf_toml_int (t) == strtoll (value, NULL, 10);
    if (strcmp (type, "float") == 0)
        return tt == MDF_TOML_FLOAT && s_same_float (value, mdf_toml_float (t));
    if (strcmp (type, "bool") == 0)
        return tt == MDF_TOML_BOOL && mdf_toml_bool (t) == (strcmp (value, "true") == 0);
    static const struct {
        const char *name;
        mdf_toml_type_t type;
    } dts[] = { { "datetime", MDF_TOML_DATETIME },
                { "datetime-local", MDF_TOML_DATETIME_LOCAL },
                { "date-local", MDF_TOML_DATE_LOCAL },
                { "time-local", MDF_TOML_TIME_LOCAL } };
    for (size_t i = 0; i < 4; i++) {
        if (strcmp (type, dts[i].name) != 0)
            continue;
        char a[128], b[128];
        s_canon_datetime (value, a, sizeof a);
        s_canon_datetime (mdf_toml_string (t), b, sizeof b);
        return tt == dts[i].type && strcmp (a, b) == 0;
    }
    return false;
}

static bool
s_same (const mdf_toml_t *t, const json_t *j, char *why, size_t whylen)
{
    const json_t *type = s_jget (j, "type"), *value = s_jget (j, "value");
    if (j->kind == J_OBJ && j->n == 2 && type && value && type->kind == J_STR
        && value->kind == J_STR) {
        if (s_same_scalar (t, type->s, value->s, value->slen))
            return true;
        snprintf (why, whylen, "%s %s != %s at %d:%d", type->s, value->s,
                  mdf_toml_type_name (mdf_toml_type (t)), mdf_toml_line (t), mdf_toml_column (t));
        return false;
    }
    mdf_toml_type_t want = j->kind == J_OBJ ? MDF_TOML_TABLE : MDF_TOML_ARRAY;
    if (j->kind == J_STR || mdf_toml_type (t) != want || mdf_toml_len (t) != j->n) {
        snprintf (why, whylen, "shape differs at %d:%d", mdf_toml_line (t), mdf_toml_column (t));
        return false;
    }
    for (size_t i = 0; i < j->n; i++) {
        const mdf_toml_t *v = NULL;
        if (want == MDF_TOML_ARRAY)
            v = mdf_toml_at (t, i);
        for (size_t k = 0; want == MDF_TOML_TABLE && k < mdf_toml_len (t); k++)
            if (mdf_toml_key_len_at (t, k) == j->klens[i]
                && memcmp (mdf_toml_key_at (t, k), j->keys[i], j->klens[i]) == 0)
                v = mdf_toml_value_at (t, k);
        if (!v) {
            snprintf (why, whylen, "missing key '%s'", j->keys[i]);
            return false;
        }
        if (!s_same (v, j->vals[i], why, whylen))
            return false;
    }
    return true;
}

/* ------------------------------------------------------------ conformance */

/* Feature families not supported, skipped by path prefix.  None. */
static const char *s_unsupported[] = { NULL };

static bool
s_skipped (const char *rel)
{
    for (size_t i = 0; s_unsupported[i]; i++)
        if (strstr (rel, s_unsupported[i]))
            return true;
    return false;
}

static bool
s_check_valid (const char *dir, const char *rel)
{
    char path[8192], jpath[8192], err[512], why[512] = "";
    snprintf (path, sizeof path, "%s/%s", dir, rel);
    snprintf (jpath, sizeof jpath, "%.*s.json", (int)(strlen (path) - 5), path);
    size_t len = 0, jlen = 0;
    char *text = s_slurp (path, &len), *jtext = s_slurp (jpath, &jlen);
    jp_t jp = { jtext, 0, jlen };
    json_t *j = jtext ? s_jvalue (&jp, 0) : NULL;
    mdf_toml_t *root = text ? mdf_toml_parse (text, len, rel, err, sizeof err) : NULL;
    bool ok = root && j && s_same (root, j, why, sizeof why);
    if (!ok)
        fprintf (stderr, "FAIL valid %s: %s\n", rel,
                 !text   ? "unreadable"
                 : !j    ? "bad json"
                 : !root ? err
                         : why);
    mdf_toml_destroy (&root);
    s_jfree (j);
    free (text);
    free (jtext);
    return ok;
}

static bool
s_check_invalid (const char *dir, const char *rel)
{
    char path[8192], err[512];
    snprintf (path, sizeof path, "%s/%s", dir, rel);
    size_t len;
    char *text = s_slurp (path, &len);
    mdf_toml_t *root = text ? mdf_toml_parse (text, len, rel, err, sizeof err) : NULL;
    bool ok = text && !root;
    if (!ok)
        fprintf (stderr, "FAIL invalid %s: %s\n", rel, text ? "accepted" : "unreadable");
    mdf_toml_destroy (&root);
    free (text);
    return ok;
}

#define TOML_TEST_LIST "files-toml-1.0.0"

START_TEST (toml_test_suite_1_0_0)
{
    const char *dir = getenv ("MDF_TOML_TEST_DIR");
    ck_assert_msg (dir != NULL, "MDF_TOML_TEST_DIR is not set");
    char list[4096], line[1024];
    snprintf (list, sizeof list, "%s/" TOML_TEST_LIST, dir);
    FILE *f = fopen (list, "r");
    ck_assert_msg (f != NULL, "toml-test suite missing: cannot open %s", list);
    int valid = 0, valid_ok = 0, invalid = 0, invalid_ok = 0, skipped = 0;
    while (fgets (line, sizeof line, f)) {
        line[strcspn (line, "\r\n")] = '\0';
        size_t n = strlen (line);
        if (n < 5 || strcmp (line + n - 5, ".toml") != 0)
            continue;
        if (s_skipped (line)) {
            skipped++;
        } else if (strncmp (line, "valid/", 6) == 0) {
            valid++;
            valid_ok += s_check_valid (dir, line);
        } else if (strncmp (line, "invalid/", 8) == 0) {
            invalid++;
            invalid_ok += s_check_invalid (dir, line);
        }
    }
    fclose (f);
    printf ("toml-test 1.0.0: valid accepted %d/%d, invalid rejected %d/%d, skipped %d\n", valid_ok,
            valid, invalid_ok, invalid, skipped);
    ck_assert_int_gt (valid + invalid, 0);
    ck_assert_int_eq (valid_ok, valid);
    ck_assert_int_eq (invalid_ok, invalid);
}
END_TEST

/* The corpus named by $MDF_TOML_TEST_DIR is there (its file list readable);
 * otherwise say why and how to point at one. */
static bool
s_corpus_found (void)
{
    const char *dir = getenv ("MDF_TOML_TEST_DIR");
    char list[4096];
    if (dir && *dir) {
        snprintf (list, sizeof list, "%s/" TOML_TEST_LIST, dir);
        if (access (list, R_OK) == 0)
            return true;
        printf ("SKIP: no toml-test corpus: cannot read %s\n", list);
    } else {
        printf ("SKIP: no toml-test corpus: MDF_TOML_TEST_DIR is not set\n");
    }
    printf ("To run the TOML 1.0.0 conformance test, point MDF_TOML_TEST_DIR at a checkout of\n"
            "toml-lang/toml-test (the directory holding " TOML_TEST_LIST ", valid/ and\n"
            "invalid/), e.g.\n"
            "  MDF_TOML_TEST_DIR=$HOME/toml-test meson test -C build toml-conformance\n");
    return false;
}

/* No argument: the features.  "conformance": the toml-test corpus, exit 77
 * (skipped) when it is not there. */
int
main (int argc, char **argv)
{
    bool conformance = argc > 1 && strcmp (argv[1], "conformance") == 0;
    if (conformance && !s_corpus_found ())
        return 77;
    Suite *s = suite_create ("toml");
    if (!conformance) {
        TCase *tc = tcase_create ("features");
        tcase_add_test (tc, tables_keep_document_order_and_positions);
        tcase_add_test (tc, strings_decode_every_escape);
        tcase_add_test (tc, integers_in_every_base_with_overflow_detected);
        tcase_add_test (tc, floats_with_exponents_inf_and_nan);
        tcase_add_test (tc, arrays_may_mix_types_and_span_lines);
        tcase_add_test (tc, datetimes_are_validated_and_canonical);
        tcase_add_test (tc, crlf_bom_and_utf8_checked);
        tcase_add_test (tc, redefinitions_are_errors_with_positions);
        tcase_add_test (tc, nesting_depth_is_bounded);
        tcase_add_test (tc, unreadable_file_names_the_path);
        suite_add_tcase (s, tc);
    } else {
        TCase *conf = tcase_create ("conformance");
        tcase_set_timeout (conf, 60);
        tcase_add_test (conf, toml_test_suite_1_0_0);
        suite_add_tcase (s, conf);
    }
    return h_run_suite (s);
}
