/* ptree.c — see ptree.h for the file format and the recovery rules. */
#include "crypto/ptree.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/buf.h"
#include "base/bytes.h"
#include "base/log.h"
#include "crypto/blake3.h"
#include "storage/batch.h"

#define HS 32

/* One .merkle file (or its in-memory twin): the records of leaves [base, end). */
struct mfile {
    uint64_t base, end;
    int fd;              /* -1 in memory mode */
    struct buf mem;      /* in memory mode: the hashes (no header) */
    bool sealed;         /* complete: its segment was sealed (or it was loaded from disk) */
    bool synced;         /* durable, or handed to the log's group commit to become so */
    off_t kicked;        /* file offset up to which writeback was started (sync_file_range) */
    struct buf pend;     /* on disk: the tail of its records that a failed write left unwritten */
    bool header_pending; /* on disk: its header could not be written yet */
};

/* Start writeback of a tree file every this many new bytes. Without it the tree files pile up
 * gigabytes of dirty pages that ext4's ordered-mode journal commits (forced by the log's own
 * fdatasync) must then write in one burst, stalling every writer on the event loop: measured
 * p99 produce latency 34-42 ms instead of 1.8 ms after 8M records (BENCHMARKS.md). A tree
 * attached to a log with a flusher does not kick: it hands its active file to the log
 * (plg_log_writeback_file), whose group commits start the writeback of whatever is dirty
 * just before each fdatasync, a little at a time. 4 MiB kicks from here went out in bursts
 * that stalled the commit behind them: 1.5-2% of fdatasyncs over 1 ms instead of 0.2%. */
#define KICK_BYTES (4 << 20)

/* A tree file write that fails (a full disk) keeps the records in memory (mfile.pend) and is
 * retried with every later flush: the log is the source of truth and appends go on. Past this
 * many pending bytes (~450,000 records) the tree gives up (ptree_error) as for other errors. */
#define BACKLOG_MAX (16u << 20)

/* Reusable work areas of batch_leaves (kept in struct ptree so appends do not allocate). */
struct leafwork {
    struct buf in;     /* leaf inputs, back to back */
    struct buf recs;   /* struct leafrec per record */
    struct buf ptrs;   /* input pointers, then lengths, for b3_hash_each */
    struct buf hashes; /* the leaf hashes, in record order */
};

struct leafrec {
    uint64_t offset;
    size_t end; /* end of its input in leafwork.in */
};

struct ptree {
    char *dir;          /* NULL: memory only */
    plg_log_t *log;     /* the log it follows (its flusher syncs finished files) */
    bool log_writeback; /* the log's flusher starts the active file's writeback */
    struct mfile *files;
    size_t nfiles, cap;
    uint64_t size;
    uint8_t frontier[MK_MAX_PATH][HS]; /* frontier[l]: the complete level-l node awaiting a
                                          right sibling, valid when bit l of size is set */
    int error;
    size_t backlog;            /* bytes in the files' pend buffers */
    int write_error;           /* the last failed write's error, while backlog > 0 */
    struct buf out;            /* hashes to write to the last file, flushed per batch */
    struct buf scratch;        /* decompressed records */
    struct leafwork work;      /* leaves of the batch being added */
    const uint8_t *prep_batch; /* ptree_prepare's batch (NULL: none), its length, records */
    size_t prep_len, prep_count;
    struct buf nodes;  /* interior nodes completed by that batch, level by level */
    struct buf inputs; /* 65-byte node inputs hashed together */
    struct buf ptrs;   /* input pointers and lengths for b3_hash_each */
};

static uint64_t local_pos(const struct mfile *f, uint64_t i)
{
    return ptree_pos(i) - ptree_pos(f->base);
}

static void file_name(char *out, size_t cap, const char *dir, uint64_t base)
{
    snprintf(out, cap, "%s/%020" PRIu64 ".merkle", dir, base);
}

/* Bytes of f's records not written to its file yet are its pend tail. */
static uint64_t written_bytes(const struct mfile *f)
{
    return local_pos(f, f->end) * HS - f->pend.len;
}

/* `bytes` bytes of f's records from hash index `at`: from memory, from the file, and from the
 * records a failed write left pending. */
static int records_read(const struct mfile *f, uint64_t at, uint8_t *out, size_t bytes)
{
    uint64_t pos = at * HS;
    if (f->fd < 0) {
        if (pos + bytes > f->mem.len)
            return PLG_ECORRUPT;
        memcpy(out, f->mem.data + pos, bytes);
        return 0;
    }
    uint64_t written = written_bytes(f);
    size_t n = 0;
    if (pos < written) {
        n = written - pos < bytes ? (size_t)(written - pos) : bytes;
        ssize_t r = pread(f->fd, out, n, (off_t)(PTREE_HEADER + pos));
        if (r < 0)
            return -errno;
        if ((size_t)r != n)
            return PLG_ECORRUPT;
    }
    if (n < bytes) {
        uint64_t o = pos + n - written;
        if (o + (bytes - n) > f->pend.len)
            return PLG_ECORRUPT;
        memcpy(out + n, f->pend.data + o, bytes - n);
    }
    return 0;
}

