/* test_backoff.c - identity retry timing */
#include "backoff.h"
#include "tap.h"

void test_backoff(void) {
  /* statuses: the SDKs' rules */
  static const struct { long status; int retry; } st[] = {
    {400, 0}, {401, 0}, {403, 0}, {404, 1}, {408, 1}, {410, 1}, {429, 1},
    {500, 1}, {502, 1}, {503, 1}, {504, 1}, {200, 0}, {302, 0},
  };
  for (size_t i = 0; i < sizeof st / sizeof st[0]; i++)
    ok(identity_retryable(st[i].status) == st[i].retry, "status %ld %s", st[i].status,
       st[i].retry ? "retried" : "not retried");

  /* exponential from ~1 s, +-25 % jitter, capped at 60 s */
  ok(identity_backoff(0, NULL, 0.0) == 0.75, "attempt 0, low jitter: 0.75 s");
  ok(identity_backoff(0, NULL, 0.5) == 1.0, "attempt 0, mid jitter: 1 s");
  ok(identity_backoff(1, NULL, 0.5) == 2.0, "attempt 1: 2 s");
  ok(identity_backoff(3, NULL, 0.5) == 8.0, "attempt 3: 8 s");
  ok(identity_backoff(4, NULL, 0.99) < 20.0 && identity_backoff(4, NULL, 0.99) > 19.0,
     "attempt 4, high jitter: under 20 s");
  ok(identity_backoff(10, NULL, 0.5) == 60.0, "capped at 60 s");
  ok(identity_backoff(1000, NULL, 0.5) == 60.0, "huge attempt numbers stay capped");
  ok(identity_backoff(-3, NULL, 0.5) == 1.0, "negative attempt treated as the first");

  /* Retry-After in seconds wins, capped at 60 */
  ok(identity_backoff(3, "2", 0.5) == 2.0, "Retry-After: 2");
  ok(identity_backoff(0, "0", 0.5) == 0.0, "Retry-After: 0");
  ok(identity_backoff(0, "3600", 0.5) == 60.0, "Retry-After capped at 60 s");
  ok(identity_backoff(2, "soon", 0.5) == 4.0, "a Retry-After that is not a number is ignored");
  ok(identity_backoff(2, "-5", 0.5) == 4.0, "a negative Retry-After is ignored");
}
