/*
 * Real request frames captured from kcat/librdkafka 2.0.2 and kafkajs 2.2.4 (tests/data/kafka,
 * see its README): each decodes, with the values the clients were asked to send, re-encodes to
 * the identical bytes, and every truncation of it is rejected.
 */
#include "ktest.h"
#include "../testdata.h"

#include <stdio.h>

static uint8_t *load(const char *rel, size_t *len)
{
    return testdata_load("kafka", rel, len);
}

/* Decodes the frame in file rel, checks header, exact re-encode and truncations. */
static const void *decode_file(struct fx *x, const char *rel, int16_t key, int16_t ver,
                               const char *client_id, uint8_t **keep)
{
    size_t len;
    uint8_t *p = load(rel, &len);
    assert_int_equal(kafka_request_decode(p, len, &x->a, &x->r), 0);
    assert_int_equal(x->r.hdr.api_key, key);
    assert_int_equal(x->r.hdr.api_version, ver);
    assert_true(kstr_eq(x->r.hdr.client_id, client_id));
    struct buf again;
    buf_init(&again);
    assert_int_equal(kafka_request_encode(&again, &x->r.hdr, x->r.body), 0);
    assert_int_equal(again.len, len + 4);
    assert_memory_equal(again.data + 4, p, len);
    buf_free(&again);
    for (size_t cut = 0; cut < len; cut++) {
        struct karena a2;
        karena_init(&a2, 0);
        struct kreq r2;
        uint8_t *c = malloc(cut ? cut : 1);
        memcpy(c, p, cut);
        assert_true(kafka_request_decode(c, cut, &a2, &r2) < 0);
        free(c);
        karena_destroy(&a2);
    }
    *keep = p; /* views point into it */
    return x->r.body;
}

static void test_kcat_apiversions_v3(void **state)
{
    uint8_t *p;
    const struct kapiversions_req *q = decode_file(
        *state, "librdkafka-2.0.2/kcat_ApiVersions_v3.bin", KAPI_API_VERSIONS, 3, "rdkafka", &p);
    assert_true(kstr_eq(q->client_software_name, "librdkafka"));
    assert_true(kstr_eq(q->client_software_version, "2.0.2"));
    free(p);
}

static void test_kcat_metadata_v4(void **state)
{
    uint8_t *p;
    const struct kmetadata_req *q = decode_file(*state, "librdkafka-2.0.2/kcat_Metadata_v4.bin",
                                                KAPI_METADATA, 4, "rdkafka", &p);
    assert_int_equal(q->ntopics, 1);
    assert_true(kstr_eq(q->topics[0].name, "events"));
    assert_true(q->allow_auto_topic_creation);
    free(p);
}

static void test_kcat_initproducerid_v4(void **state)
{
    uint8_t *p;
    const struct kinitproducerid_req *q =
        decode_file(*state, "librdkafka-2.0.2/kcat_InitProducerId_v4.bin", KAPI_INIT_PRODUCER_ID, 4,
                    "rdkafka", &p);
    assert_int_equal(q->transactional_id.len, -1);
    assert_true(q->producer_id == -1);
    assert_int_equal(q->producer_epoch, -1);
    free(p);
}

/* A RecordBatch v2 header check on records produced by a client. */
static void check_batch(const struct krecords *rec, int nrecords, int64_t pid)
{
    assert_true(rec->len >= 61);
    assert_int_equal(be32_get(rec->p + 8), rec->len - 12); /* batchLength */
    assert_int_equal(rec->p[16], 2);                       /* magic */
    assert_int_equal((int32_t)be32_get(rec->p + 23), nrecords - 1);
    assert_true((int64_t)be64_get(rec->p + 43) == pid);
    assert_int_equal((int32_t)be32_get(rec->p + 57), nrecords);
}

