/*
 * broker.c — topics, partitions, appends and durability (see broker.h).
 *
 * Registry file <data>/meta/topics.json:
 *   {"version":1,"topics":[{"name":"t","partitions":3,"id":"<32 hex>","config":{"k":"v"}}]}
 * rewritten as a whole on every change (temp file, fsync, rename, fsync of the directory), so a
 * crash leaves either the old or the new registry. Partition logs live in
 * <data>/topics/<name>-<partition>/ and are opened (recovered) at start-up.
 * Producer ids: <data>/meta/producer-ids holds the end of the reserved block; ids are handed
 * out below it and a new block is reserved (and fsynced) before the first id above it.
 */
#include "broker/broker_int.h"
#include "crypto/ptree.h"
#include "broker/group_coord.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <jansson.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "base/log.h"
#include "storage/batch.h"

#define PID_BLOCK 1000

int16_t broker_kerr(int rc)
{
    switch (rc) {
    case 0:
        return KERR_NONE;
    case PLG_ECORRUPT:
    case PLG_ETRUNC:
    case PLG_ECOMPRESS:
        return KERR_CORRUPT_MESSAGE;
    case PLG_EUNSUPP:
        return BERR_UNSUPPORTED_FOR_MESSAGE_FORMAT;
    case PLG_ETOOBIG:
        return KERR_MESSAGE_TOO_LARGE;
    case PLG_ENOTFOUND:
        return KERR_UNKNOWN_TOPIC_OR_PARTITION;
    case PLG_ERANGE:
        return KERR_OFFSET_OUT_OF_RANGE;
    case PLG_ETIMEDOUT:
        return KERR_REQUEST_TIMED_OUT;
    case -ENOSPC:
    case -EDQUOT:
    case -EIO:
    case -EROFS:
    case -EFBIG:
        /* The disk refused the write (full, quota, read-only, failing): Kafka's retriable
         * "disk error when trying to access log file", so clients retry once space is back. */
        return KERR_KAFKA_STORAGE_ERROR;
    default:
        return BERR_UNKNOWN_SERVER;
    }
}

/* ---- watchers ---- */

void broker_watch_list_init(struct broker_watch *head)
{
    head->prev = head->next = head;
    head->attached = false;
}

void broker_watch_attach(struct broker_watch *head, struct broker_watch *w)
{
    broker_watch_del(w);
    w->prev = head->prev;
    w->next = head;
    head->prev->next = w;
    head->prev = w;
    w->attached = true;
}

void broker_watch_del(struct broker_watch *w)
{
    if (!w->attached)
        return;
    w->prev->next = w->next;
    w->next->prev = w->prev;
    w->prev = w->next = NULL;
    w->attached = false;
}

void broker_watch_fire_all(struct broker_watch *head)
{
    /* Detach everything first: a fired watch may re-attach itself (to this list too). */
    struct broker_watch list;
    if (head->next == head)
        return;
    list.next = head->next;
    list.prev = head->prev;
    list.next->prev = &list;
    list.prev->next = &list;
    head->next = head->prev = head;
    while (list.next != &list) {
        struct broker_watch *w = list.next;
        broker_watch_del(w);
        w->fire(w);
    }
}

int broker_watch_add(struct broker *b, const char *topic, int32_t partition, struct broker_watch *w)
{
    struct bpart *p = broker_part(b, topic, strlen(topic), partition);
    if (!p)
        return PLG_ENOTFOUND;
    broker_watch_attach(&p->watchers, w);
    return 0;
}

/* ---- small file helpers ---- */

static int mkdir_p(const char *path)
{
    char tmp[4096];
    size_t n = strlen(path);
    if (n >= sizeof tmp)
        return PLG_ETOOBIG;
    memcpy(tmp, path, n + 1);
    for (char *s = tmp + 1; *s; s++) {
        if (*s != '/')
            continue;
        *s = 0;
        if (mkdir(tmp, 0755) < 0 && errno != EEXIST)
            return -errno;
        *s = '/';
    }
    if (mkdir(tmp, 0755) < 0 && errno != EEXIST)
        return -errno;
    return 0;
}

static int fsync_dir(const char *dir)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    int rc = fsync(fd) < 0 ? -errno : 0;
    close(fd);
    return rc;
}

/* Writes data to dir/name atomically (temp + fsync + rename + fsync dir). */
static int write_atomic(const char *dir, const char *name, const char *data, size_t len)
{
    char path[4096], tmp[4200];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        return -errno;
    size_t off = 0;
    while (off < len) {
        ssize_t k = write(fd, data + off, len - off);
        if (k < 0) {
            if (errno == EINTR)
                continue;
            int e = -errno;
            close(fd);
            return e;
        }
        off += (size_t)k;
    }
    if (fsync(fd) < 0) {
        int e = -errno;
        close(fd);
        return e;
    }
    close(fd);
    if (rename(tmp, path) < 0)
        return -errno;
    return fsync_dir(dir);
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    return remove(path);
}

static int rm_rf(const char *path)
{
    if (access(path, F_OK) != 0)
        return 0;
    return nftw(path, rm_entry, 16, FTW_DEPTH | FTW_PHYS) == 0 ? 0 : -errno;
}

/* ---- kv lists (NULL-terminated key/value pairs) ---- */

static void kv_free(char **kv)
{
    if (!kv)
        return;
    for (char **p = kv; *p; p++)
        free(*p);
    free(kv);
}

static char **kv_dup(const char *const *kv)
{
    size_t n = 0;
    while (kv && kv[n])
        n++;
    char **out = calloc(n + 1, sizeof *out);
    if (!out)
        return NULL;
    for (size_t i = 0; i < n; i++) {
        if (!(out[i] = strdup(kv[i]))) {
            kv_free(out);
            return NULL;
        }
    }
    return out;
}

static const char *kv_get(char *const *kv, const char *key)
{
    for (size_t i = 0; kv && kv[i]; i += 2)
        if (!strcmp(kv[i], key))
            return kv[i + 1];
    return NULL;
}

/* Builds a log config from the broker defaults then the topic overrides. */
static int build_config(struct broker *b, const char *const *configs, struct plg_log_config *cfg,
                        char *why, size_t whylen)
{
    plg_log_config_init(cfg);
    const char *const *lists[2] = {(const char *const *)b->topic_defaults, configs};
    for (int l = 0; l < 2; l++) {
        for (size_t i = 0; lists[l] && lists[l][i]; i += 2) {
            const char *k = lists[l][i], *v = lists[l][i + 1];
            if (!v) {
                snprintf(why, whylen, "%s: missing value", k);
                return PLG_EINVAL;
            }
            int rc = plg_log_config_set(cfg, k, v);
            if (rc == PLG_ENOTFOUND) {
                snprintf(why, whylen, "%s: unknown topic config", k);
                return PLG_EINVAL;
            }
            if (rc) {
                snprintf(why, whylen, "%s: invalid value \"%s\"", k, v);
                return PLG_EINVAL;
            }
        }
    }
    return 0;
}

int broker_topic_config_check(struct broker *b, const char *const *configs, char *why,
                              size_t whylen)
{
    struct plg_log_config cfg;
    return build_config(b, configs, &cfg, why, whylen);
}

/* ---- producer ids ---- */

static int pid_reserve(struct broker *b)
{
    int64_t upto = b->pid_reserved + PID_BLOCK;
    if (!b->o.memory_only) {
        char meta[4096], txt[32];
        snprintf(meta, sizeof meta, "%s/meta", b->data_dir);
        int n = snprintf(txt, sizeof txt, "%lld\n", (long long)upto);
        int rc = write_atomic(meta, "producer-ids", txt, (size_t)n);
        if (rc)
            return rc;
    }
    b->pid_reserved = upto;
    return 0;
}

int broker_alloc_producer_id(struct broker *b, int64_t *pid)
{
    if (b->next_pid >= b->pid_reserved) {
        int rc = pid_reserve(b);
        if (rc)
            return rc;
    }
    *pid = b->next_pid++;
    return 0;
}

static int pid_load(struct broker *b)
{
    b->next_pid = b->pid_reserved = 0;
    if (b->o.memory_only)
        return 0;
    char path[4096];
    snprintf(path, sizeof path, "%s/meta/producer-ids", b->data_dir);
    FILE *f = fopen(path, "r");
    if (!f)
        return errno == ENOENT ? 0 : -errno;
    long long v = 0;
    int ok = fscanf(f, "%lld", &v);
    fclose(f);
    if (ok != 1 || v < 0) {
        PLG_ERROR("broker", "msg=\"corrupt producer id file\" path=%s", path);
        return PLG_ECORRUPT;
    }
    /* Everything below the reserved end may have been handed out before a crash. */
    b->next_pid = b->pid_reserved = v;
    return 0;
}

/* ---- durability ---- */

static void on_durable(void *ctx, int64_t end)
{
    struct bpart *p = ctx;
    int64_t cur = atomic_load(&p->durable);
    while (cur < end && !atomic_compare_exchange_weak(&p->durable, &cur, end))
        ;
    uv_async_send(&p->b->durable_async);
}

