/*
 * kafka_fetch_scan — read one partition back with plain Fetch requests and no client library:
 * the Kafka-side twin of `redis_scan --client raw`.
 *
 * usage: kafka_fetch_scan --bootstrap H:P --topic T --count N [--partition P]
 *                         [--max-bytes B]
 *
 * One connection, one Fetch (v4) in flight at a time, each asking for up to --max-bytes
 * (default 1 MiB, librdkafka's default per-partition size) from the next offset, like the
 * XRANGE COUNT 1000 pager on the Redis side. Each response is decoded with Pyralog's Kafka
 * codec, every RecordBatch header is parsed and every record walked with the storage iterator
 * (lengths, varints, offset deltas checked); nothing is copied or handed to an application.
 * This measures what the server can deliver when the client costs next to nothing, so it
 * shows how much of the Kafka-consumer figure is librdkafka. Compressed batches are rejected
 * (the benchmark produces uncompressed ones). Prints one line:
 *   kafka_fetch_scan records=N value_bytes=B fetches=F seconds=S records_per_s=R
 * Exit 1 with one line on stderr on a connection, protocol or Kafka error, or when no new
 * record arrives for 10 s before N were read.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "base/buf.h"
#include "base/bytes.h"
#include "kafka/kapi.h"
#include "kafka/kmsg.h"
#include "kafka/kproto.h"
#include "storage/batch.h"

#define FETCH_VERSION 4
#define MAX_FRAME (256u << 20)

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int io_all(int fd, void *p, size_t n, int wr)
{
    uint8_t *q = p;
    while (n) {
        ssize_t k = wr ? write(fd, q, n) : read(fd, q, n);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            return -1;
        q += k;
        n -= (size_t)k;
    }
    return 0;
}

struct scan {
    int64_t next;  /* next offset wanted */
    long long got; /* records read */
    long long value_bytes;
};

/* Walks the record set of one partition response. 0, or -1 with err filled. */
static int walk_records(struct scan *s, const uint8_t *p, size_t len, char *err, size_t errlen)
{
    size_t pos = 0;
    while (pos < len) {
        size_t size;
        if (batch_frame_size(p + pos, len - pos, &size) || size > len - pos)
            break; /* a partial batch at the end of a response: fetched again next time */
        struct batch b;
        int rc = batch_parse(p + pos, size, &b);
        if (rc) {
            snprintf(err, errlen, "batch at offset %lld: %s", (long long)s->next, plg_strerror(rc));
            return -1;
        }
        const uint8_t *rec;
        size_t rlen;
        if (batch_codec(&b) != BATCH_CODEC_NONE || batch_records(&b, NULL, 0, &rec, &rlen) != 0) {
            snprintf(err, errlen, "batch at offset %lld is compressed", (long long)b.base_offset);
            return -1;
        }
        struct batch_iter it;
        struct batch_record r;
        batch_iter_init(&it, &b, rec, rlen);
        while ((rc = batch_iter_next(&it, &r)) == 1) {
            if (r.offset < s->next)
                continue; /* a batch may start before the offset asked for */
            s->got++;
            s->value_bytes += r.value_len > 0 ? r.value_len : 0;
            s->next = r.offset + 1;
        }
        if (rc < 0) {
            snprintf(err, errlen, "records of batch %lld: %s", (long long)b.base_offset,
                     plg_strerror(rc));
            return -1;
        }
        if (batch_last_offset(&b) + 1 > s->next)
            s->next = batch_last_offset(&b) + 1;
        pos += size;
    }
    return 0;
}

