/* log.c — structured stderr logging (see log.h). */
#include "base/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static int g_level = -1;

static int level_from_env(void)
{
    const char *e = getenv("PYRALOG_LOG_LEVEL");
    if (!e)
        return PLG_LOG_INFO;
    if (!strcmp(e, "debug"))
        return PLG_LOG_DEBUG;
    if (!strcmp(e, "warn"))
        return PLG_LOG_WARN;
    if (!strcmp(e, "error"))
        return PLG_LOG_ERROR;
    return PLG_LOG_INFO;
}

void plg_log_set_level(enum plg_log_level level)
{
    g_level = (int)level;
}

int plg_log_enabled(enum plg_log_level level)
{
    if (g_level < 0)
        g_level = level_from_env();
    return (int)level >= g_level;
}

void plg_log(enum plg_log_level level, const char *module, const char *fmt, ...)
{
    static const char *names[] = {"debug", "info", "warn", "error"};
    if (!plg_log_enabled(level))
        return;
    char line[2048];
    struct timespec ts;
    struct tm tm;
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    int n = snprintf(line, sizeof line, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ level=%s module=%s ",
                     tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                     ts.tv_nsec / 1000000, names[level], module);
    va_list ap;
    va_start(ap, fmt);
    int m = vsnprintf(line + n, sizeof line - (size_t)n - 1, fmt, ap);
    va_end(ap);
    size_t len = (size_t)n + (m < 0 ? 0 : (size_t)m);
    if (len > sizeof line - 2)
        len = sizeof line - 2;
    line[len++] = '\n';
    ssize_t w = write(STDERR_FILENO, line, len);
    (void)w;
}