/* Whether an append acknowledged with `acks` waits for the durable offset: acks=all whenever
 * the log syncs at all, and acks=1 too under fsync=always, whose promise is that every
 * acknowledged append is durable (the flusher thread does the fsync: group commit). */
static bool ack_waits(const struct bpart *p, int acks)
{
    enum plg_fsync_policy policy = plg_log_config(p->log)->fsync_policy;
    if (p->b->o.memory_only || policy == PLG_FSYNC_NEVER)
        return false;
    return acks == -1 || policy == PLG_FSYNC_ALWAYS;
}

/* Answers every ack waiter of p (after a flush: shutdown, topic deletion). */
static void part_complete_all_acks(struct bpart *p)
{
    while (p->acks) {
        struct ackwait *w = p->acks;
        p->acks = w->next;
        if (!p->acks)
            p->acks_tail = NULL;
        w->cb(w->ctx, &w->res);
        free(w);
    }
}

/*
 * Drop-behind across partitions (log.cache.total.bytes). Each log keeps up to
 * log.cache.keep.bytes of its newest written data cached; with many partitions that is no
 * bound, and on this VM a server whose written pages pile up pays a host fault for every new
 * page-cache page it writes, once the freed memory it could reuse runs out (server CPU per
 * record 2-3x; BENCHMARKS.md, fifth session). After group commits, at most every
 * CACHE_CHECK_MS, the loop adds up what the logs keep; above the limit, partitions without an
 * append for CACHE_IDLE_MS drop theirs (plg_log_drop_cache: their flusher does it), least
 * recently written first, until a quarter below the limit. Partitions being written keep their
 * window: their tail is what consumers read next; and data is not dropped this way in its first
 * CACHE_IDLE_MS (with 1 s, a consumer reading a topic 2 s after it was written read it from disk
 * at half the rate).
 */
#define CACHE_CHECK_MS 250
#define CACHE_IDLE_MS 5000

struct cache_cand {
    uint64_t at;
    int64_t held;
    struct bpart *p;
};

static int cand_cmp(const void *a, const void *b)
{
    const struct cache_cand *x = a, *y = b;
    return x->at < y->at ? -1 : x->at > y->at;
}

static void cache_budget(struct broker *b)
{
    if (b->o.cache_total_bytes <= 0 || b->o.cache_keep_bytes <= 0 || b->o.memory_only)
        return;
    uint64_t now = uv_now(b->loop);
    if (now - b->cache_checked_ms < CACHE_CHECK_MS)
        return;
    b->cache_checked_ms = now;
    int64_t total = 0;
    size_t m = 0;
    for (int32_t i = 0; i < b->ntopics; i++) {
        struct btopic *t = b->topics[i];
        for (int32_t k = 0; k < t->npart; k++) {
            struct bpart *p = t->parts[k];
            int64_t held = plg_log_cache_held(p->log);
            total += held;
            if (held <= 0 || now - p->last_append_ms < CACHE_IDLE_MS)
                continue;
            if (m == b->cache_ncap) {
                size_t cap = m ? 2 * m : 64;
                struct cache_cand *v = realloc(b->cache_cands, cap * sizeof *v);
                if (!v)
                    return; /* advice only: the next check tries again */
                b->cache_cands = v;
                b->cache_ncap = cap;
            }
            b->cache_cands[m++] = (struct cache_cand){p->last_append_ms, held, p};
        }
    }
    if (total <= b->o.cache_total_bytes)
        return;
    if (m > 1) /* m == 0: the array may not exist yet */
        qsort(b->cache_cands, m, sizeof *b->cache_cands, cand_cmp);
    int64_t target = b->o.cache_total_bytes / 4 * 3;
    for (size_t i = 0; i < m && total > target; i++) {
        plg_log_drop_cache(b->cache_cands[i].p->log);
        total -= b->cache_cands[i].held;
    }
}

/* First takes every durable waiter off the list of partitions with waiters, then answers them:
 * an answer can dispatch the next request of its connection, whose appends add partitions and
 * waiters to the list (or take partitions away), so no callback runs while the list is walked. */
static void on_durable_async(uv_async_t *a)
{
    struct broker *b = a->data;
    cache_budget(b);
    struct ackwait *ready = NULL, **rtail = &ready;
    struct bpart **pp = &b->ack_parts;
    while (*pp) {
        struct bpart *p = *pp;
        int64_t d = atomic_load(&p->durable);
        int64_t d2 = plg_log_durable_offset(p->log);
        if (d2 > d)
            d = d2;
        while (p->acks && p->acks->need <= d) {
            struct ackwait *w = p->acks;
            p->acks = w->next;
            if (!p->acks)
                p->acks_tail = NULL;
            w->next = NULL;
            *rtail = w;
            rtail = &w->next;
        }
        if (!p->acks) {
            *pp = p->ack_next;
            p->ack_next = NULL;
            p->in_ack_list = false;
        } else {
            pp = &p->ack_next;
        }
    }
    while (ready) {
        struct ackwait *w = ready;
        ready = w->next;
        w->cb(w->ctx, &w->res);
        free(w);
    }
}

static void append_done(broker_append_cb cb, void *ctx, int16_t err, int64_t base, int64_t lat,
                        int64_t lso)
{
    struct broker_append_result r = {err, base, lat, lso};
    cb(ctx, &r);
}

static int part_wait_ack(struct bpart *p, int64_t need, const struct broker_append_result *res,
                         broker_append_cb cb, void *ctx)
{
    struct ackwait *w = calloc(1, sizeof *w);
    if (!w)
        return PLG_ENOMEM;
    w->need = need;
    w->res = *res;
    w->cb = cb;
    w->ctx = ctx;
    if (p->acks_tail)
        p->acks_tail->next = w;
    else
        p->acks = w;
    p->acks_tail = w;
    if (!p->in_ack_list) {
        p->in_ack_list = true;
        p->ack_next = p->b->ack_parts;
        p->b->ack_parts = p;
    }
    /* A waiter: the flusher commits now rather than at the end of its interval. */
    plg_log_sync_soon(p->log);
    /* The flusher may have advanced already (its async is coalesced). */
    uv_async_send(&p->b->durable_async);
    return 0;
}

/* Flushes p and completes every ack waiter (shutdown, topic deletion). */
static void part_drain_acks(struct bpart *p)
{
    if (!p->acks)
        return;
    plg_log_flush(p->log);
    part_complete_all_acks(p);
}

/* ---- partitions ---- */

/* Records the producer fields of every whole batch in p[0..len). */
static void scan_batches(struct bpart *p, const uint8_t *data, size_t len)
{
    size_t pos = 0;
    while (pos < len) {
        struct batch bh;
        if (batch_parse(data + pos, len - pos, &bh))
            break;
        if (bh.producer_id >= 0 && !batch_is_control(&bh))
            pid_table_record(&p->pids, bh.producer_id, bh.producer_epoch, bh.base_sequence,
                             bh.last_offset_delta + 1, bh.base_offset);
        pos += bh.size;
    }
}

/* Rebuilds producer state from the batches stored in the log: reads the headers through the
 * log's mapping of each segment when it has one (no copy), else copies. */
static int part_scan_producers(struct bpart *p)
{
    int64_t off = plg_log_start_offset(p->log), end = plg_log_end_offset(p->log);
    while (off < end) {
        struct plg_log_slice sl;
        int rc = plg_log_read(p->log, off, 64u << 20, &sl);
        if (rc)
            return rc;
        int64_t next = sl.next_offset;
        if (sl.len > 0 && sl.data) {
            scan_batches(p, sl.data, sl.len);
        } else if (sl.len > 0) {
            uint8_t *data = NULL;
            size_t len = 0;
            rc = plg_log_read_copy(p->log, off, 4u << 20, &data, &len, &next);
            if (!rc)
                scan_batches(p, data, len);
            free(data);
        }
        plg_log_slice_release(&sl);
        if (rc)
            return rc;
        if (next <= off)
            break;
        off = next;
    }
    return 0;
}

static void part_dir(struct broker *b, const char *topic, int32_t id, char *out, size_t cap)
{
    snprintf(out, cap, "%s/topics/%s-%d", b->data_dir, topic, id);
}

/* The partition's Merkle tree (merkle.enable, default true): opened with the log, recovered or
 * rebuilt from it, kept current by the log's hooks. A tree that cannot be built is logged and
 * left out (merkle.* methods then report it), the log still serves. */
static void part_open_tree(struct bpart *p, const char *dir)
{
    if (!plg_log_config(p->log)->merkle_enable)
        return;
    struct ptree_recovery rec;
    int rc = ptree_open(dir, p->log, &p->tree, &rec);
    if (rc) {
        PLG_ERROR("broker",
                  "msg=\"cannot build the Merkle tree\" topic=%s partition=%d error=\"%s\"",
                  p->t->name, p->id, plg_strerror(rc));
        p->tree = NULL;
        return;
    }
    if (rec.rebuilt_from != UINT64_MAX && rec.rebuilt_from < rec.loaded)
        PLG_INFO("broker",
                 "msg=\"Merkle tree re-derived from the log\" topic=%s partition=%d from=%llu "
                 "leaves=%llu",
                 p->t->name, p->id, (unsigned long long)rec.rebuilt_from,
                 (unsigned long long)rec.rebuilt);
    struct plg_log_hooks h;
    ptree_hooks(p->tree, &h);
    plg_log_set_hooks(p->log, &h);
}

