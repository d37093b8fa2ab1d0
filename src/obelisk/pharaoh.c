/*
 * pharaoh.c — client of the Pharaoh Network: a list of Obelisk nodes reached over the binary
 * protocol with blocking sockets and per-operation deadlines.
 *
 * IDs: any node will do (node ids keep IDs from different nodes apart), so requests go
 * round-robin and a node that fails (refused, reset, timed out, malformed answer) is marked
 * down for OBL_DOWN_MS and the request moves on to the next node. A call for at least
 * 2 x OBL_SPREAD_MIN IDs is split into one request per live node (parts of at least
 * OBL_SPREAD_MIN), all in flight at once, so one call costs one round trip and the nodes' 4,096
 * IDs/ms each add up; a failed part is retried on the others. Errors a node answers
 * deliberately (bad count, overflow, server I/O error) are returned, not retried elsewhere.
 * Sequences: a sequence is one counter on one node, chosen by rendezvous hashing of the name
 * over the node list, so there is no failover for them (another node's counter of the same name
 * is a different sequence).
 *
 * Thread model: one thread at a time per client handle.
 */
#include "pyralog/obelisk.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "base/buf.h"
#include "base/config.h"
#include "obelisk/proto.h"
#include "pyralog/pyralog.h"

#define OBL_DOWN_MS 500
#define OBL_MAX_NODES 64
/* A call for more IDs than this is spread over several nodes at once (one part each). */
#define OBL_SPREAD_MIN 4096

struct pnode {
    char host[256];
    int port;  /* JSON-RPC */
    int bport; /* binary protocol */
    int fd;
    int64_t down_until;
    struct buf out; /* the request being sent to this node */
    struct buf in;  /* its answer, as far as received */
    uint32_t req_id;
};

struct plg_pharaoh {
    struct pnode *nodes;
    size_t n;
    size_t rr;
    int timeout_ms;
    uint32_t req_id;
    char errmsg[640];
};

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Parses one list entry "H:P" or "H:P/B" (H may be [v6]; an address holds no '/'), with the
 * same host:port parser as the rest of the project. */
static int parse_node(const char *s, size_t len, struct pnode *nd)
{
    char entry[300];
    if (len >= sizeof entry)
        return PLG_EINVAL;
    memcpy(entry, s, len);
    entry[len] = 0;
    char *slash = strchr(entry, '/');
    if (slash)
        *slash = 0;
    if (config_parse_hostport(entry, nd->host, sizeof nd->host, &nd->port) || nd->port < 1)
        return PLG_EINVAL;
    if (slash) {
        int64_t b;
        if (config_parse_int(slash + 1, &b) || b < 1 || b > 65535)
            return PLG_EINVAL;
        nd->bport = (int)b;
    } else {
        if (nd->port == 65535)
            return PLG_EINVAL;
        nd->bport = nd->port + 1;
    }
    nd->fd = -1;
    return 0;
}

int plg_pharaoh_open(const char *nodes, int timeout_ms, plg_pharaoh_t **out)
{
    *out = NULL;
    if (!nodes || !*nodes)
        return PLG_EINVAL;
    struct plg_pharaoh *p = calloc(1, sizeof *p);
    if (!p)
        return PLG_ENOMEM;
    p->timeout_ms = timeout_ms > 0 ? timeout_ms : 2000;
    p->nodes = calloc(OBL_MAX_NODES, sizeof *p->nodes);
    if (!p->nodes) {
        free(p);
        return PLG_ENOMEM;
    }
    const char *s = nodes;
    for (;;) {
        const char *comma = strchr(s, ',');
        size_t len = comma ? (size_t)(comma - s) : strlen(s);
        if (p->n == OBL_MAX_NODES || parse_node(s, len, &p->nodes[p->n])) {
            plg_pharaoh_close(p);
            return PLG_EINVAL;
        }
        p->n++;
        if (!comma)
            break;
        s = comma + 1;
    }
    p->rr = (size_t)getpid() % p->n; /* different processes start on different nodes */
    *out = p;
    return 0;
}

