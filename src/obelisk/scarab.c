/*
 * scarab.c — Scarab ID generator: 41 bits of milliseconds since 2025-01-01Z, 10 bits of node id,
 * 12 bits of sequence (INTERFACES.md).
 *
 * The generator keeps a logical clock (ms, seq) = the next ID to issue. Each call first moves it
 * to the wall clock when the wall clock is ahead; otherwise (same millisecond, or the clock
 * stepped backwards) it keeps counting in the logical millisecond and moves to the next one when
 * the 4096 sequence values run out. So IDs strictly increase and their time part is never behind
 * the wall clock at issue time.
 *
 * Ceiling: moving to the next logical millisecond because 4096 values ran out is allowed only
 * while ms <= anchor_ms + (elapsed monotonic time since the anchor) + max_lead, where the anchor
 * is the last time the logical clock synced to the wall clock. Beyond that the call sleeps until
 * monotonic time catches up. Monotonic time keeps this working when the wall clock stepped back
 * (the logical clock then advances at real speed) or is frozen.
 *
 * Crash safety: before issuing any ID in millisecond m the generator makes sure m < floor, where
 * floor is the value of an Obelisk counter (`scarab.floor`, one value per ms, unit 100 ms per
 * byte). The floor is raised a window ahead (default 1 s) with one ftruncate + fsync, so there is
 * at most about one fsync per window. A restarted generator starts at millisecond = floor, which
 * is above every ID any earlier process issued, whatever the wall clock says.
 *
 * An event loop must not wait for that fsync: plg_scarab_try_run never raises the floor (it
 * answers -EAGAIN when the next ID would need it), plg_scarab_floor_due says when a raise is
 * due (ahead: when less than half a window is left; the raise then goes to floor + window, so
 * still one fsync per window, and the floor may be up to 1.5 windows ahead), and
 * floor_grow_begin/end bracket a plg_obelisk_grow_run that
 * can run on another thread. g->floor only moves in floor_grow_end, after the fsync succeeded.
 *
 * Thread model: one thread at a time per generator (floor_grow's run step excepted). No I/O
 * except raising the floor.
 */
#include "pyralog/obelisk.h"
#include "pyralog/pyralog.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define SCARAB_SEQ_MAX ((1u << PLG_SCARAB_SEQ_BITS) - 1)
#define SCARAB_MS_LIMIT (1ULL << PLG_SCARAB_MS_BITS)
#define SCARAB_FLOOR_UNIT 100 /* ms per byte of the floor file */

struct plg_scarab {
    plg_obelisk_t *floor_ctr;
    uint64_t floor; /* every ID issued so far has ms < floor */
    uint64_t ms;    /* logical millisecond of the next ID */
    uint32_t seq;   /* next sequence value in ms; > SCARAB_SEQ_MAX when used up */
    unsigned node;
    uint64_t window;
    uint64_t max_lead_ms;
    uint64_t anchor_ms;     /* logical ms at the last sync to the wall clock */
    int64_t anchor_mono_us; /* monotonic time then */
    struct plg_clock clock;
};

