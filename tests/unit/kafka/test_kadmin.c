/*
 * Admin APIs and InitProducerId: request round trips at every supported version with field
 * checks, and responses encoded then decoded through their schemas (plus byte checks where a
 * layout detail matters: tagged fields, nullable arrays).
 */
#include "ktest.h"

static void test_createtopics(void **state)
{
    struct fx *x = *state;
    int32_t brokers[1] = {0};
    struct kcreatetopics_assignment as = {0, brokers, 1};
    struct kconfig_kv cfg[2] = {{S("retention.ms"), S("1000")}, {S("cleanup.policy"), S(NULL)}};
    struct kcreatetopics_topic t[2] = {{S("a"), 3, 1, NULL, 0, cfg, 2},
                                       {S("b"), -1, -1, &as, 1, NULL, 0}};
    struct kcreatetopics_req q = {t, 2, 5000, true};
    for (int16_t v = 0; v <= 7; v++) {
        const struct kcreatetopics_req *d = rt(x, KAPI_CREATE_TOPICS, v, &q);
        assert_int_equal(d->ntopics, 2);
        assert_true(kstr_eq(d->topics[0].name, "a"));
        assert_int_equal(d->topics[0].num_partitions, 3);
        assert_int_equal(d->topics[0].replication_factor, 1);
        assert_int_equal(d->topics[0].nconfigs, 2);
        assert_true(kstr_eq(d->topics[0].configs[0].value, "1000"));
        assert_int_equal(d->topics[0].configs[1].value.len, -1);
        assert_int_equal(d->topics[1].num_partitions, -1);
        assert_int_equal(d->topics[1].assignments[0].broker_ids[0], 0);
        assert_int_equal(d->timeout_ms, 5000);
        assert_int_equal(d->validate_only, v >= 1);
    }
    struct kcreatetopics_config_resp cr = {S("retention.ms"), S("1000"), false, 5, false};
    struct kcreatetopics_topic_resp tr = {
        S("a"), {{1}}, KERR_TOPIC_ALREADY_EXISTS, S("exists"), 40, 3, 1, &cr, 1};
    struct kcreatetopics_resp resp = {0, &tr, 1};
    for (int16_t v = 0; v <= 7; v++) {
        struct kcreatetopics_resp d;
        resp_rt(x, KAPI_CREATE_TOPICS, v, &resp, &d);
        assert_int_equal(d.ntopics, 1);
        assert_int_equal(d.topics[0].error_code, KERR_TOPIC_ALREADY_EXISTS);
        if (v >= 1)
            assert_true(kstr_eq(d.topics[0].error_message, "exists"));
        else
            assert_int_equal(d.topics[0].error_message.len, -1);
        assert_int_equal(d.topics[0].num_partitions, v >= 5 ? 3 : -1);
        /* TopicConfigErrorCode is tagged field 0 from v5. */
        assert_int_equal(d.topics[0].topic_config_error_code, v >= 5 ? 40 : 0);
        assert_int_equal(d.topics[0].nconfigs, v >= 5 ? 1 : 0);
        assert_int_equal(d.topics[0].topic_id.b[0], v >= 7 ? 1 : 0);
    }
    /* The tag on the wire (v5): after error_message: ... then the topic's tag section. */
    tr.configs = NULL;
    tr.nconfigs = -1;
    struct kreq_hdr h = {KAPI_CREATE_TOPICS, 5, 1, S(NULL)};
    buf_reset(&x->f);
    assert_int_equal(kafka_response_encode(&x->f, &h, &resp, NULL, NULL), 0);
    /* Ends: configs null (0), tag section {1 field, tag 0, size 2, 0x00 0x28}, resp tags 0. */
    const uint8_t tail[] = {0, 1, 0, 2, 0, 40, 0};
    assert_memory_equal(x->f.data + x->f.len - sizeof tail, tail, sizeof tail);
}