struct ptree *broker_partition_tree(struct broker *b, const char *topic, int32_t partition)
{
    struct bpart *p = broker_part(b, topic, strlen(topic), partition);
    return p ? p->tree : NULL;
}

static int part_open(struct broker *b, struct btopic *t, int32_t id,
                     const struct plg_log_config *cfg, struct bpart **out)
{
    struct bpart *p = calloc(1, sizeof *p);
    if (!p)
        return PLG_ENOMEM;
    p->b = b;
    p->t = t;
    p->id = id;
    pid_table_init(&p->pids);
    broker_watch_list_init(&p->watchers);
    char dir[4096] = "";
    if (!b->o.memory_only)
        part_dir(b, t->name, id, dir, sizeof dir);
    /* A partition this call creates is removed again when it fails (a full disk can stop it
     * half-way: the directory made, some segment files not); an existing one keeps its files. */
    bool created = dir[0] && access(dir, F_OK) != 0;
    struct plg_log_options lo = {.config = cfg,
                                 .memory_only = b->o.memory_only,
                                 .create = true,
                                 .on_durable = on_durable,
                                 .durable_ctx = p,
                                 .always_in_flusher = true,
                                 .cache_keep_bytes = b->o.cache_keep_bytes};
    struct plg_log_recovery rec = {0};
    int rc = plg_log_open(dir, &lo, &p->log, &rec);
    if (rc) {
        PLG_ERROR("broker",
                  "msg=\"cannot open partition log\" topic=%s partition=%d dir=%s error=\"%s\"",
                  t->name, id, dir, plg_strerror(rc));
        if (created)
            rm_rf(dir);
        free(p);
        return rc;
    }
    if (rec.truncated_bytes > 0)
        PLG_WARN("broker",
                 "msg=\"recovery cut a torn or corrupt tail\" topic=%s partition=%d bytes=%lld "
                 "log_end_offset=%lld reason=\"%s\"",
                 t->name, id, (long long)rec.truncated_bytes, (long long)rec.truncated_at,
                 plg_strerror(rec.truncate_reason));
    atomic_store(&p->durable, plg_log_durable_offset(p->log));
    rc = part_scan_producers(p);
    if (rc) {
        PLG_ERROR("broker",
                  "msg=\"cannot rebuild producer state\" topic=%s partition=%d error=\"%s\"",
                  t->name, id, plg_strerror(rc));
        plg_log_close(p->log);
        if (created)
            rm_rf(dir);
        pid_table_destroy(&p->pids);
        free(p);
        return rc;
    }
    part_open_tree(p, b->o.memory_only ? NULL : dir);
    *out = p;
    return 0;
}

/* The loop-side half of closing a partition: its housekeeping job, parked fetches and ack
 * waiters are finished and it leaves the broker's lists; the log stays open. */
static void part_detach(struct broker *b, struct bpart *p)
{
    bpart_housekeep_cancel(p);
    broker_watch_fire_all(&p->watchers);
    part_drain_acks(p);
    if (p->in_ack_list) {
        for (struct bpart **pp = &b->ack_parts; *pp; pp = &(*pp)->ack_next) {
            if (*pp == p) {
                *pp = p->ack_next;
                break;
            }
        }
        p->in_ack_list = false;
    }
    plg_log_set_hooks(p->log, NULL);
}

/* The rest, which may run on a worker once part_detach ran: closes the log (flush, flusher
 * join), the Merkle tree, removes the files when asked, frees p. Reads only p, its topic's
 * name and the broker's immutable settings. */
static void part_release(struct broker *b, struct bpart *p, bool remove_files)
{
    int64_t end = plg_log_end_offset(p->log);
    int rc = plg_log_close(p->log);
    if (!rc && p->tree && !remove_files) {
        int trc = ptree_mark_clean(p->tree, (uint64_t)end);
        if (trc)
            PLG_WARN("broker",
                     "msg=\"Merkle tree not marked clean; it is re-derived on the next start\" "
                     "topic=%s partition=%d error=\"%s\"",
                     p->t->name, p->id, plg_strerror(trc));
    }
    ptree_close(p->tree);
    if (rc)
        PLG_ERROR("broker",
                  "msg=\"closing partition log failed\" topic=%s partition=%d error=\"%s\"",
                  p->t->name, p->id, plg_strerror(rc));
    if (remove_files && !b->o.memory_only) {
        char dir[4096];
        part_dir(b, p->t->name, p->id, dir, sizeof dir);
        rm_rf(dir);
    }
    pid_table_destroy(&p->pids);
    free(p);
}

/*
 * Both halves at once. There is no reference count on a partition: exactly one owner closes it
 * once. Either the broker's topic lists (then on the loop: shutdown, synchronous delete), or,
 * for a partition the loop has never seen, the job that opened it (topic_open, the failure paths
 * of partition additions). For the latter part_detach has nothing to undo (no housekeeping job,
 * fetch watcher or ack waiter can reach a partition that is in no topic list, and it is not on
 * ack_parts), so it is safe on the worker that owns it; its log's flusher is joined by
 * plg_log_close before p is freed, and durable_async stays open while the job's name is
 * reserved. A partition handed to a delete job is split instead: part_detach on the loop when
 * it leaves the topic list, part_release on the worker.
 */
static void part_close(struct broker *b, struct bpart *p, bool remove_files)
{
    part_detach(b, p);
    part_release(b, p, remove_files);
}

/* ---- topics ---- */

bool broker_topic_name_valid(const char *name, size_t len)
{
    if (len == 0 || len > 249)
        return false;
    if ((len == 1 && name[0] == '.') || (len == 2 && name[0] == '.' && name[1] == '.'))
        return false;
    for (size_t i = 0; i < len; i++) {
        char c = name[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == '-'))
            return false;
    }
    return true;
}

static int topic_cmp(const char *a, size_t alen, const char *b)
{
    size_t blen = strlen(b);
    int c = memcmp(a, b, alen < blen ? alen : blen);
    if (c)
        return c;
    return alen < blen ? -1 : alen > blen;
}

/* Index of name in the sorted topic array, or -(insertion point) - 1. */
static long topic_index(struct broker *b, const char *name, size_t len)
{
    long lo = 0, hi = b->ntopics - 1;
    while (lo <= hi) {
        long mid = (lo + hi) / 2;
        int c = topic_cmp(name, len, b->topics[mid]->name);
        if (c == 0)
            return mid;
        if (c < 0)
            hi = mid - 1;
        else
            lo = mid + 1;
    }
    return -lo - 1;
}

struct btopic *broker_topic_find(struct broker *b, const char *name, size_t len)
{
    long i = topic_index(b, name, len);
    return i >= 0 ? b->topics[i] : NULL;
}

struct bpart *broker_part(struct broker *b, const char *topic, size_t len, int32_t partition)
{
    struct btopic *t = broker_topic_find(b, topic, len);
    if (!t || partition < 0 || partition >= t->npart)
        return NULL;
    return t->parts[partition];
}

plg_log_t *broker_partition_log(struct broker *b, const char *topic, int32_t partition)
{
    struct bpart *p = broker_part(b, topic, strlen(topic), partition);
    return p ? p->log : NULL;
}

int32_t broker_topic_count(const struct broker *b)
{
    return b->ntopics;
}

int broker_topic_get(struct broker *b, const char *name, struct broker_topic_info *info)
{
    struct btopic *t = broker_topic_find(b, name, strlen(name));
    if (!t)
        return PLG_ENOTFOUND;
    info->name = t->name;
    info->partitions = t->npart;
    return 0;
}

void broker_topic_foreach(struct broker *b, void (*fn)(void *ctx, const struct broker_topic_info *),
                          void *ctx)
{
    for (int32_t i = 0; i < b->ntopics; i++) {
        struct broker_topic_info info = {b->topics[i]->name, b->topics[i]->npart};
        fn(ctx, &info);
    }
}

/* ---- the topic registry writer ---- */

/* The registry as JSON text (malloc'd), NULL on OOM. Loop thread. */
static char *registry_text(struct broker *b)
{
    json_t *arr = json_array();
    for (int32_t i = 0; i < b->ntopics; i++) {
        struct btopic *t = b->topics[i];
        json_t *cfg = json_object();
        for (size_t k = 0; t->configs && t->configs[k]; k += 2)
            json_object_set_new(cfg, t->configs[k], json_string(t->configs[k + 1]));
        char hex[33];
        sodium_bin2hex(hex, sizeof hex, t->id, sizeof t->id);
        json_array_append_new(arr, json_pack("{s:s, s:i, s:s, s:o}", "name", t->name, "partitions",
                                             (json_int_t)t->npart, "id", hex, "config", cfg));
    }
    json_t *root = json_pack("{s:i, s:o}", "version", 1, "topics", arr);
    char *text = json_dumps(root, JSON_INDENT(1) | JSON_SORT_KEYS);
    json_decref(root);
    return text;
}

/* Writes registry text of generation gen durably, unless a newer generation is on disk already
 * (writes from the loop and from workers may finish in any order). Any thread. */
