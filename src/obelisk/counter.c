/*
 * counter.c — the Obelisk sequencer: a persistent counter whose value is a sparse file's size.
 *
 * Why it is crash-safe without a log: the only state is the file size, which the file system
 * commits atomically in its journal. A value is handed out only when a size covering it has been
 * fsynced, so after a crash the size on disk is >= every value ever returned and a reopened
 * counter starts at that size: values reserved but never handed out are skipped, never repeated.
 *
 * State of an open counter (all in values, not bytes):
 *   next  — the next value to hand out (from memory)
 *   limit — the durable limit = (size - PLG_OBELISK_HEADER) * unit;  next <= limit always.
 * next(n) with next + n <= limit is a memory operation; otherwise one ftruncate + one fsync
 * raises the limit to at least next + max(n, lease).
 *
 * The growth is three steps so an event loop can run the I/O elsewhere: grow_begin (owner
 * thread: target size, marks the handle growing), grow_run (any thread: tamper check,
 * ftruncate, fsync; reads only fields nothing else writes while growing), grow_end (owner thread:
 * the new limit, or the sticky error). While growing, try_next keeps handing out values below the
 * old limit, which was durable before the growth began; nothing above it is handed out before
 * grow_end has seen the fsync succeed.
 *
 * Tamper checks before each growth: the path still names our inode (not replaced or deleted)
 * and the size is the one we last set (not shrunk or grown by someone else). An flock keeps a
 * second process off the same file. Creation goes through a temporary file linked into place,
 * so a crash never leaves a half-written header under the real name.
 */
#include "pyralog/obelisk.h"
#include "pyralog/pyralog.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/bytes.h"
#include "base/crc32c.h"

static const char obl_magic[8] = {'P', 'L', 'G', 'O', 'B', 'E', 'L', '1'};

struct plg_obelisk {
    int fd;
    char *path;
    dev_t dev;
    ino_t ino;
    uint64_t unit;
    uint64_t lease;
    uint64_t size;  /* the size we last made durable, in bytes */
    uint64_t next;  /* next value to hand out */
    uint64_t limit; /* durable limit in values */
    uint64_t fsyncs;
    int failed;  /* sticky error after an I/O or tamper failure */
    int growing; /* a growth is between grow_begin and grow_end (maybe on another thread) */
    const struct plg_obelisk_io *io;
};

static int real_ftruncate(void *ctx, int fd, off_t len)
{
    (void)ctx;
    return ftruncate(fd, len) ? -errno : 0;
}

static int real_fsync(void *ctx, int fd)
{
    (void)ctx;
    return fsync(fd) ? -errno : 0;
}

static const struct plg_obelisk_io real_io = {real_ftruncate, real_fsync, NULL};

int plg_obelisk_name_check(const char *name)
{
    if (!name)
        return PLG_EINVAL;
    size_t n = strlen(name);
    if (n == 0 || n > PLG_OBELISK_NAME_MAX || name[0] == '.')
        return PLG_EINVAL;
    for (size_t i = 0; i < n; i++) {
        char ch = name[i];
        if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
              ch == '.' || ch == '_' || ch == '-'))
            return PLG_EINVAL;
    }
    return 0;
}

static void header_encode(uint8_t h[PLG_OBELISK_HEADER], uint64_t unit)
{
    memset(h, 0, PLG_OBELISK_HEADER);
    memcpy(h, obl_magic, 8);
    be64_put(h + 8, unit);
    be32_put(h + 24, crc32c(0, h, 24));
}

/* Parses a header; PLG_ECORRUPT when it is not one of ours. */
static int header_decode(const uint8_t h[PLG_OBELISK_HEADER], uint64_t *unit)
{
    if (memcmp(h, obl_magic, 8) || be32_get(h + 24) != crc32c(0, h, 24))
        return PLG_ECORRUPT;
    *unit = be64_get(h + 8);
    if (*unit == 0)
        return PLG_ECORRUPT;
    return 0;
}

static int fsync_dir_of(const char *path)
{
    char *dup = strdup(path);
    if (!dup)
        return PLG_ENOMEM;
    char *slash = strrchr(dup, '/');
    const char *dir = ".";
    if (slash == dup)
        dir = "/";
    else if (slash) {
        *slash = 0;
        dir = dup;
    }
    int rc = 0;
    int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0)
        rc = -errno;
    else {
        if (fsync(dfd))
            rc = -errno;
        close(dfd);
    }
    free(dup);
    return rc;
}

/* Creates `path` with a header, atomically: write + fsync a temporary file, link() it into place
 * (fails with EEXIST when someone else won the race: then their file is used), fsync the dir. */