void plg_pharaoh_close(plg_pharaoh_t *p)
{
    if (!p)
        return;
    for (size_t i = 0; i < p->n; i++) {
        if (p->nodes[i].fd >= 0)
            close(p->nodes[i].fd);
        buf_free(&p->nodes[i].out);
        buf_free(&p->nodes[i].in);
    }
    free(p->nodes);
    free(p);
}

const char *plg_pharaoh_errmsg(const plg_pharaoh_t *p)
{
    return p->errmsg;
}

static void node_fail(struct pnode *nd)
{
    if (nd->fd >= 0)
        close(nd->fd);
    nd->fd = -1;
    nd->down_until = mono_ms() + OBL_DOWN_MS;
}

static int wait_fd(int fd, short ev, int64_t deadline)
{
    for (;;) {
        int64_t left = deadline - mono_ms();
        if (left <= 0)
            return PLG_ETIMEDOUT;
        struct pollfd pfd = {fd, ev, 0};
        int r = poll(&pfd, 1, (int)left);
        if (r > 0)
            return 0;
        if (r < 0 && errno != EINTR)
            return -errno;
    }
}

static int node_connect(struct pnode *nd, int64_t deadline)
{
    char port[8];
    snprintf(port, sizeof port, "%d", nd->bport);
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *ai;
    if (getaddrinfo(nd->host, port, &hints, &ai))
        return -EHOSTUNREACH;
    int rc = -ECONNREFUSED;
    for (struct addrinfo *a = ai; a; a = a->ai_next) {
        int fd = socket(a->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (fd < 0) {
            rc = -errno;
            continue;
        }
        if (connect(fd, a->ai_addr, a->ai_addrlen) && errno != EINPROGRESS) {
            rc = -errno;
            close(fd);
            continue;
        }
        rc = wait_fd(fd, POLLOUT, deadline);
        int err = 0;
        socklen_t el = sizeof err;
        if (!rc && getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &el) == 0 && err)
            rc = -err;
        if (rc) {
            close(fd);
            continue;
        }
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        nd->fd = fd;
        break;
    }
    freeaddrinfo(ai);
    return rc;
}

/* Sends nd->out (connecting first when needed) and clears nd->in for the answer. */
static int node_send(struct pnode *nd, int64_t deadline)
{
    int rc = 0;
    if (nd->fd < 0 && (rc = node_connect(nd, deadline)))
        return rc;
    size_t off = 0;
    while (off < nd->out.len) {
        ssize_t w = send(nd->fd, nd->out.data + off, nd->out.len - off, MSG_NOSIGNAL);
        if (w > 0) {
            off += (size_t)w;
            continue;
        }
        if (w < 0 && errno != EAGAIN && errno != EINTR)
            return -errno;
        if ((rc = wait_fd(nd->fd, POLLOUT, deadline)))
            return rc;
    }
    buf_reset(&nd->in);
    return 0;
}

/* The answer in nd->in, once complete: 0 with *resp decoded (its runs point into nd->in),
 * PLG_ETRUNC while more bytes are needed, another code for a bad answer. */
static int node_answer(const struct pnode *nd, struct obl_resp *resp)
{
    const uint8_t *body;
    size_t blen, used;
    int rc = obl_frame(nd->in.data, nd->in.len, OBL_MAX_RESP, &body, &blen, &used);
    if (rc)
        return rc;
    rc = obl_resp_decode(body, blen, resp);
    if (rc || resp->req_id != nd->req_id || used != nd->in.len)
        return PLG_ECORRUPT;
    return 0;
}

/* One recv into nd->in (the socket is readable): 0, or -ECONNRESET / -errno. */
static int node_recv(struct pnode *nd)
{
    uint8_t *dst = buf_reserve(&nd->in, 4096);
    if (!dst)
        return PLG_ENOMEM;
    ssize_t r = recv(nd->fd, dst, 4096, 0);
    if (r > 0) {
        nd->in.len += (size_t)r;
        return 0;
    }
    if (r == 0)
        return -ECONNRESET;
    return errno == EAGAIN || errno == EINTR ? 0 : -errno;
}

