/* slow_build.h — PLG_SLOW_BUILD is 1 in the sanitizer build (ASan + UBSan at -O0, ~100x slower)
 * and 0 otherwise, so a unit test can walk a sample there and everything in the normal build. */
#ifndef PLG_TEST_SLOW_BUILD_H
#define PLG_TEST_SLOW_BUILD_H

#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define PLG_SLOW_BUILD 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__) && !defined(PLG_SLOW_BUILD)
#define PLG_SLOW_BUILD 1
#endif
#ifndef PLG_SLOW_BUILD
#define PLG_SLOW_BUILD 0
#endif

#endif
