/* err.c — words for error codes (see include/pyralog/pyralog.h). */
#include "pyralog/pyralog.h"

#include <string.h>

const char *plg_strerror(int code)
{
    switch (code) {
    case PLG_OK:
        return "success";
    case PLG_EINVAL:
        return "invalid argument";
    case PLG_ECORRUPT:
        return "corrupt data";
    case PLG_ETRUNC:
        return "truncated input";
    case PLG_ETOOBIG:
        return "too large";
    case PLG_ENOTFOUND:
        return "not found";
    case PLG_EEXIST:
        return "already exists";
    case PLG_EUNSUPP:
        return "unsupported";
    case PLG_EOVERFLOW:
        return "value would overflow";
    case PLG_ERANGE:
        return "out of range";
    case PLG_ECLOSED:
        return "closed";
    case PLG_ESTATE:
        return "invalid in current state";
    case PLG_ENOMEM:
        return "out of memory";
    case PLG_ECOMPRESS:
        return "compressed data is invalid";
    case PLG_ETAMPERED:
        return "file was changed outside Pyralog";
    case PLG_EVERIFY:
        return "verification failed";
    case PLG_ETIMEDOUT:
        return "timed out";
    default:
        break;
    }
    if (code < 0 && code > -4096)
        return strerror(-code);
    return "unknown error";
}

const char *plg_version(void)
{
    return PLG_VERSION;
}
