/*
 * kcodec_responder — a tiny single-threaded Kafka responder built only on the src/kafka codec,
 * for conformance tests of the codec against real clients (kcat/librdkafka, kafkajs) and for
 * capturing the exact request frames those clients send (--out DIR writes each request frame,
 * without its size prefix, as NNN_<api>_v<version>.bin).
 *
 * It is not the Pyralog broker: topics live in memory, every partition has one leader (node 0,
 * this listener), produced record batches are stored as sent (base offset patched) and served
 * back by Fetch. Empty fetches are answered after max_wait_ms. Prints
 * "kcodec ready port=N" on stderr when listening; exits after --seconds (default 60).
 *
 * usage: kcodec_responder [--out DIR] [--seconds N] [--partitions N] [--apiversions-max V]
 * (--apiversions-max V answers ApiVersions requests above V with the v0-layout error 35, the
 * path real clients take against older brokers.)
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "kafka/kapi.h"

#define MAX_CONN 32
#define MAX_TOPICS 64
#define MAX_PARTS 16

struct part {
    struct buf log; /* stored batches back to back */
    int64_t next;   /* next offset */
};

struct topic {
    char name[256];
    int nparts;
    struct part parts[MAX_PARTS];
};

struct pending {
    struct buf out;
    int64_t not_before_ms;
    struct pending *next;
};

struct conn {
    int fd;
    struct buf in;
    struct pending *q; /* responses in request order */
};

static struct topic topics[MAX_TOPICS];
static int ntopics;
static int default_parts = 1;
static int port;
static const char *out_dir;
static int frame_seq;
static int apiversions_max = 3; /* --apiversions-max: pretend newer ApiVersions are unknown */

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static struct topic *topic_find(struct kstr name, int create_parts)
{
    for (int i = 0; i < ntopics; i++)
        if (kstr_eq(name, topics[i].name))
            return &topics[i];
    if (create_parts <= 0 || ntopics == MAX_TOPICS || name.len <= 0 || name.len > 255)
        return NULL;
    struct topic *t = &topics[ntopics++];
    memset(t, 0, sizeof *t);
    memcpy(t->name, name.p, (size_t)name.len);
    t->nparts = create_parts > MAX_PARTS ? MAX_PARTS : create_parts;
    return t;
}

static void save_frame(const struct kreq *r, const uint8_t *p, size_t len)
{
    if (!out_dir)
        return;
    const char *name = r->api ? r->api->name : "Unknown";
    char path[1024];
    snprintf(path, sizeof path, "%s/%03d_%s_v%d.bin", out_dir, frame_seq++, name,
             r->hdr.api_version);
    FILE *f = fopen(path, "wb");
    if (f) {
        fwrite(p, 1, len, f);
        fclose(f);
    }
}

static void *arr(struct karena *a, size_t n, size_t sz)
{
    return n ? karena_alloc(a, n * sz) : NULL;
}

static void fill_meta_topic(struct kmetadata_topic *mt, struct topic *t, struct kstr name,
                            struct karena *a)
{
    static int32_t node0[1] = {0};
    memset(mt, 0, sizeof *mt);
    mt->name = name;
    mt->topic_authorized_operations = INT32_MIN;
    if (!t) {
        mt->error_code = KERR_UNKNOWN_TOPIC_OR_PARTITION;
        return;
    }
    mt->npartitions = t->nparts;
    mt->partitions = arr(a, (size_t)t->nparts, sizeof *mt->partitions);
    for (int p = 0; p < t->nparts; p++) {
        struct kmetadata_partition *mp = &mt->partitions[p];
        mp->partition_index = p;
        mp->leader_id = 0;
        mp->leader_epoch = 0;
        mp->replica_nodes = node0;
        mp->nreplica_nodes = 1;
        mp->isr_nodes = node0;
        mp->nisr_nodes = 1;
    }
}

