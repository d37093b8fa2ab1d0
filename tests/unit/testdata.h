/* testdata.h — reads a file of tests/data (PLG_TESTDATA_DIR) whole for a unit test: returns a
 * malloc'd copy (the caller frees it) and its length; fails the test when it cannot be read.
 * Include after <cmocka.h>. */
#ifndef PLG_TEST_TESTDATA_H
#define PLG_TEST_TESTDATA_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

static uint8_t *testdata_load(const char *subdir, const char *name, size_t *len)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s/%s", PLG_TESTDATA_DIR, subdir, name);
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    assert_int_equal(fseek(f, 0, SEEK_END), 0);
    long size = ftell(f);
    assert_true(size >= 0);
    rewind(f);
    uint8_t *data = malloc(size > 0 ? (size_t)size : 1);
    assert_non_null(data);
    *len = fread(data, 1, (size_t)size, f);
    assert_int_equal(*len, (size_t)size);
    fclose(f);
    return data;
}

#endif
