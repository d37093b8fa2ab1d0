/*
 * fuzz_receipt — `pyralog notary check` on attacker-chosen receipt bytes: any JSON (or not),
 * any field types and lengths. Must never crash or leak; a receipt for a random hash essentially
 * never verifies, so success is only possible for well-formed, signed input.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "crypto/sth.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint8_t hash[32];
    memset(hash, 0xAB, sizeof hash);
    const char *why = NULL;
    receipt_check((const char *)data, size, hash, NULL, &why);
    receipt_check((const char *)data, size, hash, hash, &why);
    return 0;
}