static void test_kcat_produce_v7(void **state)
{
    uint8_t *p;
    const struct kproduce_req *q =
        decode_file(*state, "librdkafka-2.0.2/kcat_Produce_v7.bin", KAPI_PRODUCE, 7, "rdkafka", &p);
    assert_int_equal(q->transactional_id.len, -1);
    assert_int_equal(q->acks, -1); /* idempotence forces acks=all */
    assert_int_equal(q->ntopics, 1);
    assert_true(kstr_eq(q->topics[0].name, "events"));
    assert_int_equal(q->topics[0].npartitions, 1);
    const struct krecords *rec = &q->topics[0].partitions[0].records;
    assert_true(rec->p > p && rec->p + rec->len == p + 150); /* a view into the frame */
    check_batch(rec, 2, 1000); /* producer id 1000 from our InitProducerId answer */
    free(p);
}

static void test_kcat_listoffsets_v2(void **state)
{
    uint8_t *p;
    const struct klistoffsets_req *q = decode_file(
        *state, "librdkafka-2.0.2/kcat_ListOffsets_v2.bin", KAPI_LIST_OFFSETS, 2, "rdkafka", &p);
    assert_int_equal(q->replica_id, -1);
    assert_int_equal(q->isolation_level, 1); /* librdkafka default read_committed */
    assert_true(kstr_eq(q->topics[0].name, "events"));
    assert_true(q->topics[0].partitions[0].timestamp == -2); /* -o beginning */
    free(p);
}

static void test_kcat_fetch_v11(void **state)
{
    uint8_t *p;
    const struct kfetch_req *q =
        decode_file(*state, "librdkafka-2.0.2/kcat_Fetch_v11.bin", KAPI_FETCH, 11, "rdkafka", &p);
    assert_int_equal(q->replica_id, -1);
    assert_int_equal(q->max_wait_ms, 500);
    assert_int_equal(q->min_bytes, 1);
    assert_int_equal(q->isolation_level, 1);
    assert_int_equal(q->session_id, 0);
    assert_int_equal(q->session_epoch, -1); /* no fetch session */
    assert_int_equal(q->ntopics, 1);
    assert_true(kstr_eq(q->topics[0].topic, "events"));
    const struct kfetch_partition *fp = &q->topics[0].partitions[0];
    assert_int_equal(fp->partition, 0);
    assert_true(fp->fetch_offset == 0);
    assert_int_equal(fp->current_leader_epoch, -1);
    assert_int_equal(fp->partition_max_bytes, 1048576);
    assert_int_equal(q->nforgotten_topics_data, 0);
    assert_true(kstr_eq(q->rack_id, ""));
    free(p);
}

static void test_rdkafka_admin(void **state)
{
    uint8_t *p;
    const struct kcreatetopics_req *ct = decode_file(
        *state, "librdkafka-2.0.2/admin_CreateTopics_v4.bin", KAPI_CREATE_TOPICS, 4, "rdkafka", &p);
    assert_int_equal(ct->ntopics, 1);
    assert_true(kstr_eq(ct->topics[0].name, "adm"));
    assert_int_equal(ct->topics[0].num_partitions, 3);
    assert_int_equal(ct->topics[0].replication_factor, 1);
    assert_int_equal(ct->topics[0].nconfigs, 1);
    assert_true(kstr_eq(ct->topics[0].configs[0].name, "retention.ms"));
    assert_true(kstr_eq(ct->topics[0].configs[0].value, "1000"));
    free(p);
    const struct kdescribeconfigs_req *dc =
        decode_file(*state, "librdkafka-2.0.2/admin_DescribeConfigs_v1.bin", KAPI_DESCRIBE_CONFIGS,
                    1, "rdkafka", &p);
    assert_int_equal(dc->resources[0].resource_type, KRESOURCE_TOPIC);
    assert_true(kstr_eq(dc->resources[0].resource_name, "adm"));
    assert_int_equal(dc->resources[0].nconfiguration_keys, -1);
    free(p);
    const struct kalterconfigs_req *ac = decode_file(
        *state, "librdkafka-2.0.2/admin_AlterConfigs_v0.bin", KAPI_ALTER_CONFIGS, 0, "rdkafka", &p);
    assert_true(kstr_eq(ac->resources[0].configs[0].name, "retention.ms"));
    assert_true(kstr_eq(ac->resources[0].configs[0].value, "2000"));
    free(p);
    const struct kcreatepartitions_req *cp =
        decode_file(*state, "librdkafka-2.0.2/admin_CreatePartitions_v0.bin",
                    KAPI_CREATE_PARTITIONS, 0, "rdkafka", &p);
    assert_true(kstr_eq(cp->topics[0].name, "adm"));
    assert_int_equal(cp->topics[0].count, 4);
    assert_int_equal(cp->topics[0].nassignments, -1);
    free(p);
    const struct kdeletetopics_req *dt = decode_file(
        *state, "librdkafka-2.0.2/admin_DeleteTopics_v1.bin", KAPI_DELETE_TOPICS, 1, "rdkafka", &p);
    assert_int_equal(dt->ntopic_names, 1);
    assert_true(kstr_eq(dt->topic_names[0], "adm"));
    free(p);
}

