/*
 * obelisk.h — Pyralog's coordination-free primitives: the Obelisk sequencer (a persistent counter
 * whose value is the size of a sparse file), Scarab IDs (64-bit, time-ordered, crash-safe unique
 * IDs) and the Pharaoh client (a list of Obelisk nodes, spread and failed over).
 *
 * Obelisk counter file `<dir>/<name>.obelisk`:
 *   bytes 0..31  header: "PLGOBEL1" (8) | unit u64be (8) | zero (8) | crc32c(bytes 0..23) u32be |
 *                zero (4)
 *   bytes 32..   a hole; only the file SIZE matters.
 *   durable value limit = (size - 32) * unit. Every value below the limit may have been handed out;
 *   values at or above it never were. next(n) hands out [first, first+n) only after the size that
 *   covers it is on disk (ftruncate + fsync; fsync of the directory when the file is created).
 *   The unit (values per byte, fixed at creation) lets one file cover the 64-bit range even though
 *   ext4 caps file sizes at 2^44 - 4096 bytes.
 *
 * Scarab ID (INTERFACES.md): top bit 0 | 41 bits ms since 2025-01-01T00:00:00Z | 10 bits node |
 *   12 bits sequence. Per generator strictly increasing, also across SIGKILL, restart and a wall
 *   clock stepping backwards: a time floor kept in an Obelisk counter (`<dir>/scarab.floor`) is
 *   reserved ahead in windows; a restarted generator starts at the floor; the time part of an ID
 *   is a logical clock that is never behind the wall clock (it runs ahead when the clock steps
 *   back or when a millisecond's 4096 sequence values are used up). The logical clock never
 *   advances faster than real (monotonic) time plus a bounded lead (max_lead_ms): above 4096 IDs
 *   per ms sustained, the generator sleeps until the next millisecond, so 4096/ms is the
 *   ceiling and ID times stay honest.
 *
 * Thread model: a counter or generator handle is used by one thread at a time (the caller
 * serialises, e.g. the event loop thread). Different handles are independent. One process at a
 * time may hold a counter file open (flock); a second open fails with -EBUSY.
 * Errors: 0 or a negative PLG_E* / -errno code; plg_strerror() gives words.
 */
#ifndef PYRALOG_OBELISK_H
#define PYRALOG_OBELISK_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------------ Obelisk counter */

typedef struct plg_obelisk plg_obelisk_t;

/* Size of the counter file header; the counter's value is (size - header) * unit. */
#define PLG_OBELISK_HEADER 32
/* Longest sequence name; names are [A-Za-z0-9._-], not starting with '.'. */
#define PLG_OBELISK_NAME_MAX 64

/* I/O hooks for fault injection (tests). Each returns 0 or -errno. NULL table → real syscalls. */
struct plg_obelisk_io {
    int (*ftruncate)(void *ctx, int fd, off_t len);
    int (*fsync)(void *ctx, int fd);
    void *ctx;
};

struct plg_obelisk_opts {
    /* Values per byte of file size. Used when the file is created (0 → 1). For an existing file
     * the stored unit wins; a non-zero unit that differs from it is PLG_EINVAL. */
    uint64_t unit;
    /* Values reserved per ftruncate+fsync and handed out from memory (0 or 1: reserve exactly
     * what each next() asks for). Unused values of a lease are skipped after a crash. */
    uint64_t lease;
    /* Fault injection; NULL for the real file system. */
    const struct plg_obelisk_io *io;
};

/* 0 when `name` is a valid sequence name, else PLG_EINVAL. */
int plg_obelisk_name_check(const char *name);

/* Opens (creating when missing) the counter `<dir>/<name>.obelisk`; `dir` must exist. The name
 * is validated. *out is freed with plg_obelisk_close(). Errors: PLG_EINVAL (name, unit),
 * PLG_ECORRUPT (not a counter file), -EBUSY (open in another process), -errno. */
int plg_obelisk_open(const char *dir, const char *name, const struct plg_obelisk_opts *opts,
                     plg_obelisk_t **out);

/* Same with an explicit file path (no name rules), used for the Scarab time floor. */
int plg_obelisk_open_path(const char *path, const struct plg_obelisk_opts *opts,
                          plg_obelisk_t **out);

