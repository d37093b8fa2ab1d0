/*
 * obelisk_crash.c — crash test of Scarab IDs and Obelisk sequences under SIGKILL.
 *
 * usage: obelisk_crash DIR [--rounds N] [--max-ms M] [--seed S]
 *
 * Each round forks a child that opens the Obelisk service of DIR/node<k> (node ids 1 and 2
 * alternate), takes Scarab IDs and sequence values as fast as it can and reports every returned
 * value through a pipe (fixed 24-byte records, written in chunks below PIPE_BUF so they are
 * atomic). The parent SIGKILLs the child at a random moment (counted from the fork in one round
 * of five, else from the child's "ready" record) and checks, across all rounds:
 * IDs of a node strictly increase (so they never repeat) and carry that node's id; sequence
 * ranges of a node never overlap and increase. Rounds vary the child's injected clock: real,
 * offset seconds into the past, stepping back mid-run, and frozen (4096-per-ms exhaustion),
 * and the sequence lease (1, 10, 1000). Exit 0 when every check held, 1 otherwise.
 */
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "obelisk/service.h"
#include "pyralog/obelisk.h"
#include "pyralog/pyralog.h"

enum { REC_ID = 1, REC_SEQ = 2, REC_READY = 3 };
struct rec {
    uint32_t kind;
    uint32_t node;
    uint64_t value;
    uint64_t count;
};

enum clock_mode { CLK_REAL, CLK_PAST, CLK_STEP_BACK, CLK_FROZEN, CLK_MODES };

struct child_clock {
    enum clock_mode mode;
    int64_t offset;  /* CLK_PAST: added to real time */
    int64_t t_start; /* real time at child start */
    int64_t frozen;  /* CLK_FROZEN: the time */
};

static int64_t real_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int64_t child_now(void *ctx)
{
    struct child_clock *c = ctx;
    int64_t now = real_ms();
    switch (c->mode) {
    case CLK_PAST:
        return now + c->offset;
    case CLK_STEP_BACK: /* after 20 ms the clock jumps 3 s back */
        return now - c->t_start > 20 ? now - 3000 : now;
    case CLK_FROZEN:
        return c->frozen;
    default:
        return now;
    }
}

static void write_all(int fd, const void *p, size_t n)
{
    const char *c = p;
    while (n) {
        ssize_t w = write(fd, c, n);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            _exit(3);
        }
        c += w;
        n -= (size_t)w;
    }
}

static void child(const char *dir, unsigned node, struct child_clock *ck, uint64_t lease,
                  unsigned seed, int fd)
{
    struct plg_clock clock = {.now_ms = child_now, .ctx = ck};
    struct obl_service_opts o = {
        .data_dir = dir, .node_id = node, .seq_lease = lease, .clock = &clock};
    struct obl_service *s;
    int rc = obl_service_open(&o, &s);
    if (rc) {
        fprintf(stderr, "child: open %s: %s\n", dir, plg_strerror(rc));
        _exit(2);
    }
    plg_scarab_t *g = obl_service_scarab(s);
    struct rec ready = {REC_READY, node, 0, 0};
    write_all(fd, &ready, sizeof ready);
    struct rec batch[64];
    for (unsigned i = 0;; i++) {
        uint64_t ids[60];
        size_t n = 1 + (rand_r(&seed) % 60);
        if ((rc = plg_scarab_next_n(g, ids, n)))
            _exit(4);
        for (size_t k = 0; k < n; k++)
            batch[k] = (struct rec){REC_ID, node, ids[k], 1};
        uint64_t cnt = 1 + (rand_r(&seed) % 4 == 0 ? rand_r(&seed) % 50 : 0), first;
        if ((rc = obl_service_seq(s, "crash", cnt, &first)))
            _exit(5);
        batch[n++] = (struct rec){REC_SEQ, node, first, cnt};
        write_all(fd, batch, n * sizeof batch[0]);
    }
}