int main(int argc, char **argv)
{
    const char *bootstrap = NULL, *topic = NULL;
    long long count = 0;
    int partition = 0;
    long max_bytes = 1 << 20;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--bootstrap"))
            bootstrap = argv[i + 1];
        else if (!strcmp(argv[i], "--topic"))
            topic = argv[i + 1];
        else if (!strcmp(argv[i], "--count"))
            count = atoll(argv[i + 1]);
        else if (!strcmp(argv[i], "--partition"))
            partition = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--max-bytes"))
            max_bytes = atol(argv[i + 1]);
        else {
            fprintf(stderr, "kafka_fetch_scan: unknown option %s\n", argv[i]);
            return 2;
        }
    }
    char host[256];
    int port = 0;
    const char *colon = bootstrap ? strrchr(bootstrap, ':') : NULL;
    if (!colon || colon - bootstrap >= (long)sizeof(host) || !topic || strlen(topic) > 249 ||
        count < 1 || partition < 0 || max_bytes < 1024 || max_bytes > (long)(MAX_FRAME / 2)) {
        fprintf(stderr, "usage: kafka_fetch_scan --bootstrap H:P --topic T --count N "
                        "[--partition P] [--max-bytes B]\n");
        return 2;
    }
    memcpy(host, bootstrap, (size_t)(colon - bootstrap));
    host[colon - bootstrap] = '\0';
    port = atoi(colon + 1);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    if (port <= 0 || port > 65535 || inet_pton(AF_INET, host, &sa.sin_addr) != 1) {
        fprintf(stderr, "kafka_fetch_scan: bad address %s\n", bootstrap);
        return 2;
    }

    double t0 = now_s();
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa))) {
        fprintf(stderr, "kafka_fetch_scan: connect %s: %s\n", bootstrap, strerror(errno));
        return 1;
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));

    struct scan s = {0};
    struct buf req, resp;
    buf_init(&req);
    buf_init(&resp);
    char err[256] = "";
    long long fetches = 0;
    double last_progress = now_s();
    long long seen = -1;
    int rc = 0;
    while (s.got < count) {
        struct kfetch_partition fp = {.partition = partition,
                                      .current_leader_epoch = -1,
                                      .fetch_offset = s.next,
                                      .last_fetched_epoch = -1,
                                      .log_start_offset = -1,
                                      .partition_max_bytes = (int32_t)max_bytes};
        struct kfetch_topic ft = {
            .topic = {topic, (int32_t)strlen(topic)}, .partitions = &fp, .npartitions = 1};
        struct kfetch_req fr = {.cluster_id = {NULL, -1},
                                .replica_id = -1,
                                .max_wait_ms = 500,
                                .min_bytes = 1,
                                .max_bytes = (int32_t)max_bytes,
                                .session_epoch = -1,
                                .topics = &ft,
                                .ntopics = 1,
                                .nforgotten_topics_data = 0,
                                .rack_id = {"", 0}};
        struct kreq_hdr h = {.api_key = KAPI_FETCH,
                             .api_version = FETCH_VERSION,
                             .correlation_id = (int32_t)fetches,
                             .client_id = {"kafka_fetch_scan", 16}};
        buf_reset(&req);
        if (kafka_request_encode(&req, &h, &fr) || req.oom) {
            snprintf(err, sizeof(err), "cannot encode the Fetch request");
            rc = -1;
            break;
        }
        uint8_t szb[4];
        if (io_all(fd, req.data, req.len, 1) || io_all(fd, szb, 4, 0)) {
            snprintf(err, sizeof(err), "connection lost: %s", strerror(errno));
            rc = -1;
            break;
        }
        uint32_t size = be32_get(szb);
        if (size < 4 || size > MAX_FRAME) {
            snprintf(err, sizeof(err), "response size %u out of bounds", size);
            rc = -1;
            break;
        }
        buf_reset(&resp);
        uint8_t *body = buf_extend(&resp, size);
        if (!body || io_all(fd, body, size, 0)) {
            snprintf(err, sizeof(err), "reading a %u-byte response failed", size);
            rc = -1;
            break;
        }
        fetches++;
        struct rd r;
        rd_init(&r, body, size);
        int32_t corr;
        struct kfetch_resp out;
        struct karena a;
        karena_init(&a, 0);
        int drc = kr_i32(&r, &corr);
        if (!drc)
            drc = kmsg_decode(&r, &kschema_fetch_resp, FETCH_VERSION, false, &a, &out);
        if (drc || corr != h.correlation_id) {
            snprintf(err, sizeof(err), "bad Fetch response: %s",
                     drc ? plg_strerror(drc) : "correlation id mismatch");
            karena_destroy(&a);
            rc = -1;
            break;
        }
        for (int32_t t = 0; t < out.nresponses && !rc; t++)
            for (int32_t k = 0; k < out.responses[t].npartitions && !rc; k++) {
                const struct kfetch_partition_resp *pr = &out.responses[t].partitions[k];
                if (pr->error_code) {
                    snprintf(err, sizeof(err), "Fetch error code %d at offset %lld", pr->error_code,
                             (long long)s.next);
                    rc = -1;
                } else if (pr->records.len > 0) {
                    rc = walk_records(&s, pr->records.p, (size_t)pr->records.len, err, sizeof(err));
                }
            }
        karena_destroy(&a);
        if (rc)
            break;
        double t = now_s();
        if (s.got != seen) {
            seen = s.got;
            last_progress = t;
        } else if (t - last_progress > 10) {
            snprintf(err, sizeof(err), "no new record for 10 s (%lld of %lld read)", s.got, count);
            rc = -1;
            break;
        }
    }
    double dt = now_s() - t0;
    close(fd);
    buf_free(&req);
    buf_free(&resp);
    if (rc) {
        fprintf(stderr, "kafka_fetch_scan: %s\n", err);
        return 1;
    }
    printf("kafka_fetch_scan records=%lld value_bytes=%lld fetches=%lld seconds=%.3f "
           "records_per_s=%.0f\n",
           s.got, s.value_bytes, fetches, dt, dt > 0 ? (double)s.got / dt : 0.0);
    return 0;
}
