/* backoff.c - retry timing for identity endpoints */
#include "backoff.h"

#include <math.h>
#include <stddef.h>

#include "timeparse.h"

int identity_retryable(long status) {
  return status == 404 || status == 408 || status == 410 || status == 429 ||
         status >= 500;
}

double identity_backoff(int attempt, const char *retry_after, double jitter01) {
  long long ra;
  if (retry_after && parse_epoch(retry_after, &ra) == 0 && ra >= 0)
    return ra > 60 ? 60.0 : (double)ra;
  if (attempt < 0) attempt = 0;
  if (attempt > 16) attempt = 16;
  double wait = pow(2.0, attempt) * (0.75 + 0.5 * jitter01);
  return wait > 60.0 ? 60.0 : wait;
}