/* Sends nd->out to the node and reads one response frame into *resp (body inside nd->in). */
static int round_trip(struct plg_pharaoh *p, struct pnode *nd, struct obl_resp *resp)
{
    int64_t deadline = mono_ms() + p->timeout_ms;
    int rc = node_send(nd, deadline);
    while (!rc) {
        /* Wait first: the answer to what was just sent is never already there, so a recv()
         * before poll() would be one more syscall per request that returns EAGAIN. */
        if ((rc = wait_fd(nd->fd, POLLIN, deadline)) || (rc = node_recv(nd)))
            break;
        rc = node_answer(nd, resp);
        if (rc != PLG_ETRUNC)
            return rc;
        rc = 0;
    }
    return rc;
}

/* Encodes a request for node nd: an IDS request when name is NULL, else a SEQ request. */
static int node_encode(struct plg_pharaoh *p, struct pnode *nd, const char *name, uint64_t n)
{
    buf_reset(&nd->out);
    nd->req_id = ++p->req_id;
    if (name)
        obl_req_seq_encode(&nd->out, nd->req_id, name, n);
    else
        obl_req_ids_encode(&nd->out, nd->req_id, (uint32_t)n);
    return nd->out.oom ? PLG_ENOMEM : 0;
}

/* dst[j] = first + j for j < len. This is the only per-ID work of the client. A scalar loop
 * costs ~4 instructions per ID and gcc -O2's cheap cost model does not vectorise it (unknown
 * trip count), so it is written with two-lane vectors (gcc/clang vector extension): 7
 * instructions per 4 IDs. */
typedef uint64_t u64x2 __attribute__((vector_size(16)));

static void ids_fill(uint64_t *dst, uint64_t first, size_t len)
{
    size_t j = 0;
    u64x2 a = {first, first + 1}, b = {first + 2, first + 3}, step = {4, 4};
    for (; j + 4 <= len; j += 4) {
        memcpy(dst + j, &a, sizeof a);
        memcpy(dst + j + 2, &b, sizeof b);
        a += step;
        b += step;
    }
    for (; j < len; j++)
        dst[j] = first + j;
}

/* Expands the runs of an IDS answer of `want` IDs into ids[0..want). */
static int copy_runs(const struct obl_resp *resp, uint32_t want, uint64_t *ids)
{
    if (resp->op != OBL_OP_IDS || resp->count != want)
        return PLG_ECORRUPT;
    size_t done = 0; /* the decoder checked that the run lengths sum to count */
    for (size_t r = 0; r < resp->nruns; r++) {
        struct obl_run run = obl_resp_run(resp, r);
        ids_fill(ids + done, run.first, run.len);
        done += run.len;
    }
    return 0;
}

static int status_rc(uint8_t st)
{
    switch (st) {
    case OBL_ST_BAD_COUNT:
        return PLG_ERANGE;
    case OBL_ST_BAD_NAME:
    case OBL_ST_BAD_REQUEST:
        return PLG_EINVAL;
    case OBL_ST_UNKNOWN_OP:
        return PLG_EUNSUPP;
    case OBL_ST_OVERFLOW:
        return PLG_EOVERFLOW;
    default:
        return -EIO;
    }
}

/* A transport failure of node nd (refused, reset, timed out, bad answer): noted, node down. */
static int node_transport_failed(struct plg_pharaoh *p, struct pnode *nd, int rc)
{
    snprintf(p->errmsg, sizeof p->errmsg, "obelisk node %s:%d (binary %d): %s", nd->host, nd->port,
             nd->bport, plg_strerror(rc));
    node_fail(nd);
    return rc;
}