struct node_state {
    uint64_t last_id;
    uint64_t seq_end; /* every sequence value seen is below this */
    int any;
};

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: obelisk_crash DIR [--rounds N] [--max-ms M] [--seed S]\n");
        return 2;
    }
    const char *base = argv[1];
    int rounds = 120, max_ms = 200;
    unsigned seed = (unsigned)time(NULL);
    for (int i = 2; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--rounds"))
            rounds = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--max-ms"))
            max_ms = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--seed"))
            seed = (unsigned)strtoul(argv[i + 1], NULL, 10);
    }
    printf("seed=%u rounds=%d max_ms=%d\n", seed, rounds, max_ms);
    struct node_state st[3] = {{0}};
    uint64_t total_ids = 0, total_seq = 0, errors = 0, empty_rounds = 0;
    uint64_t mode_ids[CLK_MODES] = {0};
    static struct rec buf[8192];
    for (int r = 0; r < rounds; r++) {
        unsigned node = 1 + (unsigned)(r % 2);
        char dir[4096];
        snprintf(dir, sizeof dir, "%s/node%u", base, node);
        struct child_clock ck = {.mode = (enum clock_mode)((r / 2) % CLK_MODES),
                                 .t_start = real_ms()};
        ck.offset = -(int64_t)(1000 + rand_r(&seed) % 10000);
        ck.frozen = real_ms() - 5000;
        uint64_t leases[3] = {1, 10, 1000};
        uint64_t lease = leases[rand_r(&seed) % 3];
        int pfd[2];
        if (pipe(pfd))
            return 2;
        pid_t pid = fork();
        if (pid < 0)
            return 2;
        if (pid == 0) {
            close(pfd[0]);
            child(dir, node, &ck, lease, seed + (unsigned)r, pfd[1]);
        }
        close(pfd[1]);
        /* One round in five counts the kill time from the fork, so the kill can land while the
         * child creates or opens its files; the others from the child's "ready" record, so a
         * slow (loaded) machine still kills it in the middle of taking values. */
        int early = r % 5 == 4;
        int64_t kill_delay = 1 + rand_r(&seed) % (unsigned)max_ms;
        int64_t kill_at = early ? real_ms() + kill_delay : real_ms() + 20000;
        int killed = 0;
        size_t have = 0; /* bytes in buf */
        uint64_t round_vals = 0;
        for (;;) {
            int64_t left = kill_at - real_ms();
            if (!killed && left <= 0) {
                kill(pid, SIGKILL);
                killed = 1;
            }
            struct pollfd p = {pfd[0], POLLIN, 0};
            if (poll(&p, 1, killed ? 1000 : (int)(left > 0 ? left : 0)) < 0 && errno != EINTR)
                return 2;
            if (!(p.revents & (POLLIN | POLLHUP)))
                continue;
            ssize_t n = read(pfd[0], (char *)buf + have, sizeof buf - have);
            if (n < 0 && errno == EINTR)
                continue;
            if (n <= 0)
                break;
            have += (size_t)n;
            size_t nrec = have / sizeof(struct rec);
            for (size_t i = 0; i < nrec; i++) {
                struct rec *x = &buf[i];
                struct node_state *ns = &st[x->node <= 2 ? x->node : 0];
                if (x->kind == REC_READY) {
                    if (!early)
                        kill_at = real_ms() + kill_delay;
                    continue;
                }
                round_vals++;
                if (x->node != node) {
                    fprintf(stderr, "round %d: record for node %u from node %u\n", r, x->node,
                            node);
                    errors++;
                } else if (x->kind == REC_ID) {
                    struct plg_scarab_parts parts;
                    if (plg_scarab_decode(x->value, &parts) || parts.node != node ||
                        (ns->any && x->value <= ns->last_id)) {
                        if (errors < 10)
                            fprintf(stderr,
                                    "round %d node %u: ID %" PRIu64 " after %" PRIu64
                                    " (clock mode %d)\n",
                                    r, node, x->value, ns->last_id, ck.mode);
                        errors++;
                    }
                    ns->last_id = x->value;
                    ns->any = 1;
                    total_ids++;
                    mode_ids[ck.mode]++;
                } else {
                    if (x->value < ns->seq_end) {
                        if (errors < 10)
                            fprintf(stderr,
                                    "round %d node %u: sequence value %" PRIu64
                                    " repeats (seen up to %" PRIu64 ")\n",
                                    r, node, x->value, ns->seq_end);
                        errors++;
                    }
                    ns->seq_end = x->value + x->count;
                    total_seq += x->count;
                }
            }
            size_t used = nrec * sizeof(struct rec);
            memmove(buf, (char *)buf + used, have - used);
            have -= used;
        }
        close(pfd[0]);
        int status;
        waitpid(pid, &status, 0);
        if (!(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL)) {
            fprintf(stderr, "round %d: child ended by itself (status %d), not by SIGKILL\n", r,
                    status);
            errors++;
        }
        if (round_vals == 0 && !early)
            empty_rounds++;
    }
    printf("ids=%" PRIu64 " (real %" PRIu64 ", past %" PRIu64 ", step-back %" PRIu64
           ", frozen %" PRIu64 ") seq_values=%" PRIu64 " empty_rounds=%" PRIu64 " errors=%" PRIu64
           "\n",
           total_ids, mode_ids[CLK_REAL], mode_ids[CLK_PAST], mode_ids[CLK_STEP_BACK],
           mode_ids[CLK_FROZEN], total_seq, empty_rounds, errors);
    printf("last node1=%" PRIu64 " node2=%" PRIu64 "\n", st[1].last_id, st[2].last_id);
    /* The test must have exercised something in every clock mode, in most rounds. */
    for (int m = 0; m < CLK_MODES; m++)
        if (mode_ids[m] == 0) {
            fprintf(stderr, "no IDs in clock mode %d: test did not exercise it\n", m);
            errors++;
        }
    if (empty_rounds > (uint64_t)rounds / 2) {
        fprintf(stderr, "too many rounds (%" PRIu64 ") reported no values\n", empty_rounds);
        errors++;
    }
    return errors ? 1 : 0;
}
