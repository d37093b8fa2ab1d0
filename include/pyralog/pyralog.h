/*
 * pyralog.h — the public, embeddable C API of libpyralog: version and error codes.
 *
 * Every function in the public API returns int: 0 on success, a negative PLG_E* code or a
 * negative errno value on failure. plg_strerror() turns either kind into words.
 * Module APIs live beside this header (log.h, obelisk.h, ...).
 */
#ifndef PYRALOG_PYRALOG_H
#define PYRALOG_PYRALOG_H

#ifdef __cplusplus
extern "C" {
#endif

/* Pyralog's own error codes. They sit below -1000 so they never collide with -errno values. */
enum plg_error {
    PLG_OK = 0,
    PLG_EINVAL = -1001,    /* invalid argument */
    PLG_ECORRUPT = -1002,  /* corrupt data (bad CRC, bad lengths, torn write) */
    PLG_ETRUNC = -1003,    /* input ends before the structure does */
    PLG_ETOOBIG = -1004,   /* size above a configured or structural limit */
    PLG_ENOTFOUND = -1005, /* no such topic, partition, offset, key or name */
    PLG_EEXIST = -1006,    /* already exists */
    PLG_EUNSUPP = -1007,   /* unsupported version, codec or feature */
    PLG_EOVERFLOW = -1008, /* a counter or offset would overflow */
    PLG_ERANGE = -1009,    /* offset or value out of the valid range */
    PLG_ECLOSED = -1010,   /* the object is closed or shutting down */
    PLG_ESTATE = -1011,    /* call not valid in the object's current state */
    PLG_ENOMEM = -1012,    /* out of memory */
    PLG_ECOMPRESS = -1013, /* compressed payload could not be decoded */
    PLG_ETAMPERED = -1014, /* file replaced or shrunk behind our back */
    PLG_EVERIFY = -1015,   /* signature or proof does not verify */
    PLG_ETIMEDOUT = -1016, /* the operation timed out */
};

/* Words for any return code of the API: a PLG_E* value, a -errno value or 0. Never NULL. */
const char *plg_strerror(int code);

/* The library version, e.g. "0.1.0". */
const char *plg_version(void);

#ifdef __cplusplus
}
#endif
#endif
