/*
 * fuzz_feedback: libFuzzer target for the feedback decoder.  Any input must decode or
 * fail with a message, never crash; whatever decodes must survive
 * decode -> encode -> decode unchanged (roundtrip.c).  Run via tests/fuzz/run.sh.
 */
#include <stdio.h>
#include <stdlib.h>

#include "roundtrip.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    char why[256];
    if (roundtrip_feedback (data, size, why, sizeof why)) {
        fprintf (stderr, "fuzz_feedback: %s\n", why);
        abort ();
    }
    return 0;
}