static void test_kafkajs(void **state)
{
    uint8_t *p;
    decode_file(*state, "kafkajs-2.2.4/ApiVersions_v2.bin", KAPI_API_VERSIONS, 2, "kjs", &p);
    free(p);
    const struct kmetadata_req *md =
        decode_file(*state, "kafkajs-2.2.4/Metadata_v6.bin", KAPI_METADATA, 6, "kjs", &p);
    assert_int_equal(md->ntopics, -1); /* kafkajs first asks for all topics (null array) */
    free(p);
    const struct kcreatetopics_req *ct =
        decode_file(*state, "kafkajs-2.2.4/CreateTopics_v3.bin", KAPI_CREATE_TOPICS, 3, "kjs", &p);
    assert_true(kstr_eq(ct->topics[0].name, "jt"));
    assert_int_equal(ct->topics[0].num_partitions, 2);
    assert_int_equal(ct->topics[0].replication_factor, -1);
    assert_int_equal(ct->timeout_ms, 5000);
    assert_false(ct->validate_only);
    free(p);
    const struct klistoffsets_req *lo =
        decode_file(*state, "kafkajs-2.2.4/ListOffsets_v3.bin", KAPI_LIST_OFFSETS, 3, "kjs", &p);
    assert_true(kstr_eq(lo->topics[0].name, "jt"));
    assert_int_equal(lo->topics[0].npartitions, 2);
    free(p);
    const struct kinitproducerid_req *ip = decode_file(
        *state, "kafkajs-2.2.4/InitProducerId_v1.bin", KAPI_INIT_PRODUCER_ID, 1, "kjs", &p);
    assert_int_equal(ip->transactional_id.len, -1);
    free(p);
    const struct kproduce_req *pr =
        decode_file(*state, "kafkajs-2.2.4/Produce_v7.bin", KAPI_PRODUCE, 7, "kjs", &p);
    assert_int_equal(pr->acks, -1);
    assert_int_equal(pr->timeout_ms, 30000);
    assert_true(kstr_eq(pr->topics[0].name, "jt"));
    assert_int_equal(pr->topics[0].partitions[0].index, 1);
    check_batch(&pr->topics[0].partitions[0].records, 2, 1000);
    free(p);
    const struct kdeletetopics_req *dt =
        decode_file(*state, "kafkajs-2.2.4/DeleteTopics_v1.bin", KAPI_DELETE_TOPICS, 1, "kjs", &p);
    assert_true(kstr_eq(dt->topic_names[0], "jt"));
    free(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_kcat_apiversions_v3, setup, teardown),
        cmocka_unit_test_setup_teardown(test_kcat_metadata_v4, setup, teardown),
        cmocka_unit_test_setup_teardown(test_kcat_initproducerid_v4, setup, teardown),
        cmocka_unit_test_setup_teardown(test_kcat_produce_v7, setup, teardown),
        cmocka_unit_test_setup_teardown(test_kcat_listoffsets_v2, setup, teardown),
        cmocka_unit_test_setup_teardown(test_kcat_fetch_v11, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rdkafka_admin, setup, teardown),
        cmocka_unit_test_setup_teardown(test_kafkajs, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