static int registry_write(struct broker *b, const char *meta, const char *text, uint64_t gen)
{
    pthread_mutex_lock(&b->reg_mu);
    int rc = 0;
    if (gen > b->reg_disk_gen) {
        rc = write_atomic(meta, "topics.json", text, strlen(text));
        if (rc == 0)
            b->reg_disk_gen = gen;
    }
    /* A full disk fails every create (and its rollback), and clients retry auto-creates every
     * second: a failure run (struct failrun), logged outside the lock. */
    bool log_fail = rc && failrun_fail(&b->reg_failures, mx_now_ns() / 1000000);
    int64_t failed = rc ? b->reg_failures.n : failrun_ok(&b->reg_failures);
    pthread_mutex_unlock(&b->reg_mu);
    if (log_fail)
        PLG_ERROR("broker",
                  "msg=\"cannot write topic registry, topic changes fail until it can\" dir=%s "
                  "failed=%lld error=\"%s\"",
                  meta, (long long)failed, plg_strerror(rc));
    else if (!rc && failed)
        PLG_INFO("broker", "msg=\"topic registry written again\" dir=%s failed=%lld", meta,
                 (long long)failed);
    return rc;
}

/* Writes the registry now, on the calling (loop) thread. */
static int registry_save(struct broker *b)
{
    uint64_t gen = ++b->reg_gen;
    if (b->o.memory_only)
        return 0;
    char *text = registry_text(b);
    if (!text)
        return PLG_ENOMEM;
    char meta[4096];
    snprintf(meta, sizeof meta, "%s/meta", b->data_dir);
    int rc = registry_write(b, meta, text, gen);
    free(text);
    return rc;
}

struct reg_wait {
    struct reg_wait *next;
    uint64_t gen;
    broker_done_cb cb;
    void *ctx;
};

struct reg_job {
    uv_work_t req;
    struct broker *b;
    char *text;
    uint64_t gen;
    int rc;
    char meta[4096];
};

static void reg_kick(struct broker *b);

static void reg_work(uv_work_t *req)
{
    struct reg_job *j = req->data;
    j->rc = registry_write(j->b, j->meta, j->text, j->gen);
}

/* Completes the waiters whose change generation is covered by a write that ended with rc. */
static void reg_complete(struct broker *b, uint64_t upto, int rc)
{
    struct reg_wait **pp = &b->reg_waits, *done = NULL, **tail = &done;
    while (*pp) {
        struct reg_wait *w = *pp;
        if (w->gen <= upto) {
            *pp = w->next;
            w->next = NULL;
            *tail = w;
            tail = &w->next;
        } else {
            pp = &w->next;
        }
    }
    while (done) { /* callbacks may add waiters: the list is detached first */
        struct reg_wait *w = done;
        done = w->next;
        w->cb(w->ctx, rc);
        free(w);
    }
}

static void reg_after(uv_work_t *req, int status)
{
    (void)status;
    struct reg_job *j = req->data;
    struct broker *b = j->b;
    b->reg_busy = false;
    reg_complete(b, j->gen, j->rc);
    free(j->text);
    free(j);
    if (!b->closed)
        reg_kick(b);
    broker_unref(b);
}

/* Starts a write of the current registry when waiters need one and none is in flight. */
static void reg_kick(struct broker *b)
{
    if (b->reg_busy || !b->reg_waits)
        return;
    struct reg_job *j = calloc(1, sizeof *j);
    char *text = j ? registry_text(b) : NULL;
    if (!text) {
        free(j);
        reg_complete(b, UINT64_MAX, PLG_ENOMEM);
        return;
    }
    j->req.data = j;
    j->b = b;
    j->text = text;
    j->gen = b->reg_gen;
    snprintf(j->meta, sizeof j->meta, "%s/meta", b->data_dir);
    if (uv_queue_work(b->loop, &j->req, reg_work, reg_after) != 0) {
        j->rc = registry_write(b, j->meta, text, j->gen);
        reg_complete(b, j->gen, j->rc);
        free(text);
        free(j);
        return;
    }
    b->reg_busy = true;
    b->open_handles++; /* the job keeps the broker allocated */
}

void broker_registry_commit(struct broker *b, broker_done_cb cb, void *ctx)
{
    uint64_t gen = ++b->reg_gen;
    struct reg_wait *w = b->o.memory_only || b->closed ? NULL : calloc(1, sizeof *w);
    if (!w) {
        cb(ctx, b->o.memory_only ? 0 : b->closed ? PLG_ECLOSED : PLG_ENOMEM);
        return;
    }
    w->gen = gen;
    w->cb = cb;
    w->ctx = ctx;
    w->next = b->reg_waits;
    b->reg_waits = w;
    reg_kick(b);
}

static void topic_free(struct broker *b, struct btopic *t, bool remove_files)
{
    for (int32_t i = 0; i < t->npart; i++)
        if (t->parts[i])
            part_close(b, t->parts[i], remove_files);
    free(t->parts);
    kv_free(t->configs);
    free(t->name);
    free(t);
}

/* Creates the in-memory topic and opens its partitions (no registry write). `fresh`: a new
 * topic (not one of the registry): when a partition fails to open, the directories of the ones
 * opened before it are removed again, so a failed create leaves nothing a later create of the
 * name would adopt; a registered topic's files are never removed here. */
static int topic_open(struct broker *b, const char *name, int32_t npart, char **configs,
                      const uint8_t *id, bool fresh, struct btopic **out, char *why, size_t whylen)
{
    struct plg_log_config cfg;
    int rc = build_config(b, (const char *const *)configs, &cfg, why, whylen);
    if (rc) {
        kv_free(configs);
        return rc;
    }
    struct btopic *t = calloc(1, sizeof *t);
    if (!t || !(t->name = strdup(name)) || !(t->parts = calloc((size_t)npart, sizeof *t->parts))) {
        if (t)
            free(t->name);
        free(t);
        kv_free(configs);
        return PLG_ENOMEM;
    }
    t->configs = configs;
    if (id)
        memcpy(t->id, id, 16);
    else
        randombytes_buf(t->id, sizeof t->id);
    for (int32_t i = 0; i < npart; i++) {
        rc = part_open(b, t, i, &cfg, &t->parts[i]);
        if (rc) {
            snprintf(why, whylen, "partition %d: %s", i, plg_strerror(rc));
            t->npart = i;
            topic_free(b, t, fresh);
            return rc;
        }
    }
    t->npart = npart;
    *out = t;
    return 0;
}

static int topic_insert(struct broker *b, struct btopic *t)
{
    long i = topic_index(b, t->name, strlen(t->name));
    assert(i < 0);
    size_t at = (size_t)(-i - 1);
    if (b->ntopics == b->captopics) {
        int32_t cap = b->captopics ? b->captopics * 2 : 16;
        struct btopic **v = realloc(b->topics, (size_t)cap * sizeof *v);
        if (!v)
            return PLG_ENOMEM;
        b->topics = v;
        b->captopics = cap;
    }
    memmove(b->topics + at + 1, b->topics + at,
            (size_t)(b->ntopics - (int32_t)at) * sizeof *b->topics);
    b->topics[at] = t;
    b->ntopics++;
    return 0;
}

/* Takes the topic at index i out of the sorted array; returns it. */
static struct btopic *topic_remove(struct broker *b, long i)
{
    struct btopic *t = b->topics[i];
    memmove(b->topics + i, b->topics + i + 1, (size_t)(b->ntopics - i - 1) * sizeof *b->topics);
    b->ntopics--;
    return t;
}

/* The checks every topic creation makes before any work: name, partition count, not taken. */
static int check_new_topic(struct broker *b, const char *name, int32_t partitions, char *why,
                           size_t whylen)
{
    if (!broker_topic_name_valid(name, strlen(name))) {
        snprintf(why, whylen, "invalid topic name \"%s\"", name);
        return PLG_EINVAL;
    }
    if (partitions < 1 || partitions > 100000) {
        snprintf(why, whylen, "partition count %d outside 1..100000", partitions);
        return PLG_ERANGE;
    }
    if (broker_topic_taken(b, name, strlen(name))) {
        snprintf(why, whylen, "topic \"%s\" already exists", name);
        return PLG_EEXIST;
    }
    return 0;
}

int broker_topic_create(struct broker *b, const char *name, int32_t partitions,
                        const char *const *configs, char *why, size_t whylen)
{
    char dummy[8];
    if (!why) {
        why = dummy;
        whylen = sizeof dummy;
    }
    int vrc = check_new_topic(b, name, partitions, why, whylen);
    if (vrc)
        return vrc;
    char **kv = kv_dup(configs);
    if (!kv)
        return PLG_ENOMEM;
    struct btopic *t;
    int rc = topic_open(b, name, partitions, kv, NULL, true, &t, why, whylen);
    if (rc)
        return rc;
    if ((rc = topic_insert(b, t))) {
        topic_free(b, t, true);
        return rc;
    }
    if ((rc = registry_save(b))) {
        broker_topic_delete(b, name);
        snprintf(why, whylen, "cannot persist the topic registry: %s", plg_strerror(rc));
        return rc;
    }
    PLG_INFO("broker", "msg=\"topic created\" topic=%s partitions=%d", name, partitions);
    return 0;
}