/* The file holding the record of leaf i (i < t->size). */
static struct mfile *file_of(struct ptree *t, uint64_t i)
{
    size_t lo = 0, hi = t->nfiles;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (t->files[mid].end <= i)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < t->nfiles && t->files[lo].base <= i ? &t->files[lo] : NULL;
}

/* count consecutive leaves from `first` (within the tree) into out: one read per file, as no
 * stored node sits between leaves of a block below PTREE_LOW levels. */
static int read_leaves(struct ptree *t, uint64_t first, uint64_t count, uint8_t *out)
{
    while (count) {
        struct mfile *f = file_of(t, first);
        if (!f)
            return PLG_ECORRUPT;
        uint64_t n = f->end - first < count ? f->end - first : count;
        size_t bytes = (size_t)n * HS;
        int rc = records_read(f, local_pos(f, first), out, bytes);
        if (rc)
            return rc;
        out += bytes;
        first += n;
        count -= n;
    }
    return 0;
}

static int node_read(void *ctx, uint64_t start, unsigned level, uint8_t *out)
{
    struct ptree *t = ctx;
    if (level >= MK_MAX_PATH)
        return PLG_ERANGE;
    uint64_t last = start + ((uint64_t)1 << level) - 1;
    if ((start & (((uint64_t)1 << level) - 1)) || last >= t->size)
        return PLG_ERANGE;
    int slot = ptree_node_slot(level);
    if (slot < 0) {
        /* Not stored: hash it up from its leaves. */
        uint8_t h[(1u << (PTREE_LOW - 1)) * HS];
        size_t n = (size_t)1 << level;
        int rc = read_leaves(t, start, n, h);
        if (rc)
            return rc;
        for (; n > 1; n /= 2)
            for (size_t k = 0; k < n / 2; k++)
                mk_node_hash(&mk_blake3, h + 2 * k * HS, h + (2 * k + 1) * HS, h + k * HS);
        memcpy(out, h, HS);
        return 0;
    }
    struct mfile *f = file_of(t, last);
    if (!f)
        return PLG_ECORRUPT;
    return records_read(f, local_pos(f, last) + (uint64_t)slot, out, HS);
}

void ptree_source(struct ptree *t, struct mk_source *s)
{
    s->hash = &mk_blake3;
    s->node = node_read;
    s->ctx = t;
}

int ptree_root(struct ptree *t, uint64_t size, uint8_t out[32])
{
    if (size > t->size)
        return PLG_ERANGE;
    struct mk_source s;
    ptree_source(t, &s);
    return mk_root(&s, size, out);
}

int ptree_leaf(struct ptree *t, uint64_t index, uint8_t out[32])
{
    return node_read(t, index, 0, out);
}

uint64_t ptree_size(const struct ptree *t)
{
    return t->size;
}

int ptree_error(const struct ptree *t)
{
    return t->error;
}

/* ---- appending --------------------------------------------------------------------------------
 */

/* Writes len bytes of f's records at record byte pos; *done: how many were written. */
static int write_records(struct mfile *f, const uint8_t *p, size_t len, uint64_t pos, size_t *done)
{
    *done = 0;
    while (*done < len) {
        ssize_t n = pwrite(f->fd, p + *done, len - *done, (off_t)(PTREE_HEADER + pos + *done));
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return n < 0 ? -errno : -EIO;
        *done += (size_t)n;
    }
    return 0;
}

/* Writes the header of a file of first leaf base. */
static int write_header(int fd, uint64_t base)
{
    uint8_t hdr[PTREE_HEADER];
    memcpy(hdr, PTREE_MAGIC, 8);
    be64_put(hdr + 8, base);
    ssize_t n = pwrite(fd, hdr, sizeof hdr, 0);
    return n == (ssize_t)sizeof hdr ? 0 : n < 0 ? -errno : -EIO;
}

static bool file_pending(const struct mfile *f)
{
    return f->pend.len || f->header_pending;
}

/* A tree file write failed with err: one warning when the backlog starts. */
static void write_failed(struct ptree *t, int err)
{
    if (!t->backlog)
        PLG_WARN("merkle",
                 "msg=\"tree file write failed, records kept in memory until writes work\" "
                 "dir=%s error=\"%s\"",
                 t->dir, plg_strerror(err));
    t->write_error = err;
}

/* Keeps bytes a write could not take as f's pend tail (after any already pending). */
static int keep_pending(struct ptree *t, struct mfile *f, const uint8_t *p, size_t len, int err)
{
    write_failed(t, err);
    buf_put(&f->pend, p, len);
    if (f->pend.oom)
        return PLG_ENOMEM;
    t->backlog += len;
    return t->backlog > BACKLOG_MAX ? err : 0;
}

static int seal_sync(struct ptree *t, struct mfile *f);