/* Appends the batches in rec to the partition, assigning offsets. Returns the base offset. */
static int64_t part_append(struct part *p, const struct krecords *rec, int16_t *err)
{
    int64_t base = p->next;
    size_t off = 0;
    size_t len = rec->len > 0 ? (size_t)rec->len : 0;
    while (off + 61 <= len) {
        uint32_t blen = be32_get(rec->p + off + 8);
        if (blen < 49 || off + 12 + blen > len || rec->p[off + 16] != 2) {
            *err = KERR_CORRUPT_MESSAGE;
            return -1;
        }
        int32_t last_delta = (int32_t)be32_get(rec->p + off + 23);
        uint8_t *dst = buf_extend(&p->log, 12 + blen);
        if (!dst) {
            *err = KERR_RECORD_LIST_TOO_LARGE;
            return -1;
        }
        memcpy(dst, rec->p + off, 12 + blen);
        be64_put(dst, (uint64_t)p->next);
        p->next += (int64_t)last_delta + 1;
        off += 12 + blen;
    }
    if (off != len)
        *err = KERR_CORRUPT_MESSAGE;
    return base;
}

/* The stored bytes from the batch holding `offset` on, at most max bytes (whole batches). */
static void part_read(struct part *p, int64_t offset, int32_t max, struct krecords *out)
{
    size_t off = 0, start = SIZE_MAX;
    while (off + 61 <= p->log.len) {
        int64_t base = (int64_t)be64_get(p->log.data + off);
        uint32_t blen = be32_get(p->log.data + off + 8);
        int32_t last_delta = (int32_t)be32_get(p->log.data + off + 23);
        if (start == SIZE_MAX && base + last_delta >= offset)
            start = off;
        if (start != SIZE_MAX && off > start && off + 12 + blen - start > (size_t)max)
            break;
        off += 12 + blen;
    }
    out->ext = NULL;
    if (start == SIZE_MAX) {
        out->p = NULL;
        out->len = 0;
        return;
    }
    out->p = p->log.data + start;
    out->len = (int32_t)(off - start);
}