struct create_job {
    uv_work_t req;
    struct broker *b;
    char *name;
    int32_t npart;
    char **kv; /* passed to topic_open */
    struct btopic *t;
    int rc;
    char why[256];
    int reg_rc;     /* the failed registry write being rolled back (create_rolled_back) */
    uint8_t id[16]; /* the new topic's uuid, once inserted */
    broker_create_cb done;
    void *ctx;
};

/* Worker: opens every partition (directories, files, fsyncs, Merkle trees). It reads only the
 * broker's immutable settings (data_dir, defaults, memory_only); the new partitions are not
 * visible to the loop until after_create inserts them. */
static void create_work(uv_work_t *req)
{
    struct create_job *j = req->data;
    j->rc = topic_open(j->b, j->name, j->npart, j->kv, NULL, true, &j->t, j->why, sizeof j->why);
    j->kv = NULL;
}

static void close_async_if_idle(struct broker *b);

/* Whether a create, delete or partition addition of this name is in flight. */
static bool name_reserved_len(struct broker *b, const char *name, size_t len)
{
    for (int32_t i = 0; i < b->ncreating; i++)
        if (topic_cmp(name, len, b->creating[i]) == 0)
            return true;
    return false;
}

static bool name_reserved(struct broker *b, const char *name)
{
    return name_reserved_len(b, name, strlen(name));
}

bool broker_topic_taken(struct broker *b, const char *name, size_t len)
{
    return broker_topic_find(b, name, len) || name_reserved_len(b, name, len);
}

/* Adds name (owned by the caller's job until create_unreserve) to the reserved names. */
static int name_reserve(struct broker *b, char *name)
{
    if (b->ncreating == b->capcreating) {
        int32_t cap = b->capcreating ? b->capcreating * 2 : 8;
        char **v = realloc(b->creating, (size_t)cap * sizeof *v);
        if (!v)
            return PLG_ENOMEM;
        b->creating = v;
        b->capcreating = cap;
    }
    b->creating[b->ncreating++] = name;
    return 0;
}

/* Frees the name once the create or delete job is over (its logs opened into the broker, or
 * closed). */
static void create_unreserve(struct broker *b, const char *name)
{
    for (int32_t i = 0; i < b->ncreating; i++) {
        if (!strcmp(b->creating[i], name)) {
            b->creating[i] = b->creating[--b->ncreating];
            break;
        }
    }
    close_async_if_idle(b);
}

struct name_wait {
    struct name_wait *next;
    char *name;
    broker_done_cb done;
    void *ctx;
};

int broker_topic_wait_settled(struct broker *b, const char *name, broker_done_cb done, void *ctx)
{
    if (!name_reserved(b, name))
        return PLG_ENOTFOUND;
    struct name_wait *w = calloc(1, sizeof *w);
    if (!w || !(w->name = strdup(name))) {
        free(w);
        return PLG_ENOMEM;
    }
    w->done = done;
    w->ctx = ctx;
    w->next = b->name_waits;
    b->name_waits = w;
    return 0;
}

/* The job of `name` is over (its own completion ran): wakes broker_topic_wait_settled's waiters
 * of that name, outside the list (they may start new jobs and waits). Before the job's
 * broker_unref. */
static void name_settled(struct broker *b, const char *name)
{
    struct name_wait **pp = &b->name_waits, *ready = NULL;
    while (*pp) {
        struct name_wait *w = *pp;
        if (!strcmp(w->name, name)) {
            *pp = w->next;
            w->next = ready;
            ready = w;
        } else {
            pp = &w->next;
        }
    }
    while (ready) {
        struct name_wait *w = ready;
        ready = w->next;
        w->done(w->ctx, 0);
        free(w->name);
        free(w);
    }
}

static void create_job_free(struct create_job *j)
{
    kv_free(j->kv);
    free(j->name);
    free(j);
}

/* The create is over (j->done told, waiters woken): frees the job. */
static void create_finish(struct create_job *j, int rc)
{
    j->done(j->ctx, rc, j->why);
    name_settled(j->b, j->name);
    broker_unref(j->b);
    create_job_free(j);
}

static int topic_delete_start(struct broker *b, const char *name, bool rollback,
                              broker_done_cb done, void *ctx);

/* The rollback of a create whose registry write failed is over: the topic's files are gone. */
static void create_rolled_back(void *ctx, int rc)
{
    struct create_job *j = ctx;
    (void)rc; /* a failed registry rewrite is logged by registry_write; the files went anyway */
    create_finish(j, j->reg_rc);
}

static void create_registered(void *ctx, int rc)
{
    struct create_job *j = ctx;
    struct broker *b = j->b;
    if (rc == 0) {
        PLG_INFO("broker", "msg=\"topic created\" topic=%s partitions=%d", j->name, j->npart);
        create_finish(j, 0);
        return;
    }
    snprintf(j->why, sizeof j->why, "cannot persist the topic registry: %s", plg_strerror(rc));
    j->reg_rc = rc;
    /* A topic that is not in the registry is not created: it leaves the topic list now and its
     * files go on a worker, like a DeleteTopics; the client is answered once they are gone (the
     * name is free again then). At shutdown the broker closes it with the others. Another job
     * may have deleted the topic meanwhile (the name is not reserved during the registry write):
     * only the topic this job inserted, by uuid, is rolled back. */
    struct btopic *t = broker_topic_find(b, j->name, strlen(j->name));
    if (b->closed || !t || memcmp(t->id, j->id, sizeof j->id)) {
        create_finish(j, rc);
        return;
    }
    int drc = topic_delete_start(b, j->name, true, create_rolled_back, j);
    if (drc == 0)
        return;
    if (drc == PLG_ENOMEM) /* no memory for a job: on the loop, the old way */
        broker_topic_delete(b, j->name);
    else /* PLG_ESTATE: partitions are being added; the topic stays until a restart */
        PLG_WARN("broker",
                 "msg=\"cannot roll back a create whose registry write failed\" topic=%s "
                 "error=\"%s\"",
                 j->name, plg_strerror(drc));
    create_finish(j, rc);
}

static void create_after(uv_work_t *req, int status)
{
    (void)status;
    struct create_job *j = req->data;
    struct broker *b = j->b;
    int rc = j->rc;
    if (rc == 0 && b->closed) {
        topic_free(b, j->t, true);
        rc = PLG_ECLOSED;
        snprintf(j->why, sizeof j->why, "the server is shutting down");
    } else if (rc == 0 && (rc = topic_insert(b, j->t)) != 0) {
        topic_free(b, j->t, true);
    }
    /* After the logs are in the broker or closed: their flushers may signal durable_async. */
    create_unreserve(b, j->name);
    if (rc) {
        if (!j->why[0])
            snprintf(j->why, sizeof j->why, "%s", plg_strerror(rc));
        create_finish(j, rc);
        return;
    }
    memcpy(j->id, j->t->id, sizeof j->id);
    broker_registry_commit(b, create_registered, j);
}

int broker_topic_create_async(struct broker *b, const char *name, int32_t partitions,
                              const char *const *configs, char *why, size_t whylen,
                              broker_create_cb done, void *ctx)
{
    int vrc = check_new_topic(b, name, partitions, why, whylen);
    if (vrc)
        return vrc;
    if (b->shutting) {
        snprintf(why, whylen, "the server is shutting down");
        return PLG_ECLOSED;
    }
    struct plg_log_config cfg;
    int rc = build_config(b, configs, &cfg, why, whylen);
    if (rc)
        return rc;
    struct create_job *j = calloc(1, sizeof *j);
    if (!j || !(j->name = strdup(name)) || !(j->kv = kv_dup(configs)) || name_reserve(b, j->name)) {
        if (j) {
            kv_free(j->kv);
            free(j->name);
        }
        free(j);
        return PLG_ENOMEM;
    }
    j->req.data = j;
    j->b = b;
    j->npart = partitions;
    j->done = done;
    j->ctx = ctx;
    b->open_handles++; /* the job keeps the broker allocated until done ran */
    if (uv_queue_work(b->loop, &j->req, create_work, create_after) != 0) {
        create_work(&j->req);
        create_after(&j->req, 0);
    }
    return 0;
}

int broker_topic_delete(struct broker *b, const char *name)
{
    long i = topic_index(b, name, strlen(name));
    if (i < 0)
        return PLG_ENOTFOUND;
    if (name_reserved(b, name))
        return PLG_ESTATE; /* partitions are being added */
    struct btopic *t = topic_remove(b, i);
    int rc = registry_save(b);
    topic_free(b, t, true);
    PLG_INFO("broker", "msg=\"topic deleted\" topic=%s", name);
    return rc;
}

struct delete_job {
    uv_work_t req;
    struct broker *b;
    struct btopic *t; /* detached from the broker; closed and freed by the worker */
    char *name;
    int rc;        /* of the registry write */
    int waits;     /* registry write + cancelled housekeeping jobs still writing in the dirs */
    bool rollback; /* of a create whose registry write failed: remove the files in any case */
    broker_done_cb done;
    void *ctx;
};

/* Worker: closes the partitions and, once the registry no longer lists the topic, removes its
 * files. On a failed registry write the files stay, matching the registry on disk: a restart
 * brings the topic back whole rather than empty. Not for a rolled back create: the registry
 * never durably listed it, so its files always go. */
