/*
 * json.c — strict JSON parser producing jansson values (see json.h).
 *
 * Recursive descent over a bounds-checked cursor. Strings: a first pass finds the closing quote
 * and notes whether escapes or non-ASCII bytes occur; plain ASCII strings become jansson strings
 * with a single copy, others are decoded into a scratch buffer (escapes, \u surrogate pairs) and
 * validated as UTF-8 (no overlong forms, no surrogates, nothing above U+10FFFF).
 */
#include "rpc/json.h"

#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "pyralog/pyralog.h"

struct jp {
    const char *p;
    size_t len;
    size_t pos;
    int depth;
    const char *why; /* first error */
    size_t at;       /* its position */
    bool oom;
    struct buf scratch;
};

static json_t *fail(struct jp *j, const char *why)
{
    if (!j->why) {
        j->why = why;
        j->at = j->pos;
    }
    return NULL;
}

static void skip_ws(struct jp *j)
{
    while (j->pos < j->len) {
        char c = j->p[j->pos];
        if (c != ' ' && c != '\t' && c != '\n' && c != '\r')
            return;
        j->pos++;
    }
}

static json_t *parse_value(struct jp *j);

/* Length of the valid UTF-8 sequence at s (n bytes left), or 0 when invalid. */
static size_t utf8_seq(const unsigned char *s, size_t n)
{
    unsigned char c = s[0];
    if (c < 0x80)
        return 1;
    size_t k;
    uint32_t cp;
    if (c >= 0xc2 && c <= 0xdf) {
        k = 2;
        cp = c & 0x1f;
    } else if (c >= 0xe0 && c <= 0xef) {
        k = 3;
        cp = c & 0x0f;
    } else if (c >= 0xf0 && c <= 0xf4) {
        k = 4;
        cp = c & 0x07;
    } else {
        return 0;
    }
    if (n < k)
        return 0;
    for (size_t i = 1; i < k; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return 0;
        cp = cp << 6 | (s[i] & 0x3f);
    }
    if ((k == 3 && cp < 0x800) || (k == 4 && cp < 0x10000) || cp > 0x10ffff ||
        (cp >= 0xd800 && cp <= 0xdfff))
        return 0;
    return k;
}

static int hex4(const char *s, uint32_t *out)
{
    uint32_t v = 0;
    for (int i = 0; i < 4; i++) {
        char c = s[i];
        v <<= 4;
        if (c >= '0' && c <= '9')
            v |= (uint32_t)(c - '0');
        else if (c >= 'a' && c <= 'f')
            v |= (uint32_t)(c - 'a' + 10);
        else if (c >= 'A' && c <= 'F')
            v |= (uint32_t)(c - 'A' + 10);
        else
            return -1;
    }
    *out = v;
    return 0;
}

static void put_utf8(struct buf *b, uint32_t cp)
{
    uint8_t t[4];
    size_t n;
    if (cp < 0x80) {
        t[0] = (uint8_t)cp;
        n = 1;
    } else if (cp < 0x800) {
        t[0] = (uint8_t)(0xc0 | cp >> 6);
        t[1] = (uint8_t)(0x80 | (cp & 0x3f));
        n = 2;
    } else if (cp < 0x10000) {
        t[0] = (uint8_t)(0xe0 | cp >> 12);
        t[1] = (uint8_t)(0x80 | ((cp >> 6) & 0x3f));
        t[2] = (uint8_t)(0x80 | (cp & 0x3f));
        n = 3;
    } else {
        t[0] = (uint8_t)(0xf0 | cp >> 18);
        t[1] = (uint8_t)(0x80 | ((cp >> 12) & 0x3f));
        t[2] = (uint8_t)(0x80 | ((cp >> 6) & 0x3f));
        t[3] = (uint8_t)(0x80 | (cp & 0x3f));
        n = 4;
    }
    buf_put(b, t, n);
}

/*
 * Parses the string starting at the opening quote. On success *s / *n is the content: a view
 * into the input (plain case) or into j->scratch (decoded), valid until the next string.
 */
