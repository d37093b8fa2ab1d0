/*
 * kafka_load.c — a producer/consumer load tool on librdkafka (like kafka-producer-perf-test),
 * for Pyralog and any Kafka-compatible broker.
 *
 *   kafka_load --mode produce --bootstrap H:P --topic T --count N --size B --acks 1|all|0
 *              [--in-flight K] [--linger-ms MS] [--batch-bytes B] [--rate R] [--partitions P]
 *              [--compression none|gzip|snappy|lz4|zstd]
 *   kafka_load --mode consume --bootstrap H:P --topic T --count N [--fetch-max-bytes B]
 *              (B: per partition and per fetch response (at least 1,000,000), default 1 MiB)
 *   (both: [--debug CONTEXTS], librdkafka debug logging; [--conf KEY=VALUE], repeatable, any
 *   librdkafka property, applied after the tool's own settings)
 *
 * produce: sends N records of B random-ish bytes (no key, round-robin over partitions),
 * --rate caps records/s (0 = as fast as possible; with a rate, a poller thread takes the delivery
 * reports as they arrive); creates the topic with --partitions when it does not exist. Reports
 * records/s, MB/s and produce latency percentiles (send call to delivery report) in ms. consume:
 * reads N records from the beginning of every partition with the group-less consumer (callback
 * API, see run_consume) and reports records/s and MB/s. Output: one human line and one machine line
 * starting with "RESULT" (with cpu_ms: this process's CPU time, all threads, when printed).
 *
 * Allocator: built with jemalloc where it is installed (CMakeLists.txt; the RESULT line says
 * alloc=jemalloc|glibc). librdkafka's consumer allocates and frees one op per message across its
 * broker and application threads; with glibc malloc, perf shows calloc/free and the arena and
 * queue locks taking about a third of the consumer's CPU (4.2M rec/s on one partition here,
 * 6.0-8.0M with jemalloc); the producer's rate does not change.
 */
#include <librdkafka/rdkafka.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#ifdef PLG_JEMALLOC
#define ALLOC_NAME "jemalloc"
/* Read by jemalloc when it starts (MALLOC_CONF in the environment is applied after it). By
 * default jemalloc reuses a free extent only for requests at least 1/64 of its size; the 1 MiB
 * fetch and produce buffers librdkafka frees on another thread coalesce into extents too big for
 * its small-object slabs, so it kept mapping new memory: with purging off a consumer of 4M
 * records reached 420-770 MB, with it on every run faulted 25,000-170,000 pages (the slow runs).
 * With the limit at 1024x: 16-33 MB and ~2,000 faults; producer 2.9-3.1M -> 3.6-3.8M rec/s,
 * consumer median 6.9M -> 8.4M (with huge pages, below). BENCHMARKS.md, fourth session. */
#define JEMALLOC_CONF "lg_extent_max_active_fit:10"
const char *malloc_conf = JEMALLOC_CONF;
#else
#define JEMALLOC_CONF "-"
#define ALLOC_NAME "glibc"
#endif