static void delete_work(uv_work_t *req)
{
    struct delete_job *j = req->data;
    struct btopic *t = j->t;
    for (int32_t i = 0; i < t->npart; i++)
        part_release(j->b, t->parts[i], j->rc == 0 || j->rollback);
    free(t->parts);
    kv_free(t->configs);
    free(t->name);
    free(t);
    j->t = NULL;
}

static void delete_after(uv_work_t *req, int status)
{
    (void)status;
    struct delete_job *j = req->data;
    struct broker *b = j->b;
    create_unreserve(b, j->name);
    if (j->rollback) /* the topic was never there: the failed registry write is the news */
        PLG_DEBUG("broker", "msg=\"failed create rolled back\" topic=%s", j->name);
    else
        PLG_INFO("broker", "msg=\"topic deleted\" topic=%s registry=\"%s\"", j->name,
                 j->rc ? plg_strerror(j->rc) : "durable");
    j->done(j->ctx, j->rc);
    name_settled(b, j->name);
    broker_unref(b);
    free(j->name);
    free(j);
}

/* One wait is over; when all are, the files go (on a worker). */
static void delete_step(void *ctx)
{
    struct delete_job *j = ctx;
    if (--j->waits > 0)
        return;
    if (uv_queue_work(j->b->loop, &j->req, delete_work, delete_after) != 0) {
        delete_work(&j->req);
        delete_after(&j->req, 0);
    }
}

static void delete_registered(void *ctx, int rc)
{
    struct delete_job *j = ctx;
    j->rc = rc;
    delete_step(j);
}

int broker_topic_delete_async(struct broker *b, const char *name, broker_done_cb done, void *ctx)
{
    return topic_delete_start(b, name, false, done, ctx);
}

static int topic_delete_start(struct broker *b, const char *name, bool rollback,
                              broker_done_cb done, void *ctx)
{
    long i = topic_index(b, name, strlen(name));
    if (i < 0)
        return PLG_ENOTFOUND;
    if (name_reserved(b, name))
        return PLG_ESTATE; /* partitions are being added */
    struct delete_job *j = calloc(1, sizeof *j);
    if (!j || !(j->name = strdup(name)) || name_reserve(b, j->name)) {
        if (j)
            free(j->name);
        free(j);
        return PLG_ENOMEM;
    }
    struct btopic *t = topic_remove(b, i);
    j->req.data = j;
    j->b = b;
    j->t = t;
    j->rollback = rollback;
    j->done = done;
    j->ctx = ctx;
    /* The name stays reserved until the files are gone: no re-create before. */
    b->open_handles++;
    j->waits = 1; /* the registry write */
    for (int32_t k = 0; k < t->npart; k++) {
        /* A compaction still writing in the directory must finish before it is removed. */
        if (bpart_housekeep_cancel_notify(t->parts[k], delete_step, j))
            j->waits++;
        part_detach(b, t->parts[k]);
    }
    broker_registry_commit(b, delete_registered, j);
    return 0;
}

struct grow_job {
    uv_work_t req;
    struct broker *b;
    struct btopic stub; /* only the name: all part_open needs from its topic, on the worker */
    struct plg_log_config cfg;
    uint8_t id[16]; /* the topic's uuid: the same topic must still be there afterwards */
    int32_t from, total;
    struct bpart **parts; /* the new partitions from..total-1 */
    int rc;
    broker_done_cb done;
    void *ctx;
};

/* Worker: opens the new partitions against the stub topic (the real one stays on the loop). */
static void grow_work(uv_work_t *req)
{
    struct grow_job *j = req->data;
    for (int32_t i = j->from; i < j->total; i++) {
        j->rc = part_open(j->b, &j->stub, i, &j->cfg, &j->parts[i - j->from]);
        if (j->rc) {
            /* On the worker, which owns them: opened against the stub, never in a topic. */
            for (int32_t k = j->from; k < i; k++)
                part_close(j->b, j->parts[k - j->from], true);
            return;
        }
    }
}

static void grow_finish(struct grow_job *j, int rc)
{
    j->done(j->ctx, rc);
    name_settled(j->b, j->stub.name);
    broker_unref(j->b);
    free(j->parts);
    free(j->stub.name);
    free(j);
}

static void grow_registered(void *ctx, int rc)
{
    grow_finish(ctx, rc);
}

static void grow_after(uv_work_t *req, int status)
{
    (void)status;
    struct grow_job *j = req->data;
    struct broker *b = j->b;
    int rc = j->rc;
    struct btopic *t = b->closed ? NULL : broker_topic_find(b, j->stub.name, strlen(j->stub.name));
    struct bpart **v = NULL;
    if (rc == 0 && (b->closed || !t || memcmp(t->id, j->id, 16) || t->npart != j->from))
        rc = b->closed ? PLG_ECLOSED : PLG_ESTATE; /* cannot happen while reserved, but safe */
    if (rc == 0 && !(v = realloc(t->parts, (size_t)j->total * sizeof *v)))
        rc = PLG_ENOMEM;
    if (rc == 0) {
        t->parts = v;
        for (int32_t i = j->from; i < j->total; i++) {
            struct bpart *p = j->parts[i - j->from];
            p->t = t;
            t->parts[i] = p;
        }
        t->npart = j->total;
        /* The new logs were opened with the configs of the time; AlterConfigs may have changed
         * the topic's since (it reconfigures only the partitions already in the topic). */
        struct plg_log_config cfg;
        char why[200] = "";
        int crc = build_config(b, (const char *const *)t->configs, &cfg, why, sizeof why);
        for (int32_t i = j->from; crc == 0 && i < j->total; i++)
            crc = plg_log_reconfigure(t->parts[i]->log, &cfg);
        if (crc)
            PLG_ERROR("broker", "msg=\"new partitions keep their configs\" topic=%s error=\"%s\"",
                      t->name, why[0] ? why : plg_strerror(crc));
        PLG_INFO("broker", "msg=\"partitions added\" topic=%s partitions=%d", t->name, j->total);
    } else if (j->rc == 0) {
        /* Still the job's alone (not installed); when grow_work failed it closed its own. */
        for (int32_t i = j->from; i < j->total; i++)
            part_close(b, j->parts[i - j->from], true);
    }
    create_unreserve(b, j->stub.name); /* after the logs are in the topic or closed */
    if (rc)
        grow_finish(j, rc);
    else
        broker_registry_commit(b, grow_registered, j);
}

int broker_topic_add_partitions_async(struct broker *b, const char *name, int32_t total,
                                      broker_done_cb done, void *ctx)
{
    struct btopic *t = broker_topic_find(b, name, strlen(name));
    if (!t)
        return PLG_ENOTFOUND;
    if (total <= t->npart || total > 100000)
        return PLG_EINVAL;
    if (name_reserved(b, name) || b->shutting)
        return PLG_ESTATE;
    struct grow_job *j = calloc(1, sizeof *j);
    if (!j)
        return PLG_ENOMEM;
    char why[200];
    int rc = build_config(b, (const char *const *)t->configs, &j->cfg, why, sizeof why);
    if (rc == 0 && (!(j->stub.name = strdup(name)) ||
                    !(j->parts = calloc((size_t)(total - t->npart), sizeof *j->parts)) ||
                    name_reserve(b, j->stub.name)))
        rc = PLG_ENOMEM;
    if (rc) {
        free(j->parts);
        free(j->stub.name);
        free(j);
        return rc;
    }
    j->req.data = j;
    j->b = b;
    memcpy(j->id, t->id, 16);
    j->from = t->npart;
    j->total = total;
    j->done = done;
    j->ctx = ctx;
    b->open_handles++;
    if (uv_queue_work(b->loop, &j->req, grow_work, grow_after) != 0) {
        grow_work(&j->req);
        grow_after(&j->req, 0);
    }
    return 0;
}

int btopic_config_get(struct broker *b, struct btopic *t, const char *key, char *out, size_t cap,
                      bool *is_default)
{
    const char *v = kv_get(t->configs, key);
    *is_default = v == NULL;
    if (v) {
        snprintf(out, cap, "%s", v);
        return 0;
    }
    return plg_log_config_get(plg_log_config(t->parts[0]->log), key, out, cap);
}

int btopic_set_configs(struct broker *b, struct btopic *t, const char *const *configs, char *why,
                       size_t whylen, bool validate_only)
{
    struct plg_log_config cfg;
    int rc = build_config(b, configs, &cfg, why, whylen);
    if (rc || validate_only)
        return rc;
    char **kv = kv_dup(configs);
    if (!kv)
        return PLG_ENOMEM;
    for (int32_t i = 0; i < t->npart; i++) {
        rc = plg_log_reconfigure(t->parts[i]->log, &cfg);
        if (rc) {
            snprintf(why, whylen, "partition %d: %s", i, plg_strerror(rc));
            kv_free(kv);
            return rc;
        }
    }
    kv_free(t->configs);
    t->configs = kv;
    return 0; /* the caller makes the registry durable (broker_registry_commit) */
}