/* Hands out the n (>= 1) consecutive values [*first, *first + n), durable before return.
 * Errors: PLG_EINVAL (n == 0), PLG_EOVERFLOW (past 2^64 or the file system's size limit),
 * PLG_ETAMPERED (file shrunk, grown or replaced behind our back), -EROFS, -ENOSPC, -EIO ...
 * After an I/O or tamper error the handle stays failed (returns the same error): close it. */
int plg_obelisk_next(plg_obelisk_t *c, uint64_t n, uint64_t *first);

/* Like plg_obelisk_next but never does I/O: -EAGAIN (nothing changed) when [next, next + n)
 * is not below the durable limit yet; raise it with the grow calls below, then call again. */
int plg_obelisk_try_next(plg_obelisk_t *c, uint64_t n, uint64_t *first);

/* Raising the durable limit in three steps, so that an event loop can run the ftruncate+fsync on
 * another thread (uv_queue_work) and keep serving values below the limit meanwhile:
 *   plg_obelisk_grow_begin(c, want, &g)  owner thread; want > plg_obelisk_limit(c). Errors: the
 *                                        sticky failure, PLG_ESTATE (a growth is in flight),
 *                                        PLG_EOVERFLOW (past the largest file size), PLG_EINVAL.
 *   plg_obelisk_grow_run(&g)             any thread, once: tamper check, ftruncate, fsync.
 *   plg_obelisk_grow_end(&g)             owner thread: 0 with the limit raised to >= want, or
 *                                        PLG_EOVERFLOW (file system size limit; handle still
 *                                        usable), or the sticky error (handle failed).
 * Between begin and end the owner may call try_next/peek/limit/failed; next and reserve_to
 * return PLG_ESTATE when they would need to grow. */
struct plg_obelisk_grow {
    plg_obelisk_t *c;
    uint64_t want; /* value limit asked for */
    uint64_t size; /* file size that covers it, bytes */
    int rc;        /* result of grow_run */
    int synced;    /* grow_run reached the fsync */
};
int plg_obelisk_grow_begin(plg_obelisk_t *c, uint64_t want, struct plg_obelisk_grow *g);
void plg_obelisk_grow_run(struct plg_obelisk_grow *g);
int plg_obelisk_grow_end(struct plg_obelisk_grow *g);

/* Makes the durable limit at least `target` (one ftruncate + fsync when it is below). Values
 * handed out by next() are not affected. Used for the Scarab time floor. */
int plg_obelisk_reserve_to(plg_obelisk_t *c, uint64_t target);

/* The next value next() would hand out, and the durable limit (all values below it may be used). */
uint64_t plg_obelisk_peek(const plg_obelisk_t *c);
uint64_t plg_obelisk_limit(const plg_obelisk_t *c);
uint64_t plg_obelisk_unit(const plg_obelisk_t *c);
/* Number of fsync calls this handle made (benchmarks check one per lease). */
uint64_t plg_obelisk_fsyncs(const plg_obelisk_t *c);
/* 0 while the handle works; after an I/O or tamper failure the sticky error it returns for every
 * further call (PLG_ETAMPERED, or the -errno of the failed stat/ftruncate/fsync). */
int plg_obelisk_failed(const plg_obelisk_t *c);

void plg_obelisk_close(plg_obelisk_t *c);

/* ------------------------------------------------------------------ Scarab IDs */

typedef struct plg_scarab plg_scarab_t;

#define PLG_SCARAB_EPOCH_MS 1735689600000LL /* 2025-01-01T00:00:00Z in Unix ms */
#define PLG_SCARAB_NODE_MAX 1023
#define PLG_SCARAB_SEQ_BITS 12
#define PLG_SCARAB_NODE_BITS 10
#define PLG_SCARAB_MS_BITS 41
#define PLG_SCARAB_MAX_LEAD_MS 100

/* Clocks, injectable for tests; any NULL member → the real one. now_ms is the wall clock in Unix
 * ms (may step backwards); mono_us a monotonic clock in µs; sleep_us waits that long. */
struct plg_clock {
    int64_t (*now_ms)(void *ctx);
    int64_t (*mono_us)(void *ctx);
    void (*sleep_us)(void *ctx, int64_t us);
    void *ctx;
};

struct plg_scarab_opts {
    unsigned node_id;              /* 0..1023 */
    const struct plg_clock *clock; /* NULL → real time */
    uint64_t window_ms;            /* floor reserved ahead per fsync; 0 → 1000 */
    uint64_t max_lead_ms;          /* how far exhausting 4096 IDs/ms may run the logical clock
                                      ahead of real elapsed time; 0 → PLG_SCARAB_MAX_LEAD_MS */
    const struct plg_obelisk_io *io;
};

