/*
 * fuzz_broker.c — libFuzzer harness over the broker's request handling, end to end: each input
 * is one Kafka request frame (without its size prefix) sent over a real loopback connection to
 * a memory-only broker (net layer → codec → API handler → response), so handlers meet every
 * odd value the codec lets through (negative partitions and sizes, unknown topics, corrupt
 * batches, duplicate sequences, huge counts...). The broker must answer or close the
 * connection, never crash, over-read or leak.
 *
 * The broker has a topic "t" with 2 partitions. Topic creation/deletion and the consumer-group
 * APIs are skipped (their state would pile up across inputs; groups have their own fuzzers).
 * Fetch waits are capped at 1 ms so parked requests finish quickly; an input that gets no
 * answer (acks=0) just drops the connection.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "base/bytes.h"
#include "base/log.h"
#include "broker/broker.h"
#include "net/net.h"

static uv_loop_t g_loop;
static struct broker *g_broker;
static struct net_server *g_srv;
static int g_fd = -1;

static void init_once(void)
{
    if (g_broker)
        return;
    plg_log_set_level(PLG_LOG_ERROR);
    uv_loop_init(&g_loop);
    struct broker_opts o = {.memory_only = true,
                            .adv_host = "127.0.0.1",
                            .adv_port = 9,
                            .auto_create = false,
                            .num_partitions = 1,
                            .fetch_max_wait_cap_ms = 1};
    if (broker_open(&g_loop, &o, &g_broker))
        abort();
    struct net_server_opts no = {.host = "127.0.0.1",
                                 .port = 0,
                                 .max_frame = 1 << 20,
                                 .max_conns = 64,
                                 .max_inflight = 64,
                                 .max_queued = 1 << 22,
                                 .name = "fuzz"};
    struct net_handler h = {.ctx = g_broker, .on_frame = broker_on_frame};
    if (net_server_open(&g_loop, &no, &h, &g_srv))
        abort();
}

static void ensure_topic(void)
{
    struct broker_topic_info info;
    if (broker_topic_get(g_broker, "t", &info) == 0)
        return;
    char why[128];
    if (broker_topic_create(g_broker, "t", 2, NULL, why, sizeof why))
        abort();
}

static void drop_connection(void)
{
    if (g_fd >= 0)
        close(g_fd);
    g_fd = -1;
    for (int i = 0; i < 4; i++)
        uv_run(&g_loop, UV_RUN_NOWAIT);
}

static int connect_client(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET,
                            .sin_port = htons((uint16_t)net_server_port(g_srv))};
    inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
    if (connect(fd, (struct sockaddr *)&a, sizeof a) < 0)
        abort();
    fcntl(fd, F_SETFL, O_NONBLOCK);
    return fd;
}

static bool skipped_api(int key)
{
    return (key >= 8 && key <= 16) || key == 19 || key == 20 || key == 37 || key == 42 || key == 47;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    init_once();
    if (size < 2 || size > (1 << 16) || skipped_api(be16_get(data)))
        return 0;
    ensure_topic();
    if (g_fd < 0)
        g_fd = connect_client();
    uint8_t *frame = malloc(size + 4);
    be32_put(frame, (uint32_t)size);
    memcpy(frame + 4, data, size);
    size_t off = 0;
    uint8_t hdr[4];
    size_t got = 0, want = 4;
    bool closed = false, done = false;
    for (int round = 0; round < 100 && !done && !closed; round++) {
        if (off < size + 4) {
            ssize_t n = write(g_fd, frame + off, size + 4 - off);
            if (n > 0)
                off += (size_t)n;
            else if (n < 0 && errno != EAGAIN)
                closed = true;
        }
        uv_run(&g_loop, UV_RUN_NOWAIT);
        for (;;) {
            uint8_t buf[65536];
            ssize_t n = read(g_fd, buf, sizeof buf);
            if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK)) {
                closed = true;
                break;
            }
            if (n < 0)
                break;
            for (ssize_t i = 0; i < n; i++) {
                if (got < 4)
                    hdr[got] = buf[i];
                got++;
                if (got == 4)
                    want = 4 + be32_get(hdr);
            }
            if (got >= want && got >= 4)
                done = true;
        }
        if (!done && round > 10)
            usleep(100);
    }
    free(frame);
    /* A response that never came (acks=0 or a parked request), bytes left over, or a closed
     * connection: start the next input on a fresh connection. */
    if (!done || closed || got != want)
        drop_connection();
    return 0;
}