static int parse_string_raw(struct jp *j, const char **s, size_t *n)
{
    const unsigned char *p = (const unsigned char *)j->p;
    size_t i = j->pos + 1; /* after the quote */
    size_t start = i;
    bool simple = true;
    while (i < j->len) {
        unsigned char c = p[i];
        if (c == '"')
            break;
        if (c == '\\' || c >= 0x80) {
            simple = false;
            break;
        }
        if (c < 0x20) {
            j->pos = i;
            fail(j, "control character in string");
            return -1;
        }
        i++;
    }
    if (simple) {
        if (i >= j->len) {
            j->pos = i;
            fail(j, "premature end of input in string");
            return -1;
        }
        *s = j->p + start;
        *n = i - start;
        j->pos = i + 1;
        return 0;
    }
    /* Slow path: decode from the start into scratch. */
    struct buf *b = &j->scratch;
    buf_reset(b);
    buf_put(b, p + start, i - start);
    while (i < j->len) {
        unsigned char c = p[i];
        if (c == '"') {
            if (b->oom) {
                j->oom = true;
                return -1;
            }
            *s = (const char *)b->data;
            *n = b->len;
            j->pos = i + 1;
            return 0;
        }
        if (c < 0x20) {
            j->pos = i;
            fail(j, "control character in string");
            return -1;
        }
        if (c >= 0x80) {
            size_t k = utf8_seq(p + i, j->len - i);
            if (!k) {
                j->pos = i;
                fail(j, "invalid UTF-8 in string");
                return -1;
            }
            buf_put(b, p + i, k);
            i += k;
            continue;
        }
        if (c != '\\') {
            buf_u8(b, c);
            i++;
            continue;
        }
        if (i + 1 >= j->len)
            break;
        char e = (char)p[i + 1];
        i += 2;
        switch (e) {
        case '"':
        case '\\':
        case '/':
            buf_u8(b, (uint8_t)e);
            break;
        case 'b':
            buf_u8(b, '\b');
            break;
        case 'f':
            buf_u8(b, '\f');
            break;
        case 'n':
            buf_u8(b, '\n');
            break;
        case 'r':
            buf_u8(b, '\r');
            break;
        case 't':
            buf_u8(b, '\t');
            break;
        case 'u': {
            uint32_t cp;
            if (i + 4 > j->len || hex4(j->p + i, &cp)) {
                j->pos = i;
                fail(j, "invalid \\u escape");
                return -1;
            }
            i += 4;
            if (cp >= 0xd800 && cp <= 0xdbff) {
                uint32_t lo;
                if (i + 6 > j->len || p[i] != '\\' || p[i + 1] != 'u' || hex4(j->p + i + 2, &lo) ||
                    lo < 0xdc00 || lo > 0xdfff) {
                    j->pos = i;
                    fail(j, "invalid Unicode surrogate pair");
                    return -1;
                }
                i += 6;
                cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
            } else if (cp >= 0xdc00 && cp <= 0xdfff) {
                j->pos = i;
                fail(j, "lone Unicode low surrogate");
                return -1;
            } else if (cp == 0) {
                j->pos = i;
                fail(j, "\\u0000 is not allowed in strings");
                return -1;
            }
            put_utf8(b, cp);
            break;
        }
        default:
            j->pos = i - 1;
            fail(j, "invalid escape in string");
            return -1;
        }
    }
    j->pos = i;
    fail(j, "premature end of input in string");
    return -1;
}

static json_t *parse_number(struct jp *j)
{
    const char *p = j->p;
    size_t i = j->pos, start = i;
    bool real = false;
    if (i < j->len && p[i] == '-')
        i++;
    if (i >= j->len || p[i] < '0' || p[i] > '9') {
        j->pos = i;
        return fail(j, "invalid number");
    }
    if (p[i] == '0') {
        i++;
    } else {
        while (i < j->len && p[i] >= '0' && p[i] <= '9')
            i++;
    }
    if (i < j->len && p[i] == '.') {
        real = true;
        i++;
        if (i >= j->len || p[i] < '0' || p[i] > '9') {
            j->pos = i;
            return fail(j, "invalid number: digits expected after '.'");
        }
        while (i < j->len && p[i] >= '0' && p[i] <= '9')
            i++;
    }
    if (i < j->len && (p[i] == 'e' || p[i] == 'E')) {
        real = true;
        i++;
        if (i < j->len && (p[i] == '+' || p[i] == '-'))
            i++;
        if (i >= j->len || p[i] < '0' || p[i] > '9') {
            j->pos = i;
            return fail(j, "invalid number: digits expected in exponent");
        }
        while (i < j->len && p[i] >= '0' && p[i] <= '9')
            i++;
    }
    /* strtoll and strtod need a terminated copy; a long one ("0.000…1" is valid JSON of any
     * length) goes to the heap. */
    char small[64];
    size_t n = i - start;
    char *tmp = n < sizeof small ? small : malloc(n + 1);
    if (!tmp) {
        j->oom = true;
        return NULL;
    }
    memcpy(tmp, p + start, n);
    tmp[n] = 0;
    errno = 0;
    json_t *v = NULL;
    const char *why = NULL;
    if (!real) {
        long long x = strtoll(tmp, NULL, 10);
        if (errno == ERANGE)
            why = "integer too big";
        else
            v = json_integer((json_int_t)x);
    } else {
        double d = strtod(tmp, NULL);
        if (errno == ERANGE && (d == HUGE_VAL || d == -HUGE_VAL))
            why = "real number overflow";
        else
            v = json_real(d);
    }
    if (tmp != small)
        free(tmp);
    if (why)
        return fail(j, why);
    if (!v)
        j->oom = true;
    j->pos = i;
    return v;
}

