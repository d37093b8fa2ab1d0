/*
 * kafka_codec_bench — single-thread cost of the Kafka codec on the request/response hot paths.
 * usage: kafka_codec_bench [--seconds S]
 * Cases (each repeated for S seconds, default 1):
 *  - decode a Produce v7 request with one 100-record batch (records stay a view: no copy)
 *  - decode a Produce v7 request with 3 partitions x 1 MiB batches
 *  - decode a Fetch v11 request for 1 topic x 100 partitions
 *  - encode a Fetch v11 response, 3 partitions x 1 MiB records copied into the buffer
 *  - the same with external records (zero-copy splice marks; the server sendfile()s them)
 *  - encode a Metadata v9 response for a 1,000-partition topic
 * Prints ops/s, ns/op and, where it means something, GB/s of request/response bytes.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "kafka/kapi.h"

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static volatile size_t sink;

static void report(const char *name, double secs, long ops, size_t bytes_per_op)
{
    printf("%-44s %12.0f ops/s %10.1f ns/op", name, ops / secs, secs * 1e9 / ops);
    if (bytes_per_op)
        printf(" %8.2f GB/s", (double)bytes_per_op * ops / secs / 1e9);
    printf("\n");
}

static void bench_decode(const char *name, const struct buf *frame, double seconds)
{
    struct karena a;
    long ops = 0;
    double t0 = now(), t;
    do {
        for (int i = 0; i < 256; i++) {
            karena_init(&a, 0);
            struct kreq r;
            if (kafka_request_decode(frame->data + 4, frame->len - 4, &a, &r)) {
                fprintf(stderr, "decode failed\n");
                exit(1);
            }
            sink += r.hdr.correlation_id;
            karena_destroy(&a);
        }
        ops += 256;
        t = now();
    } while (t - t0 < seconds);
    report(name, t - t0, ops, frame->len);
}

static void bench_encode(const char *name, const struct kreq_hdr *h, const void *resp,
                         const struct kw_hooks *hooks, double seconds, bool count_ext)
{
    struct buf b;
    buf_init(&b);
    long ops = 0;
    size_t total = 0;
    double t0 = now(), t;
    do {
        for (int i = 0; i < 16; i++) {
            buf_reset(&b);
            size_t ext = 0;
            if (kafka_response_encode(&b, h, resp, hooks, &ext)) {
                fprintf(stderr, "encode failed\n");
                exit(1);
            }
            total = b.len + (count_ext ? ext : 0);
            sink += b.len;
        }
        ops += 16;
        t = now();
    } while (t - t0 < seconds);
    report(name, t - t0, ops, total);
    buf_free(&b);
}

static void no_op_hook(void *ctx, size_t at, const struct krecords *rec)
{
    (void)ctx;
    sink += at + (size_t)rec->len;
}

int main(int argc, char **argv)
{
    double seconds = 1.0;
    for (int i = 1; i + 1 < argc; i += 2)
        if (!strcmp(argv[i], "--seconds"))
            seconds = atof(argv[i + 1]);

    struct buf f;
    buf_init(&f);
    struct kreq_hdr h = {KAPI_PRODUCE, 7, 1, kstr_z("rdkafka")};

    /* 100 records of ~100 bytes: ~11 KB batch. */
    static uint8_t small[11000], big[3][1 << 20];
    memset(small, 7, sizeof small);
    struct kproduce_partition p1 = {0, {small, sizeof small, NULL}};
    struct kproduce_topic t1 = {kstr_z("events"), &p1, 1};
    struct kproduce_req q1 = {kstr_z(NULL), 1, 30000, &t1, 1};
    kafka_request_encode(&f, &h, &q1);
    bench_decode("decode Produce v7 1x11KB batch", &f, seconds);

    buf_reset(&f);
    struct kproduce_partition p3[3];
    for (int i = 0; i < 3; i++) {
        memset(big[i], i, sizeof big[i]);
        p3[i] = (struct kproduce_partition){i, {big[i], sizeof big[i], NULL}};
    }
    struct kproduce_topic t3 = {kstr_z("events"), p3, 3};
    struct kproduce_req q3 = {kstr_z(NULL), -1, 30000, &t3, 1};
    kafka_request_encode(&f, &h, &q3);
    bench_decode("decode Produce v7 3x1MiB batches", &f, seconds);

    buf_reset(&f);
    struct kfetch_partition fp[100];
    for (int i = 0; i < 100; i++)
        fp[i] = (struct kfetch_partition){i, -1, 12345, -1, -1, 1 << 20};
    struct kfetch_topic ft = {kstr_z("events"), fp, 100};
    struct kfetch_req fq = {kstr_z(NULL), -1,  500, 1,    52428800, 0,         0,
                            -1,           &ft, 1,   NULL, 0,        kstr_z("")};
    h.api_key = KAPI_FETCH;
    h.api_version = 11;
    kafka_request_encode(&f, &h, &fq);
    bench_decode("decode Fetch v11 100 partitions", &f, seconds);

    struct kfetch_partition_resp fr[3];
    for (int i = 0; i < 3; i++)
        fr[i] = (struct kfetch_partition_resp){
            i, 0, 1000, 1000, 0, NULL, -1, -1, {big[i], sizeof big[i], NULL}};
    struct kfetch_topic_resp ftr = {kstr_z("events"), fr, 3};
    struct kfetch_resp fresp = {0, 0, 0, &ftr, 1};
    bench_encode("encode Fetch v11 3x1MiB (copy)", &h, &fresp, NULL, seconds, true);
    for (int i = 0; i < 3; i++) {
        fr[i].records.ext = big[i];
        fr[i].records.p = NULL;
    }
    struct kw_hooks hooks = {no_op_hook, NULL};
    bench_encode("encode Fetch v11 3x1MiB (ext, zero-copy)", &h, &fresp, &hooks, seconds, false);

    static struct kmetadata_partition mp[1000];
    static int32_t node0[1] = {0};
    for (int i = 0; i < 1000; i++)
        mp[i] = (struct kmetadata_partition){0, i, 0, 0, node0, 1, node0, 1, NULL, 0};
    struct kmetadata_topic mt = {0, kstr_z("wide"), {{0}}, false, mp, 1000, INT32_MIN};
    struct kmetadata_broker br = {0, kstr_z("127.0.0.1"), 9092, kstr_z(NULL)};
    struct kmetadata_resp mr = {0, &br, 1, kstr_z("pyralog"), 0, &mt, 1, INT32_MIN};
    h.api_key = KAPI_METADATA;
    h.api_version = 9;
    bench_encode("encode Metadata v9 1 topic x 1000 partitions", &h, &mr, NULL, seconds, true);
    buf_free(&f);
    return 0;
}
