/*
 * hex.h — lowercase hex encoding of hashes, keys and signatures (the text form used by the
 * JSON-RPC methods, receipts, key files and the CLI). Pure functions, any thread.
 */
#ifndef PLG_CRYPTO_HEX_H
#define PLG_CRYPTO_HEX_H

#include <stddef.h>
#include <stdint.h>

/* Writes 2*len lowercase hex digits and a NUL to out (room for 2*len + 1). */
void hex_encode(const uint8_t *p, size_t len, char *out);
/* Decodes exactly out_len bytes from the string s of length slen (must be 2*out_len hex digits,
 * either case). Returns 0 or PLG_EINVAL. */
int hex_decode(const char *s, size_t slen, uint8_t *out, size_t out_len);

#endif