static int counter_create(const char *path, uint64_t unit, const struct plg_obelisk_io *io)
{
    size_t plen = strlen(path) + 32;
    char *tmp = malloc(plen);
    if (!tmp)
        return PLG_ENOMEM;
    snprintf(tmp, plen, "%s.tmp.%ld", path, (long)getpid());
    int rc = 0;
    int fd = open(tmp, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) {
        rc = -errno;
        free(tmp);
        return rc;
    }
    uint8_t h[PLG_OBELISK_HEADER];
    header_encode(h, unit);
    ssize_t w = pwrite(fd, h, sizeof h, 0);
    if (w != (ssize_t)sizeof h)
        rc = w < 0 ? -errno : -ENOSPC;
    if (!rc)
        rc = io->fsync(io->ctx, fd);
    close(fd);
    if (!rc && link(tmp, path) && errno != EEXIST)
        rc = -errno;
    unlink(tmp);
    free(tmp);
    if (!rc)
        rc = fsync_dir_of(path);
    return rc;
}

int plg_obelisk_open_path(const char *path, const struct plg_obelisk_opts *opts,
                          plg_obelisk_t **out)
{
    static const struct plg_obelisk_opts defaults;
    if (!opts)
        opts = &defaults;
    const struct plg_obelisk_io *io = opts->io ? opts->io : &real_io;
    *out = NULL;
    int fd = -1, rc;
    for (int attempt = 0; attempt < 2 && fd < 0; attempt++) {
        fd = open(path, O_RDWR | O_CLOEXEC);
        if (fd >= 0)
            break;
        if (errno != ENOENT)
            return -errno;
        rc = counter_create(path, opts->unit ? opts->unit : 1, io);
        if (rc)
            return rc;
    }
    if (fd < 0)
        return -ENOENT;
    struct plg_obelisk *c = calloc(1, sizeof *c);
    if (!c || !(c->path = strdup(path))) {
        free(c);
        close(fd);
        return PLG_ENOMEM;
    }
    c->fd = fd;
    c->io = io;
    if (flock(fd, LOCK_EX | LOCK_NB)) {
        rc = errno == EWOULDBLOCK ? -EBUSY : -errno;
        goto fail;
    }
    struct stat st;
    if (fstat(fd, &st)) {
        rc = -errno;
        goto fail;
    }
    if (!S_ISREG(st.st_mode) || st.st_size < PLG_OBELISK_HEADER) {
        rc = PLG_ECORRUPT;
        goto fail;
    }
    uint8_t h[PLG_OBELISK_HEADER];
    if (pread(fd, h, sizeof h, 0) != (ssize_t)sizeof h) {
        rc = PLG_ECORRUPT;
        goto fail;
    }
    if ((rc = header_decode(h, &c->unit)))
        goto fail;
    if (opts->unit && opts->unit != c->unit) {
        rc = PLG_EINVAL;
        goto fail;
    }
    c->dev = st.st_dev;
    c->ino = st.st_ino;
    c->size = (uint64_t)st.st_size;
    uint64_t body = c->size - PLG_OBELISK_HEADER;
    if (body && c->unit > UINT64_MAX / body) {
        rc = PLG_EOVERFLOW;
        goto fail;
    }
    c->limit = body * c->unit;
    c->next = c->limit; /* skip whatever a previous process had leased */
    c->lease = opts->lease;
    *out = c;
    return 0;
fail:
    plg_obelisk_close(c);
    return rc;
}

int plg_obelisk_open(const char *dir, const char *name, const struct plg_obelisk_opts *opts,
                     plg_obelisk_t **out)
{
    *out = NULL;
    if (plg_obelisk_name_check(name))
        return PLG_EINVAL;
    size_t len = strlen(dir) + strlen(name) + 16;
    char *path = malloc(len);
    if (!path)
        return PLG_ENOMEM;
    snprintf(path, len, "%s/%s.obelisk", dir, name);
    int rc = plg_obelisk_open_path(path, opts, out);
    free(path);
    return rc;
}

/* Verifies that the path is still our inode at the size we set. */
static int counter_check(struct plg_obelisk *c)
{
    struct stat st;
    if (fstat(c->fd, &st))
        return -errno;
    if ((uint64_t)st.st_size != c->size)
        return PLG_ETAMPERED;
    if (stat(c->path, &st)) {
        if (errno == ENOENT)
            return PLG_ETAMPERED;
        return -errno;
    }
    if (st.st_ino != c->ino || st.st_dev != c->dev)
        return PLG_ETAMPERED;
    return 0;
}

