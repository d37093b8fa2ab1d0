/*
 * metrics.c — metrics registry and Prometheus text rendering (see metrics.h).
 *
 * Layout: a registry holds an array of families; a family holds an array of series pointers.
 * Series are allocated one by one and never moved, so the pointers given to callers stay valid.
 * Counter and histogram bucket values are _Atomic uint64_t; gauge values and histogram sums are
 * doubles stored as their bit patterns in _Atomic uint64_t and updated with a CAS loop.
 */
#include "base/metrics.h"

#include <dirent.h>
#include <inttypes.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "base/log.h"

const double MX_LATENCY_BUCKETS[] = {0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01,
                                     0.025,   0.05,   0.1,     0.25,   0.5,   1,      10};
const size_t MX_LATENCY_BUCKETS_N = sizeof MX_LATENCY_BUCKETS / sizeof MX_LATENCY_BUCKETS[0];
const double MX_SIZE_BUCKETS[] = {64,     256,     1024,    4096,     16384,   65536,
                                  262144, 1048576, 4194304, 16777216, 67108864};
const size_t MX_SIZE_BUCKETS_N = sizeof MX_SIZE_BUCKETS / sizeof MX_SIZE_BUCKETS[0];

struct mx_counter {
    _Atomic uint64_t v;
};

struct mx_gauge {
    _Atomic uint64_t bits; /* a double */
};

struct mx_histogram {
    const struct family *fam;
    _Atomic uint64_t count;
    _Atomic uint64_t sum_bits;                /* a double */
    _Atomic uint64_t buckets[MX_MAX_BUCKETS]; /* non-cumulative counts per bound */
};

struct series {
    char *labels; /* "" when none */
    union {
        struct mx_counter c;
        struct mx_gauge g;
        struct mx_histogram h;
    } u;
};

struct family {
    char *name;
    char *help;
    enum mx_type type;
    double bounds[MX_MAX_BUCKETS];
    size_t nbounds;
    struct series *series[MX_MAX_SERIES];
    size_t nseries;
    bool warned;
};

struct collector {
    mx_collect_fn fn;
    void *ctx;
};

struct mx_registry {
    pthread_mutex_t mu;
    struct family **fams;
    size_t nfams, capfams;
    struct collector *cols;
    size_t ncols, capcols;
};

struct mx_sink {
    struct buf *out;
    bool in_family;
    char name[128];
};

static uint64_t dbits(double d)
{
    uint64_t u;
    memcpy(&u, &d, sizeof u);
    return u;
}

static double bitsd(uint64_t u)
{
    double d;
    memcpy(&d, &u, sizeof d);
    return d;
}

static void atomic_add_double(_Atomic uint64_t *a, double v)
{
    uint64_t old = atomic_load_explicit(a, memory_order_relaxed);
    while (!atomic_compare_exchange_weak_explicit(a, &old, dbits(bitsd(old) + v),
                                                  memory_order_relaxed, memory_order_relaxed))
        ;
}

uint64_t mx_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* ---- validation ---- */

static bool name_ok(const char *s)
{
    if (!s || !*s)
        return false;
    for (size_t i = 0; s[i]; i++) {
        char c = s[i];
        bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':';
        if (!alpha && !(i > 0 && c >= '0' && c <= '9'))
            return false;
    }
    return true;
}

/* Label string: name="value"(,name="value")* with \\ \" \n escapes inside values. The names
 * "le" and "quantile" are reserved, as are names starting with "__". */
static bool labels_ok(const char *s)
{
    if (!s || !*s)
        return true;
    const char *p = s;
    for (;;) {
        const char *n = p;
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || *p == '_'))
            return false;
        while ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || *p == '_' ||
               (*p >= '0' && *p <= '9'))
            p++;
        size_t nl = (size_t)(p - n);
        if ((nl == 2 && !strncmp(n, "le", 2)) || (nl == 8 && !strncmp(n, "quantile", 8)) ||
            (nl >= 2 && n[0] == '_' && n[1] == '_'))
            return false;
        if (*p++ != '=' || *p++ != '"')
            return false;
        while (*p && *p != '"') {
            if (*p == '\n')
                return false;
            if (*p == '\\') {
                p++;
                if (*p != '\\' && *p != '"' && *p != 'n')
                    return false;
            }
            p++;
        }
        if (*p++ != '"')
            return false;
        if (!*p)
            return true;
        if (*p++ != ',')
            return false;
    }
}

