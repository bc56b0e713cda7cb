/* fuzz_retry.c - Retry-After and response-header parsing.
 *
 * Input: two bytes (attempt, jitter), then a raw header block as libcurl
 * hands it over ("Name: value\r\n" lines).  The block is searched the way
 * core/http.c's http_header does it (a COPY below: http.c needs libcurl;
 * see the issue-8 report for factoring it into a pure function), and
 * Retry-After goes through identity_backoff as identity.c and pam.c use
 * it.  The whole block is also tried as a Retry-After value. */
#include "fuzz.h"

#include <math.h>
#include <strings.h>

#include "backoff.h"
#include "timeparse.h"

/* ---- copied from core/http.c (http_header over res->headers) ---------- */
static char *header_value(const char *headers, size_t headers_len, const char *name) {
  if (!headers) return NULL;
  size_t nl = strlen(name);
  const char *p = headers, *end = p + headers_len;
  while (p < end) {
    const char *eol = memchr(p, '\n', (size_t)(end - p));
    size_t len = eol ? (size_t)(eol - p) : (size_t)(end - p);
    if (len > nl && p[nl] == ':' && strncasecmp(p, name, nl) == 0) {
      const char *v = p + nl + 1, *ve = p + len;
      while (v < ve && (*v == ' ' || *v == '\t')) v++;
      while (ve > v && (ve[-1] == '\r' || ve[-1] == ' ')) ve--;
      char *out = malloc((size_t)(ve - v) + 1);
      if (!out) return NULL;
      memcpy(out, v, (size_t)(ve - v));
      out[ve - v] = '\0';
      return out;
    }
    p += len + 1;
  }
  return NULL;
}
/* ----------------------------------------------------------------------- */

static void backoff_props(int attempt, const char *ra, double jitter)
{
  double w = identity_backoff(attempt, ra, jitter);
  FUZZ_CHECK(isfinite(w) && w >= 0.0 && w <= 60.0);
  long long secs;
  if (ra && parse_epoch(ra, &secs) == 0)
    FUZZ_CHECK(w == (secs > 60 ? 60.0 : (double)secs));
  else
    FUZZ_CHECK(w >= 0.75 - 1e-9 || attempt < 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  static const char *const names[] = { "Retry-After", "Content-Type",
                                       "Location", "Set-Cookie",
                                       "WWW-Authenticate", "X" };
  if (size < 2)
    return 0;
  int attempt = (int)(signed char)data[0];
  double jitter = data[1] / 256.0;
  size_t n = size - 2;
  /* exact-size copy: the header block is not NUL-terminated */
  char *block = malloc(n ? n : 1);
  if (block == NULL)
    abort();
  if (n)
    memcpy(block, data + 2, n);

  for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
    char *v = header_value(n ? block : NULL, n, names[i]);
    if (v) {
      size_t m = strlen(v);
      FUZZ_CHECK(memchr(v, '\n', m) == NULL);
      FUZZ_CHECK(m == 0 || (v[0] != ' ' && v[0] != '\t'));
      /* (a NUL in the value hides its end from strlen) */
      if (memchr(block, '\0', n) == NULL)
        FUZZ_CHECK(m == 0 || (v[m - 1] != '\r' && v[m - 1] != ' '));
      if (i == 0)
        backoff_props(attempt, v, jitter);
      free(v);
    }
  }
  backoff_props(attempt, NULL, jitter);

  char *whole = fuzz_dup0(data + 2, n);
  backoff_props(attempt, whole, jitter);
  free(whole);
  free(block);
  return 0;
}
