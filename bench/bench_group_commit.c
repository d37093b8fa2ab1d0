/*
 * bench_group_commit — cost of committing (and fetching) offsets for many partitions.
 *
 *   bench_group_commit H:P [ITERATIONS [PARTITIONS]]      (defaults 2000, 100)
 *
 * Creates topic "bench-commit" with PARTITIONS partitions, then sends ITERATIONS OffsetCommit v7
 * requests (one group, generation -1, every partition, new offsets each time) one at a time
 * over one connection and times each round trip; then the same for OffsetFetch v5. Every
 * response is decoded and every partition error checked. The round trip bounds the server's
 * time from above (it adds loopback and client work); the server persists each commit in
 * __consumer_offsets and answers once it is durable. Prints p50/p99/mean in microseconds.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "kafka/kapi.h"
#include "kafka/kgroups.h"

static int fd;
static int32_t corr;

static double now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

static int read_full(uint8_t *p, size_t n)
{
    while (n) {
        ssize_t r = read(fd, p, n);
        if (r <= 0)
            return -1;
        p += r;
        n -= (size_t)r;
    }
    return 0;
}

/* Sends one request and decodes the response body into resp (schema s, version v). */
static int roundtrip(int16_t key, int16_t ver, const void *body, const struct kschema *s,
                     void *resp, struct karena *a, struct buf *in)
{
    struct kreq_hdr h = {key, ver, ++corr, kstr_z("bench")};
    struct buf out;
    buf_init(&out);
    if (kafka_request_encode(&out, &h, body) || out.oom)
        return -1;
    ssize_t w = write(fd, out.data, out.len);
    buf_free(&out);
    if (w < 0)
        return -1;
    uint8_t sz[4];
    if (read_full(sz, 4))
        return -1;
    size_t n = be32_get(sz);
    buf_reset(in);
    uint8_t *p = buf_extend(in, n);
    if (!p || read_full(p, n))
        return -1;
    struct rd r;
    rd_init(&r, p, n);
    int32_t c;
    if (kr_i32(&r, &c) || c != corr)
        return -1;
    return kmsg_decode(&r, s, ver, false, a, resp);
}

static int cmp_d(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static void report(const char *what, double *t, int n, int parts)
{
    qsort(t, (size_t)n, sizeof *t, cmp_d);
    double sum = 0;
    for (int i = 0; i < n; i++)
        sum += t[i];
    printf("%-28s partitions=%d n=%d p50=%.1fus p99=%.1fus mean=%.1fus\n", what, parts, n, t[n / 2],
           t[(int)(n * 0.99)], sum / n);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: bench_group_commit H:P [ITERATIONS [PARTITIONS]]\n");
        return 2;
    }
    int iters = argc > 2 ? atoi(argv[2]) : 2000;
    int parts = argc > 3 ? atoi(argv[3]) : 100;
    char host[64];
    int port;
    if (sscanf(argv[1], "%63[^:]:%d", host, &port) != 2 || iters < 1 || parts < 1) {
        fprintf(stderr, "bench_group_commit: bad arguments\n");
        return 2;
    }
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    inet_pton(AF_INET, host, &sa.sin_addr);
    fd = socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (connect(fd, (struct sockaddr *)&sa, sizeof sa)) {
        perror("bench_group_commit: connect");
        return 1;
    }
    struct buf in;
    buf_init(&in);
    struct karena a;
    karena_init(&a, 0);

    struct kcreatetopics_topic ct = {0};
    ct.name = kstr_z("bench-commit");
    ct.num_partitions = parts;
    ct.replication_factor = 1;
    struct kcreatetopics_req cr = {&ct, 1, 10000, false};
    struct kcreatetopics_resp crr;
    if (roundtrip(KAPI_CREATE_TOPICS, 4, &cr, &kschema_createtopics_resp, &crr, &a, &in) ||
        crr.ntopics != 1 || (crr.topics[0].error_code && crr.topics[0].error_code != 36)) {
        fprintf(stderr, "bench_group_commit: cannot create the topic\n");
        return 1;
    }

    struct koffsetcommit_partition *cp = calloc((size_t)parts, sizeof *cp);
    int32_t *idx = calloc((size_t)parts, sizeof *idx);
    double *t = calloc((size_t)iters, sizeof *t);
    for (int p = 0; p < parts; p++) {
        cp[p].partition_index = p;
        cp[p].committed_leader_epoch = -1;
        cp[p].commit_timestamp = -1;
        cp[p].committed_metadata = kstr_z("");
        idx[p] = p;
    }
    struct koffsetcommit_topic top = {kstr_z("bench-commit"), cp, parts};
    struct koffsetcommit_req oc = {
        kstr_z("bench-group"), -1, kstr_z(""), kstr_z(NULL), -1, &top, 1};
    for (int i = 0; i < iters; i++) {
        for (int p = 0; p < parts; p++)
            cp[p].committed_offset = (int64_t)i * 10 + p;
        struct koffsetcommit_resp r;
        karena_destroy(&a);
        karena_init(&a, 0);
        double t0 = now_us();
        if (roundtrip(KAPI_OFFSET_COMMIT, 7, &oc, &kschema_offsetcommit_resp, &r, &a, &in) ||
            r.ntopics != 1 || r.topics[0].npartitions != parts) {
            fprintf(stderr, "bench_group_commit: bad OffsetCommit response\n");
            return 1;
        }
        t[i] = now_us() - t0;
        for (int p = 0; p < parts; p++)
            if (r.topics[0].partitions[p].error_code) {
                fprintf(stderr, "bench_group_commit: commit error %d\n",
                        r.topics[0].partitions[p].error_code);
                return 1;
            }
    }
    report("OffsetCommit v7 round trip", t, iters, parts);

    struct koffsetfetch_topic ft = {kstr_z("bench-commit"), idx, parts};
    struct koffsetfetch_req of = {kstr_z("bench-group"), &ft, 1, false};
    for (int i = 0; i < iters; i++) {
        struct koffsetfetch_resp r;
        karena_destroy(&a);
        karena_init(&a, 0);
        double t0 = now_us();
        if (roundtrip(KAPI_OFFSET_FETCH, 5, &of, &kschema_offsetfetch_resp, &r, &a, &in) ||
            r.ntopics != 1 || r.topics[0].npartitions != parts ||
            r.topics[0].partitions[parts - 1].committed_offset !=
                (int64_t)(iters - 1) * 10 + parts - 1) {
            fprintf(stderr, "bench_group_commit: bad OffsetFetch response\n");
            return 1;
        }
        t[i] = now_us() - t0;
    }
    report("OffsetFetch v5 round trip", t, iters, parts);
    karena_destroy(&a);
    buf_free(&in);
    free(cp);
    free(idx);
    free(t);
    close(fd);
    return 0;
}