size_t mx_label_escape(char *out, size_t cap, const char *value)
{
    size_t n = 0;
    if (!cap)
        return 0;
    for (const char *p = value; p && *p; p++) {
        const char *rep = NULL;
        char one[2] = {*p, 0};
        if (*p == '\\')
            rep = "\\\\";
        else if (*p == '"')
            rep = "\\\"";
        else if (*p == '\n')
            rep = "\\n";
        else
            rep = one;
        size_t rl = strlen(rep);
        if (n + rl >= cap)
            break;
        memcpy(out + n, rep, rl);
        n += rl;
    }
    out[n] = 0;
    return n;
}

/* ---- registry ---- */

int mx_registry_new(struct mx_registry **out)
{
    struct mx_registry *r = calloc(1, sizeof *r);
    if (!r)
        return PLG_ENOMEM;
    pthread_mutex_init(&r->mu, NULL);
    *out = r;
    return 0;
}

void mx_registry_free(struct mx_registry *r)
{
    if (!r)
        return;
    for (size_t i = 0; i < r->nfams; i++) {
        struct family *f = r->fams[i];
        for (size_t j = 0; j < f->nseries; j++) {
            free(f->series[j]->labels);
            free(f->series[j]);
        }
        free(f->name);
        free(f->help);
        free(f);
    }
    free(r->fams);
    free(r->cols);
    pthread_mutex_destroy(&r->mu);
    free(r);
}

static void process_collect(void *ctx, struct mx_sink *s);

static struct mx_registry *g_default;
static pthread_mutex_t g_default_mu = PTHREAD_MUTEX_INITIALIZER;
static double g_start_time;

struct mx_registry *mx_default(void)
{
    pthread_mutex_lock(&g_default_mu);
    if (!g_default) {
        if (g_start_time == 0) {
            struct timespec ts;
            clock_gettime(CLOCK_REALTIME, &ts);
            g_start_time = (double)ts.tv_sec + ts.tv_nsec / 1e9;
        }
        if (mx_registry_new(&g_default) == 0)
            mx_collector_add(g_default, process_collect, NULL);
    }
    struct mx_registry *r = g_default;
    pthread_mutex_unlock(&g_default_mu);
    return r;
}

void mx_default_free(void)
{
    pthread_mutex_lock(&g_default_mu);
    mx_registry_free(g_default);
    g_default = NULL;
    pthread_mutex_unlock(&g_default_mu);
}

static struct family *family_find(struct mx_registry *r, const char *name)
{
    for (size_t i = 0; i < r->nfams; i++)
        if (!strcmp(r->fams[i]->name, name))
            return r->fams[i];
    return NULL;
}

static struct family *family_new(struct mx_registry *r, const char *name, const char *help,
                                 enum mx_type type)
{
    if (r->nfams == r->capfams) {
        size_t cap = r->capfams ? r->capfams * 2 : 32;
        struct family **f = realloc(r->fams, cap * sizeof *f);
        if (!f)
            return NULL;
        r->fams = f;
        r->capfams = cap;
    }
    struct family *f = calloc(1, sizeof *f);
    if (!f)
        return NULL;
    f->name = strdup(name);
    f->help = strdup(help ? help : "");
    if (!f->name || !f->help) {
        free(f->name);
        free(f->help);
        free(f);
        return NULL;
    }
    f->type = type;
    r->fams[r->nfams++] = f;
    return f;
}