int plg_obelisk_grow_begin(plg_obelisk_t *c, uint64_t want, struct plg_obelisk_grow *g)
{
    memset(g, 0, sizeof *g);
    if (c->failed)
        return c->failed;
    if (c->growing)
        return PLG_ESTATE;
    if (want <= c->limit)
        return PLG_EINVAL;
    uint64_t bytes = want / c->unit + (want % c->unit != 0);
    if (bytes > (uint64_t)INT64_MAX - PLG_OBELISK_HEADER)
        return PLG_EOVERFLOW;
    g->c = c;
    g->want = want;
    g->size = bytes + PLG_OBELISK_HEADER;
    assert(g->size > c->size);
    c->growing = 1;
    return 0;
}

/* Touches only what no other call changes while c->growing is set (fd, path, dev, ino, size,
 * io), so the owner thread may keep calling try_next/peek/limit meanwhile. */
void plg_obelisk_grow_run(struct plg_obelisk_grow *g)
{
    struct plg_obelisk *c = g->c;
    g->rc = counter_check(c);
    if (g->rc)
        return;
    g->rc = c->io->ftruncate(c->io->ctx, c->fd, (off_t)g->size);
    if (g->rc)
        return;
    g->synced = 1;
    g->rc = c->io->fsync(c->io->ctx, c->fd);
}

int plg_obelisk_grow_end(struct plg_obelisk_grow *g)
{
    struct plg_obelisk *c = g->c;
    assert(c->growing);
    c->growing = 0;
    c->fsyncs += (uint64_t)g->synced;
    if (g->rc == -EFBIG && !g->synced)
        return PLG_EOVERFLOW; /* ftruncate refused: the file system's size limit, nothing changed */
    if (g->rc) {
        /* Tampered, or the size may or may not have changed: refuse further use, don't guess. */
        c->failed = g->rc;
        return g->rc;
    }
    uint64_t bytes = g->size - PLG_OBELISK_HEADER;
    c->size = g->size;
    c->limit = bytes > UINT64_MAX / c->unit ? UINT64_MAX : bytes * c->unit;
    return 0;
}

/* Raises the durable limit to at least `want` (values), on the caller's thread. */
static int counter_grow(struct plg_obelisk *c, uint64_t want)
{
    struct plg_obelisk_grow g;
    int rc = plg_obelisk_grow_begin(c, want, &g);
    if (rc)
        return rc;
    plg_obelisk_grow_run(&g);
    return plg_obelisk_grow_end(&g);
}

int plg_obelisk_try_next(plg_obelisk_t *c, uint64_t n, uint64_t *first)
{
    if (n == 0)
        return PLG_EINVAL;
    if (c->failed)
        return c->failed;
    if (n > UINT64_MAX - c->next)
        return PLG_EOVERFLOW;
    if (c->next + n > c->limit)
        return -EAGAIN;
    *first = c->next;
    c->next += n;
    return 0;
}

int plg_obelisk_next(plg_obelisk_t *c, uint64_t n, uint64_t *first)
{
    int rc = plg_obelisk_try_next(c, n, first);
    if (rc != -EAGAIN)
        return rc;
    if (c->growing)
        return PLG_ESTATE;
    uint64_t end = c->next + n;
    uint64_t want = end;
    if (c->lease > n)
        want = c->next + (c->lease <= UINT64_MAX - c->next ? c->lease : UINT64_MAX - c->next);
    rc = counter_grow(c, want);
    if (rc == PLG_EOVERFLOW && want > end)
        rc = counter_grow(c, end); /* near the end of the range: no lease, just n */
    if (rc)
        return rc;
    return plg_obelisk_try_next(c, n, first);
}

int plg_obelisk_reserve_to(plg_obelisk_t *c, uint64_t target)
{
    if (c->failed)
        return c->failed;
    if (target <= c->limit)
        return 0;
    if (c->growing)
        return PLG_ESTATE;
    return counter_grow(c, target);
}

uint64_t plg_obelisk_peek(const plg_obelisk_t *c)
{
    return c->next;
}

uint64_t plg_obelisk_limit(const plg_obelisk_t *c)
{
    return c->limit;
}

uint64_t plg_obelisk_unit(const plg_obelisk_t *c)
{
    return c->unit;
}

uint64_t plg_obelisk_fsyncs(const plg_obelisk_t *c)
{
    return c->fsyncs;
}

int plg_obelisk_failed(const plg_obelisk_t *c)
{
    return c->failed;
}

void plg_obelisk_close(plg_obelisk_t *c)
{
    if (!c)
        return;
    if (c->fd >= 0)
        close(c->fd);
    free(c->path);
    free(c);
}