static int64_t real_now_ms(void *ctx)
{
    (void)ctx;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int64_t real_mono_us(void *ctx)
{
    (void)ctx;
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static void real_sleep_us(void *ctx, int64_t us)
{
    (void)ctx;
    struct timespec ts = {(time_t)(us / 1000000), (long)(us % 1000000) * 1000};
    while (nanosleep(&ts, &ts) && errno == EINTR)
        ;
}

int plg_scarab_open(const char *dir, const struct plg_scarab_opts *opts, plg_scarab_t **out)
{
    *out = NULL;
    if (!opts || opts->node_id > PLG_SCARAB_NODE_MAX)
        return PLG_EINVAL;
    struct plg_scarab *g = calloc(1, sizeof *g);
    if (!g)
        return PLG_ENOMEM;
    g->node = opts->node_id;
    g->window = opts->window_ms ? opts->window_ms : 1000;
    g->max_lead_ms = opts->max_lead_ms ? opts->max_lead_ms : PLG_SCARAB_MAX_LEAD_MS;
    if (opts->clock)
        g->clock = *opts->clock;
    if (!g->clock.now_ms)
        g->clock.now_ms = real_now_ms;
    if (!g->clock.mono_us)
        g->clock.mono_us = real_mono_us;
    if (!g->clock.sleep_us)
        g->clock.sleep_us = real_sleep_us;
    size_t len = strlen(dir) + 16;
    char *path = malloc(len);
    if (!path) {
        free(g);
        return PLG_ENOMEM;
    }
    snprintf(path, len, "%s/scarab.floor", dir);
    struct plg_obelisk_opts copts = {.unit = SCARAB_FLOOR_UNIT, .lease = 0, .io = opts->io};
    int rc = plg_obelisk_open_path(path, &copts, &g->floor_ctr);
    free(path);
    if (rc) {
        free(g);
        return rc;
    }
    g->floor = plg_obelisk_limit(g->floor_ctr);
    g->ms = g->floor; /* start after everything a previous process may have issued */
    g->seq = 0;
    g->anchor_ms = g->ms;
    g->anchor_mono_us = g->clock.mono_us(g->clock.ctx);
    *out = g;
    return 0;
}

/* Moves the logical clock to where the next ID comes from: to the wall clock when it is ahead,
 * else the next millisecond when this one is used up (sleeping while that would run more than
 * max_lead_ms ahead of real elapsed time). */
static void scarab_advance(struct plg_scarab *g)
{
    for (;;) {
        int64_t now = g->clock.now_ms(g->clock.ctx) - PLG_SCARAB_EPOCH_MS;
        if (now > 0 && (uint64_t)now > g->ms) {
            g->ms = (uint64_t)now;
            g->seq = 0;
            g->anchor_ms = g->ms;
            g->anchor_mono_us = g->clock.mono_us(g->clock.ctx);
            return;
        }
        if (g->seq <= SCARAB_SEQ_MAX)
            return;
        /* This millisecond is used up: move on if real time allows, else wait. */
        int64_t elapsed_us = g->clock.mono_us(g->clock.ctx) - g->anchor_mono_us;
        int64_t over_ms = (int64_t)(g->ms + 1) - (int64_t)(g->anchor_ms + g->max_lead_ms);
        int64_t wait_us = over_ms * 1000 - elapsed_us;
        if (wait_us <= 0) {
            g->ms++;
            g->seq = 0;
            return;
        }
        g->clock.sleep_us(g->clock.ctx, wait_us < 1000 ? wait_us : 1000);
    }
}

/* Issues the run at the logical clock; the caller made sure g->ms < g->floor. */
static void scarab_issue(struct plg_scarab *g, size_t max, uint64_t *first, size_t *count)
{
    size_t left = SCARAB_SEQ_MAX + 1 - g->seq;
    size_t n = max < left ? max : left;
    *first = g->ms << (PLG_SCARAB_NODE_BITS + PLG_SCARAB_SEQ_BITS) |
             (uint64_t)g->node << PLG_SCARAB_SEQ_BITS | g->seq;
    *count = n;
    g->seq += (uint32_t)n;
}

int plg_scarab_try_run(plg_scarab_t *g, size_t max, uint64_t *first, size_t *count)
{
    if (max == 0)
        return PLG_EINVAL;
    scarab_advance(g);
    if (g->ms >= SCARAB_MS_LIMIT)
        return PLG_EOVERFLOW;
    if (g->ms >= g->floor)
        return -EAGAIN;
    scarab_issue(g, max, first, count);
    return 0;
}

int plg_scarab_next_run(plg_scarab_t *g, size_t max, uint64_t *first, size_t *count)
{
    int rc = plg_scarab_try_run(g, max, first, count);
    if (rc != -EAGAIN)
        return rc;
    rc = plg_obelisk_reserve_to(g->floor_ctr, g->ms + g->window);
    if (rc)
        return rc;
    g->floor = plg_obelisk_limit(g->floor_ctr);
    scarab_issue(g, max, first, count);
    return 0;
}

uint64_t plg_scarab_floor_due(const plg_scarab_t *g)
{
    if (g->ms >= g->floor)
        return g->ms + g->window; /* IDs wait for it */
    if (g->floor - g->ms <= g->window / 2)
        return g->floor + g->window; /* ahead: before IDs have to wait */
    return 0;
}

int plg_scarab_floor_grow_begin(plg_scarab_t *g, uint64_t target, struct plg_obelisk_grow *gr)
{
    if (target >= SCARAB_MS_LIMIT)
        target = SCARAB_MS_LIMIT;
    if (target <= g->floor)
        return PLG_EINVAL;
    return plg_obelisk_grow_begin(g->floor_ctr, target, gr);
}

int plg_scarab_floor_grow_end(plg_scarab_t *g, struct plg_obelisk_grow *gr)
{
    int rc = plg_obelisk_grow_end(gr);
    if (!rc)
        g->floor = plg_obelisk_limit(g->floor_ctr);
    return rc;
}

int plg_scarab_next(plg_scarab_t *g, uint64_t *id)
{
    size_t n;
    return plg_scarab_next_run(g, 1, id, &n);
}

int plg_scarab_next_n(plg_scarab_t *g, uint64_t *ids, size_t n)
{
    size_t done = 0;
    while (done < n) {
        uint64_t first;
        size_t got;
        int rc = plg_scarab_next_run(g, n - done, &first, &got);
        if (rc)
            return rc;
        for (size_t i = 0; i < got; i++)
            ids[done + i] = first + i;
        done += got;
    }
    return 0;
}

unsigned plg_scarab_node(const plg_scarab_t *g)
{
    return g->node;
}

uint64_t plg_scarab_floor(const plg_scarab_t *g)
{
    return g->floor;
}

uint64_t plg_scarab_fsyncs(const plg_scarab_t *g)
{
    return plg_obelisk_fsyncs(g->floor_ctr);
}

void plg_scarab_close(plg_scarab_t *g)
{
    if (!g)
        return;
    plg_obelisk_close(g->floor_ctr);
    free(g);
}

int plg_scarab_decode(uint64_t id, struct plg_scarab_parts *out)
{
    if (id >> 63)
        return PLG_EINVAL;
    out->seq = (unsigned)(id & SCARAB_SEQ_MAX);
    out->node = (unsigned)(id >> PLG_SCARAB_SEQ_BITS) & PLG_SCARAB_NODE_MAX;
    out->unix_ms =
        (int64_t)(id >> (PLG_SCARAB_SEQ_BITS + PLG_SCARAB_NODE_BITS)) + PLG_SCARAB_EPOCH_MS;
    return 0;
}

int plg_format_utc_ms(int64_t unix_ms, char *buf, size_t len)
{
    if (unix_ms < 0 || len < 25)
        return PLG_EINVAL;
    time_t secs = (time_t)(unix_ms / 1000);
    struct tm tm;
    if (!gmtime_r(&secs, &tm))
        return PLG_ERANGE;
    int w =
        snprintf(buf, len, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1,
                 tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (int)(unix_ms % 1000));
    return w > 0 && (size_t)w < len ? 0 : PLG_ERANGE;
}