static void test_deletetopics(void **state)
{
    struct fx *x = *state;
    struct kstr names[2] = {S("a"), S("bb")};
    struct kdeletetopics_req q = {names, 2, 3000};
    for (int16_t v = 0; v <= 5; v++) {
        const struct kdeletetopics_req *d = rt(x, KAPI_DELETE_TOPICS, v, &q);
        assert_int_equal(d->ntopic_names, 2);
        assert_true(kstr_eq(d->topic_names[1], "bb"));
        assert_int_equal(d->timeout_ms, 3000);
    }
    struct kdeletetopics_result res = {S("a"), KERR_UNKNOWN_TOPIC_OR_PARTITION, S("no")};
    struct kdeletetopics_resp resp = {7, &res, 1};
    for (int16_t v = 0; v <= 5; v++) {
        struct kdeletetopics_resp d;
        resp_rt(x, KAPI_DELETE_TOPICS, v, &resp, &d);
        assert_int_equal(d.throttle_time_ms, v >= 1 ? 7 : 0);
        assert_true(kstr_eq(d.responses[0].name, "a"));
        assert_int_equal(d.responses[0].error_code, KERR_UNKNOWN_TOPIC_OR_PARTITION);
        if (v >= 5)
            assert_true(kstr_eq(d.responses[0].error_message, "no"));
    }
}

static void test_createpartitions(void **state)
{
    struct fx *x = *state;
    int32_t b0[1] = {0};
    struct kcreatepartitions_assignment as[1] = {{b0, 1}};
    struct kcreatepartitions_topic t[2] = {{S("a"), 6, NULL, -1}, {S("b"), 2, as, 1}};
    struct kcreatepartitions_req q = {t, 2, 1000, false};
    for (int16_t v = 0; v <= 3; v++) {
        const struct kcreatepartitions_req *d = rt(x, KAPI_CREATE_PARTITIONS, v, &q);
        assert_int_equal(d->topics[0].count, 6);
        assert_int_equal(d->topics[0].nassignments, -1);
        assert_int_equal(d->topics[1].nassignments, 1);
        assert_int_equal(d->topics[1].assignments[0].broker_ids[0], 0);
    }
    struct kcreatepartitions_result res = {S("a"), KERR_INVALID_PARTITIONS, S("fewer")};
    struct kcreatepartitions_resp resp = {0, &res, 1};
    for (int16_t v = 0; v <= 3; v++) {
        struct kcreatepartitions_resp d;
        resp_rt(x, KAPI_CREATE_PARTITIONS, v, &resp, &d);
        assert_int_equal(d.results[0].error_code, KERR_INVALID_PARTITIONS);
        assert_true(kstr_eq(d.results[0].error_message, "fewer"));
    }
}

static void test_describeconfigs(void **state)
{
    struct fx *x = *state;
    struct kstr keys[1] = {S("retention.ms")};
    struct kdescribeconfigs_resource rs[2] = {{KRESOURCE_TOPIC, S("a"), NULL, -1},
                                              {KRESOURCE_TOPIC, S("b"), keys, 1}};
    struct kdescribeconfigs_req q = {rs, 2, true, true};
    for (int16_t v = 0; v <= 4; v++) {
        const struct kdescribeconfigs_req *d = rt(x, KAPI_DESCRIBE_CONFIGS, v, &q);
        assert_int_equal(d->nresources, 2);
        assert_int_equal(d->resources[0].resource_type, KRESOURCE_TOPIC);
        assert_int_equal(d->resources[0].nconfiguration_keys, -1);
        assert_true(kstr_eq(d->resources[1].configuration_keys[0], "retention.ms"));
        assert_int_equal(d->include_synonyms, v >= 1);
        assert_int_equal(d->include_documentation, v >= 3);
    }
    struct kdescribeconfigs_synonym syn = {S("log.retention.ms"), S("1000"), 5};
    struct kdescribeconfigs_config c = {
        S("retention.ms"), S("1000"), false, true, 1, false, &syn, 1, 5, S(NULL)};
    struct kdescribeconfigs_result res = {0, S(NULL), KRESOURCE_TOPIC, S("a"), &c, 1};
    struct kdescribeconfigs_resp resp = {0, &res, 1};
    for (int16_t v = 0; v <= 4; v++) {
        struct kdescribeconfigs_resp d;
        resp_rt(x, KAPI_DESCRIBE_CONFIGS, v, &resp, &d);
        const struct kdescribeconfigs_config *dc = &d.results[0].configs[0];
        assert_true(kstr_eq(dc->name, "retention.ms"));
        assert_true(kstr_eq(dc->value, "1000"));
        assert_int_equal(dc->is_default, v == 0);
        assert_int_equal(dc->config_source, v >= 1 ? 1 : -1);
        assert_int_equal(dc->nsynonyms, v >= 1 ? 1 : 0);
        assert_int_equal(dc->config_type, v >= 3 ? 5 : 0);
        assert_int_equal(dc->documentation.len, -1);
    }
}