static struct series *series_get(struct mx_registry *r, const char *name, const char *help,
                                 const char *labels, enum mx_type type, const double *bounds,
                                 size_t nbounds)
{
    if (!r || !name_ok(name) || !labels_ok(labels))
        return NULL;
    if (!labels)
        labels = "";
    if (type == MX_HISTOGRAM) {
        if (!bounds || nbounds == 0 || nbounds > MX_MAX_BUCKETS)
            return NULL;
        for (size_t i = 1; i < nbounds; i++)
            if (!(bounds[i] > bounds[i - 1]))
                return NULL;
    }
    struct series *s = NULL;
    pthread_mutex_lock(&r->mu);
    struct family *f = family_find(r, name);
    if (!f) {
        f = family_new(r, name, help, type);
        if (f && type == MX_HISTOGRAM) {
            memcpy(f->bounds, bounds, nbounds * sizeof *bounds);
            f->nbounds = nbounds;
        }
    }
    if (!f || f->type != type)
        goto out;
    for (size_t i = 0; i < f->nseries; i++)
        if (!strcmp(f->series[i]->labels, labels)) {
            s = f->series[i];
            goto out;
        }
    if (f->nseries == MX_MAX_SERIES) {
        if (!f->warned)
            PLG_WARN("metrics",
                     "msg=\"series limit reached, new label sets dropped\" name=%s "
                     "limit=%d",
                     name, MX_MAX_SERIES);
        f->warned = true;
        goto out;
    }
    s = calloc(1, sizeof *s);
    if (!s)
        goto out;
    s->labels = strdup(labels);
    if (!s->labels) {
        free(s);
        s = NULL;
        goto out;
    }
    if (type == MX_HISTOGRAM)
        s->u.h.fam = f;
    f->series[f->nseries++] = s;
out:
    pthread_mutex_unlock(&r->mu);
    return s;
}

struct mx_counter *mx_counter_get(struct mx_registry *r, const char *name, const char *help,
                                  const char *labels)
{
    struct series *s = series_get(r, name, help, labels, MX_COUNTER, NULL, 0);
    return s ? &s->u.c : NULL;
}

struct mx_gauge *mx_gauge_get(struct mx_registry *r, const char *name, const char *help,
                              const char *labels)
{
    struct series *s = series_get(r, name, help, labels, MX_GAUGE, NULL, 0);
    return s ? &s->u.g : NULL;
}

struct mx_histogram *mx_histogram_get(struct mx_registry *r, const char *name, const char *help,
                                      const char *labels, const double *bounds, size_t nbounds)
{
    struct series *s = series_get(r, name, help, labels, MX_HISTOGRAM, bounds, nbounds);
    return s ? &s->u.h : NULL;
}

/* ---- updates ---- */

void mx_counter_add(struct mx_counter *c, uint64_t v)
{
    if (c)
        atomic_fetch_add_explicit(&c->v, v, memory_order_relaxed);
}

uint64_t mx_counter_value(const struct mx_counter *c)
{
    return c ? atomic_load_explicit(&((struct mx_counter *)c)->v, memory_order_relaxed) : 0;
}

void mx_gauge_set(struct mx_gauge *g, double v)
{
    if (g)
        atomic_store_explicit(&g->bits, dbits(v), memory_order_relaxed);
}

void mx_gauge_add(struct mx_gauge *g, double v)
{
    if (g)
        atomic_add_double(&g->bits, v);
}

double mx_gauge_value(const struct mx_gauge *g)
{
    return g ? bitsd(atomic_load_explicit(&((struct mx_gauge *)g)->bits, memory_order_relaxed)) : 0;
}

void mx_histogram_observe(struct mx_histogram *h, double v)
{
    if (!h || isnan(v))
        return;
    const struct family *f = h->fam;
    size_t i = 0;
    while (i < f->nbounds && v > f->bounds[i])
        i++;
    if (i < f->nbounds)
        atomic_fetch_add_explicit(&h->buckets[i], 1, memory_order_relaxed);
    atomic_add_double(&h->sum_bits, v);
    atomic_fetch_add_explicit(&h->count, 1, memory_order_relaxed);
}

void mx_histogram_observe_ns(struct mx_histogram *h, uint64_t ns)
{
    mx_histogram_observe(h, (double)ns / 1e9);
}

uint64_t mx_histogram_count(const struct mx_histogram *h)
{
    return h ? atomic_load_explicit(&((struct mx_histogram *)h)->count, memory_order_relaxed) : 0;
}

/* ---- collectors ---- */

int mx_collector_add(struct mx_registry *r, mx_collect_fn fn, void *ctx)
{
    int rc = 0;
    pthread_mutex_lock(&r->mu);
    for (size_t i = 0; i < r->ncols; i++)
        if (r->cols[i].fn == fn && r->cols[i].ctx == ctx) {
            rc = PLG_EEXIST;
            goto out;
        }
    if (r->ncols == r->capcols) {
        size_t cap = r->capcols ? r->capcols * 2 : 8;
        struct collector *c = realloc(r->cols, cap * sizeof *c);
        if (!c) {
            rc = PLG_ENOMEM;
            goto out;
        }
        r->cols = c;
        r->capcols = cap;
    }
    r->cols[r->ncols++] = (struct collector){fn, ctx};
out:
    pthread_mutex_unlock(&r->mu);
    return rc;
}