static bool literal(struct jp *j, const char *word)
{
    size_t n = strlen(word);
    if (j->len - j->pos < n || memcmp(j->p + j->pos, word, n))
        return false;
    j->pos += n;
    return true;
}

static json_t *parse_array(struct jp *j)
{
    json_t *a = json_array();
    if (!a) {
        j->oom = true;
        return NULL;
    }
    j->pos++; /* [ */
    skip_ws(j);
    if (j->pos < j->len && j->p[j->pos] == ']') {
        j->pos++;
        return a;
    }
    for (;;) {
        json_t *v = parse_value(j);
        if (!v || json_array_append_new(a, v)) {
            if (v)
                j->oom = true;
            json_decref(a);
            return NULL;
        }
        skip_ws(j);
        if (j->pos >= j->len) {
            json_decref(a);
            return fail(j, "premature end of input in array");
        }
        char c = j->p[j->pos++];
        if (c == ']')
            return a;
        if (c != ',') {
            j->pos--;
            json_decref(a);
            return fail(j, "',' or ']' expected");
        }
    }
}

static json_t *parse_object(struct jp *j)
{
    json_t *o = json_object();
    if (!o) {
        j->oom = true;
        return NULL;
    }
    j->pos++; /* { */
    skip_ws(j);
    if (j->pos < j->len && j->p[j->pos] == '}') {
        j->pos++;
        return o;
    }
    char keybuf[256];
    for (;;) {
        skip_ws(j);
        if (j->pos >= j->len || j->p[j->pos] != '"') {
            json_decref(o);
            return fail(j, "string or '}' expected");
        }
        const char *ks;
        size_t kn;
        if (parse_string_raw(j, &ks, &kn)) {
            json_decref(o);
            return NULL;
        }
        /* The key may live in scratch, which the value may reuse: copy it. */
        char *key = kn < sizeof keybuf ? keybuf : malloc(kn + 1);
        if (!key) {
            j->oom = true;
            json_decref(o);
            return NULL;
        }
        memcpy(key, ks, kn);
        key[kn] = 0;
        skip_ws(j);
        json_t *v = NULL;
        if (j->pos >= j->len || j->p[j->pos] != ':') {
            fail(j, "':' expected");
        } else {
            j->pos++;
            v = parse_value(j);
        }
        int rc = v ? json_object_setn_new_nocheck(o, key, kn, v) : -1;
        if (key != keybuf)
            free(key);
        if (rc) {
            if (v)
                j->oom = true;
            json_decref(o);
            return NULL;
        }
        skip_ws(j);
        if (j->pos >= j->len) {
            json_decref(o);
            return fail(j, "premature end of input in object");
        }
        char c = j->p[j->pos++];
        if (c == '}')
            return o;
        if (c != ',') {
            j->pos--;
            json_decref(o);
            return fail(j, "',' or '}' expected");
        }
    }
}

static json_t *parse_value(struct jp *j)
{
    skip_ws(j);
    if (j->pos >= j->len)
        return fail(j, "premature end of input");
    char c = j->p[j->pos];
    json_t *v;
    switch (c) {
    case '{':
    case '[':
        if (++j->depth > RPC_JSON_MAX_DEPTH)
            return fail(j, "nesting too deep");
        v = c == '{' ? parse_object(j) : parse_array(j);
        j->depth--;
        return v;
    case '"': {
        const char *s;
        size_t n;
        if (parse_string_raw(j, &s, &n))
            return NULL;
        v = json_stringn_nocheck(s, n);
        if (!v)
            j->oom = true;
        return v;
    }
    case 't':
        return literal(j, "true") ? json_true() : fail(j, "invalid token");
    case 'f':
        return literal(j, "false") ? json_false() : fail(j, "invalid token");
    case 'n':
        return literal(j, "null") ? json_null() : fail(j, "invalid token");
    default:
        if (c == '-' || (c >= '0' && c <= '9'))
            return parse_number(j);
        return fail(j, "invalid token");
    }
}

int rpc_json_parse(const char *p, size_t len, json_t **out, char *err, size_t errlen)
{
    struct jp j = {.p = p, .len = len};
    buf_init(&j.scratch);
    json_t *v = parse_value(&j);
    if (v) {
        skip_ws(&j);
        if (j.pos != len) {
            json_decref(v);
            v = fail(&j, "end of input expected");
        }
    }
    buf_free(&j.scratch);
    if (v) {
        *out = v;
        return 0;
    }
    if (j.oom && !j.why) {
        snprintf(err, errlen, "out of memory");
        return PLG_ENOMEM;
    }
    int line = 1, col = 1;
    for (size_t i = 0; i < j.at && i < len; i++) {
        if (p[i] == '\n') {
            line++;
            col = 1;
        } else {
            col++;
        }
    }
    snprintf(err, errlen, "%s at line %d column %d", j.why ? j.why : "invalid JSON", line, col);
    return PLG_ECORRUPT;
}