/* Opens a generator whose time floor lives in `<dir>/scarab.floor` (created when missing).
 * Freed with plg_scarab_close(). */
int plg_scarab_open(const char *dir, const struct plg_scarab_opts *opts, plg_scarab_t **out);

/* One ID. May sleep (< 1 ms at a time) when the 4096-per-ms ceiling is reached. Errors:
 * PLG_EOVERFLOW (after year 2094), floor I/O errors (see plg_obelisk_next). */
int plg_scarab_next(plg_scarab_t *g, uint64_t *id);

/* n IDs into ids[0..n), strictly increasing. */
int plg_scarab_next_n(plg_scarab_t *g, uint64_t *ids, size_t n);

/* A run of consecutive IDs (same millisecond): [*first, *first + *count), 1 <= *count <= max. */
int plg_scarab_next_run(plg_scarab_t *g, size_t max, uint64_t *first, size_t *count);

/* Like plg_scarab_next_run but never raises the time floor (no I/O; it may still sleep below
 * 1 ms at the 4096/ms ceiling): -EAGAIN when the next ID's millisecond is not below the durable
 * floor yet. For event loops, with the three calls below. */
int plg_scarab_try_run(plg_scarab_t *g, size_t max, uint64_t *first, size_t *count);
/* 0 while the floor is far enough ahead of the logical clock; else the floor (ms since the
 * epoch) to raise it to now: either IDs wait for it (try_run said -EAGAIN) or less than half a
 * window is left. */
uint64_t plg_scarab_floor_due(const plg_scarab_t *g);
/* Raise the floor to `target` off the owner thread: begin (owner thread), plg_obelisk_grow_run
 * (any thread), end (owner thread; the floor moves only here, after the fsync succeeded). Same
 * errors as plg_obelisk_grow_begin/end. */
int plg_scarab_floor_grow_begin(plg_scarab_t *g, uint64_t target, struct plg_obelisk_grow *gr);
int plg_scarab_floor_grow_end(plg_scarab_t *g, struct plg_obelisk_grow *gr);

unsigned plg_scarab_node(const plg_scarab_t *g);
/* The durable time floor (ms since the Scarab epoch) and the fsyncs made to raise it. */
uint64_t plg_scarab_floor(const plg_scarab_t *g);
uint64_t plg_scarab_fsyncs(const plg_scarab_t *g);
void plg_scarab_close(plg_scarab_t *g);

struct plg_scarab_parts {
    int64_t unix_ms; /* time part as Unix ms */
    unsigned node;
    unsigned seq;
};

/* Splits an ID. PLG_EINVAL when the top bit is set (not a Scarab ID). */
int plg_scarab_decode(uint64_t id, struct plg_scarab_parts *out);

/* Formats Unix ms as "2025-01-01T00:00:00.000Z" into buf (>= 25 bytes). */
int plg_format_utc_ms(int64_t unix_ms, char *buf, size_t len);

/* ------------------------------------------------------------------ Pharaoh client */

typedef struct plg_pharaoh plg_pharaoh_t;

/* `nodes` is a comma-separated list of Obelisk JSON-RPC addresses "H:P[,H:P...]" (as for
 * --obelisk). The binary protocol is reached at port P+1 unless an entry is written
 * "H:P/B" (B = binary port). timeout_ms bounds each connect and round trip (0 → 2000).
 * Freed with plg_pharaoh_close(). */
int plg_pharaoh_open(const char *nodes, int timeout_ms, plg_pharaoh_t **out);

/* n Scarab IDs into ids (any node; requests are spread round-robin and fail over to the next
 * node when one does not answer). */
int plg_pharaoh_ids(plg_pharaoh_t *p, uint64_t *ids, size_t n);

/* n values of sequence `name`: [*first, *first + n). A sequence lives on one node (chosen by
 * rendezvous hashing of the name over the list); when that node is down this fails with the
 * connection error instead of taking values from another node's independent counter. */
int plg_pharaoh_seq(plg_pharaoh_t *p, const char *name, uint64_t n, uint64_t *first);

/* Text of the last error a node sent (or ""), valid until the next call. */
const char *plg_pharaoh_errmsg(const plg_pharaoh_t *p);

void plg_pharaoh_close(plg_pharaoh_t *p);

#ifdef __cplusplus
}
#endif
#endif
