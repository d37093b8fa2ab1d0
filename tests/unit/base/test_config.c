/* test_config.c — the configuration schema, properties file, environment and errors. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/config.h"
#include "pyralog/pyralog.h"

static int check_even(const char *v, char *why, size_t n)
{
    if (strlen(v) % 2) {
        snprintf(why, n, "odd length");
        return PLG_EINVAL;
    }
    return 0;
}

static const struct config_key schema[] = {
    {"node.id", CFG_INT, "0", 0, 1023, "node id", NULL},
    {"kafka.listen", CFG_HOSTPORT, "127.0.0.1:9092", 0, 0, "listener", NULL},
    {"auto.create.topics.enable", CFG_BOOL, "true", 0, 0, "auto create", NULL},
    {"data.dir", CFG_STRING, "./pyralog-data", 0, 0, "data", NULL},
    {"even", CFG_STRING, NULL, 0, 0, "checked", check_even},
};
#define NKEYS (sizeof schema / sizeof schema[0])

static void test_defaults_and_set(void **state)
{
    struct config c;
    char err[256];
    assert_int_equal(config_init(&c, schema, NKEYS), 0);
    assert_int_equal(config_int(&c, "node.id"), 0);
    assert_true(config_bool(&c, "auto.create.topics.enable"));
    assert_null(config_get(&c, "even"));
    assert_int_equal(config_set(&c, "node.id", "7", err, sizeof err), 0);
    assert_int_equal(config_int(&c, "node.id"), 7);
    assert_int_equal(config_set(&c, "node.id", "1024", err, sizeof err), PLG_EINVAL);
    assert_non_null(strstr(err, "node.id"));
    assert_int_equal(config_set(&c, "node.id", "7x", err, sizeof err), PLG_EINVAL);
    assert_int_equal(config_int(&c, "node.id"), 7);
    assert_int_equal(config_set(&c, "nope", "1", err, sizeof err), PLG_EINVAL);
    assert_non_null(strstr(err, "nope: unknown"));
    assert_int_equal(config_set(&c, "auto.create.topics.enable", "FALSE", err, sizeof err), 0);
    assert_false(config_bool(&c, "auto.create.topics.enable"));
    assert_int_equal(config_set(&c, "auto.create.topics.enable", "yes", err, sizeof err),
                     PLG_EINVAL);
    assert_int_equal(config_set(&c, "kafka.listen", "localhost", err, sizeof err), PLG_EINVAL);
    assert_int_equal(config_set(&c, "kafka.listen", "h:70000", err, sizeof err), PLG_EINVAL);
    assert_int_equal(config_set(&c, "kafka.listen", "[::1]:9", err, sizeof err), 0);
    assert_int_equal(config_set(&c, "even", "abc", err, sizeof err), PLG_EINVAL);
    assert_non_null(strstr(err, "odd length"));
    assert_int_equal(config_set(&c, "even", "ab", err, sizeof err), 0);
    config_free(&c);
}

static void test_hostport(void **state)
{
    char h[64];
    int p;
    assert_int_equal(config_parse_hostport("127.0.0.1:9092", h, sizeof h, &p), 0);
    assert_string_equal(h, "127.0.0.1");
    assert_int_equal(p, 9092);
    assert_int_equal(config_parse_hostport("[::1]:1", h, sizeof h, &p), 0);
    assert_string_equal(h, "::1");
    assert_int_equal(config_parse_hostport("::1:1", h, sizeof h, &p), PLG_EINVAL);
    assert_int_equal(config_parse_hostport(":1", h, sizeof h, &p), PLG_EINVAL);
    assert_int_equal(config_parse_hostport("a:", h, sizeof h, &p), PLG_EINVAL);
    assert_int_equal(config_parse_hostport("a:-1", h, sizeof h, &p), PLG_EINVAL);
}

static void test_file_and_env(void **state)
{
    char path[] = "/tmp/plg-cfg-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    const char *text = "# comment\n! also comment\n\n  node.id = 3\nkafka.listen: 127.0.0.1:1\n"
                       "data.dir=/x y\n";
    assert_int_equal(write(fd, text, strlen(text)), (int)strlen(text));
    close(fd);
    struct config c;
    char err[256];
    config_init(&c, schema, NKEYS);
    assert_int_equal(config_load_file(&c, path, err, sizeof err), 0);
    assert_int_equal(config_int(&c, "node.id"), 3);
    assert_string_equal(config_get(&c, "kafka.listen"), "127.0.0.1:1");
    assert_string_equal(config_get(&c, "data.dir"), "/x y");
    setenv("PYRALOG_NODE_ID", "9", 1);
    assert_int_equal(config_load_env(&c, err, sizeof err), 0);
    assert_int_equal(config_int(&c, "node.id"), 9);
    setenv("PYRALOG_AUTO_CREATE_TOPICS_ENABLE", "maybe", 1);
    assert_int_equal(config_load_env(&c, err, sizeof err), PLG_EINVAL);
    assert_non_null(strstr(err, "auto.create.topics.enable"));
    assert_non_null(strstr(err, "PYRALOG_AUTO_CREATE_TOPICS_ENABLE"));
    unsetenv("PYRALOG_AUTO_CREATE_TOPICS_ENABLE");
    unsetenv("PYRALOG_NODE_ID");

    /* Unknown key and bad lines name the file and line. */
    FILE *f = fopen(path, "w");
    fputs("node.id = 1\nbogus.key = 2\n", f);
    fclose(f);
    assert_int_equal(config_load_file(&c, path, err, sizeof err), PLG_EINVAL);
    assert_non_null(strstr(err, ":2: bogus.key: unknown"));
    f = fopen(path, "w");
    fputs("just words\n", f);
    fclose(f);
    assert_int_equal(config_load_file(&c, path, err, sizeof err), PLG_EINVAL);
    assert_non_null(strstr(err, ":1: expected key = value"));
    unlink(path);
    assert_true(config_load_file(&c, path, err, sizeof err) < 0);
    config_free(&c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults_and_set),
        cmocka_unit_test(test_hostport),
        cmocka_unit_test(test_file_and_env),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