/* Writes the pending records of every file, oldest first; stops at the first failure. */
static int retry_backlog(struct ptree *t)
{
    for (size_t i = 0; i < t->nfiles && t->backlog; i++) {
        struct mfile *f = &t->files[i];
        if (!file_pending(f))
            continue;
        int rc = f->header_pending ? write_header(f->fd, f->base) : 0;
        if (rc == 0 && f->header_pending) {
            f->header_pending = false;
            t->backlog -= PTREE_HEADER;
        }
        size_t done = 0;
        if (rc == 0)
            rc = write_records(f, f->pend.data, f->pend.len, written_bytes(f), &done);
        if (done) {
            memmove(f->pend.data, f->pend.data + done, f->pend.len - done);
            f->pend.len -= done;
            t->backlog -= done;
        }
        if (rc) {
            t->write_error = rc;
            return t->backlog > BACKLOG_MAX ? rc : 0;
        }
        buf_free(&f->pend);
        buf_init(&f->pend);
        if (f->sealed && !f->synced && (rc = seal_sync(t, f)))
            return rc;
    }
    if (!t->backlog)
        PLG_INFO("merkle", "msg=\"tree file writes work again\" dir=%s", t->dir);
    return 0;
}

static int flush_out(struct ptree *t)
{
    if (!t->out.len && !t->backlog)
        return 0;
    struct mfile *f = &t->files[t->nfiles - 1];
    int rc = 0;
    if (f->fd < 0) {
        buf_put(&f->mem, t->out.data, t->out.len);
        rc = f->mem.oom ? PLG_ENOMEM : 0;
    } else if (t->out.len && f->pend.len) {
        rc = keep_pending(t, f, t->out.data, t->out.len, t->write_error); /* stay in order */
    } else if (t->out.len) {
        uint64_t at = local_pos(f, f->end) * HS - t->out.len;
        size_t done;
        int wrc = write_records(f, t->out.data, t->out.len, at, &done);
        off_t now = (off_t)(PTREE_HEADER + at + done);
        if (wrc)
            rc = keep_pending(t, f, t->out.data + done, t->out.len - done, wrc);
        else if (!t->log_writeback && now - f->kicked >= KICK_BYTES) {
            /* Asynchronous: starts writeback of the range, does not wait for it. */
            (void)sync_file_range(f->fd, f->kicked, now - f->kicked, SYNC_FILE_RANGE_WRITE);
            f->kicked = now;
        }
    }
    buf_reset(&t->out);
    if (!rc && t->backlog)
        rc = retry_backlog(t);
    return rc;
}

/* Gives the log a duplicate of the active tree file's fd for its group commits' writeback. */
static void hand_writeback(struct ptree *t)
{
    if (!t->log || !t->nfiles || t->files[t->nfiles - 1].fd < 0)
        return;
    int fd = fcntl(t->files[t->nfiles - 1].fd, F_DUPFD_CLOEXEC, 0);
    t->log_writeback = fd >= 0 && plg_log_writeback_file(t->log, fd);
}

static int new_file(struct ptree *t, uint64_t base)
{
    if (t->nfiles && t->files[t->nfiles - 1].base == base && t->files[t->nfiles - 1].end == base)
        return 0; /* already the (empty) current file */
    if (t->nfiles == t->cap) {
        size_t cap = t->cap ? 2 * t->cap : 8;
        struct mfile *n = realloc(t->files, cap * sizeof *n);
        if (!n)
            return PLG_ENOMEM;
        t->files = n;
        t->cap = cap;
    }
    struct mfile *f = &t->files[t->nfiles];
    memset(f, 0, sizeof *f);
    f->base = f->end = base;
    f->fd = -1;
    buf_init(&f->mem);
    buf_init(&f->pend);
    if (t->dir) {
        char path[PATH_MAX];
        file_name(path, sizeof path, t->dir, base);
        int fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        if (fd < 0)
            return -errno;
        int rc = write_header(fd, base);
        if (rc) { /* a full disk: written with the records that wait (retry_backlog) */
            write_failed(t, rc);
            f->header_pending = true;
            t->backlog += PTREE_HEADER;
        }
        f->fd = fd;
    }
    t->nfiles++;
    hand_writeback(t);
    return 0;
}

/* Rebuilds frontier[] from stored nodes (after open or truncation). */
static int load_frontier(struct ptree *t)
{
    uint64_t start = 0;
    for (int l = 63; l >= 0; l--) {
        if (!(t->size >> l & 1))
            continue;
        int rc = node_read(t, start, (unsigned)l, t->frontier[l]);
        if (rc)
            return rc;
        start += (uint64_t)1 << l;
    }
    return 0;
}

static void leafwork_init(struct leafwork *w)
{
    buf_init(&w->in);
    buf_init(&w->recs);
    buf_init(&w->ptrs);
    buf_init(&w->hashes);
}

static void leafwork_free(struct leafwork *w)
{
    buf_free(&w->in);
    buf_free(&w->recs);
    buf_free(&w->ptrs);
    buf_free(&w->hashes);
}

