/*
 * log.h — structured log lines on stderr.
 *
 * One line per event: "2026-11-26T06:50:01.123Z level=info module=net msg="..." k=v ...".
 * Callers pass the key=value part pre-formatted. Thread-safe (one write(2) per line).
 * Level threshold from plg_log_set_level() or the PYRALOG_LOG_LEVEL environment variable
 * (debug, info, warn, error); default info.
 */
#ifndef PLG_BASE_LOG_H
#define PLG_BASE_LOG_H

enum plg_log_level { PLG_LOG_DEBUG = 0, PLG_LOG_INFO, PLG_LOG_WARN, PLG_LOG_ERROR };

void plg_log_set_level(enum plg_log_level level);
int plg_log_enabled(enum plg_log_level level);
void plg_log(enum plg_log_level level, const char *module, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#define PLG_DEBUG(mod, ...) plg_log(PLG_LOG_DEBUG, mod, __VA_ARGS__)
#define PLG_INFO(mod, ...) plg_log(PLG_LOG_INFO, mod, __VA_ARGS__)
#define PLG_WARN(mod, ...) plg_log(PLG_LOG_WARN, mod, __VA_ARGS__)
#define PLG_ERROR(mod, ...) plg_log(PLG_LOG_ERROR, mod, __VA_ARGS__)

#endif