int mx_collector_remove(struct mx_registry *r, mx_collect_fn fn, void *ctx)
{
    int rc = PLG_ENOTFOUND;
    pthread_mutex_lock(&r->mu);
    for (size_t i = 0; i < r->ncols; i++)
        if (r->cols[i].fn == fn && r->cols[i].ctx == ctx) {
            memmove(&r->cols[i], &r->cols[i + 1], (r->ncols - i - 1) * sizeof r->cols[0]);
            r->ncols--;
            rc = 0;
            break;
        }
    pthread_mutex_unlock(&r->mu);
    return rc;
}

/* ---- rendering ---- */

static void put_str(struct buf *b, const char *s)
{
    buf_put(b, s, strlen(s));
}

static void put_fmt(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void put_fmt(struct buf *b, const char *fmt, ...)
{
    char tmp[128];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (n > 0)
        buf_put(b, tmp, (size_t)n < sizeof tmp ? (size_t)n : sizeof tmp - 1);
}

static void put_double(struct buf *b, double v)
{
    if (isnan(v))
        put_str(b, "NaN");
    else if (isinf(v))
        put_str(b, v > 0 ? "+Inf" : "-Inf");
    else if (v == (double)(int64_t)v && fabs(v) < 9e15)
        put_fmt(b, "%" PRId64, (int64_t)v);
    else {
        /* Shortest of 15 or 17 significant digits that reads back as the same double. */
        char tmp[40];
        snprintf(tmp, sizeof tmp, "%.15g", v);
        if (strtod(tmp, NULL) != v)
            snprintf(tmp, sizeof tmp, "%.17g", v);
        put_str(b, tmp);
    }
}

static void put_header(struct buf *b, const char *name, const char *help, enum mx_type type)
{
    put_str(b, "# HELP ");
    put_str(b, name);
    put_str(b, " ");
    for (const char *p = help; *p; p++) {
        if (*p == '\\')
            put_str(b, "\\\\");
        else if (*p == '\n')
            put_str(b, "\\n");
        else
            buf_u8(b, (uint8_t)*p);
    }
    put_str(b, "\n# TYPE ");
    put_str(b, name);
    put_str(b, type == MX_COUNTER ? " counter\n" : type == MX_GAUGE ? " gauge\n" : " histogram\n");
}

/* name{labels[,extra]} — extra is an already formatted label pair or NULL. */
static void put_name(struct buf *b, const char *name, const char *suffix, const char *labels,
                     const char *extra)
{
    put_str(b, name);
    if (suffix)
        put_str(b, suffix);
    bool l = labels && *labels;
    if (!l && !extra) {
        buf_u8(b, ' ');
        return;
    }
    buf_u8(b, '{');
    if (l)
        put_str(b, labels);
    if (extra) {
        if (l)
            buf_u8(b, ',');
        put_str(b, extra);
    }
    put_str(b, "} ");
}

static void render_family(struct buf *b, const struct family *f)
{
    if (f->nseries == 0)
        return;
    put_header(b, f->name, f->help, f->type);
    for (size_t i = 0; i < f->nseries; i++) {
        struct series *s = f->series[i];
        if (f->type == MX_COUNTER) {
            put_name(b, f->name, NULL, s->labels, NULL);
            put_fmt(b, "%" PRIu64 "\n", mx_counter_value(&s->u.c));
        } else if (f->type == MX_GAUGE) {
            put_name(b, f->name, NULL, s->labels, NULL);
            put_double(b, mx_gauge_value(&s->u.g));
            buf_u8(b, '\n');
        } else {
            /* Read count first: concurrent observers may make buckets run slightly ahead of
             * count; clamp so the output stays self-consistent (cumulative, +Inf == count). */
            struct mx_histogram *h = &s->u.h;
            uint64_t count = atomic_load_explicit(&h->count, memory_order_relaxed);
            double sum = bitsd(atomic_load_explicit(&h->sum_bits, memory_order_relaxed));
            uint64_t cum = 0;
            for (size_t k = 0; k < f->nbounds; k++) {
                cum += atomic_load_explicit(&h->buckets[k], memory_order_relaxed);
                if (cum > count)
                    cum = count;
                char le[48];
                char num[40];
                if (f->bounds[k] == (double)(int64_t)f->bounds[k])
                    snprintf(num, sizeof num, "%" PRId64, (int64_t)f->bounds[k]);
                else
                    snprintf(num, sizeof num, "%.17g", f->bounds[k]);
                snprintf(le, sizeof le, "le=\"%s\"", num);
                put_name(b, f->name, "_bucket", s->labels, le);
                put_fmt(b, "%" PRIu64 "\n", cum);
            }
            put_name(b, f->name, "_bucket", s->labels, "le=\"+Inf\"");
            put_fmt(b, "%" PRIu64 "\n", count);
            put_name(b, f->name, "_sum", s->labels, NULL);
            put_double(b, sum);
            buf_u8(b, '\n');
            put_name(b, f->name, "_count", s->labels, NULL);
            put_fmt(b, "%" PRIu64 "\n", count);
        }
    }
}

void mx_sink_family(struct mx_sink *s, const char *name, const char *help, enum mx_type type)
{
    if (!name_ok(name) || type == MX_HISTOGRAM) {
        s->in_family = false;
        return;
    }
    put_header(s->out, name, help ? help : "", type);
    s->in_family = strlen(name) < sizeof s->name;
    snprintf(s->name, sizeof s->name, "%s", name);
}

void mx_sink_sample(struct mx_sink *s, const char *labels, double value)
{
    if (!s->in_family || !labels_ok(labels))
        return;
    put_name(s->out, s->name, NULL, labels, NULL);
    put_double(s->out, value);
    buf_u8(s->out, '\n');
}

int mx_render(struct mx_registry *r, struct buf *out)
{
    pthread_mutex_lock(&r->mu);
    for (size_t i = 0; i < r->nfams; i++)
        render_family(out, r->fams[i]);
    struct mx_sink sink = {.out = out};
    for (size_t i = 0; i < r->ncols; i++) {
        sink.in_family = false;
        r->cols[i].fn(r->cols[i].ctx, &sink);
    }
    pthread_mutex_unlock(&r->mu);
    return out->oom ? PLG_ENOMEM : 0;
}

/* ---- the process collector ---- */

static void process_collect(void *ctx, struct mx_sink *s)
{
    (void)ctx;
    struct rusage ru;
    if (getrusage(RUSAGE_SELF, &ru) == 0) {
        double cpu = (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 +
                     (double)ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
        mx_sink_family(s, "pyralog_process_cpu_seconds_total",
                       "User and system CPU time spent by the process, in seconds.", MX_COUNTER);
        mx_sink_sample(s, NULL, cpu);
    }
    FILE *f = fopen("/proc/self/statm", "r");
    if (f) {
        unsigned long size, resident;
        if (fscanf(f, "%lu %lu", &size, &resident) == 2) {
            double page = (double)sysconf(_SC_PAGESIZE);
            mx_sink_family(s, "pyralog_process_resident_memory_bytes",
                           "Resident set size of the process, in bytes.", MX_GAUGE);
            mx_sink_sample(s, NULL, (double)resident * page);
            mx_sink_family(s, "pyralog_process_virtual_memory_bytes",
                           "Virtual memory size of the process, in bytes.", MX_GAUGE);
            mx_sink_sample(s, NULL, (double)size * page);
        }
        fclose(f);
    }
    DIR *d = opendir("/proc/self/fd");
    if (d) {
        long n = 0;
        struct dirent *e;
        while ((e = readdir(d)))
            if (e->d_name[0] != '.')
                n++;
        closedir(d);
        mx_sink_family(s, "pyralog_process_open_fds", "Open file descriptors of the process.",
                       MX_GAUGE);
        mx_sink_sample(s, NULL, (double)(n - 1)); /* minus the one opendir holds */
    }
    mx_sink_family(s, "pyralog_process_start_time_seconds",
                   "Start time of the process since the Unix epoch, in seconds.", MX_GAUGE);
    mx_sink_sample(s, NULL, g_start_time);
}