/* Leaf input of one parsed record, appended to in. */
static int record_input(struct buf *in, const struct batch_record *r)
{
    struct mk_header hdrs[16], *hv = hdrs;
    if (r->header_count > 16) {
        hv = malloc((size_t)r->header_count * sizeof *hv);
        if (!hv)
            return PLG_ENOMEM;
    }
    struct rd hr;
    struct batch_header_kv kv;
    rd_init(&hr, r->headers, r->headers_len);
    int32_t k = 0;
    while (k < r->header_count && batch_header_next(&hr, &kv) == 1)
        hv[k++] = (struct mk_header){kv.key, kv.key_len, kv.value, kv.value_len};
    struct mk_record mr = {.offset = (uint64_t)r->offset,
                           .timestamp = r->timestamp,
                           .key = r->key,
                           .key_len = r->key_len,
                           .value = r->value,
                           .value_len = r->value_len,
                           .headers = hv,
                           .header_count = (uint32_t)k};
    int rc = k == r->header_count ? mk_leaf_input(in, &mr) : PLG_ECORRUPT;
    if (hv != hdrs)
        free(hv);
    return rc;
}

/*
 * Encodes the leaf input of every record of one batch into w->in (w->recs: their offsets and
 * input ends; *count records), checking the records as it goes (the checks of
 * batch_validate_deep after the header: decompression, every record's framing). With relative,
 * offsets are the records' offset deltas (patched by hash_leaves once the base is known).
 */
static int encode_leaves(const uint8_t *p, size_t len, struct buf *scratch, struct leafwork *w,
                         bool relative, size_t *count)
{
    *count = 0;
    buf_reset(&w->in);
    buf_reset(&w->recs);
    struct batch b;
    int rc = batch_parse(p, len, &b);
    if (rc)
        return rc;
    const uint8_t *recs;
    size_t recs_len;
    rc = batch_records(&b, scratch, BATCH_MAX_RECORDS_BYTES, &recs, &recs_len);
    if (rc)
        return rc;
    struct batch_iter it;
    struct batch_record r;
    size_t n = 0;
    batch_iter_init(&it, &b, recs, recs_len);
    while ((rc = batch_iter_next(&it, &r)) == 1) {
        if (relative)
            r.offset = r.offset_delta;
        if ((rc = record_input(&w->in, &r)))
            return rc;
        struct leafrec *lr = (struct leafrec *)(void *)buf_extend(&w->recs, sizeof *lr);
        if (!lr)
            return PLG_ENOMEM;
        *lr = (struct leafrec){(uint64_t)r.offset, w->in.len};
        n++;
    }
    *count = n;
    return rc;
}

/* Hashes the n encoded leaf inputs of w into w->hashes, all together (SIMD lanes = records). */
static int hash_leaves(struct leafwork *w, size_t n)
{
    buf_reset(&w->ptrs);
    buf_reset(&w->hashes);
    if (!n)
        return 0;
    const uint8_t **ptrs =
        (const uint8_t **)(void *)buf_extend(&w->ptrs, n * (sizeof(uint8_t *) + sizeof(size_t)));
    uint8_t *outs = buf_extend(&w->hashes, n * HS);
    if (!ptrs || !outs)
        return PLG_ENOMEM;
    size_t *lens = (size_t *)(void *)(ptrs + n);
    const struct leafrec *lr = (const struct leafrec *)(void *)w->recs.data;
    for (size_t i = 0; i < n; i++) {
        size_t s = i ? lr[i - 1].end : 0;
        ptrs[i] = w->in.data + s;
        lens[i] = lr[i].end - s;
    }
    b3_hash_each(ptrs, lens, n, outs);
    return 0;
}

/* Leaf hashes of every record of one batch into w->hashes (w->recs: their offsets). */
static int batch_leaves(const uint8_t *p, size_t len, struct buf *scratch, struct leafwork *w,
                        size_t *count)
{
    int rc = encode_leaves(p, len, scratch, w, false, count);
    if (!rc)
        rc = hash_leaves(w, *count);
    if (rc)
        *count = 0;
    return rc;
}

int ptree_batch_leaves(const uint8_t *p, size_t len, struct buf *scratch,
                       int (*fn)(void *ctx, uint64_t offset, const uint8_t leaf[32]), void *ctx)
{
    struct leafwork w;
    leafwork_init(&w);
    size_t n;
    int rc = batch_leaves(p, len, scratch, &w, &n);
    const struct leafrec *lr = (const struct leafrec *)(void *)w.recs.data;
    for (size_t i = 0; i < n && !rc; i++)
        rc = fn(ctx, lr[i].offset, w.hashes.data + i * HS);
    leafwork_free(&w);
    return rc;
}

/* Level l of the nodes a batch completes: nodes jlo..jhi-1, level 0 (the leaves) outside
 * t->nodes, the others at hash index `at` of t->nodes (an index: t->nodes moves as it grows). */
struct level {
    uint64_t jlo, jhi;
    size_t at;
};

static const uint8_t *level_node(const struct ptree *t, const uint8_t *leaves,
                                 const struct level *lv, unsigned l, uint64_t j)
{
    return l == 0 ? leaves + (j - lv[0].jlo) * HS : t->nodes.data + (lv[l].at + j - lv[l].jlo) * HS;
}

/*
 * Appends n leaves (offsets t->size ...). The interior nodes they complete are computed level
 * by level, each level's nodes hashed together (SIMD lanes = nodes); then every leaf's record
 * (leaf hash, then the nodes it completes) is written in file order and the frontier moves on.
 */
