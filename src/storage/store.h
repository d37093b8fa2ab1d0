/*
 * store.h — where a log's files live: the storage backend ops table (disk or memory).
 *
 * The partition log talks to files only through this table, so the same segment and index code
 * runs on a real directory (openat/unlinkat/renameat/fdatasync) or entirely in memory, where
 * every "file" is an anonymous memfd (memfd_create): positions, mmap, pread and sendfile behave
 * the same, sync is a no-op and nothing survives close. Tests also use it to inject faults.
 * Thread model: the owner thread calls open/remove/rename/list; sync may run on the flusher.
 * Workers (compaction, retention's file removal) use their own handle from store_dup(); the
 * ops are plain system calls on a directory fd, safe on any thread.
 */
#ifndef PLG_STORAGE_STORE_H
#define PLG_STORAGE_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct store;

struct store_ops {
    /* Opens file `name` read-write; creates it (empty) when create is set. *fd out. -errno. */
    int (*open)(struct store *s, const char *name, bool create, int *fd);
    /* Removes file `name` (missing is fine). */
    int (*remove)(struct store *s, const char *name);
    /* Atomically replaces `to` with `from`. */
    int (*rename)(struct store *s, const char *from, const char *to);
    /* Makes the file's data durable. */
    int (*sync)(struct store *s, int fd);
    /* Makes the directory entries (creates, renames, removes) durable. */
    int (*sync_dir)(struct store *s);
    /* Calls fn for every file name in the store. */
    int (*list)(struct store *s, void (*fn)(void *ctx, const char *name), void *ctx);
    /* Allocates the blocks of [off, off + len) of fd without changing its size, so that writes
     * there (through a shared mapping too, where a full disk would be a SIGBUS) cannot fail for
     * lack of space. 0 (also where the file system cannot preallocate: nothing better to do) or
     * -errno (-ENOSPC). */
    int (*reserve)(struct store *s, int fd, int64_t off, int64_t len);
};

struct store {
    const struct store_ops *ops;
    int dirfd; /* disk: the directory; memory: -1 */
    bool memory;
};

/* Disk store over directory dir (created when create is set). Close with store_close. */
int store_open_disk(struct store *s, const char *dir, bool create);
void store_open_memory(struct store *s);
/* A second handle on the same store with its own directory fd, for work that may outlive the
 * owner's store (a compaction or file removal on a worker thread). Close with store_close. */
int store_dup(const struct store *s, struct store *out);
void store_close(struct store *s);

/* pwrite/pread of exactly n bytes, retrying short transfers and EINTR. 0 or -errno
 * (-EIO when a read hits end of file). */
int store_pwrite_all(int fd, const void *p, size_t n, int64_t pos);
int store_pread_all(int fd, void *p, size_t n, int64_t pos);

#endif
