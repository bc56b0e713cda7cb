/* fuzz_redact.c - secret redaction: redact_text, redact_header_line,
 * redact_form, redact_name_is_secret.
 *
 * Input: a flags byte, a position byte, then the text.  Flags bit 0x08
 * splices one of a few JWTs into the text at the position (so the main
 * property is exercised often); the low bits pick which redactor.
 *
 * Properties:
 *   - no crash, output NUL-terminated, work linear (libFuzzer's -timeout);
 *   - whenever the input holds a whole JWT (a run that jwt_span accepts,
 *     not glued to a base64url character or a dot before it), the output
 *     does not contain it;
 *   - a header line keeps its line ending. */
#include "fuzz.h"

#include "jwt.h"
#include "redact.h"

static const char *const tokens[] = {
  /* realistic: {"alg":"RS256","typ":"JWT"}.{"aud":"x","exp":1700000000}.sig */
  "eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCJ9.eyJhdWQiOiJ4IiwiZXhwIjoxNzAwMDAwMDAwfQ.c2lnbmF0dXJlLXNpZ25hdHVyZQ",
  "eyJhbGciOiJub25lIn0.eyJzdWIiOiJhIn0.",   /* unsigned: empty signature */
  "eyJa.bbbb.cccc",                          /* the shortest shape */
  "eyJ0eXAiOiJKV1QifQ.eyJvaWQiOiIxMjMifQ.AbC-_xyz0987",
};

static int is_b64url(unsigned char c)
{
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
         (c >= '0' && c <= '9') || c == '-' || c == '_';
}

/* every whole JWT of in[0..n) is absent from out[0..m) */
static void no_token_survives(const char *in, size_t n, const char *out,
                              size_t m)
{
  for (size_t i = 0; i + 3 <= n; i++) {
    if (in[i] != 'e' || in[i + 1] != 'y' || in[i + 2] != 'J')
      continue;
    if (i > 0 && (is_b64url((unsigned char)in[i - 1]) || in[i - 1] == '.'))
      continue;
    size_t t = jwt_span(in + i, n - i);
    if (t == 0)
      continue;
    if (fuzz_contains(out, m, in + i, t)) {
      fprintf(stderr, "token survived redaction: %.*s\n", (int)t, in + i);
      FUZZ_CHECK(!"a whole JWT of the input is in the output");
    }
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  if (size < 2)
    return 0;
  unsigned flags = data[0], pos = data[1];
  const char *text = (const char *)data + 2;
  size_t n = size - 2;

  char *in;
  if (flags & 0x08) {
    const char *tok = tokens[(flags >> 4) % (sizeof tokens / sizeof tokens[0])];
    size_t tl = strlen(tok), at = n ? pos % (n + 1) : 0;
    in = malloc(n + tl ? n + tl : 1);
    if (in == NULL)
      abort();
    memcpy(in, text, at);
    memcpy(in + at, tok, tl);
    memcpy(in + at + tl, text + at, n - at);
    n += tl;
  } else {
    in = malloc(n ? n : 1);      /* exact size: overreads show */
    if (in == NULL)
      abort();
    if (n)
      memcpy(in, text, n);
  }

  char *out;
  switch (flags & 3) {
  case 0:
  case 3:
    out = redact_text(in, n);
    break;
  case 1: {
    out = redact_header_line(in, n);
    FUZZ_CHECK(out != NULL);
    size_t m = strlen(out);
    /* the line ending is kept (when the line holds no NUL) */
    if (memchr(in, '\0', n) == NULL) {
      if (n >= 2 && in[n - 2] == '\r' && in[n - 1] == '\n')
        FUZZ_CHECK(m >= 2 && out[m - 2] == '\r' && out[m - 1] == '\n');
      else if (n >= 1 && in[n - 1] == '\n')
        FUZZ_CHECK(m >= 1 && out[m - 1] == '\n');
    }
    break;
  }
  default:
    out = redact_form(in, n);
    break;
  }
  FUZZ_CHECK(out != NULL);
  /* the output may hold NUL bytes copied from the input; its allocation
   * has at least strlen + 1 bytes, which is all we may look at */
  size_t m = strlen(out);
  if (memchr(in, '\0', n) == NULL)
    no_token_survives(in, n, out, m);

  (void)redact_name_is_secret(in, n);
  free(out);

  char *none = redact_text(NULL, 5);
  FUZZ_CHECK(none != NULL && *none == '\0');
  free(none);
  free(in);
  return 0;
}