static int append_leaves(struct ptree *t, const uint8_t *leaves, size_t n)
{
    if (!n)
        return 0;
    if (!t->nfiles) {
        int rc = new_file(t, t->size);
        if (rc)
            return rc;
    }
    uint64_t S = t->size, E = S + n;
    struct level lv[MK_MAX_PATH];
    lv[0] = (struct level){S, E, 0};
    buf_reset(&t->nodes);
    unsigned levels = 1;
    for (unsigned l = 1; l < MK_MAX_PATH; l++) {
        /* Nodes of level l whose last leaf is in [S, E). */
        uint64_t lo = ((S + 1) + ((uint64_t)1 << l) - 1) >> l, hi = E >> l;
        if (lo == 0)
            lo = 1;
        if (hi < lo)
            break;
        lv[l] = (struct level){lo - 1, hi, t->nodes.len / HS};
        size_t cnt = (size_t)(hi - (lo - 1));
        buf_reset(&t->inputs);
        buf_reset(&t->ptrs);
        uint8_t *in = buf_extend(&t->inputs, cnt * 65);
        const uint8_t **pp = (const uint8_t **)(void *)buf_extend(
            &t->ptrs, cnt * (sizeof(uint8_t *) + sizeof(size_t)));
        if (!in || !pp)
            return PLG_ENOMEM;
        size_t *lens = (size_t *)(void *)(pp + cnt);
        for (size_t k = 0; k < cnt; k++) {
            uint64_t j = lv[l].jlo + k, left = 2 * j, right = 2 * j + 1;
            const uint8_t *lh =
                left >= lv[l - 1].jlo ? level_node(t, leaves, lv, l - 1, left) : t->frontier[l - 1];
            in[65 * k] = 0x01;
            memcpy(in + 65 * k + 1, lh, HS);
            memcpy(in + 65 * k + 33, level_node(t, leaves, lv, l - 1, right), HS);
            pp[k] = in + 65 * k;
            lens[k] = 65;
        }
        uint8_t *dst = buf_extend(&t->nodes, cnt * HS);
        if (!dst)
            return PLG_ENOMEM;
        b3_hash_each(pp, lens, cnt, dst);
        levels = l + 1;
    }
    /* Records in file order. */
    uint8_t *d = buf_extend(&t->out, (size_t)(ptree_pos(E) - ptree_pos(S)) * HS);
    if (!d)
        return PLG_ENOMEM;
    for (uint64_t i = S; i < E; i++) {
        memcpy(d, leaves + (i - S) * HS, HS);
        d += HS;
        /* The stored nodes leaf i completes: level l when 2^l divides i + 1. */
        for (unsigned l = PTREE_LOW; l < 64 && ((i + 1) & (((uint64_t)1 << l) - 1)) == 0; l++) {
            memcpy(d, level_node(t, leaves, lv, l, ((i + 1) >> l) - 1), HS);
            d += HS;
        }
    }
    for (unsigned l = 0; l < levels; l++) {
        if (!(E >> l & 1))
            continue;
        uint64_t j = (E >> l) - 1;
        if (j >= lv[l].jlo && j < lv[l].jhi)
            memcpy(t->frontier[l], level_node(t, leaves, lv, l, j), HS);
    }
    t->size = E;
    t->files[t->nfiles - 1].end = E;
    return 0;
}

/* Appends the n leaves of t->work (offsets in its recs) and writes them out. */
static int add_leaves(struct ptree *t, size_t n)
{
    int rc = 0;
    if (n) {
        /* A replayed batch may start before the tree's end; after that, leaf index must equal
         * offset (a gap is an error). Offsets in a batch strictly increase. */
        const struct leafrec *lr = (const struct leafrec *)(void *)t->work.recs.data;
        size_t skip = 0;
        while (skip < n && lr[skip].offset < t->size)
            skip++;
        if (skip < n &&
            (lr[skip].offset != t->size || lr[n - 1].offset - lr[skip].offset != n - 1 - skip))
            rc = PLG_ERANGE;
        else
            rc = append_leaves(t, t->work.hashes.data + skip * HS, n - skip);
    }
    int frc = flush_out(t);
    return rc ? rc : frc;
}

static int add_batch(struct ptree *t, const uint8_t *batch, size_t len)
{
    size_t n;
    int rc = batch_leaves(batch, len, &t->scratch, &t->work, &n);
    return rc ? rc : add_leaves(t, n);
}

int ptree_prepare(struct ptree *t, const uint8_t *batch, size_t len)
{
    t->prep_batch = NULL;
    size_t n;
    int rc = encode_leaves(batch, len, &t->scratch, &t->work, true, &n);
    if (rc)
        return rc;
    t->prep_batch = batch;
    t->prep_len = len;
    t->prep_count = n;
    return 0;
}

/* Work areas above this are freed after use: one huge batch must not pin its size. */
#define KEEP_BYTES (8u << 20)

static void trim(struct buf *b)
{
    if (b->cap > KEEP_BYTES) {
        buf_free(b);
        buf_init(b);
    }
}

void ptree_prepare_clear(struct ptree *t)
{
    t->prep_batch = NULL;
    trim(&t->scratch);
    trim(&t->work.in);
    trim(&t->work.recs);
    trim(&t->work.ptrs);
    trim(&t->work.hashes);
    trim(&t->nodes);
    trim(&t->inputs);
}

