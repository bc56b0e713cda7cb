/* fuzz_timeparse.c - expires_on parsing: parse_epoch, parse_expires_on.
 * The input is the value as a C string (an identity endpoint's JSON string
 * after unescaping). */
#include "fuzz.h"

#include "timeparse.h"

/* 0000-01-01T00:00:00+23:59 .. 9999-12-31T23:59:60-23:59 */
#define MIN_DATE (-62167219200LL - 86400)
#define MAX_DATE (253402300800LL + 86400)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  char *s = fuzz_dup0(data, size);

  long long e = -7, x = -7;
  int re = parse_epoch(s, &e);
  int rx = parse_expires_on(s, &x);
  FUZZ_CHECK(re == 0 || re == -1);
  FUZZ_CHECK(rx == 0 || rx == -1);
  if (re == 0) {
    FUZZ_CHECK(e >= 0);
    FUZZ_CHECK(rx == 0 && x == e);   /* epoch seconds are one of the forms */
  } else {
    FUZZ_CHECK(e == -7);             /* untouched on failure */
  }
  if (rx == 0 && re != 0)
    FUZZ_CHECK(x >= MIN_DATE && x <= MAX_DATE);
  if (rx != 0)
    FUZZ_CHECK(x == -7);
  /* out may be NULL */
  FUZZ_CHECK(parse_epoch(s, NULL) == re);
  FUZZ_CHECK(parse_expires_on(s, NULL) == rx);

  free(s);
  return 0;
}