static int handle(struct conn *c, const uint8_t *frame, size_t len)
{
    struct karena a;
    karena_init(&a, 0);
    struct kreq r;
    int rc = kafka_request_decode(frame, len, &a, &r);
    save_frame(&r, frame, len);
    struct pending *pd = calloc(1, sizeof *pd);
    buf_init(&pd->out);
    struct buf *out = &pd->out;
    if (r.hdr_ok && r.hdr.api_key == KAPI_API_VERSIONS &&
        (rc == PLG_EUNSUPP || r.hdr.api_version > apiversions_max)) {
        /* The v0-layout error 35 answer, listing ApiVersions up to apiversions_max. */
        struct kapiversions_key keys[64];
        size_t n = kafka_apiversions_list(keys, 64);
        for (size_t i = 0; i < n && i < 64; i++)
            if (keys[i].api_key == KAPI_API_VERSIONS)
                keys[i].max_version = (int16_t)apiversions_max;
        kafka_apiversions_error(out, r.hdr.correlation_id, KERR_UNSUPPORTED_VERSION, keys,
                                n > 64 ? 64 : n);
        goto queue;
    }
    if (rc) {
        fprintf(stderr, "kcodec: bad request key=%d v=%d: %s at %zu\n", r.hdr.api_key,
                r.hdr.api_version, plg_strerror(rc), r.err_pos);
        buf_free(out);
        free(pd);
        karena_destroy(&a);
        return -1;
    }
    switch (r.hdr.api_key) {
    case KAPI_API_VERSIONS: {
        struct kapiversions_key keys[64];
        size_t n = kafka_apiversions_list(keys, 64);
        struct kapiversions_resp resp = {0, keys, (int32_t)n, 0};
        kafka_response_encode(out, &r.hdr, &resp, NULL, NULL);
        break;
    }
    case KAPI_METADATA: {
        const struct kmetadata_req *q = r.body;
        struct kmetadata_broker br = {0, kstr_z("127.0.0.1"), port, kstr_z(NULL)};
        struct kmetadata_resp resp = {0, &br, 1, kstr_z("kcodec"), 0, NULL, 0, INT32_MIN};
        if (q->ntopics < 0) {
            resp.topics = arr(&a, (size_t)ntopics, sizeof *resp.topics);
            for (int i = 0; i < ntopics; i++)
                fill_meta_topic(&resp.topics[i], &topics[i], kstr_z(topics[i].name), &a);
            resp.ntopics = ntopics;
        } else {
            resp.topics = arr(&a, (size_t)q->ntopics, sizeof *resp.topics);
            for (int i = 0; i < q->ntopics; i++) {
                struct topic *t =
                    topic_find(q->topics[i].name, q->allow_auto_topic_creation ? default_parts : 0);
                fill_meta_topic(&resp.topics[i], t, q->topics[i].name, &a);
            }
            resp.ntopics = q->ntopics;
        }
        kafka_response_encode(out, &r.hdr, &resp, NULL, NULL);
        break;
    }
    case KAPI_PRODUCE: {
        const struct kproduce_req *q = r.body;
        struct kproduce_resp resp = {arr(&a, (size_t)q->ntopics, sizeof *resp.topics), q->ntopics,
                                     0};
        for (int i = 0; i < q->ntopics; i++) {
            const struct kproduce_topic *qt = &q->topics[i];
            struct kproduce_topic_resp *rt = &resp.topics[i];
            struct topic *t = topic_find(qt->name, 0);
            rt->name = qt->name;
            rt->npartitions = qt->npartitions;
            rt->partitions = arr(&a, (size_t)qt->npartitions, sizeof *rt->partitions);
            for (int j = 0; j < qt->npartitions; j++) {
                struct kproduce_partition_resp *rp = &rt->partitions[j];
                int32_t idx = qt->partitions[j].index;
                rp->index = idx;
                rp->log_append_time_ms = -1;
                rp->base_offset = -1;
                rp->error_message = kstr_z(NULL);
                if (!t || idx < 0 || idx >= t->nparts) {
                    rp->error_code = KERR_UNKNOWN_TOPIC_OR_PARTITION;
                    continue;
                }
                rp->base_offset =
                    part_append(&t->parts[idx], &qt->partitions[j].records, &rp->error_code);
            }
        }
        if (q->acks == 0) {
            buf_free(out);
            free(pd);
            karena_destroy(&a);
            return 0;
        }
        kafka_response_encode(out, &r.hdr, &resp, NULL, NULL);
        break;
    }
    case KAPI_LIST_OFFSETS: {
        const struct klistoffsets_req *q = r.body;
        struct klistoffsets_resp resp = {0, arr(&a, (size_t)q->ntopics, sizeof *resp.topics),
                                         q->ntopics};
        for (int i = 0; i < q->ntopics; i++) {
            struct topic *t = topic_find(q->topics[i].name, 0);
            struct klistoffsets_topic_resp *rt = &resp.topics[i];
            rt->name = q->topics[i].name;
            rt->npartitions = q->topics[i].npartitions;
            rt->partitions = arr(&a, (size_t)rt->npartitions, sizeof *rt->partitions);
            for (int j = 0; j < rt->npartitions; j++) {
                const struct klistoffsets_partition *qp = &q->topics[i].partitions[j];
                struct klistoffsets_partition_resp *rp = &rt->partitions[j];
                rp->partition_index = qp->partition_index;
                rp->timestamp = -1;
                rp->leader_epoch = 0;
                if (!t || qp->partition_index < 0 || qp->partition_index >= t->nparts) {
                    rp->error_code = KERR_UNKNOWN_TOPIC_OR_PARTITION;
                    rp->offset = -1;
                } else {
                    rp->offset = qp->timestamp == -2 ? 0 : t->parts[qp->partition_index].next;
                }
            }
        }
        kafka_response_encode(out, &r.hdr, &resp, NULL, NULL);
        break;
    }
    case KAPI_FETCH: {
        const struct kfetch_req *q = r.body;
        struct kfetch_resp resp = {0, 0, 0, arr(&a, (size_t)q->ntopics, sizeof *resp.responses),
                                   q->ntopics};
        int64_t bytes = 0;
        for (int i = 0; i < q->ntopics; i++) {
            struct topic *t = topic_find(q->topics[i].topic, 0);
            struct kfetch_topic_resp *rt = &resp.responses[i];
            rt->topic = q->topics[i].topic;
            rt->npartitions = q->topics[i].npartitions;
            rt->partitions = arr(&a, (size_t)rt->npartitions, sizeof *rt->partitions);
            for (int j = 0; j < rt->npartitions; j++) {
                const struct kfetch_partition *qp = &q->topics[i].partitions[j];
                struct kfetch_partition_resp *rp = &rt->partitions[j];
                rp->partition_index = qp->partition;
                rp->naborted_transactions = -1;
                rp->preferred_read_replica = -1;
                if (!t || qp->partition < 0 || qp->partition >= t->nparts) {
                    rp->error_code = KERR_UNKNOWN_TOPIC_OR_PARTITION;
                    rp->high_watermark = rp->last_stable_offset = -1;
                    continue;
                }
                struct part *p = &t->parts[qp->partition];
                rp->high_watermark = rp->last_stable_offset = p->next;
                rp->log_start_offset = 0;
                if (qp->fetch_offset > p->next) {
                    rp->error_code = KERR_OFFSET_OUT_OF_RANGE;
                    continue;
                }
                part_read(p, qp->fetch_offset, qp->partition_max_bytes, &rp->records);
                bytes += rp->records.len;
            }
        }
        kafka_response_encode(out, &r.hdr, &resp, NULL, NULL);
        if (bytes < q->min_bytes)
            pd->not_before_ms = now_ms() + (q->max_wait_ms > 1000 ? 1000 : q->max_wait_ms);
        break;
    }
    case KAPI_INIT_PRODUCER_ID: {
        struct kinitproducerid_resp resp = {0, 0, 1000, 0};
        kafka_response_encode(out, &r.hdr, &resp, NULL, NULL);
        break;
    }
    case KAPI_CREATE_TOPICS: {
        const struct kcreatetopics_req *q = r.body;
        struct kcreatetopics_resp resp = {0, arr(&a, (size_t)q->ntopics, sizeof *resp.topics),
                                          q->ntopics};
        for (int i = 0; i < q->ntopics; i++) {
            const struct kcreatetopics_topic *qt = &q->topics[i];
            struct kcreatetopics_topic_resp *rt = &resp.topics[i];
            rt->name = qt->name;
            rt->error_message = kstr_z(NULL);
            rt->nconfigs = -1;
            int n = qt->num_partitions < 0 ? default_parts : qt->num_partitions;
            if (topic_find(qt->name, 0)) {
                rt->error_code = KERR_TOPIC_ALREADY_EXISTS;
            } else if (!q->validate_only && !topic_find(qt->name, n)) {
                rt->error_code = KERR_INVALID_TOPIC_EXCEPTION;
            }
            rt->num_partitions = n;
            rt->replication_factor = 1;
        }
        kafka_response_encode(out, &r.hdr, &resp, NULL, NULL);
        break;
    }
    case KAPI_DELETE_TOPICS: {
        const struct kdeletetopics_req *q = r.body;
        struct kdeletetopics_resp resp = {
            0, arr(&a, (size_t)q->ntopic_names, sizeof *resp.responses), q->ntopic_names};
        for (int i = 0; i < q->ntopic_names; i++) {
            resp.responses[i].name = q->topic_names[i];
            resp.responses[i].error_message = kstr_z(NULL);
            struct topic *t = topic_find(q->topic_names[i], 0);
            if (!t) {
                resp.responses[i].error_code = KERR_UNKNOWN_TOPIC_OR_PARTITION;
                continue;
            }
            for (int p = 0; p < t->nparts; p++)
                buf_free(&t->parts[p].log);
            *t = topics[--ntopics];
        }
        kafka_response_encode(out, &r.hdr, &resp, NULL, NULL);
        break;
    }
    case KAPI_CREATE_PARTITIONS: {
        const struct kcreatepartitions_req *q = r.body;
        struct kcreatepartitions_resp resp = {0, arr(&a, (size_t)q->ntopics, sizeof *resp.results),
                                              q->ntopics};
        for (int i = 0; i < q->ntopics; i++) {
            struct topic *t = topic_find(q->topics[i].name, 0);
            resp.results[i].name = q->topics[i].name;
            resp.results[i].error_message = kstr_z(NULL);
            if (!t)
                resp.results[i].error_code = KERR_UNKNOWN_TOPIC_OR_PARTITION;
            else if (q->topics[i].count <= t->nparts || q->topics[i].count > MAX_PARTS)
                resp.results[i].error_code = KERR_INVALID_PARTITIONS;
            else if (!q->validate_only)
                t->nparts = q->topics[i].count;
        }
        kafka_response_encode(out, &r.hdr, &resp, NULL, NULL);
        break;
    }
    case KAPI_DESCRIBE_CONFIGS: {
        const struct kdescribeconfigs_req *q = r.body;
        struct kdescribeconfigs_resp resp = {
            0, arr(&a, (size_t)q->nresources, sizeof *resp.results), q->nresources};
        static struct kdescribeconfigs_config cfg;
        cfg.name = kstr_z("retention.ms");
        cfg.value = kstr_z("604800000");
        cfg.is_default = true;
        cfg.config_source = 5; /* DEFAULT_CONFIG */
        cfg.config_type = 5;   /* LONG */
        cfg.documentation = kstr_z(NULL);
        for (int i = 0; i < q->nresources; i++) {
            struct kdescribeconfigs_result *res = &resp.results[i];
            res->resource_type = q->resources[i].resource_type;
            res->resource_name = q->resources[i].resource_name;
            res->error_message = kstr_z(NULL);
            if (res->resource_type == KRESOURCE_TOPIC &&
                !topic_find(q->resources[i].resource_name, 0)) {
                res->error_code = KERR_UNKNOWN_TOPIC_OR_PARTITION;
                continue;
            }
            res->configs = &cfg;
            res->nconfigs = 1;
        }
        kafka_response_encode(out, &r.hdr, &resp, NULL, NULL);
        break;
    }
    case KAPI_ALTER_CONFIGS:
    case KAPI_INCREMENTAL_ALTER_CONFIGS: {
        /* Same response shape; both request structs start with resources[]. */
        const struct kalterconfigs_req *q = r.body;
        struct kalterconfigs_resp resp = {0, arr(&a, (size_t)q->nresources, sizeof *resp.responses),
                                          q->nresources};
        for (int i = 0; i < q->nresources; i++) {
            resp.responses[i].resource_type = q->resources[i].resource_type;
            resp.responses[i].resource_name = q->resources[i].resource_name;
            resp.responses[i].error_message = kstr_z(NULL);
        }
        kafka_response_encode(out, &r.hdr, &resp, NULL, NULL);
        break;
    }
    default: {
        /* Decoded fine but not served here: answer nothing and close. */
        buf_free(out);
        free(pd);
        karena_destroy(&a);
        return -1;
    }
    }
queue:
    karena_destroy(&a);
    if (out->oom) {
        buf_free(out);
        free(pd);
        return -1;
    }
    struct pending **tail = &c->q;
    while (*tail)
        tail = &(*tail)->next;
    *tail = pd;
    return 0;
}