/* The prepared leaf inputs of the batch now stored: absolute offsets from its base, and the
 * append time when the log stamped one. */
static int finish_prepared(struct ptree *t, const uint8_t *batch, size_t len)
{
    struct batch b;
    int rc = batch_parse(batch, len, &b);
    if (rc)
        return rc;
    bool lat = batch_is_log_append_time(&b);
    struct leafrec *lr = (struct leafrec *)(void *)t->work.recs.data;
    for (size_t i = 0; i < t->prep_count; i++) {
        uint8_t *in = t->work.in.data + (i ? lr[i - 1].end : 0);
        lr[i].offset += (uint64_t)b.base_offset;
        be64_put(in + 1, lr[i].offset);
        if (lat)
            be64_put(in + 9, (uint64_t)b.max_timestamp);
    }
    return hash_leaves(&t->work, t->prep_count);
}

void ptree_on_append(void *ctx, int64_t base_offset, const uint8_t *batch, size_t len)
{
    struct ptree *t = ctx;
    (void)base_offset;
    bool prepared = t->prep_batch == batch && t->prep_len == len;
    t->prep_batch = NULL;
    if (t->error)
        return;
    int rc;
    if (prepared) {
        rc = finish_prepared(t, batch, len);
        if (!rc)
            rc = add_leaves(t, t->prep_count);
    } else {
        rc = add_batch(t, batch, len);
    }
    if (rc)
        t->error = rc;
    if (!prepared)
        ptree_prepare_clear(t);
}

/* ---- truncation, sealing ------------------------------------------------------------------- */

static void drop_file(struct ptree *t, struct mfile *f)
{
    t->backlog -= f->pend.len + (f->header_pending ? PTREE_HEADER : 0);
    buf_free(&f->pend);
    if (f->fd >= 0) {
        close(f->fd);
        char path[PATH_MAX];
        file_name(path, sizeof path, t->dir, f->base);
        unlink(path);
    }
    buf_free(&f->mem);
}

/* Cuts the tree back to `size` leaves (files of later leaves removed). */
static int truncate_to(struct ptree *t, uint64_t size)
{
    if (size >= t->size)
        return 0;
    while (t->nfiles && t->files[t->nfiles - 1].base > size) {
        drop_file(t, &t->files[t->nfiles - 1]);
        t->nfiles--;
    }
    if (t->nfiles) {
        struct mfile *f = &t->files[t->nfiles - 1];
        uint64_t keep = local_pos(f, size) * HS, written = written_bytes(f);
        f->end = size;
        if (f->fd >= 0 && keep < written) {
            t->backlog -= f->pend.len;
            f->pend.len = 0;
            if (ftruncate(f->fd, (off_t)(PTREE_HEADER + keep)) != 0)
                return -errno;
        } else if (f->fd >= 0) {
            t->backlog -= f->pend.len - (size_t)(keep - written); /* cut in the pending tail */
            f->pend.len = (size_t)(keep - written);
        } else {
            f->mem.len = (size_t)keep;
        }
        f->sealed = f->synced = false;
    }
    t->size = size;
    return load_frontier(t);
}

/* A sealed file, complete on disk, is made durable once: off this thread, by the log's flusher
 * with its next group commit (a duplicate of its fd), or here without a log. */
static int seal_sync(struct ptree *t, struct mfile *f)
{
    int fd = t->log ? fcntl(f->fd, F_DUPFD_CLOEXEC, 0) : -1;
    int src = fd >= 0 ? plg_log_sync_file(t->log, fd) : fdatasync(f->fd) ? -errno : 1;
    f->synced = src == 1;
    return src < 0 ? src : 0;
}

void ptree_on_segment_event(void *ctx, enum plg_segment_event kind, int64_t segment_base,
                            int64_t arg)
{
    struct ptree *t = ctx;
    if (t->error)
        return;
    int rc = 0;
    switch (kind) {
    case PLG_SEG_CREATED:
        if ((uint64_t)segment_base == t->size)
            rc = new_file(t, (uint64_t)segment_base);
        break;
    case PLG_SEG_SEALED:
        /* Make the finished file durable once (the active one is re-derived on open), off this
         * thread: the log's flusher syncs a duplicate of its fd with its next group commit. */
        for (size_t i = 0; i < t->nfiles; i++) {
            struct mfile *f = &t->files[i];
            if (f->base != (uint64_t)segment_base || f->fd < 0 || f->sealed)
                continue;
            f->sealed = true;
            if (!file_pending(f)) /* else once it is written whole (retry_backlog) */
                rc = seal_sync(t, f);
        }
        break;
    case PLG_SEG_TRUNCATED:
        rc = truncate_to(t, (uint64_t)arg);
        break;
    case PLG_SEG_DELETED:   /* history stays provable: keep the tree files */
    case PLG_SEG_COMPACTED: /* offsets and leaves are kept by compaction */
    default:
        break;
    }
    if (rc)
        t->error = rc;
}

void ptree_hooks(struct ptree *t, struct plg_log_hooks *hooks)
{
    hooks->ctx = t;
    hooks->on_append = ptree_on_append;
    hooks->on_segment_event = ptree_on_segment_event;
}