/* The code for an answer's status (0 for OK), noting the node's message. */
static int node_status(struct plg_pharaoh *p, const struct pnode *nd, const struct obl_resp *resp)
{
    if (resp->status == OBL_ST_OK)
        return 0;
    snprintf(p->errmsg, sizeof p->errmsg, "obelisk node %s:%d: %s", nd->host, nd->port,
             resp->message);
    return status_rc(resp->status);
}

/* One request to node i: encoded for it, sent, answered. Transport failures mark the node
 * down and return a negative code with *transport = 1. */
static int node_call(struct plg_pharaoh *p, size_t i, const char *name, uint64_t n,
                     struct obl_resp *resp, int *transport)
{
    struct pnode *nd = &p->nodes[i];
    *transport = 0;
    int rc = node_encode(p, nd, name, n);
    if (rc)
        return rc;
    if ((rc = round_trip(p, nd, resp))) {
        *transport = 1;
        return node_transport_failed(p, nd, rc);
    }
    return node_status(p, nd, resp);
}

/* want (<= OBL_MAX_IDS) IDs from one node, round-robin, failing over to the next. */
static int ids_one(struct plg_pharaoh *p, uint64_t *ids, uint32_t want)
{
    int rc = -ECONNREFUSED;
    size_t start = p->rr++ % p->n;
    int64_t now = mono_ms();
    /* Two passes: first skip nodes marked down, then try them too. */
    for (int pass = 0; pass < 2; pass++) {
        for (size_t k = 0; k < p->n; k++) {
            size_t i = (start + k) % p->n;
            if ((p->nodes[i].down_until > now) != pass)
                continue;
            struct obl_resp resp;
            int transport;
            rc = node_call(p, i, NULL, want, &resp, &transport);
            if (transport || rc == -EIO)
                continue; /* unreachable, or failing on its side: try the next node */
            return rc ? rc : copy_runs(&resp, want, ids);
        }
    }
    return rc;
}

/* One part of a spread call: `n` IDs into ids[off..) from node `node`. */
struct part {
    size_t node;
    size_t off;
    uint32_t n;
    int state; /* 0 in flight, 1 answered, -1 to be retried through ids_one */
};

/* n IDs (<= k * OBL_MAX_IDS) as k requests to k different nodes, all in flight at once: the
 * client then waits for one round trip instead of k, and the nodes work in parallel. A part
 * whose node fails (transport, or a server-side error) is retried through ids_one (failover);
 * a deliberate error answer (count, overflow) is returned. */
static int ids_spread(struct plg_pharaoh *p, uint64_t *ids, size_t n, size_t k)
{
    struct part parts[OBL_MAX_NODES];
    struct pollfd pfd[OBL_MAX_NODES];
    int64_t now = mono_ms(), deadline = now + p->timeout_ms;
    size_t start = p->rr, np = 0, off = 0, open = 0;
    for (size_t j = 0; j < p->n && np < k; j++) {
        size_t i = (start + j) % p->n;
        if (p->nodes[i].down_until <= now)
            parts[np++].node = i;
    }
    p->rr = start + np;
    if (np < 2 || n > np * OBL_MAX_IDS)
        return PLG_ESTATE; /* the caller counted k live nodes a moment ago */
    for (size_t j = 0; j < np; j++) {
        struct pnode *nd = &p->nodes[parts[j].node];
        parts[j].off = off;
        parts[j].n = (uint32_t)(n / np + (j < n % np));
        parts[j].state = 0;
        off += parts[j].n;
        int rc = node_encode(p, nd, NULL, parts[j].n);
        if (rc)
            return rc;
        if ((rc = node_send(nd, deadline))) {
            node_transport_failed(p, nd, rc);
            parts[j].state = -1;
        } else {
            open++;
        }
    }
    int rc = 0;
    while (open && !rc) {
        size_t map[OBL_MAX_NODES], m = 0;
        for (size_t j = 0; j < np; j++)
            if (parts[j].state == 0) {
                pfd[m] = (struct pollfd){p->nodes[parts[j].node].fd, POLLIN, 0};
                map[m++] = j;
            }
        int64_t left = deadline - mono_ms();
        int r = left > 0 ? poll(pfd, m, (int)left) : 0;
        if (r < 0 && errno == EINTR)
            continue;
        for (size_t x = 0; x < m; x++) {
            struct part *pt = &parts[map[x]];
            struct pnode *nd = &p->nodes[pt->node];
            int e = r <= 0 ? (r == 0 ? PLG_ETIMEDOUT : -errno) : 0;
            if (!e && !pfd[x].revents)
                continue;
            struct obl_resp resp;
            if (!e && !(e = node_recv(nd)) && (e = node_answer(nd, &resp)) == PLG_ETRUNC)
                continue;
            open--;
            pt->state = -1;
            if (e) {
                node_transport_failed(p, nd, e);
                continue;
            }
            int st = node_status(p, nd, &resp);
            if (st == -EIO)
                continue; /* failing on its side: retried elsewhere */
            if (!st)
                st = copy_runs(&resp, pt->n, ids + pt->off);
            if (st && !rc)
                rc = st;
            pt->state = st ? -1 : 1;
        }
    }
    for (size_t j = 0; j < np; j++) {
        struct pnode *nd = &p->nodes[parts[j].node];
        if (parts[j].state == 0 && nd->fd >= 0) { /* answer abandoned: the stream is useless */
            close(nd->fd);
            nd->fd = -1;
        }
    }
    for (size_t j = 0; j < np && !rc; j++)
        if (parts[j].state < 0)
            rc = ids_one(p, ids + parts[j].off, parts[j].n);
    return rc;
}

