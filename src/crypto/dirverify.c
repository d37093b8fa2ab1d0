/* dirverify.c — see dirverify.h. Problems are collected as (offset, text); the lowest offset
 * wins, so the report names the first bad offset whatever order the checks ran in. */
#include "crypto/dirverify.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/buf.h"
#include "base/bytes.h"
#include "crypto/merkle.h"
#include "crypto/ptree.h"
#include "pyralog/pyralog.h"
#include "storage/batch.h"
#include "storage/store.h"

#define HS 32

struct tfile {
    uint64_t base, end;
    uint8_t *h; /* hashes, no header */
    size_t nh;
};

struct dv {
    const char *dir;
    struct dv_result *r;
    bool found;
    struct tfile *tf;
    size_t ntf;
    uint64_t tree_size;
    struct buf scratch;
    /* current segment's batches, for index checks */
    int64_t *bpos, *bbase, *bmaxts;
    size_t nb, capb;
};

static void problem(struct dv *v, int64_t offset, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void problem(struct dv *v, int64_t offset, const char *fmt, ...)
{
    /* Keep the lowest offset; a problem without an offset only when there is no other. */
    if (v->found && (offset < 0 || (v->r->bad_offset >= 0 && v->r->bad_offset <= offset)))
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(v->r->what, sizeof v->r->what, fmt, ap);
    va_end(ap);
    v->r->bad_offset = offset;
    v->found = true;
}

static int read_file(const char *path, uint8_t **out, size_t *len)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    struct stat st;
    if (fstat(fd, &st) != 0) {
        int e = -errno;
        close(fd);
        return e;
    }
    uint8_t *p = malloc((size_t)st.st_size + 1);
    if (!p) {
        close(fd);
        return PLG_ENOMEM;
    }
    int rc = store_pread_all(fd, p, (size_t)st.st_size, 0);
    close(fd);
    if (rc) {
        free(p);
        return rc;
    }
    *out = p;
    *len = (size_t)st.st_size;
    return 0;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* Bases of the files "<20 digits><ext>" in dir, sorted. */
static int list_bases(const char *dir, const char *ext, uint64_t **out, size_t *n)
{
    DIR *d = opendir(dir);
    if (!d)
        return -errno;
    size_t cap = 0, el = strlen(ext);
    *out = NULL;
    *n = 0;
    struct dirent *de;
    int rc = 0;
    while ((de = readdir(d))) {
        size_t len = strlen(de->d_name);
        if (len != 20 + el || strcmp(de->d_name + 20, ext))
            continue;
        bool digits = true;
        for (int i = 0; i < 20; i++)
            digits = digits && de->d_name[i] >= '0' && de->d_name[i] <= '9';
        if (!digits)
            continue;
        if (*n == cap) {
            cap = cap ? 2 * cap : 16;
            uint64_t *nb = realloc(*out, cap * sizeof *nb);
            if (!nb) {
                rc = PLG_ENOMEM;
                break;
            }
            *out = nb;
        }
        (*out)[(*n)++] = strtoull(de->d_name, NULL, 10);
    }
    closedir(d);
    if (*n)
        qsort(*out, *n, sizeof **out, cmp_u64);
    return rc;
}

/* ---- the tree ---------------------------------------------------------------------------------
 */

/* The stored hash of node (leaf's record, level), or NULL when not stored (or missing). */
static const uint8_t *tree_hash(struct dv *v, uint64_t leaf, unsigned level)
{
    int slot = ptree_node_slot(level);
    if (slot < 0)
        return NULL;
    for (size_t i = 0; i < v->ntf; i++) {
        struct tfile *f = &v->tf[i];
        if (leaf >= f->base && leaf < f->end) {
            uint64_t at = ptree_pos(leaf) - ptree_pos(f->base) + (uint64_t)slot;
            return at < f->nh ? f->h + at * HS : NULL;
        }
    }
    return NULL;
}

/* The node of 2^level leaves from start: stored, or hashed up from stored leaves. */
static bool tree_node(struct dv *v, uint64_t start, unsigned level, uint8_t out[HS])
{
    const uint8_t *h = tree_hash(v, start + ((uint64_t)1 << level) - 1, level);
    if (h) {
        memcpy(out, h, HS);
        return true;
    }
    if (level == 0 || ptree_node_slot(level) >= 0)
        return false;
    uint8_t l[HS], r[HS];
    if (!tree_node(v, start, level - 1, l) ||
        !tree_node(v, start + ((uint64_t)1 << (level - 1)), level - 1, r))
        return false;
    mk_node_hash(&mk_blake3, l, r, out);
    return true;
}

static int load_tree(struct dv *v)
{
    uint64_t *bases;
    size_t n;
    int rc = list_bases(v->dir, ".merkle", &bases, &n);
    if (rc)
        return rc;
    v->tf = calloc(n ? n : 1, sizeof *v->tf);
    if (!v->tf) {
        free(bases);
        return PLG_ENOMEM;
    }
    uint64_t size = 0;
    for (size_t i = 0; i < n; i++) {
        char path[PATH_MAX];
        snprintf(path, sizeof path, "%s/%020" PRIu64 ".merkle", v->dir, bases[i]);
        uint8_t *p;
        size_t len;
        rc = read_file(path, &p, &len);
        if (rc)
            break;
        if (bases[i] != size) {
            problem(v, (int64_t)size,
                    "tree file %020" PRIu64 ".merkle does not continue the tree "
                    "(expected one starting at leaf %" PRIu64 ")",
                    bases[i], size);
            free(p);
            break;
        }
        if (len < PTREE_HEADER || memcmp(p, PTREE_MAGIC, 8) || be64_get(p + 8) != bases[i]) {
            problem(v, (int64_t)size, "tree file %020" PRIu64 ".merkle has a bad header", bases[i]);
            free(p);
            break;
        }
        size_t nh = (len - PTREE_HEADER) / HS;
        uint64_t leaves = 0;
        while (ptree_pos(bases[i] + leaves + 1) - ptree_pos(bases[i]) <= nh)
            leaves++;
        struct tfile *f = &v->tf[v->ntf++];
        f->base = bases[i];
        f->end = bases[i] + leaves;
        f->h = malloc(nh * HS + 1);
        if (!f->h) {
            free(p);
            rc = PLG_ENOMEM;
            break;
        }
        memcpy(f->h, p + PTREE_HEADER, nh * HS);
        f->nh = nh;
        free(p);
        size = f->end;
        if ((len - PTREE_HEADER) % HS || ptree_pos(f->end) - ptree_pos(f->base) != nh) {
            problem(v, (int64_t)f->end,
                    "tree file %020" PRIu64 ".merkle is truncated or torn after leaf %" PRIu64,
                    bases[i], f->end);
            break;
        }
    }
    free(bases);
    v->tree_size = size;
    v->r->tree_size = size;
    v->r->has_tree = v->ntf > 0;
    if (rc)
        return rc;
    /* Every stored interior node must be the hash of its two children (stored, or hashed up
     * from stored leaves). */
    for (size_t i = 0; i < v->ntf; i++) {
        struct tfile *f = &v->tf[i];
        for (uint64_t leaf = f->base; leaf < f->end; leaf++) {
            for (unsigned l = PTREE_LOW; l < 64 && ((leaf + 1) & (((uint64_t)1 << l) - 1)) == 0;
                 l++) {
                uint64_t span = (uint64_t)1 << l, start = leaf + 1 - span;
                uint8_t left[HS], right[HS], want[HS];
                if (!tree_node(v, start, l - 1, left) ||
                    !tree_node(v, start + span / 2, l - 1, right)) {
                    problem(v, (int64_t)start,
                            "tree node for leaves %" PRIu64 "..%" PRIu64 " is missing", start,
                            leaf);
                    break;
                }
                mk_node_hash(&mk_blake3, left, right, want);
                if (memcmp(want, tree_hash(v, leaf, l), HS)) {
                    problem(v, (int64_t)start,
                            "stored tree node for leaves %" PRIu64 "..%" PRIu64
                            " is not the hash of its children",
                            start, leaf);
                    break;
                }
            }
        }
    }
    return 0;
}

/* ---- the log ----------------------------------------------------------------------------------
 */

struct leafcheck {
    struct dv *v;
    bool require_tree;
    int64_t first_bad;
};

static int check_leaf(void *ctx, uint64_t offset, const uint8_t leaf[32])
{
    struct leafcheck *c = ctx;
    c->v->r->records++;
    if (offset >= c->v->tree_size) {
        if (c->require_tree && c->first_bad < 0) {
            problem(c->v, (int64_t)offset,
                    "the Merkle tree has no leaf for this record (tree size %" PRIu64 ")",
                    c->v->tree_size);
            c->first_bad = (int64_t)offset;
        }
        return 0;
    }
    const uint8_t *stored = tree_hash(c->v, offset, 0);
    if (!stored || memcmp(stored, leaf, HS)) {
        if (c->first_bad < 0)
            c->first_bad = (int64_t)offset;
    }
    return 0;
}

static int add_batch_pos(struct dv *v, int64_t pos, int64_t base, int64_t maxts)
{
    if (v->nb == v->capb) {
        size_t cap = v->capb ? 2 * v->capb : 256;
        int64_t *a = realloc(v->bpos, cap * sizeof *a);
        if (a)
            v->bpos = a;
        int64_t *b = a ? realloc(v->bbase, cap * sizeof *b) : NULL;
        if (b)
            v->bbase = b;
        int64_t *c = b ? realloc(v->bmaxts, cap * sizeof *c) : NULL;
        if (!c)
            return PLG_ENOMEM;
        v->bmaxts = c;
        v->capb = cap;
    }
    v->bpos[v->nb] = pos;
    v->bbase[v->nb] = base;
    v->bmaxts[v->nb] = maxts;
    v->nb++;
    return 0;
}

/* Index of the batch starting at position pos (or with base offset `base` when by_base). */
static ssize_t find_batch(const struct dv *v, int64_t key, bool by_base)
{
    size_t lo = 0, hi = v->nb;
    const int64_t *a = by_base ? v->bbase : v->bpos;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (a[mid] < key)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < v->nb && a[lo] == key ? (ssize_t)lo : -1;
}

static void check_indexes(struct dv *v, uint64_t base, bool last)
{
    char path[PATH_MAX];
    uint8_t *p;
    size_t len;
    snprintf(path, sizeof path, "%s/%020" PRIu64 ".index", v->dir, base);
    if (read_file(path, &p, &len) == 0) {
        if (len % 8)
            problem(v, (int64_t)base, "offset index %020" PRIu64 ".index has a partial entry",
                    base);
        int64_t prev_rel = -1, prev_pos = -1;
        for (size_t k = 0; k + 8 <= len; k += 8) {
            uint32_t rel = be32_get(p + k), pos = be32_get(p + k + 4);
            if (rel == 0 && pos == 0 && last)
                break; /* preallocated space of the active segment */
            v->r->index_entries++;
            ssize_t bi = find_batch(v, pos, false);
            if ((int64_t)rel <= prev_rel || (int64_t)pos <= prev_pos || bi < 0 ||
                v->bbase[bi] != (int64_t)(base + rel)) {
                problem(v, (int64_t)(base + rel),
                        "offset index entry %zu (offset %" PRIu64 ", position %u) does not point "
                        "at that batch",
                        k / 8, base + rel, pos);
                break;
            }
            prev_rel = rel;
            prev_pos = pos;
        }
        free(p);
    } else if (!last) {
        problem(v, (int64_t)base, "offset index %020" PRIu64 ".index is missing", base);
    }
    snprintf(path, sizeof path, "%s/%020" PRIu64 ".timeindex", v->dir, base);
    if (read_file(path, &p, &len) == 0) {
        if (len % 12)
            problem(v, (int64_t)base, "time index %020" PRIu64 ".timeindex has a partial entry",
                    base);
        int64_t prev_ts = INT64_MIN;
        for (size_t k = 0; k + 12 <= len; k += 12) {
            int64_t ts = (int64_t)be64_get(p + k);
            uint32_t rel = be32_get(p + k + 8);
            if (ts == 0 && rel == 0 && last)
                break;
            v->r->index_entries++;
            ssize_t bi = find_batch(v, (int64_t)(base + rel), true);
            int64_t maxts = INT64_MIN;
            for (ssize_t j = 0; j <= bi; j++)
                maxts = v->bmaxts[j] > maxts ? v->bmaxts[j] : maxts;
            if (bi < 0 || ts <= prev_ts || maxts > ts) {
                problem(v, (int64_t)(base + rel),
                        "time index entry %zu (time %" PRId64 ", offset %" PRIu64
                        ") does not match the batches",
                        k / 12, ts, base + rel);
                break;
            }
            prev_ts = ts;
        }
        free(p);
    }
}

static int check_segment(struct dv *v, uint64_t base, bool first, bool last, int64_t *expect,
                         bool require_tree)
{
    char path[PATH_MAX];
    uint8_t *p;
    size_t len;
    snprintf(path, sizeof path, "%s/%020" PRIu64 ".log", v->dir, base);
    int rc = read_file(path, &p, &len);
    if (rc)
        return rc;
    v->r->segments++;
    v->nb = 0;
    if (first)
        *expect = (int64_t)base;
    else if ((int64_t)base != *expect)
        problem(v, *expect < (int64_t)base ? *expect : (int64_t)base,
                "segment %020" PRIu64 ".log starts at offset %" PRIu64 " but the previous segment "
                "ends at %" PRId64,
                base, base, *expect);
    size_t pos = 0;
    while (pos < len) {
        size_t sz;
        struct batch b;
        rc = batch_frame_size(p + pos, len - pos, &sz);
        if (rc || sz > len - pos) {
            problem(v, *expect, "truncated batch at position %zu of %020" PRIu64 ".log", pos, base);
            break;
        }
        rc = batch_parse(p + pos, sz, &b);
        if (rc) {
            problem(v, *expect, "unreadable batch header at position %zu of %020" PRIu64 ".log: %s",
                    pos, base, plg_strerror(rc));
            break;
        }
        if (pos == 0 && b.base_offset != (int64_t)base)
            problem(v, b.base_offset < (int64_t)base ? b.base_offset : (int64_t)base,
                    "segment %020" PRIu64 ".log begins with offset %" PRId64
                    " (segments swapped or renamed?)",
                    base, b.base_offset);
        else if (b.base_offset > *expect)
            problem(v, *expect,
                    "offsets %" PRId64 "..%" PRId64 " are missing (a batch was removed)", *expect,
                    b.base_offset - 1);
        else if (b.base_offset < *expect)
            problem(v, b.base_offset, "batch at position %zu repeats offset %" PRId64, pos,
                    b.base_offset);
        v->r->batches++;
        add_batch_pos(v, (int64_t)pos, b.base_offset, b.max_timestamp);
        bool crc_ok = batch_compute_crc(p + pos, sz) == b.crc;
        struct leafcheck lc = {v, require_tree, -1};
        int lrc = ptree_batch_leaves(p + pos, sz, &v->scratch, check_leaf, &lc);
        if (!crc_ok) {
            if (lc.first_bad >= 0)
                problem(v, lc.first_bad,
                        "record content changed: batch CRC mismatch and its Merkle leaf differs "
                        "from the tree");
            else
                problem(v, b.base_offset, "batch CRC mismatch (position %zu of %020" PRIu64 ".log)",
                        pos, base);
        } else if (lrc) {
            problem(v, b.base_offset, "records of the batch cannot be read: %s", plg_strerror(lrc));
        } else if (lc.first_bad >= 0) {
            problem(v, lc.first_bad, "the record's Merkle leaf differs from the tree");
        }
        *expect = batch_last_offset(&b) + 1;
        pos += sz;
    }
    free(p);
    check_indexes(v, base, last);
    return 0;
}

int dv_partition(const char *dir, bool require_tree, struct dv_result *r)
{
    memset(r, 0, sizeof *r);
    r->bad_offset = -1;
    struct dv v = {.dir = dir, .r = r};
    buf_init(&v.scratch);
    int rc = load_tree(&v);
    uint64_t *bases = NULL;
    size_t n = 0;
    if (!rc)
        rc = list_bases(dir, ".log", &bases, &n);
    int64_t expect = 0;
    for (size_t i = 0; !rc && i < n; i++)
        rc = check_segment(&v, bases[i], i == 0, i + 1 == n, &expect, require_tree);
    if (!rc) {
        if (require_tree && !r->has_tree && r->records)
            problem(&v, 0, "the partition has no Merkle tree files");
        else if (r->has_tree && v.tree_size > (uint64_t)expect && n)
            problem(&v, expect,
                    "the tree has %" PRIu64 " leaves but the log ends at offset %" PRId64
                    " (records removed from the end?)",
                    v.tree_size, expect);
    }
    free(bases);
    for (size_t i = 0; i < v.ntf; i++)
        free(v.tf[i].h);
    free(v.tf);
    free(v.bpos);
    free(v.bbase);
    free(v.bmaxts);
    buf_free(&v.scratch);
    if (rc)
        return rc;
    return v.found ? PLG_EVERIFY : 0;
}
