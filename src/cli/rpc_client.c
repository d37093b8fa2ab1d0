/* rpc_client.c — a minimal blocking JSON-RPC client over HTTP POST /rpc for CLI commands. */
#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "base/config.h"
#include "cli/cli.h"

/* Each send and receive on the connection gives up after this long: a server that accepts and
 * never answers makes the command fail (ETIMEDOUT) instead of hang. */
#define RPC_IO_TIMEOUT_S 10

/* One HTTP/1.1 POST of body to host:port/rpc; returns the response body (free()) or NULL. */
static char *http_post(const char *hostport, const char *body)
{
    char host[256], port_s[8];
    int port;
    if (config_parse_hostport(hostport, host, sizeof host, &port)) {
        errno = EINVAL;
        return NULL;
    }
    snprintf(port_s, sizeof port_s, "%d", port);
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM}, *ai;
    if (getaddrinfo(host, port_s, &hints, &ai) != 0)
        return NULL;
    int fd = socket(ai->ai_family, ai->ai_socktype, 0);
    struct timeval tv = {.tv_sec = RPC_IO_TIMEOUT_S};
    if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv) != 0 ||
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv) != 0 ||
        connect(fd, ai->ai_addr, ai->ai_addrlen) != 0) {
        freeaddrinfo(ai);
        if (fd >= 0)
            close(fd);
        return NULL;
    }
    freeaddrinfo(ai);
    char head[512];
    int hl = snprintf(head, sizeof head,
                      "POST /rpc HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\n"
                      "Content-Length: %zu\r\nConnection: close\r\n\r\n",
                      hostport, strlen(body));
    if (write(fd, head, (size_t)hl) != hl ||
        write(fd, body, strlen(body)) != (ssize_t)strlen(body)) {
        close(fd);
        return NULL;
    }
    size_t cap = 8192, n = 0;
    char *resp = malloc(cap + 1);
    ssize_t k = 0;
    while (resp && (k = read(fd, resp + n, cap - n)) > 0) {
        n += (size_t)k;
        if (n == cap) {
            char *q = realloc(resp, (cap *= 2) + 1);
            if (!q)
                free(resp);
            resp = q;
        }
    }
    int read_err = k < 0 ? (errno == EAGAIN || errno == EWOULDBLOCK ? ETIMEDOUT : errno) : 0;
    close(fd);
    if (!resp)
        return NULL;
    resp[n] = '\0';
    char *b = strstr(resp, "\r\n\r\n");
    char *out = b ? strdup(b + 4) : NULL;
    free(resp);
    if (!b)
        errno = read_err ? read_err : EPROTO;
    return out;
}

json_t *cli_rpc_call(const char *hostport, const char *method, json_t *params, char *why,
                     size_t whylen)
{
    static int id;
    json_t *req = json_pack("{s:s, s:i, s:s, s:o}", "jsonrpc", "2.0", "id", ++id, "method", method,
                            "params", params ? params : json_object());
    char *body = req ? json_dumps(req, JSON_COMPACT) : NULL;
    json_decref(req);
    if (!body) {
        snprintf(why, whylen, "out of memory");
        return NULL;
    }
    errno = 0;
    char *resp = http_post(hostport, body);
    free(body);
    if (!resp) {
        snprintf(why, whylen, "cannot reach %s: %s", hostport,
                 strerror(errno ? errno : ECONNREFUSED));
        return NULL;
    }
    json_t *j = json_loads(resp, 0, NULL);
    free(resp);
    json_t *res = json_object_get(j, "result");
    if (!res) {
        const char *msg =
            json_string_value(json_object_get(json_object_get(j, "error"), "message"));
        snprintf(why, whylen, "%s", msg ? msg : "malformed response");
        json_decref(j);
        return NULL;
    }
    json_incref(res);
    json_decref(j);
    return res;
}
