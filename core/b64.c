/* b64.c - base64url codec.  Table-free decoding keeps it obviously
 * bounds-safe for any byte value. */
#include "b64.h"

#include <stdint.h>
#include <stdlib.h>

static int b64val(unsigned char c)
{
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '-' || c == '+') return 62;
  if (c == '_' || c == '/') return 63;
  return -1;
}

/* Length of the data part (padding stripped) when in[0..len) is valid
 * base64, else -1 (as size_t). */
static size_t data_len(const unsigned char *s, size_t len)
{
  size_t n = len, pad = 0;
  while (n > 0 && s[n - 1] == '=' && pad < 2) {
    n--;
    pad++;
  }
  /* Padding, when used, must bring the length to a multiple of four and
   * be exactly what the data length calls for. */
  if (pad > 0) {
    if (len % 4 != 0)
      return (size_t)-1;
    if ((n % 4 == 2 && pad != 2) || (n % 4 == 3 && pad != 1) ||
        n % 4 == 0)
      return (size_t)-1;
  }
  if (n % 4 == 1)
    return (size_t)-1;              /* 6 bits cannot make a byte */
  for (size_t i = 0; i < n; i++)
    if (b64val(s[i]) < 0)
      return (size_t)-1;
  return n;
}

int b64url_valid(const char *in, size_t len)
{
  if (in == NULL)
    return len == 0;
  return data_len((const unsigned char *)in, len) != (size_t)-1;
}

unsigned char *b64url_decode(const char *in, size_t len, size_t *outlen)
{
  if (outlen)
    *outlen = 0;
  if (in == NULL && len > 0)
    return NULL;

  const unsigned char *s = (const unsigned char *)in;
  size_t n = len ? data_len(s, len) : 0;
  if (n == (size_t)-1)
    return NULL;

  size_t olen = n / 4 * 3 + (n % 4 == 0 ? 0 : n % 4 - 1);
  unsigned char *out = malloc(olen + 1);
  if (out == NULL)
    return NULL;

  size_t o = 0;
  uint32_t acc = 0;
  int bits = 0;
  for (size_t i = 0; i < n; i++) {
    acc = (acc << 6) | (uint32_t)b64val(s[i]);   /* validated above */
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out[o++] = (unsigned char)(acc >> bits);
      acc &= (1u << bits) - 1;      /* keep acc small */
    }
  }
  out[o] = '\0';
  if (outlen)
    *outlen = o;
  return out;
}

char *b64url_encode(const unsigned char *in, size_t len)
{
  static const char alpha[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  if (in == NULL && len > 0)
    return NULL;
  if (len / 3 >= (SIZE_MAX - 8) / 4)
    return NULL;
  size_t olen = len / 3 * 4 + (len % 3 ? len % 3 + 1 : 0);
  char *out = malloc(olen + 1);
  if (out == NULL)
    return NULL;
  size_t o = 0, i = 0;
  for (; i + 2 < len; i += 3) {
    uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];
    out[o++] = alpha[(v >> 18) & 63];
    out[o++] = alpha[(v >> 12) & 63];
    out[o++] = alpha[(v >> 6) & 63];
    out[o++] = alpha[v & 63];
  }
  if (len - i == 1) {
    uint32_t v = (uint32_t)in[i] << 16;
    out[o++] = alpha[(v >> 18) & 63];
    out[o++] = alpha[(v >> 12) & 63];
  } else if (len - i == 2) {
    uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8;
    out[o++] = alpha[(v >> 18) & 63];
    out[o++] = alpha[(v >> 12) & 63];
    out[o++] = alpha[(v >> 6) & 63];
  }
  out[o] = '\0';
  return out;
}
