/*
 * metrics.h — a small metrics registry: counters, gauges, histograms, Prometheus text output.
 *
 * What it owns: metric families (name, help, type, histogram bucket bounds) and their series
 * (one per label set). Series are created once (usually at start-up or on first use) and never
 * freed before the registry, so the pointers handed out stay valid for the registry's life and
 * hot paths update them with relaxed atomics and no lock.
 *
 * Thread model: every function may be called from any thread. Lookup/creation and rendering take
 * the registry mutex; updates (mx_counter_add, mx_gauge_set, mx_histogram_observe) are lock-free.
 * Collectors (computed metrics such as per-partition log end offsets) run inside mx_render() on
 * the rendering thread with the registry mutex held: they must not call back into the registry
 * except through the mx_sink functions given to them.
 *
 * Bounded labels: a family holds at most MX_MAX_SERIES label sets. Beyond that (or for an invalid
 * name or label string) the lookup returns NULL and logs one warning per family. All update
 * functions accept NULL and do nothing, so instrumented code never needs to check: a missing
 * series must never break the data path. (This is why lookups return pointers rather than the
 * usual int + out-parameter.)
 *
 * Names must match [a-zA-Z_:][a-zA-Z0-9_:]* and should start with "pyralog_"; counters should end
 * in "_total" (promtool checks it). Labels are passed pre-formatted in the exposition syntax,
 * e.g. `api="produce",code="0"`, or NULL / "" for none; use mx_label_escape() for values that are
 * not known constants.
 *
 * Must not depend on anything above src/base.
 */
#ifndef PLG_BASE_METRICS_H
#define PLG_BASE_METRICS_H

#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"

#define MX_MAX_SERIES 256
#define MX_MAX_BUCKETS 32

enum mx_type { MX_COUNTER, MX_GAUGE, MX_HISTOGRAM };

struct mx_registry;
struct mx_counter;
struct mx_gauge;
struct mx_histogram;
struct mx_sink;

/* Latency buckets in seconds, 50 µs to 10 s (15 bounds). */
extern const double MX_LATENCY_BUCKETS[];
extern const size_t MX_LATENCY_BUCKETS_N;
/* Size buckets in bytes, 64 B to 64 MiB, powers of 4 (11 bounds). */
extern const double MX_SIZE_BUCKETS[];
extern const size_t MX_SIZE_BUCKETS_N;

/* The process-wide registry, created on first use (thread-safe), including a process collector
 * (pyralog_process_resident_memory_bytes, pyralog_process_cpu_seconds_total,
 * pyralog_process_open_fds, pyralog_process_start_time_seconds). mx_default_free() frees it
 * (leak-checked tests, the very end of main): every series pointer obtained from it dies with it,
 * and the next mx_default() starts a fresh registry. */
struct mx_registry *mx_default(void);
void mx_default_free(void);

/* A separate registry (tests). Free with mx_registry_free(). Returns 0 or PLG_ENOMEM. */
int mx_registry_new(struct mx_registry **out);
void mx_registry_free(struct mx_registry *r);

/* Find or create the series `name{labels}`. help is used when the family is created; a later call
 * with the same name and a different type returns NULL. Returns NULL on an invalid name or label
 * string, a type clash, the series limit, or out of memory. */
struct mx_counter *mx_counter_get(struct mx_registry *r, const char *name, const char *help,
                                  const char *labels);
struct mx_gauge *mx_gauge_get(struct mx_registry *r, const char *name, const char *help,
                              const char *labels);
/* bounds: strictly increasing upper bounds (the +Inf bucket is implicit), at most MX_MAX_BUCKETS.
 * The first creation of a family fixes its bounds; later lookups ignore the argument. */
struct mx_histogram *mx_histogram_get(struct mx_registry *r, const char *name, const char *help,
                                      const char *labels, const double *bounds, size_t nbounds);

void mx_counter_add(struct mx_counter *c, uint64_t v);
static inline void mx_counter_inc(struct mx_counter *c)
{
    mx_counter_add(c, 1);
}
uint64_t mx_counter_value(const struct mx_counter *c);

void mx_gauge_set(struct mx_gauge *g, double v);
void mx_gauge_add(struct mx_gauge *g, double v);
double mx_gauge_value(const struct mx_gauge *g);

void mx_histogram_observe(struct mx_histogram *h, double v);
/* Convenience for latencies measured in nanoseconds: observes ns / 1e9 seconds. */
void mx_histogram_observe_ns(struct mx_histogram *h, uint64_t ns);
uint64_t mx_histogram_count(const struct mx_histogram *h);

/* Monotonic clock in nanoseconds, for timing observations. */
uint64_t mx_now_ns(void);

/* Collectors: fn is called during mx_render() to emit computed metrics through the sink.
 * Register returns 0, PLG_ENOMEM or PLG_EEXIST; remove returns 0 or PLG_ENOTFOUND. */
typedef void (*mx_collect_fn)(void *ctx, struct mx_sink *sink);
int mx_collector_add(struct mx_registry *r, mx_collect_fn fn, void *ctx);
int mx_collector_remove(struct mx_registry *r, mx_collect_fn fn, void *ctx);

/* Inside a collector: start a family (HELP and TYPE lines; MX_COUNTER or MX_GAUGE), then emit
 * its samples; samples belong to the last family started. Each collector owns its family names:
 * a name must not also be used by a registered series or by another collector. */
void mx_sink_family(struct mx_sink *s, const char *name, const char *help, enum mx_type type);
void mx_sink_sample(struct mx_sink *s, const char *labels, double value);

/* Appends the whole registry in the Prometheus text format 0.0.4 to out (families in creation
 * order, then collector output). Returns 0 or PLG_ENOMEM. */
int mx_render(struct mx_registry *r, struct buf *out);

/* Writes value escaped for a label value (\\, \", \n) into out (cap bytes, NUL-terminated,
 * truncated if needed). Returns the length written. */
size_t mx_label_escape(char *out, size_t cap, const char *value);

#endif