/* This process's CPU time so far (user + system, all threads), in ms. */
static double cpu_ms(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1e3 +
           (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e3;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

struct opts {
    const char *mode, *bootstrap, *topic, *acks, *compression, *debug;
    long count, size, in_flight, linger_ms, batch_bytes, rate, partitions, fetch_max;
    const char *conf[2 * 16 + 1]; /* --conf K=V pairs, NULL-terminated (opts start zeroed) */
    char conf_buf[2048];
    size_t nconf, conf_used;
};

struct pstate {
    double *sent_at; /* per record */
    float *lat_ms;   /* per acknowledged record */
    long acked, failed;
    char err[200];
    /* With --rate, a poller thread serves delivery reports as they arrive, so a record's
     * latency ends when its ack reached the client, not when the sending loop next polls.
     * Delivery reports may then run on two threads (poller and the sending loop, which polls
     * between batches): mu orders them. */
    pthread_mutex_t mu;
    atomic_bool stop;
    double dr_now; /* clock reading shared by consecutive delivery reports */
    unsigned long dr_calls, dr_every;
    rd_kafka_t *rk;
};

static void on_dr(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
    struct pstate *st = opaque;
    /* Unthrottled, delivery reports come in bursts of thousands (one per record of each
     * acknowledged batch): reading the clock for every 16th is accurate to microseconds and
     * keeps clock reads out of the client's per-record cost. With --rate a batch may hold one
     * record, so every report reads the clock (a cached reading could predate the send). */
    if (st->dr_calls++ % st->dr_every == 0)
        st->dr_now = now_s();
    double t = st->dr_now;
    pthread_mutex_lock(&st->mu);
    if (m->err) {
        if (!st->failed++)
            snprintf(st->err, sizeof st->err, "%s", rd_kafka_err2str(m->err));
    } else {
        long i = (long)(intptr_t)m->_private;
        st->lat_ms[st->acked++] = (float)((t - st->sent_at[i]) * 1000.0);
    }
    pthread_mutex_unlock(&st->mu);
}

static void *poller(void *arg)
{
    struct pstate *st = arg;
    while (!atomic_load(&st->stop))
        rd_kafka_poll(st->rk, 10);
    return NULL;
}

static int cmp_float(const void *a, const void *b)
{
    float x = *(const float *)a, y = *(const float *)b;
    return (x > y) - (x < y);
}

static double pct(const float *v, long n, double p)
{
    if (n == 0)
        return NAN;
    long i = (long)ceil(p * (double)n) - 1;
    if (i < 0)
        i = 0;
    if (i >= n)
        i = n - 1;
    return v[i];
}

/* Sets NULL-terminated key/value pairs (NULL: none); a property librdkafka refuses is exit 2. */
static void set_pairs(rd_kafka_conf_t *conf, const char *const *kv)
{
    char err[512];
    for (int i = 0; kv && kv[i]; i += 2)
        if (rd_kafka_conf_set(conf, kv[i], kv[i + 1], err, sizeof err) != RD_KAFKA_CONF_OK) {
            fprintf(stderr, "kafka_load: %s\n", err);
            exit(2);
        }
}

static rd_kafka_t *make(rd_kafka_type_t type, const struct opts *o, const char *const *kv,
                        void *opaque)
{
    char err[512];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    rd_kafka_conf_set(conf, "bootstrap.servers", o->bootstrap, err, sizeof err);
    rd_kafka_conf_set(conf, "log_level", o->debug ? "7" : "3", err, sizeof err);
    if (o->debug)
        rd_kafka_conf_set(conf, "debug", o->debug, err, sizeof err);
    set_pairs(conf, kv);
    set_pairs(conf, o->conf); /* --conf, after the tool's own */
    if (type == RD_KAFKA_PRODUCER)
        rd_kafka_conf_set_dr_msg_cb(conf, on_dr);
    rd_kafka_conf_set_opaque(conf, opaque);
    rd_kafka_t *rk = rd_kafka_new(type, conf, err, sizeof err);
    if (!rk) {
        fprintf(stderr, "kafka_load: %s\n", err);
        exit(1);
    }
    return rk;
}

static int ensure_topic(rd_kafka_t *rk, const struct opts *o)
{
    if (o->partitions <= 0)
        return 0;
    char err[256];
    rd_kafka_NewTopic_t *nt =
        rd_kafka_NewTopic_new(o->topic, (int)o->partitions, -1, err, sizeof err);
    rd_kafka_queue_t *q = rd_kafka_queue_new(rk);
    rd_kafka_CreateTopics(rk, &nt, 1, NULL, q);
    rd_kafka_event_t *ev = rd_kafka_queue_poll(q, 20000);
    int rc = 0;
    if (ev) {
        size_t n;
        const rd_kafka_topic_result_t **r =
            rd_kafka_CreateTopics_result_topics(rd_kafka_event_CreateTopics_result(ev), &n);
        if (n == 1 && rd_kafka_topic_result_error(r[0]) &&
            rd_kafka_topic_result_error(r[0]) != RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS) {
            fprintf(stderr, "kafka_load: create topic: %s\n",
                    rd_kafka_err2str(rd_kafka_topic_result_error(r[0])));
            rc = -1;
        }
        rd_kafka_event_destroy(ev);
    }
    rd_kafka_NewTopic_destroy(nt);
    rd_kafka_queue_destroy(q);
    return rc;
}

#define PRODUCE_BATCH 1024

/* Sleeps until absolute time `when` (CLOCK_MONOTONIC seconds). */
static void sleep_until(double when)
{
    struct timespec ts = {.tv_sec = (time_t)when,
                          .tv_nsec = (long)((when - (double)(time_t)when) * 1e9)};
    clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL);
}

/* Produce: enqueues records up to PRODUCE_BATCH at a time with rd_kafka_produce_batch (one queue
 * lock and one clock reading per batch instead of per record); records the queue could not take
 * yet are retried after serving delivery reports. With --rate, record i is due at
 * t0 + i / rate and a batch holds the records due by now, at least those of 50 us (absolute
 * sleeps, so oversleeping never slows the average rate; a late loop catches up); a record's
 * latency starts when its batch is handed to librdkafka. Per-record rd_kafka_produce and clock
 * readings cost the client ~1 core at 1.77M rec/s, beside the server on this 2-core machine.
 * 0, or 1 after a message. */
static int produce_batches(rd_kafka_t *rk, rd_kafka_topic_t *rkt, const struct opts *o,
                           struct pstate *st, char *payload, double t0)
{
    static rd_kafka_message_t msgs[PRODUCE_BATCH];
    long group = o->rate > 0 ? o->rate / 20000 + 1 : PRODUCE_BATCH;
    if (group > PRODUCE_BATCH)
        group = PRODUCE_BATCH;
    long next = 0;
    int pending = 0; /* records in msgs[] still to enqueue */
    while (next < o->count || pending > 0) {
        long upto = next + PRODUCE_BATCH - pending; /* records [next, upto) go in this batch */
        if (o->rate > 0 && pending > 0)
            upto = next; /* retry what the queue refused first */
        else if (o->rate > 0) {
            long want = next + group < o->count ? next + group : o->count;
            double due = t0 + (double)(want - 1) / (double)o->rate;
            double now = now_s();
            if (due > now) {
                sleep_until(due);
                now = due;
            }
            long by_now = (long)((now - t0) * (double)o->rate) + 1;
            upto = by_now < upto ? by_now : upto;
            if (upto < want)
                upto = want;
        }
        if (upto > o->count)
            upto = o->count;
        while (next < upto) {
            msgs[pending] = (rd_kafka_message_t){
                .payload = payload, .len = (size_t)o->size, ._private = (void *)(intptr_t)next};
            pending++;
            next++;
        }
        double t = now_s();
        for (int k = 0; k < pending; k++)
            st->sent_at[(intptr_t)msgs[k]._private] = t;
        rd_kafka_produce_batch(rkt, RD_KAFKA_PARTITION_UA, RD_KAFKA_MSG_F_COPY, msgs, pending);
        int left = 0;
        for (int k = 0; k < pending; k++) {
            if (!msgs[k].err)
                continue;
            if (msgs[k].err != RD_KAFKA_RESP_ERR__QUEUE_FULL) {
                fprintf(stderr, "kafka_load: produce: %s\n", rd_kafka_err2str(msgs[k].err));
                return 1;
            }
            msgs[left] = msgs[k];
            msgs[left].err = 0;
            left++;
        }
        pending = left;
        rd_kafka_poll(rk, pending ? 1 : 0);
    }
    return 0;
}

static int run_produce(const struct opts *o)
{
    char inflight[32], linger[32], batch[32];
    snprintf(inflight, sizeof inflight, "%ld", o->in_flight);
    snprintf(linger, sizeof linger, "%ld", o->linger_ms);
    snprintf(batch, sizeof batch, "%ld", o->batch_bytes);
    const char *kv[] = {"acks",
                        o->acks,
                        "max.in.flight.requests.per.connection",
                        inflight,
                        "linger.ms",
                        linger,
                        "batch.size",
                        batch,
                        "compression.codec",
                        o->compression,
                        "queue.buffering.max.messages",
                        "1000000",
                        "queue.buffering.max.kbytes",
                        "1048576",
                        "message.timeout.ms",
                        "120000",
                        NULL};
    struct pstate st = {.dr_every = o->rate > 0 ? 1 : 16};
    st.sent_at = malloc((size_t)o->count * sizeof *st.sent_at);
    st.lat_ms = malloc((size_t)o->count * sizeof *st.lat_ms);
    char *payload = malloc((size_t)o->size + 1);
    if (!st.sent_at || !st.lat_ms || !payload)
        return 1;
    for (long i = 0; i < o->size; i++)
        payload[i] = (char)('a' + (i * 7 + i / 3) % 26);
    rd_kafka_t *rk = make(RD_KAFKA_PRODUCER, o, kv, &st);
    if (ensure_topic(rk, o))
        return 1;
    rd_kafka_topic_t *rkt = rd_kafka_topic_new(rk, o->topic, NULL);
    pthread_mutex_init(&st.mu, NULL);
    st.rk = rk;
    pthread_t poll_thr;
    bool polling = o->rate > 0 && pthread_create(&poll_thr, NULL, poller, &st) == 0;
    double t0 = now_s();
    if (produce_batches(rk, rkt, o, &st, payload, t0))
        return 1;
    rd_kafka_flush(rk, 120000);
    if (polling) {
        atomic_store(&st.stop, true);
        pthread_join(poll_thr, NULL);
    }
    double secs = now_s() - t0;
    qsort(st.lat_ms, (size_t)st.acked, sizeof *st.lat_ms, cmp_float);
    double rps = (double)st.acked / secs;
    double mbs = rps * (double)o->size / 1e6;
    printf("produce: %ld records of %ld B in %.2f s: %.0f records/s, %.1f MB/s; latency ms "
           "p50 %.2f p99 %.2f p999 %.2f max %.2f; acks=%s in-flight=%ld failed=%ld%s%s\n",
           st.acked, o->size, secs, rps, mbs, pct(st.lat_ms, st.acked, 0.5),
           pct(st.lat_ms, st.acked, 0.99), pct(st.lat_ms, st.acked, 0.999),
           st.acked ? st.lat_ms[st.acked - 1] : NAN, o->acks, o->in_flight, st.failed,
           st.failed ? " first error: " : "", st.err);
    printf("RESULT mode=produce records=%ld size=%ld seconds=%.3f records_per_s=%.0f mb_per_s=%.2f "
           "p50_ms=%.3f p99_ms=%.3f p999_ms=%.3f acks=%s failed=%ld cpu_ms=%.0f alloc=" ALLOC_NAME
           " malloc_conf=" JEMALLOC_CONF "\n",
           st.acked, o->size, secs, rps, mbs, pct(st.lat_ms, st.acked, 0.5),
           pct(st.lat_ms, st.acked, 0.99), pct(st.lat_ms, st.acked, 0.999), o->acks, st.failed,
           cpu_ms());
    rd_kafka_topic_destroy(rkt);
    rd_kafka_destroy(rk);
    free(st.sent_at);
    free(st.lat_ms);
    free(payload);
    return st.failed ? 1 : 0;
}

struct cstate {
    long count, got, timed; /* wanted, received, received after the first call */
    size_t tbytes;          /* bytes of the timed ones */
    bool timing;
};

static void on_msg(rd_kafka_message_t *m, void *opaque)
{
    struct cstate *cs = opaque;
    if (m->err || cs->got >= cs->count)
        return;
    cs->got++;
    if (cs->timing) {
        cs->timed++;
        cs->tbytes += m->len;
    }
}

static int run_consume(const struct opts *o)
{
    char fmax[32], rmax[32];
    snprintf(fmax, sizeof fmax, "%ld", o->fetch_max);
    /* librdkafka wants the response limit >= message.max.bytes (default 1,000,000). */
    snprintf(rmax, sizeof rmax, "%ld", o->fetch_max > 1000000 ? o->fetch_max : 1000000);
    /* librdkafka's prefetch queue sizes stay at their defaults (100,000 messages / 64 MB per
     * partition): 2,000,000 / 256 MB, tried before, was ~10% slower (more memory to touch). */
    /* --fetch-max-bytes bounds each partition's data and the whole response: with librdkafka's
     * default response limit (50 MB) a 3-partition fetch brought 3 MB, and its broker thread,
     * which parses a response before it sends the next fetch, took ~40% longer per message than
     * on 1 MB responses (its buffer no longer in cache): 8 alternating runs on one 3-partition
     * topic, 6.3-8.5M -> 7.7-9.7M rec/s, client CPU 333-398 -> 279-314 ms per 2M records, as
     * fast as 1 partition (BENCHMARKS.md, fifth session). */
    const char *kv[] = {"fetch.message.max.bytes", fmax, "fetch.max.bytes", rmax,
                        "enable.partition.eof", "false",
                        /* Group-less and reading from the beginning: nothing to store or
                         * commit. With the default (true) librdkafka stores every message's
                         * offset under the partition's lock as the application takes it. */
                        "enable.auto.offset.store", "false", NULL};
    rd_kafka_t *rk = make(RD_KAFKA_CONSUMER, o, kv, NULL);
    rd_kafka_topic_t *rkt = rd_kafka_topic_new(rk, o->topic, NULL);
    const struct rd_kafka_metadata *md;
    if (rd_kafka_metadata(rk, 0, rkt, &md, 10000) || md->topic_cnt != 1 || md->topics[0].err) {
        fprintf(stderr, "kafka_load: no metadata for %s\n", o->topic);
        return 1;
    }
    int np = md->topics[0].partition_cnt;
    rd_kafka_metadata_destroy(md);
    rd_kafka_queue_t *q = rd_kafka_queue_new(rk);
    double t0 = now_s();
    for (int p = 0; p < np; p++)
        rd_kafka_consume_start_queue(rkt, p, RD_KAFKA_OFFSET_BEGINNING, q);
    /* The rate covers what arrived after the first call that returned records, from that call
     * to the last one (the first call's records are not timed, so they are not counted). Before
     * it: librdkafka sometimes starts a partition before it has joined its broker thread and
     * then retries the offset lookup on a 500 ms timer ("no current leader for partition"), a
     * client-side race that says nothing about the broker; that wait is printed as first_ms.
     * Each call waits (up to 100 ms) only while nothing is queued, then hands every queued
     * record to on_msg, so the last call returns as soon as the last record arrived.
     *
     * The callback API, not rd_kafka_consume_batch_queue: librdkafka's consumer allocates one
     * op per record on its broker thread and this thread frees it; the batch call takes the
     * queue lock once per record while the broker thread appends to the same queue, the
     * callback call moves the whole queue out under one lock (client CPU per 2M records, medians of
     * 12 alternating runs: 0.39 -> 0.345 s; BENCHMARKS.md, fourth session). */
    double first = 0, last = now_s();
    struct cstate cs = {.count = o->count};
    while (cs.got < o->count && now_s() - last < 10) {
        long before = cs.got;
        rd_kafka_consume_callback_queue(q, 100, on_msg, &cs);
        if (cs.got > before) { /* not for calls that served only librdkafka's own events */
            last = now_s();
            if (!first) {
                first = last;
                cs.timing = true;
            }
        }
    }
    long got = cs.got, timed = cs.timed;
    size_t tbytes = cs.tbytes;
    double secs = last - first;
    double rps = timed > 0 && secs > 0 ? (double)timed / secs : 0;
    double mbs = timed > 0 && secs > 0 ? (double)tbytes / secs / 1e6 : 0;
    double first_ms = got > 0 ? (first - t0) * 1e3 : NAN;
    printf("consume: %ld records; %ld in %.3f s after the first batch: %.0f records/s, %.1f MB/s; "
           "first records %.1f ms after start\n",
           got, timed, secs, rps, mbs, first_ms);
    printf("RESULT mode=consume records=%ld seconds=%.3f records_per_s=%.0f mb_per_s=%.2f "
           "first_ms=%.1f cpu_ms=%.0f alloc=" ALLOC_NAME " malloc_conf=" JEMALLOC_CONF "%s%s\n",
           got, secs, rps, mbs, first_ms, cpu_ms(), getenv("MALLOC_CONF") ? "," : "",
           getenv("MALLOC_CONF") ? getenv("MALLOC_CONF") : "");
    for (int p = 0; p < np; p++)
        rd_kafka_consume_stop(rkt, p);
    rd_kafka_queue_destroy(q);
    rd_kafka_topic_destroy(rkt);
    rd_kafka_destroy(rk);
    return got == o->count ? 0 : 1;
}

int main(int argc, char **argv)
{
    struct opts o = {.mode = "produce",
                     .bootstrap = "127.0.0.1:9092",
                     .topic = "load",
                     .acks = "1",
                     .compression = "none",
                     .count = 1000000,
                     .size = 100,
                     .in_flight = 5,
                     .linger_ms = 5,
                     .batch_bytes = 1000000,
                     .fetch_max = 1048576};
    for (int i = 1; i + 1 < argc; i += 2) {
        const char *a = argv[i], *v = argv[i + 1];
        if (!strcmp(a, "--mode"))
            o.mode = v;
        else if (!strcmp(a, "--bootstrap"))
            o.bootstrap = v;
        else if (!strcmp(a, "--topic"))
            o.topic = v;
        else if (!strcmp(a, "--acks"))
            o.acks = v;
        else if (!strcmp(a, "--compression"))
            o.compression = v;
        else if (!strcmp(a, "--count"))
            o.count = atol(v);
        else if (!strcmp(a, "--size"))
            o.size = atol(v);
        else if (!strcmp(a, "--in-flight"))
            o.in_flight = atol(v);
        else if (!strcmp(a, "--linger-ms"))
            o.linger_ms = atol(v);
        else if (!strcmp(a, "--batch-bytes"))
            o.batch_bytes = atol(v);
        else if (!strcmp(a, "--rate"))
            o.rate = atol(v);
        else if (!strcmp(a, "--partitions"))
            o.partitions = atol(v);
        else if (!strcmp(a, "--debug"))
            o.debug = v;
        else if (!strcmp(a, "--fetch-max-bytes"))
            o.fetch_max = atol(v);
        else if (!strcmp(a, "--conf")) {
            size_t len = strlen(v) + 1;
            char *eq = strchr(v, '=');
            if (!eq || o.nconf + 2 > 2 * 16 || o.conf_used + len > sizeof o.conf_buf) {
                fprintf(stderr, "kafka_load: --conf wants KEY=VALUE (at most 16)\n");
                return 2;
            }
            char *kv = memcpy(o.conf_buf + o.conf_used, v, len);
            o.conf_used += len;
            kv[eq - v] = '\0';
            o.conf[o.nconf++] = kv;
            o.conf[o.nconf++] = kv + (eq - v) + 1;
        } else {
            fprintf(stderr, "kafka_load: unknown option %s\n", a);
            return 2;
        }
    }
    if ((argc - 1) % 2 || o.count <= 0 || o.size < 0) {
        fprintf(stderr, "usage: see the comment at the top of bench/kafka_load.c\n");
        return 2;
    }
#ifdef PLG_JEMALLOC
    /* The consumer also runs with jemalloc's memory in transparent huge pages, set before
     * jemalloc starts (hence the exec; an explicit MALLOC_CONF is left alone): fewer faults on
     * its per-record ops (on this VM a fault on a page the host has taken back is slow), median
     * 7.8M -> 8.4M rec/s with the extent limit above. The producer keeps 4 KiB pages: with huge
     * pages its p99 at half peak had 34 ms outliers (compaction). BENCHMARKS.md, fourth
     * session. */
    if (!strcmp(o.mode, "consume") && !getenv("MALLOC_CONF")) {
        setenv("MALLOC_CONF", "thp:always", 1);
        execv("/proc/self/exe", argv);
        unsetenv("MALLOC_CONF"); /* exec failed: run as is */
    }
#endif
    if (!strcmp(o.mode, "produce"))
        return run_produce(&o);
    if (!strcmp(o.mode, "consume"))
        return run_consume(&o);
    fprintf(stderr, "kafka_load: --mode produce|consume\n");
    return 2;
}