static int registry_load(struct broker *b)
{
    if (b->o.memory_only)
        return 0;
    char path[4096];
    snprintf(path, sizeof path, "%s/meta/topics.json", b->data_dir);
    if (access(path, F_OK) != 0)
        return 0;
    json_error_t jerr;
    json_t *root = json_load_file(path, 0, &jerr);
    if (!root) {
        PLG_ERROR("broker", "msg=\"corrupt topic registry\" path=%s line=%d error=\"%s\"", path,
                  jerr.line, jerr.text);
        return PLG_ECORRUPT;
    }
    json_t *arr = json_object_get(root, "topics");
    size_t i;
    json_t *jt;
    int rc = 0;
    json_array_foreach(arr, i, jt)
    {
        const char *name = json_string_value(json_object_get(jt, "name"));
        json_int_t np = json_integer_value(json_object_get(jt, "partitions"));
        const char *hex = json_string_value(json_object_get(jt, "id"));
        json_t *cfg = json_object_get(jt, "config");
        if (!name || np < 1 || !broker_topic_name_valid(name, strlen(name))) {
            PLG_ERROR("broker", "msg=\"corrupt topic registry entry\" path=%s index=%zu", path, i);
            rc = PLG_ECORRUPT;
            break;
        }
        size_t nc = json_object_size(cfg);
        char **kv = calloc(2 * nc + 1, sizeof *kv);
        const char *k;
        json_t *v;
        size_t j = 0;
        json_object_foreach(cfg, k, v)
        {
            kv[j++] = strdup(k);
            kv[j++] = strdup(json_string_value(v) ? json_string_value(v) : "");
        }
        uint8_t id[16];
        const uint8_t *idp = NULL;
        if (hex && sodium_hex2bin(id, sizeof id, hex, strlen(hex), NULL, NULL, NULL) == 0)
            idp = id;
        struct btopic *t;
        char why[256] = "";
        rc = topic_open(b, name, (int32_t)np, kv, idp, false, &t, why, sizeof why);
        if (rc) {
            PLG_ERROR("broker", "msg=\"cannot open topic\" topic=%s error=\"%s\"", name, why);
            break;
        }
        if ((rc = topic_insert(b, t))) {
            topic_free(b, t, false);
            break;
        }
    }
    json_decref(root);
    return rc;
}

/* ---- appends ---- */

static int append_checked(struct bpart *p, uint8_t *batch, size_t len, int acks,
                          const struct batch *bhp, broker_append_cb cb, void *ctx);

int bpart_append(struct bpart *p, uint8_t *batch, size_t len, int acks, broker_append_cb cb,
                 void *ctx)
{
    struct broker *b = p->b;
    struct batch bh;
    int64_t lso = plg_log_start_offset(p->log);
    int rc;
    if (p->tree && !ptree_error(p->tree)) {
        /* One walk over the records both checks them and encodes their Merkle leaves. */
        rc = batch_validate(batch, len, &bh);
        if (!rc)
            rc = ptree_prepare(p->tree, batch, len);
        if (!rc) {
            rc = append_checked(p, batch, len, acks, &bh, cb, ctx);
            ptree_prepare_clear(p->tree);
            return rc;
        }
    } else {
        rc = batch_validate_deep(batch, len, &b->scratch, BATCH_MAX_RECORDS_BYTES, &bh);
    }
    if (b->scratch.cap > (1u << 20)) {
        buf_free(&b->scratch); /* do not keep a large scratch after a big batch */
        buf_init(&b->scratch);
    }
    if (rc) {
        append_done(cb, ctx, broker_kerr(rc), -1, -1, lso);
        return 0;
    }
    return append_checked(p, batch, len, acks, &bh, cb, ctx);
}

/* The rest of bpart_append, once the batch's records were checked. */
static int append_checked(struct bpart *p, uint8_t *batch, size_t len, int acks,
                          const struct batch *bhp, broker_append_cb cb, void *ctx)
{
    struct broker *b = p->b;
    struct batch bh = *bhp;
    int64_t lso = plg_log_start_offset(p->log);
    int rc;
    if (bh.size != len) {
        /* Produce v3+ carries exactly one batch per partition. */
        append_done(cb, ctx, KERR_CORRUPT_MESSAGE, -1, -1, lso);
        return 0;
    }
    if ((int64_t)bh.last_offset_delta + 1 != bh.record_count) {
        /* A produced batch fills its offset range (Kafka: "inconsistent batch offset range"):
         * offsets without a record would have no Merkle leaf (leaf index = offset). Only
         * compaction leaves holes, and it does not come through here. */
        append_done(cb, ctx, KERR_INVALID_RECORD, -1, -1, lso);
        return 0;
    }
    if (batch_is_control(&bh) || batch_is_transactional(&bh)) {
        append_done(cb, ctx, KERR_INVALID_REQUEST, -1, -1, lso); /* no transactions */
        return 0;
    }
    int64_t span = (int64_t)bh.last_offset_delta + 1;
    bool idem = bh.producer_id >= 0;
    if (idem) {
        int64_t dup = -1;
        int v = pid_table_check(&p->pids, bh.producer_id, bh.producer_epoch, bh.base_sequence,
                                (int32_t)span, &dup);
        if (v == PID_DUPLICATE) {
            struct broker_append_result r = {KERR_NONE, dup, -1, lso};
            if (ack_waits(p, acks) && plg_log_durable_offset(p->log) < dup + span)
                return part_wait_ack(p, dup + span, &r, cb, ctx);
            cb(ctx, &r);
            return 0;
        }
        if (v != PID_APPEND) {
            append_done(cb, ctx, (int16_t)v, -1, -1, lso);
            return 0;
        }
    }
    struct plg_append_info info;
    rc = plg_log_append_checked(p->log, batch, len, &info); /* bpart_append checked the CRC */
    if (rc) {
        mx_counter_inc(b->m_append_err);
        if (rc != PLG_ETOOBIG && rc != PLG_ECORRUPT &&
            failrun_fail(&p->append_failures, uv_now(b->loop)))
            PLG_ERROR("broker",
                      "msg=\"append failed, producers get errors until the storage takes writes "
                      "again\" topic=%s partition=%d failed=%lld error=\"%s\"",
                      p->t->name, p->id, (long long)p->append_failures.n, plg_strerror(rc));
        append_done(cb, ctx, broker_kerr(rc), -1, -1, lso);
        return 0;
    }
    p->last_append_ms = uv_now(b->loop);
    int64_t failed = failrun_ok(&p->append_failures);
    if (failed)
        PLG_INFO("broker", "msg=\"appends work again\" topic=%s partition=%d failed=%lld",
                 p->t->name, p->id, (long long)failed);
    if (idem)
        pid_table_record(&p->pids, bh.producer_id, bh.producer_epoch, bh.base_sequence,
                         (int32_t)span, info.base_offset);
    mx_counter_add(b->m_recs_in, (uint64_t)bh.record_count);
    mx_counter_add(b->m_bytes_in, len);
    broker_watch_fire_all(&p->watchers);
    struct broker_append_result r = {KERR_NONE, info.base_offset, info.log_append_time,
                                     info.log_start_offset};
    if (ack_waits(p, acks)) {
        int64_t need = info.last_offset + 1;
        if (plg_log_durable_offset(p->log) < need)
            return part_wait_ack(p, need, &r, cb, ctx);
    }
    cb(ctx, &r);
    return 0;
}

int broker_append(struct broker *b, const char *topic, int32_t partition, uint8_t *batch,
                  size_t len, int acks, broker_append_cb cb, void *ctx)
{
    if (acks != 0 && acks != 1 && acks != -1)
        return PLG_EINVAL;
    struct bpart *p = broker_part(b, topic, strlen(topic), partition);
    if (!p)
        return PLG_ENOTFOUND;
    return bpart_append(p, batch, len, acks, cb, ctx);
}

int broker_read(struct broker *b, const char *topic, int32_t partition, int64_t offset,
                size_t max_bytes, uint8_t **out, size_t *len, int64_t *next_offset)
{
    struct bpart *p = broker_part(b, topic, strlen(topic), partition);
    if (!p)
        return PLG_ENOTFOUND;
    return plg_log_read_copy(p->log, offset, max_bytes, out, len, next_offset);
}

int broker_partition_offsets(struct broker *b, const char *topic, int32_t partition, int64_t *start,
                             int64_t *end)
{
    struct bpart *p = broker_part(b, topic, strlen(topic), partition);
    if (!p)
        return PLG_ENOTFOUND;
    *start = plg_log_start_offset(p->log);
    *end = plg_log_end_offset(p->log);
    return 0;
}

/* ---- housekeeping ---- */

/* Retention for cleanup.policy=delete, compaction for compact, on every partition: the file
 * work runs on libuv workers (housekeeping.c), the loop only swaps segment lists. */
static void on_housekeeping(uv_timer_t *t)
{
    broker_housekeeping_run(t->data);
}

/* ---- lifecycle ---- */

/* ---- metrics ---- */

#define METRICS_MAX_PARTITIONS 2000 /* bounded labels: partitions beyond are not exported */

/* Collector (runs inside mx_render on the loop thread, which owns the broker): per-partition
 * log end offset, start offset and size, and the topic count. */