int ptree_sync(struct ptree *t)
{
    for (size_t i = 0; i < t->nfiles; i++) {
        struct mfile *f = &t->files[i];
        if (f->fd < 0 || f->synced)
            continue;
        if (fdatasync(f->fd) != 0)
            return -errno;
        f->synced = f->sealed && !file_pending(f);
    }
    return 0;
}

#define CLEAN_MARKER "merkle.clean"

static int sync_dir(const char *dir)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    int rc = fsync(fd) != 0 ? -errno : 0;
    close(fd);
    return rc;
}

int ptree_mark_clean(struct ptree *t, uint64_t log_end)
{
    if (!t->dir)
        return 0;
    if (t->error)
        return t->error;
    int rc = flush_out(t);
    if (rc)
        return rc;
    if (t->backlog)
        return t->write_error; /* not all on disk: the next open re-derives the tree */
    if (t->size != log_end)
        return PLG_ESTATE;
    if ((rc = ptree_sync(t)))
        return rc;
    char path[PATH_MAX], text[32];
    snprintf(path, sizeof path, "%s/" CLEAN_MARKER, t->dir);
    int len = snprintf(text, sizeof text, "%" PRIu64 "\n", t->size);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        return -errno;
    if (write(fd, text, (size_t)len) != len || fdatasync(fd) != 0)
        rc = errno ? -errno : -EIO;
    close(fd);
    return rc ? rc : sync_dir(t->dir);
}

/* Reads and removes the clean-shutdown marker; true with *size when one was present and valid. */
static bool take_clean_marker(const char *dir, uint64_t *size)
{
    char path[PATH_MAX], text[32] = {0};
    snprintf(path, sizeof path, "%s/" CLEAN_MARKER, dir);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return false;
    ssize_t n = read(fd, text, sizeof text - 1);
    close(fd);
    /* Removed durably before anything is appended: a later crash must not find it. */
    if (unlink(path) != 0 || sync_dir(dir) != 0)
        return false;
    char *end;
    errno = 0;
    unsigned long long v = strtoull(text, &end, 10);
    if (n <= 0 || errno || end == text || *end != '\n')
        return false;
    *size = v;
    return true;
}

/* ---- open / recovery ------------------------------------------------------------------------- */

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* Leaves whose records fit entirely in `hashes` hashes of a file starting at base. */
static uint64_t leaves_in(uint64_t base, uint64_t hashes)
{
    uint64_t lo = 0, hi = hashes;
    while (lo < hi) {
        uint64_t mid = lo + (hi - lo + 1) / 2;
        if (ptree_pos(base + mid) - ptree_pos(base) <= hashes)
            lo = mid;
        else
            hi = mid - 1;
    }
    return lo;
}

/* Loads the chain of .merkle files in dir; stops at the first break (later files removed). */
static int load_files(struct ptree *t, struct ptree_recovery *rec)
{
    DIR *d = opendir(t->dir);
    if (!d)
        return -errno;
    uint64_t *bases = NULL;
    size_t n = 0, cap = 0;
    struct dirent *de;
    while ((de = readdir(d))) {
        size_t len = strlen(de->d_name);
        if (len != 27 || strcmp(de->d_name + 20, ".merkle"))
            continue;
        char *end;
        errno = 0;
        unsigned long long b = strtoull(de->d_name, &end, 10);
        if (errno || end != de->d_name + 20)
            continue;
        if (n == cap) {
            cap = cap ? 2 * cap : 16;
            uint64_t *nb = realloc(bases, cap * sizeof *nb);
            if (!nb) {
                free(bases);
                closedir(d);
                return PLG_ENOMEM;
            }
            bases = nb;
        }
        bases[n++] = b;
    }
    closedir(d);
    if (n)
        qsort(bases, n, sizeof *bases, cmp_u64);
    int rc = 0;
    bool broken = false;
    for (size_t i = 0; i < n; i++) {
        char path[PATH_MAX];
        file_name(path, sizeof path, t->dir, bases[i]);
        if (broken || bases[i] != t->size) {
            /* Not chained to the tree so far: unusable, the log will rebuild it. */
            broken = true;
            unlink(path);
            continue;
        }
        int fd = open(path, O_RDWR | O_CLOEXEC);
        if (fd < 0) {
            rc = -errno;
            break;
        }
        struct stat st;
        uint8_t hdr[PTREE_HEADER];
        if (fstat(fd, &st) != 0 || st.st_size < PTREE_HEADER ||
            pread(fd, hdr, sizeof hdr, 0) != (ssize_t)sizeof hdr || memcmp(hdr, PTREE_MAGIC, 8) ||
            be64_get(hdr + 8) != bases[i]) {
            close(fd);
            broken = true;
            unlink(path);
            continue;
        }
        uint64_t hashes = ((uint64_t)st.st_size - PTREE_HEADER) / HS;
        uint64_t leaves = leaves_in(bases[i], hashes);
        uint64_t keep = ptree_pos(bases[i] + leaves) - ptree_pos(bases[i]);
        if (keep != hashes || (uint64_t)st.st_size != PTREE_HEADER + hashes * HS) {
            if (ftruncate(fd, (off_t)(PTREE_HEADER + keep * HS)) != 0) {
                rc = -errno;
                close(fd);
                break;
            }
        }
        if (t->nfiles == t->cap) {
            size_t c = t->cap ? 2 * t->cap : 8;
            struct mfile *nf = realloc(t->files, c * sizeof *nf);
            if (!nf) {
                close(fd);
                rc = PLG_ENOMEM;
                break;
            }
            t->files = nf;
            t->cap = c;
        }
        struct mfile *f = &t->files[t->nfiles++];
        memset(f, 0, sizeof *f);
        f->base = bases[i];
        f->end = bases[i] + leaves;
        f->fd = fd;
        f->sealed = true;
        buf_init(&f->mem);
        buf_init(&f->pend);
        t->size = f->end;
    }
    free(bases);
    if (rec)
        rec->loaded = t->size;
    return rc;
}

