/* The request JSON parser against jansson: the same values for valid documents, errors for the
 * invalid ones jansson rejects too, positions in messages, depth limit, UTF-8 rules. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "pyralog/pyralog.h"
#include "rpc/json.h"

static void same_as_jansson(const char *text, size_t len)
{
    json_t *mine = NULL, *ref;
    char why[200] = "";
    int rc = rpc_json_parse(text, len, &mine, why, sizeof why);
    ref = json_loadb(text, len, JSON_DECODE_ANY, NULL);
    if (ref) {
        if (rc != 0)
            fail_msg("rejected valid %.*s: %s", (int)len, text, why);
        if (!json_equal(mine, ref))
            fail_msg("different value for %.*s", (int)len, text);
    } else if (rc == 0) {
        fail_msg("accepted invalid %.*s", (int)len, text);
    }
    json_decref(mine);
    json_decref(ref);
}

static void test_valid(void **state)
{
    (void)state;
    static const char *docs[] = {
        "{}",
        "[]",
        " {\"a\" : [1, -2, 3.5, -0.25e-3, 1E+2, 0, -0, true, false, null]} ",
        "\"plain\"",
        "\"esc \\\" \\\\ \\/ \\b \\f \\n \\r \\t\"",
        "\"\\u00e9\\u4e2d\\ud83d\\ude00\"",
        "\"caf\xc3\xa9 \xe4\xb8\xad \xf0\x9f\x98\x80\"",
        "9223372036854775807",
        "-9223372036854775808",
        "1.7976931348623157e308",
        "4.9e-324",
        "1e-400",
        "{\"k\":1,\"k\":2}",
        "[[[[[]]]]]",
        "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"x\"}",
        "  42  ",
        "[\"\",\"\"]",
        "{\"\":\"\"}",
    };
    for (size_t i = 0; i < sizeof docs / sizeof docs[0]; i++)
        same_as_jansson(docs[i], strlen(docs[i]));
    json_t *v;
    char why[200];
    assert_int_equal(rpc_json_parse("{\"k\":1,\"k\":2}", 13, &v, why, sizeof why), 0);
    assert_int_equal(json_integer_value(json_object_get(v, "k")), 2);
    json_decref(v);
}

static void test_invalid(void **state)
{
    (void)state;
    static const char *docs[] = {
        "",
        " ",
        "{",
        "[",
        "[1,]",
        "{\"a\":}",
        "{\"a\" 1}",
        "{a:1}",
        "[1 2]",
        "01",
        "1.",
        "1.e5",
        "-",
        "+1",
        ".5",
        "1e",
        "tru",
        "nul",
        "\"abc",
        "\"a\\x\"",
        "\"\\u12\"",
        "\"\\ud800\"",
        "\"\\udc00\"",
        "\"\\ud800\\u0041\"",
        "\"\\u0000\"",
        "\"a\nb\"",
        "9223372036854775808",
        "-9223372036854775809",
        "1e400",
        "[1]]",
        "{} x",
        "\"\xff\"",
        "\"\xc0\xaf\"",
        "\"\xed\xa0\x80\"",
        "\"\xf4\x90\x80\x80\"",
        "\"\xe2\x82\"",
        "NaN",
        "[Infinity]",
        "{\"a\":1,}",
    };
    for (size_t i = 0; i < sizeof docs / sizeof docs[0]; i++)
        same_as_jansson(docs[i], strlen(docs[i]));
    /* NUL bytes inside and after. */
    same_as_jansson("\"a\0b\"", 5);
    same_as_jansson("{}\0", 3);
    json_t *v = NULL;
    char why[200];
    assert_int_equal(rpc_json_parse("{\n  \"a\": x}", 11, &v, why, sizeof why), PLG_ECORRUPT);
    assert_non_null(strstr(why, "line 2 column 8"));
}

static void test_depth(void **state)
{
    (void)state;
    size_t n = RPC_JSON_MAX_DEPTH + 1;
    char *deep = malloc(2 * n);
    memset(deep, '[', n);
    memset(deep + n, ']', n);
    json_t *v = NULL;
    char why[200];
    assert_int_equal(rpc_json_parse(deep, 2 * n, &v, why, sizeof why), PLG_ECORRUPT);
    assert_non_null(strstr(why, "nesting too deep"));
    assert_int_equal(rpc_json_parse(deep + 1, 2 * n - 2, &v, why, sizeof why), 0);
    json_decref(v);
    free(deep);
}

/* Numbers of any length are JSON: long reals parse (the fuzzer found these refused as "number
 * too long" while jansson took them); long integers overflow in both. */
static void test_long_numbers(void **state)
{
    (void)state;
    static const char *shapes[][3] = {
        {"1.", "0", ""},         {"0.", "0", "1"}, {"-0.", "0", "1e3"}, {"[1.", "5", "]"},
        {"{\"k\":", "0", ".5}"}, {"1", "1", ""},   {"-", "9", ""},      {"1", "0", "e-1"},
    };
    for (size_t n = 60; n <= 3000; n = n * 3 + 1) {
        for (size_t k = 0; k < sizeof shapes / sizeof shapes[0]; k++) {
            size_t a = strlen(shapes[k][0]), c = strlen(shapes[k][2]);
            char *doc = malloc(a + n + c);
            memcpy(doc, shapes[k][0], a);
            memset(doc + a, shapes[k][1][0], n);
            memcpy(doc + a + n, shapes[k][2], c);
            same_as_jansson(doc, a + n + c);
            free(doc);
        }
    }
    json_t *v = NULL;
    char why[200];
    char num[502] = "1.";
    memset(num + 2, '0', 500);
    assert_int_equal(rpc_json_parse(num, sizeof num, &v, why, sizeof why), 0);
    assert_true(json_is_real(v) && json_real_value(v) == 1.0);
    json_decref(v);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_valid),
        cmocka_unit_test(test_invalid),
        cmocka_unit_test(test_depth),
        cmocka_unit_test(test_long_numbers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
