/* fuzz.h - helpers shared by the libFuzzer targets in tests/fuzz/.
 *
 * Each fuzz_*.c defines LLVMFuzzerTestOneInput.  Built two ways (mk/fuzz.mk):
 *   build/fuzz/fuzz_NAME         clang -fsanitize=fuzzer,address,undefined
 *   build/fuzz/replay/fuzz_NAME  $(CC) with ASan+UBSan and replay_main.c,
 *                                which only replays files (no clang needed)
 * A property that does not hold aborts through FUZZ_CHECK, which libFuzzer
 * reports as a crash like any sanitizer finding. */
#ifndef PAMSH_FUZZ_H
#define PAMSH_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_CHECK(cond)                                                    \
  do {                                                                      \
    if (!(cond)) {                                                          \
      fprintf(stderr, "fuzz property failed: %s (%s:%d)\n", #cond,          \
              __FILE__, __LINE__);                                          \
      abort();                                                              \
    }                                                                       \
  } while (0)

/* a NUL-terminated copy of data[0..size) (embedded NULs stay, so C-string
 * functions see the part before the first one) */
static inline char *fuzz_dup0(const uint8_t *data, size_t size)
{
  char *s = malloc(size + 1);
  if (s == NULL)
    abort();
  if (size)
    memcpy(s, data, size);
  s[size] = '\0';
  return s;
}

/* 1 when needle[0..n) occurs in hay[0..m) */
static inline int fuzz_contains(const char *hay, size_t m, const char *needle,
                                size_t n)
{
  if (n == 0)
    return 1;
  return n <= m && memmem(hay, m, needle, n) != NULL;
}

#endif
