/*
 * compiler.h — small compiler helpers shared by every module.
 */
#ifndef RV_CORE_COMPILER_H
#define RV_CORE_COMPILER_H

#include <stddef.h>

#define likely(x) __builtin_expect(!!(x), 1)
#define unlikely(x) __builtin_expect(!!(x), 0)

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

#define container_of(ptr, type, member) ((type *)(void *)((char *)(ptr)-offsetof(type, member)))

#define RV_PRINTF(fmt, args) __attribute__((format(printf, fmt, args)))
#define RV_MUST_CHECK __attribute__((warn_unused_result))
#define RV_UNUSED __attribute__((unused))
#define RV_NOINLINE __attribute__((noinline))
#define RV_CACHELINE 64
#define RV_CACHE_ALIGNED __attribute__((aligned(RV_CACHELINE)))
#define RV_EXPORT __attribute__((visibility("default")))

#endif /* RV_CORE_COMPILER_H */
