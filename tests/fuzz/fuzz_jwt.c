/* fuzz_jwt.c - JWT and claims decoding: jwt_payload, jwt_looks_like,
 * jwt_span, b64url_decode/_valid/_encode, and the claims pamsh reads from
 * a payload (json_get_str + parse_epoch/parse_expires_on, as `pamsh token`
 * shows them). */
#include "fuzz.h"

#include "b64.h"
#include "json.h"
#include "jwt.h"
#include "timeparse.h"

static int is_b64url(unsigned char c)
{
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
         (c >= '0' && c <= '9') || c == '-' || c == '_';
}

static void claims(const char *payload)
{
  static const char *const names[] = { "exp", "nbf", "iat", "aud", "iss",
                                       "oid", "sub", "tid", "appid", "xms_mirid" };
  size_t n = strlen(payload);
  for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
    char *v = json_get_str(payload, n, names[i]);
    if (v) {
      long long t;
      if (parse_epoch(v, &t) == 0) {
        long long u;
        FUZZ_CHECK(parse_expires_on(v, &u) == 0 && u == t);
      }
      free(v);
    }
  }
}

static void b64_props(const char *in, size_t len)
{
  size_t olen = 12345;
  unsigned char *dec = b64url_decode(in, len, &olen);
  FUZZ_CHECK(b64url_valid(in, len) == (dec != NULL));
  if (dec == NULL) {
    FUZZ_CHECK(olen == 0);
    return;
  }
  FUZZ_CHECK(dec[olen] == '\0');
  FUZZ_CHECK(olen <= len / 4 * 3 + 2);
  /* re-encoding and decoding again gives the same bytes (the encoding
   * itself may differ: padding, '+' '/', non-zero trailing bits) */
  char *enc = b64url_encode(dec, olen);
  FUZZ_CHECK(enc != NULL);
  size_t elen = strlen(enc);
  for (size_t i = 0; i < elen; i++)
    FUZZ_CHECK(is_b64url((unsigned char)enc[i]));
  size_t olen2 = 0;
  unsigned char *dec2 = b64url_decode(enc, elen, &olen2);
  FUZZ_CHECK(dec2 != NULL && olen2 == olen && memcmp(dec, dec2, olen) == 0);
  free(dec2);
  free(enc);
  free(dec);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  const char *s = (const char *)data;

  /* payload decoding */
  const char *why = (const char *)1;
  char *payload = jwt_payload(s, size, &why);
  char *again = jwt_payload(s, size, NULL);   /* why may be NULL */
  FUZZ_CHECK((again != NULL) == (payload != NULL));
  if (again)
    FUZZ_CHECK(strcmp(again, payload) == 0);
  free(again);
  if (payload) {
    FUZZ_CHECK(why == NULL);
    size_t n = strlen(payload);
    FUZZ_CHECK(json_valid(payload, n));
    size_t i = 0;
    while (i < n && strchr(" \t\r\n", payload[i]))
      i++;
    FUZZ_CHECK(i < n && payload[i] == '{');
    claims(payload);
    free(payload);
  } else {
    FUZZ_CHECK(why != NULL && why != (const char *)1 && *why);
  }

  /* shape detection used by redaction */
  int looks = jwt_looks_like(s, size);
  size_t span = jwt_span(s, size);
  FUZZ_CHECK(span <= size);
  if (span)
    FUZZ_CHECK(jwt_looks_like(s, span));
  if (looks)
    FUZZ_CHECK(span == size);

  /* base64url over the whole input and over each dot-separated part */
  b64_props(s, size);
  size_t start = 0;
  for (size_t i = 0; i <= size; i++) {
    if (i == size || s[i] == '.') {
      b64_props(s + start, i - start);
      start = i + 1;
    }
  }

  /* and the other direction: any bytes encode and decode back */
  char *enc = b64url_encode(data, size);
  FUZZ_CHECK(enc != NULL);
  size_t dn = 0;
  unsigned char *dec = b64url_decode(enc, strlen(enc), &dn);
  FUZZ_CHECK(dec != NULL && dn == size && (size == 0 || memcmp(dec, data, size) == 0));
  free(dec);
  free(enc);
  return 0;
}