/* Re-derives leaves [from, log end) from the log (the tree is first cut back to `from`). */
static int catch_up(struct ptree *t, plg_log_t *log, uint64_t from, struct ptree_recovery *rec)
{
    uint64_t end = (uint64_t)plg_log_end_offset(log);
    uint64_t before = t->size;
    int rc = truncate_to(t, from < end ? from : end);
    if (rc)
        return rc;
    if (t->size < (uint64_t)plg_log_start_offset(log))
        return PLG_ESTATE; /* the records of the missing leaves are gone */
    uint64_t start = t->size;
    int64_t next = (int64_t)t->size;
    while (!rc && (uint64_t)next < end) {
        uint8_t *data = NULL;
        size_t len = 0, off = 0;
        int64_t after = next;
        rc = plg_log_read_copy(log, next, 1 << 20, &data, &len, &after);
        if (!rc && !len)
            rc = PLG_ECORRUPT; /* the log claims records it cannot return */
        while (!rc && off < len) {
            size_t sz;
            rc = batch_frame_size(data + off, len - off, &sz);
            if (!rc && sz > len - off)
                rc = PLG_ETRUNC;
            if (!rc)
                rc = add_batch(t, data + off, sz);
            off += sz;
        }
        free(data);
        if (!rc && after <= next)
            rc = PLG_ECORRUPT;
        next = after;
    }
    if (rec) {
        rec->rebuilt_from = start < end ? start : UINT64_MAX;
        rec->rebuilt = t->size - start;
        rec->dropped = before > start ? before - start : 0;
    }
    if (!rc && t->size != end)
        rc = PLG_ECORRUPT;
    return rc;
}

int ptree_open(const char *dir, plg_log_t *log, struct ptree **out, struct ptree_recovery *rec)
{
    struct ptree *t = calloc(1, sizeof *t);
    if (!t)
        return PLG_ENOMEM;
    buf_init(&t->out);
    buf_init(&t->scratch);
    leafwork_init(&t->work);
    buf_init(&t->nodes);
    buf_init(&t->inputs);
    buf_init(&t->ptrs);
    if (rec)
        *rec = (struct ptree_recovery){0, UINT64_MAX, 0, 0};
    int rc = 0;
    bool clean = false;
    uint64_t clean_size = 0;
    if (dir) {
        t->dir = strdup(dir);
        if (!t->dir)
            rc = PLG_ENOMEM;
        if (!rc) {
            clean = take_clean_marker(t->dir, &clean_size);
            rc = load_files(t, rec);
        }
    }
    if (!rc)
        rc = load_frontier(t);
    /* The newest file was written without fsync: re-derive it from the log, unless the last
     * shutdown was clean and the files hold exactly the leaves the log holds. */
    uint64_t from = t->nfiles ? t->files[t->nfiles - 1].base : 0;
    if (clean && clean_size == t->size && t->size == (uint64_t)plg_log_end_offset(log))
        from = t->size;
    if (!rc)
        rc = catch_up(t, log, from, rec);
    /* The newest file takes the next appends (load_files marked every file sealed): its seal
     * event must fdatasync it, or a crash after that seal loses hashes recovery no longer
     * re-derives. */
    if (!rc && t->nfiles)
        t->files[t->nfiles - 1].sealed = false;
    /* A clean shutdown synced every file (ptree_mark_clean): the finished ones need no sync
     * at the next one. */
    for (size_t i = 0; !rc && i < t->nfiles; i++)
        t->files[i].synced = clean && t->files[i].sealed;
    t->log = log;
    if (rc) {
        ptree_close(t);
        return rc;
    }
    hand_writeback(t);
    *out = t;
    return 0;
}

void ptree_close(struct ptree *t)
{
    if (!t)
        return;
    for (size_t i = 0; i < t->nfiles; i++) {
        if (t->files[i].fd >= 0)
            close(t->files[i].fd);
        buf_free(&t->files[i].mem);
        buf_free(&t->files[i].pend);
    }
    free(t->files);
    free(t->dir);
    buf_free(&t->out);
    buf_free(&t->scratch);
    leafwork_free(&t->work);
    buf_free(&t->nodes);
    buf_free(&t->inputs);
    buf_free(&t->ptrs);
    free(t);
}
