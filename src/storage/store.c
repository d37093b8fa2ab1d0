/*
 * store.c — the disk and memory backends of store.h.
 */
#include "storage/store.h"

#include "base/metrics.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

static int disk_open(struct store *s, const char *name, bool create, int *fd)
{
    int f = openat(s->dirfd, name, O_RDWR | O_CLOEXEC | (create ? O_CREAT : 0), 0644);
    if (f < 0)
        return -errno;
    *fd = f;
    return 0;
}

static int disk_remove(struct store *s, const char *name)
{
    if (unlinkat(s->dirfd, name, 0) < 0 && errno != ENOENT)
        return -errno;
    return 0;
}

static int disk_rename(struct store *s, const char *from, const char *to)
{
    if (renameat(s->dirfd, from, s->dirfd, to) < 0)
        return -errno;
    return 0;
}

static int disk_sync(struct store *s, int fd)
{
    (void)s;
    uint64_t t0 = mx_now_ns();
    int rc = fdatasync(fd) < 0 ? -errno : 0;
    /* Looked up per call (a mutex and a short scan): noise next to the fdatasync itself. */
    mx_histogram_observe_ns(mx_histogram_get(mx_default(), "pyralog_storage_fsync_duration_seconds",
                                             "Latency of fdatasync on segment files.", NULL,
                                             MX_LATENCY_BUCKETS, MX_LATENCY_BUCKETS_N),
                            mx_now_ns() - t0);
    return rc;
}

static int disk_sync_dir(struct store *s)
{
    if (fsync(s->dirfd) < 0)
        return -errno;
    return 0;
}

static int disk_reserve(struct store *s, int fd, int64_t off, int64_t len)
{
    (void)s;
    if (fallocate(fd, FALLOC_FL_KEEP_SIZE, (off_t)off, (off_t)len) == 0)
        return 0;
    /* EOPNOTSUPP: a file system without preallocation; writes keep their own risk there. */
    return errno == EOPNOTSUPP || errno == ENOSYS ? 0 : -errno;
}

static int disk_list(struct store *s, void (*fn)(void *ctx, const char *name), void *ctx)
{
    int d = dup(s->dirfd);
    if (d < 0)
        return -errno;
    DIR *dir = fdopendir(d);
    if (!dir) {
        int e = -errno;
        close(d);
        return e;
    }
    rewinddir(dir);
    struct dirent *de;
    while ((de = readdir(dir)) != NULL) {
        if (de->d_name[0] != '.')
            fn(ctx, de->d_name);
    }
    closedir(dir);
    return 0;
}

static const struct store_ops disk_ops = {
    .open = disk_open,
    .remove = disk_remove,
    .rename = disk_rename,
    .sync = disk_sync,
    .sync_dir = disk_sync_dir,
    .list = disk_list,
    .reserve = disk_reserve,
};

static int mem_open(struct store *s, const char *name, bool create, int *fd)
{
    (void)s;
    if (!create)
        return -ENOENT; /* nothing persists in memory */
    int f = memfd_create(name, MFD_CLOEXEC);
    if (f < 0)
        return -errno;
    *fd = f;
    return 0;
}

static int mem_remove(struct store *s, const char *name)
{
    (void)s;
    (void)name;
    return 0;
}

static int mem_rename(struct store *s, const char *from, const char *to)
{
    (void)s;
    (void)from;
    (void)to;
    return 0;
}

static int mem_sync(struct store *s, int fd)
{
    (void)s;
    (void)fd;
    return 0;
}

static int mem_sync_dir(struct store *s)
{
    (void)s;
    return 0;
}

static int mem_list(struct store *s, void (*fn)(void *ctx, const char *name), void *ctx)
{
    (void)s;
    (void)fn;
    (void)ctx;
    return 0;
}

static int mem_reserve(struct store *s, int fd, int64_t off, int64_t len)
{
    /* Memory files take pages as they are touched, like the rest of the process. */
    (void)s;
    (void)fd;
    (void)off;
    (void)len;
    return 0;
}

static const struct store_ops mem_ops = {
    .open = mem_open,
    .remove = mem_remove,
    .rename = mem_rename,
    .sync = mem_sync,
    .sync_dir = mem_sync_dir,
    .list = mem_list,
    .reserve = mem_reserve,
};

int store_open_disk(struct store *s, const char *dir, bool create)
{
    if (create && mkdir(dir, 0755) < 0 && errno != EEXIST)
        return -errno;
    int d = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (d < 0)
        return -errno;
    s->ops = &disk_ops;
    s->dirfd = d;
    s->memory = false;
    return 0;
}

void store_open_memory(struct store *s)
{
    s->ops = &mem_ops;
    s->dirfd = -1;
    s->memory = true;
}

int store_dup(const struct store *s, struct store *out)
{
    *out = *s;
    if (s->dirfd < 0)
        return 0;
    out->dirfd = fcntl(s->dirfd, F_DUPFD_CLOEXEC, 0);
    return out->dirfd < 0 ? -errno : 0;
}

void store_close(struct store *s)
{
    if (s->dirfd >= 0)
        close(s->dirfd);
    s->dirfd = -1;
}

int store_pwrite_all(int fd, const void *p, size_t n, int64_t pos)
{
    const uint8_t *b = p;
    while (n > 0) {
        ssize_t w = pwrite(fd, b, n, (off_t)pos);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        b += w;
        n -= (size_t)w;
        pos += w;
    }
    return 0;
}

int store_pread_all(int fd, void *p, size_t n, int64_t pos)
{
    uint8_t *b = p;
    while (n > 0) {
        ssize_t r = pread(fd, b, n, (off_t)pos);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        if (r == 0)
            return -EIO;
        b += r;
        n -= (size_t)r;
        pos += r;
    }
    return 0;
}
