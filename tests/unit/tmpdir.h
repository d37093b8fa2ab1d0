/* tmpdir.h — a fresh temporary directory per test for any unit test (cmocka setup/teardown):
 * `dir` names it; teardown removes it with everything in it. Include after <cmocka.h>. */
#ifndef PLG_TEST_TMPDIR_H
#define PLG_TEST_TMPDIR_H

#include <stdio.h>
#include <stdlib.h>

static char dir[256];

static int setup(void **state)
{
    (void)state;
    snprintf(dir, sizeof dir, "/tmp/plg-unit-XXXXXX");
    assert_non_null(mkdtemp(dir));
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
    return 0;
}

#endif