int plg_pharaoh_ids(plg_pharaoh_t *p, uint64_t *ids, size_t n)
{
    p->errmsg[0] = 0;
    size_t done = 0;
    while (done < n) {
        size_t left = n - done, live = 0;
        int64_t now = mono_ms();
        for (size_t i = 0; i < p->n; i++)
            live += p->nodes[i].down_until <= now;
        /* Spread over as many live nodes as there are OBL_SPREAD_MIN-ID parts. */
        size_t k = (left + OBL_SPREAD_MIN - 1) / OBL_SPREAD_MIN;
        if (k > live)
            k = live;
        int rc;
        size_t take;
        if (k >= 2) {
            take = left < k * OBL_MAX_IDS ? left : k * OBL_MAX_IDS;
            rc = ids_spread(p, ids + done, take, k);
        } else {
            take = left < OBL_MAX_IDS ? left : OBL_MAX_IDS;
            rc = ids_one(p, ids + done, (uint32_t)take);
        }
        if (rc)
            return rc;
        done += take;
    }
    return 0;
}

/* FNV-1a over the node address and the name, then a final mix: rendezvous hashing. */
static uint64_t rv_hash(const struct pnode *nd, const char *name)
{
    char key[300];
    snprintf(key, sizeof key, "%s:%d/%s", nd->host, nd->port, name);
    uint64_t h = 0xcbf29ce484222325ULL;
    for (const char *c = key; *c; c++)
        h = (h ^ (uint8_t)*c) * 0x100000001b3ULL;
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdULL;
    h ^= h >> 33;
    return h;
}

int plg_pharaoh_seq(plg_pharaoh_t *p, const char *name, uint64_t n, uint64_t *first)
{
    p->errmsg[0] = 0;
    if (plg_obelisk_name_check(name))
        return PLG_EINVAL;
    if (n == 0 || n > OBL_MAX_SEQ_COUNT)
        return PLG_ERANGE;
    size_t best = 0;
    uint64_t best_h = 0;
    for (size_t i = 0; i < p->n; i++) {
        uint64_t h = rv_hash(&p->nodes[i], name);
        if (i == 0 || h > best_h) {
            best = i;
            best_h = h;
        }
    }
    struct obl_resp resp;
    int transport;
    int rc = node_call(p, best, name, n, &resp, &transport);
    if (rc)
        return rc;
    if (resp.op != OBL_OP_SEQ || resp.seq_count != n)
        return PLG_ECORRUPT;
    *first = resp.seq_first;
    return 0;
}
