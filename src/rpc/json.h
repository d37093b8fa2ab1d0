/*
 * json.h — a fast, strict JSON (RFC 8259) parser that builds jansson values.
 *
 * Why: jansson's own parser reads through a per-character stream and was half of the CPU time
 * of a log.append over WebSocket (its base64 value string dominates). This parser scans strings
 * in bulk (ASCII fast path, UTF-8 validated as jansson does), and is checked against
 * json_loadb() by fuzz/fuzz_jsonrpc.c (same value for every input both accept, and it accepts
 * nothing jansson rejects).
 *
 * Accepts what json_loadb(p, len, JSON_DECODE_ANY, ...) accepts, except that nesting deeper than
 * RPC_JSON_MAX_DEPTH is refused, and so is any NUL byte (jansson takes some for the end of input):
 * any value at the top level, surrounding whitespace, strings without NUL (\u0000 refused, as
 * jansson does by default), integers that fit in json_int_t (others are errors), reals that stay
 * finite, duplicate object keys (the last one wins).
 *
 * Pure; thread-safe; never reads past len.
 */
#ifndef PLG_RPC_JSON_H
#define PLG_RPC_JSON_H

#include <jansson.h>
#include <stddef.h>

#define RPC_JSON_MAX_DEPTH 512

/* Parses p/len into *out (a new reference). On error returns PLG_ECORRUPT (PLG_ENOMEM when
 * out of memory) and writes "<what> at line L column C" into err (errlen bytes). */
int rpc_json_parse(const char *p, size_t len, json_t **out, char *err, size_t errlen);

#endif