static void broker_collect(void *ctx, struct mx_sink *sink)
{
    struct broker *b = ctx;
    mx_sink_family(sink, "pyralog_topics", "Topics on this node.", MX_GAUGE);
    mx_sink_sample(sink, NULL, (double)b->ntopics);
    static const struct {
        const char *name, *help;
    } fams[] = {
        {"pyralog_log_end_offset", "Next offset to be assigned (log end offset), by partition."},
        {"pyralog_log_start_offset", "First offset still in the log, by partition."},
        {"pyralog_log_size_bytes", "Bytes of segment data in the log, by partition."},
    };
    for (size_t f = 0; f < sizeof fams / sizeof fams[0]; f++) {
        mx_sink_family(sink, fams[f].name, fams[f].help, MX_GAUGE);
        int n = 0;
        for (int32_t i = 0; i < b->ntopics && n < METRICS_MAX_PARTITIONS; i++) {
            struct btopic *t = b->topics[i];
            char esc[256];
            mx_label_escape(esc, sizeof esc, t->name);
            for (int32_t j = 0; j < t->npart && n < METRICS_MAX_PARTITIONS; j++, n++) {
                plg_log_t *log = t->parts[j]->log;
                char labels[320];
                snprintf(labels, sizeof labels, "topic=\"%s\",partition=\"%d\"", esc, (int)j);
                double v = f == 0   ? (double)plg_log_end_offset(log)
                           : f == 1 ? (double)plg_log_start_offset(log)
                                    : (double)plg_log_size_bytes(log);
                mx_sink_sample(sink, labels, v);
            }
        }
    }
}

static void broker_metrics_init(struct broker *b)
{
    struct mx_registry *r = mx_default();
    b->m_recs_in = mx_counter_get(r, "pyralog_log_records_appended_total",
                                  "Records appended to partition logs (Kafka and JSON-RPC).", NULL);
    b->m_bytes_in = mx_counter_get(r, "pyralog_log_bytes_appended_total",
                                   "Record batch bytes appended to partition logs.", NULL);
    b->m_recs_out =
        mx_counter_get(r, "pyralog_fetch_records_out_total",
                       "Record offsets sent to Kafka consumers in Fetch responses.", NULL);
    b->m_bytes_out =
        mx_counter_get(r, "pyralog_fetch_bytes_out_total",
                       "Record batch bytes sent to Kafka consumers in Fetch responses.", NULL);
    b->m_fetch_cold = mx_counter_get(
        r, "pyralog_fetch_cold_reads_total",
        "Fetch responses whose data was not in the page cache and was read on a worker first.",
        NULL);
    b->m_append_err = mx_counter_get(r, "pyralog_log_append_errors_total",
                                     "Appends the storage refused or failed.", NULL);
    b->m_bad_frames =
        mx_counter_get(r, "pyralog_kafka_bad_requests_total",
                       "Kafka frames that did not decode or named no known API.", NULL);
    mx_collector_add(r, broker_collect, b);
}

int broker_open(uv_loop_t *loop, const struct broker_opts *o, struct broker **out)
{
    if (sodium_init() < 0)
        return PLG_ESTATE;
    struct broker *b = calloc(1, sizeof *b);
    if (!b)
        return PLG_ENOMEM;
    b->loop = loop;
    b->o = *o;
    pthread_mutex_init(&b->reg_mu, NULL);
    b->data_dir = strdup(o->data_dir ? o->data_dir : "./pyralog-data");
    b->adv_host = strdup(o->adv_host ? o->adv_host : "127.0.0.1");
    b->topic_defaults = kv_dup(o->topic_defaults);
    if (!b->data_dir || !b->adv_host || !b->topic_defaults) {
        free(b->data_dir);
        free(b->adv_host);
        kv_free(b->topic_defaults);
        free(b);
        return PLG_ENOMEM;
    }
    b->o.data_dir = b->data_dir;
    b->o.adv_host = b->adv_host;
    b->hk_inline = getenv("PLG_TEST_HOUSEKEEP_INLINE") != NULL;
    if (b->o.num_partitions < 1)
        b->o.num_partitions = 1;
    if (b->o.fetch_max_wait_cap_ms <= 0)
        b->o.fetch_max_wait_cap_ms = 30000;
    buf_init(&b->scratch);
    broker_watch_list_init(&b->parked);
    snprintf(b->cluster_id, sizeof b->cluster_id, "pyralog-%d", o->node_id);
    int rc = 0;
    if (!o->memory_only) {
        char meta[4096], topics[4096];
        snprintf(meta, sizeof meta, "%s/meta", b->data_dir);
        snprintf(topics, sizeof topics, "%s/topics", b->data_dir);
        if ((rc = mkdir_p(meta)) || (rc = mkdir_p(topics))) {
            PLG_ERROR("broker", "msg=\"cannot create data directory\" dir=%s error=\"%s\"",
                      b->data_dir, plg_strerror(rc));
            goto fail;
        }
    }
    {
        char why[256];
        struct plg_log_config cfg;
        if ((rc = build_config(b, NULL, &cfg, why, sizeof why))) {
            PLG_ERROR("broker", "msg=\"bad default topic config\" error=\"%s\"", why);
            goto fail;
        }
    }
    if ((rc = uv_async_init(loop, &b->durable_async, on_durable_async)))
        goto fail;
    b->durable_async.data = b;
    uv_timer_init(loop, &b->housekeeping);
    b->housekeeping.data = b;
    b->open_handles = 2;
    uint64_t every = b->o.retention_check_ms > 0 ? (uint64_t)b->o.retention_check_ms : 300000;
    uv_timer_start(&b->housekeeping, on_housekeeping, every, every);
    broker_register_core_apis(b);
    broker_metrics_init(b);
    if ((rc = pid_load(b)) || (rc = registry_load(b)) ||
        (rc = group_coord_open(b, o->groups, &b->groups))) {
        broker_close(b);
        return rc;
    }
    *out = b;
    return 0;
fail:
    buf_free(&b->scratch);
    kv_free(b->topic_defaults);
    free(b->data_dir);
    free(b->adv_host);
    pthread_mutex_destroy(&b->reg_mu);
    free(b);
    return rc;
}

uv_loop_t *broker_loop(struct broker *b)
{
    return b->loop;
}

int32_t broker_node_id(const struct broker *b)
{
    return b->o.node_id;
}

void broker_set_advertised(struct broker *b, const char *host, int32_t port)
{
    char *h = strdup(host);
    if (!h)
        return;
    free(b->adv_host);
    b->adv_host = h;
    b->o.adv_host = h;
    b->o.adv_port = port;
}

int broker_register_api(struct broker *b, int16_t api_key, broker_api_fn fn)
{
    if (api_key < 0 || api_key >= BROKER_MAX_API)
        return PLG_EINVAL;
    b->api[api_key] = fn;
    return 0;
}

void broker_shutdown(struct broker *b)
{
    b->shutting = true;
    group_coord_shutdown(b->groups);
    broker_watch_fire_all(&b->parked);
    for (int32_t i = 0; i < b->ntopics; i++) {
        struct btopic *t = b->topics[i];
        for (int32_t j = 0; j < t->npart; j++) {
            broker_watch_fire_all(&t->parts[j]->watchers);
            part_drain_acks(t->parts[j]);
        }
    }
}

/* Frees the broker once its last libuv handle is closed and its last worker job has ended:
 * jobs (registry writes, topic creation) read data_dir and the topic defaults. */
void broker_unref(struct broker *b)
{
    if (--b->open_handles > 0)
        return;
    free(b->creating);
    kv_free(b->topic_defaults);
    free(b->data_dir);
    free(b->adv_host);
    pthread_mutex_destroy(&b->reg_mu);
    free(b);
}

static void on_handle_closed(uv_handle_t *h)
{
    broker_unref(h->data);
}

int broker_close(struct broker *b)
{
    if (!b)
        return 0;
    b->shutting = true;
    mx_collector_remove(mx_default(), broker_collect, b);
    for (int32_t i = 0; i < b->ntopics; i++)
        topic_free(b, b->topics[i], false);
    free(b->topics);
    b->topics = NULL; /* jobs finishing later find no topic */
    b->ntopics = 0;
    group_coord_free(b->groups); /* after the logs: late commit callbacks touch it */
    b->groups = NULL;
    buf_free(&b->scratch);
    free(b->cache_cands);
    b->cache_cands = NULL;
    b->cache_ncap = 0;
    b->closed = true;
    /* Whoever waits for a registry write still gets an answer (none should: the net layer
     * drained first). A write in flight finishes on its worker. */
    reg_complete(b, UINT64_MAX, PLG_ECLOSED);
    /* The broker is freed once libuv has closed both of its handles and no job runs. */
    uv_timer_stop(&b->housekeeping);
    uv_close((uv_handle_t *)&b->housekeeping, on_handle_closed);
    close_async_if_idle(b);
    return 0;
}

/* durable_async is closed once the broker is closed and no create/delete job still has logs
 * open (their flusher threads signal it). */
static void close_async_if_idle(struct broker *b)
{
    if (b->closed && b->ncreating == 0 && !b->async_closed) {
        b->async_closed = true;
        uv_close((uv_handle_t *)&b->durable_async, on_handle_closed);
    }
}
