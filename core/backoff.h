/* backoff.h - when to try an identity endpoint again (the Azure SDKs'
 * rules), kept free of I/O so unit tests can pin them down */
#ifndef PAMSH_BACKOFF_H
#define PAMSH_BACKOFF_H

/* seconds to wait before retry n (0-based): Retry-After when it is a
 * number of seconds (capped at 60), else exponential from ~1 s with
 * +-25 % jitter (jitter01 in [0,1)), capped at 60 s */
double identity_backoff(int attempt, const char *retry_after, double jitter01);

/* 1 for 404, 408, 410, 429 and 5xx: worth another try; never 400/401/403 */
int identity_retryable(long status);

#endif