static void conn_close(struct conn *c)
{
    close(c->fd);
    c->fd = -1;
    buf_free(&c->in);
    while (c->q) {
        struct pending *n = c->q->next;
        buf_free(&c->q->out);
        free(c->q);
        c->q = n;
    }
}

/* Sends due responses in order; returns -1 on a write error. */
static int flush(struct conn *c)
{
    while (c->q && c->q->not_before_ms <= now_ms()) {
        struct pending *pd = c->q;
        size_t off = 0;
        while (off < pd->out.len) {
            ssize_t n = write(c->fd, pd->out.data + off, pd->out.len - off);
            if (n < 0 && errno == EINTR)
                continue;
            if (n <= 0)
                return -1;
            off += (size_t)n;
        }
        c->q = pd->next;
        buf_free(&pd->out);
        free(pd);
    }
    return 0;
}

int main(int argc, char **argv)
{
    int seconds = 60;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--out") && i + 1 < argc)
            out_dir = argv[++i];
        else if (!strcmp(argv[i], "--seconds") && i + 1 < argc)
            seconds = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--partitions") && i + 1 < argc)
            default_parts = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--apiversions-max") && i + 1 < argc)
            apiversions_max = atoi(argv[++i]);
        else {
            fprintf(stderr, "usage: kcodec_responder [--out DIR] [--seconds N] [--partitions N] "
                            "[--apiversions-max V]\n");
            return 2;
        }
    }
    int lfd = socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t sl = sizeof sa;
    if (bind(lfd, (struct sockaddr *)&sa, sizeof sa) || listen(lfd, 16) ||
        getsockname(lfd, (struct sockaddr *)&sa, &sl)) {
        perror("kcodec: listen");
        return 1;
    }
    port = ntohs(sa.sin_port);
    fprintf(stderr, "kcodec ready port=%d\n", port);
    struct conn conns[MAX_CONN];
    for (int i = 0; i < MAX_CONN; i++)
        conns[i].fd = -1;
    int64_t end = now_ms() + (int64_t)seconds * 1000;
    while (now_ms() < end) {
        struct pollfd pfd[MAX_CONN + 1];
        int map[MAX_CONN + 1];
        int n = 0;
        pfd[n].fd = lfd;
        pfd[n].events = POLLIN;
        map[n++] = -1;
        int timeout = 100;
        for (int i = 0; i < MAX_CONN; i++) {
            if (conns[i].fd < 0)
                continue;
            pfd[n].fd = conns[i].fd;
            pfd[n].events = POLLIN;
            map[n++] = i;
            if (conns[i].q) {
                int64_t wait = conns[i].q->not_before_ms - now_ms();
                if (wait < timeout)
                    timeout = wait < 0 ? 0 : (int)wait;
            }
        }
        poll(pfd, (nfds_t)n, timeout);
        if (pfd[0].revents & POLLIN) {
            int fd = accept(lfd, NULL, NULL);
            int slot = -1;
            for (int i = 0; i < MAX_CONN && fd >= 0; i++)
                if (conns[i].fd < 0) {
                    slot = i;
                    break;
                }
            if (slot < 0) {
                if (fd >= 0)
                    close(fd);
            } else {
                conns[slot].fd = fd;
                buf_init(&conns[slot].in);
                conns[slot].q = NULL;
            }
        }
        for (int k = 1; k < n; k++) {
            struct conn *c = &conns[map[k]];
            if (!(pfd[k].revents & (POLLIN | POLLHUP | POLLERR)))
                continue;
            uint8_t *dst = buf_reserve(&c->in, 65536);
            ssize_t got = dst ? read(c->fd, dst, 65536) : -1;
            if (got <= 0) {
                conn_close(c);
                continue;
            }
            c->in.len += (size_t)got;
            size_t off = 0;
            while (c->in.len - off >= 4) {
                uint32_t size = be32_get(c->in.data + off);
                if (size > (64u << 20)) {
                    off = SIZE_MAX;
                    break;
                }
                if (c->in.len - off - 4 < size)
                    break;
                if (handle(c, c->in.data + off + 4, size)) {
                    off = SIZE_MAX;
                    break;
                }
                off += 4 + size;
            }
            if (off == SIZE_MAX) {
                conn_close(c);
                continue;
            }
            memmove(c->in.data, c->in.data + off, c->in.len - off);
            c->in.len -= off;
        }
        for (int i = 0; i < MAX_CONN; i++)
            if (conns[i].fd >= 0 && flush(&conns[i]))
                conn_close(&conns[i]);
    }
    for (int i = 0; i < MAX_CONN; i++)
        if (conns[i].fd >= 0)
            conn_close(&conns[i]);
    for (int i = 0; i < ntopics; i++)
        for (int p = 0; p < topics[i].nparts; p++)
            buf_free(&topics[i].parts[p].log);
    close(lfd);
    return 0;
}