static void test_alterconfigs(void **state)
{
    struct fx *x = *state;
    struct kconfig_kv cfg[1] = {{S("retention.ms"), S("5")}};
    struct kalterconfigs_resource rs = {KRESOURCE_TOPIC, S("a"), cfg, 1};
    struct kalterconfigs_req q = {&rs, 1, true};
    for (int16_t v = 0; v <= 2; v++) {
        const struct kalterconfigs_req *d = rt(x, KAPI_ALTER_CONFIGS, v, &q);
        assert_true(kstr_eq(d->resources[0].configs[0].value, "5"));
        assert_true(d->validate_only);
    }
    struct kincalterconfigs_config ic[2] = {{S("retention.ms"), KCONFIG_OP_SET, S("5")},
                                            {S("segment.bytes"), KCONFIG_OP_DELETE, S(NULL)}};
    struct kincalterconfigs_resource irs = {KRESOURCE_TOPIC, S("a"), ic, 2};
    struct kincalterconfigs_req iq = {&irs, 1, false};
    for (int16_t v = 0; v <= 1; v++) {
        const struct kincalterconfigs_req *d = rt(x, KAPI_INCREMENTAL_ALTER_CONFIGS, v, &iq);
        assert_int_equal(d->resources[0].nconfigs, 2);
        assert_int_equal(d->resources[0].configs[1].config_operation, KCONFIG_OP_DELETE);
        assert_int_equal(d->resources[0].configs[1].value.len, -1);
    }
    struct kalterconfigs_result res = {KERR_INVALID_CONFIG, S("bad"), KRESOURCE_TOPIC, S("a")};
    struct kalterconfigs_resp resp = {0, &res, 1};
    for (int16_t v = 0; v <= 2; v++) {
        struct kalterconfigs_resp d;
        resp_rt(x, KAPI_ALTER_CONFIGS, v, &resp, &d);
        assert_int_equal(d.responses[0].error_code, KERR_INVALID_CONFIG);
        assert_true(kstr_eq(d.responses[0].resource_name, "a"));
    }
    for (int16_t v = 0; v <= 1; v++) {
        struct kalterconfigs_resp d;
        resp_rt(x, KAPI_INCREMENTAL_ALTER_CONFIGS, v, &resp, &d);
        assert_true(kstr_eq(d.responses[0].error_message, "bad"));
    }
}

static void test_initproducerid(void **state)
{
    struct fx *x = *state;
    struct kinitproducerid_req q = {S(NULL), 60000, 1234, 2};
    for (int16_t v = 0; v <= 4; v++) {
        const struct kinitproducerid_req *d = rt(x, KAPI_INIT_PRODUCER_ID, v, &q);
        assert_int_equal(d->transactional_id.len, -1);
        assert_int_equal(d->transaction_timeout_ms, 60000);
        assert_true(d->producer_id == (v >= 3 ? 1234 : -1));
        assert_int_equal(d->producer_epoch, v >= 3 ? 2 : -1);
    }
    struct kinitproducerid_resp resp = {0, 0, 1000, 0};
    for (int16_t v = 0; v <= 4; v++) {
        struct kinitproducerid_resp d;
        resp_rt(x, KAPI_INIT_PRODUCER_ID, v, &resp, &d);
        assert_true(d.producer_id == 1000);
        assert_int_equal(d.producer_epoch, 0);
        /* Fixed size: header + throttle + error + id + epoch (+ tags from v2). */
        assert_int_equal(x->f.len, 8 + (v >= 2 ? 1 : 0) + 4 + 2 + 8 + 2 + (v >= 2 ? 1 : 0));
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_createtopics, setup, teardown),
        cmocka_unit_test_setup_teardown(test_deletetopics, setup, teardown),
        cmocka_unit_test_setup_teardown(test_createpartitions, setup, teardown),
        cmocka_unit_test_setup_teardown(test_describeconfigs, setup, teardown),
        cmocka_unit_test_setup_teardown(test_alterconfigs, setup, teardown),
        cmocka_unit_test_setup_teardown(test_initproducerid, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
