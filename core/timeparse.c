/* timeparse.c - expiry parsing with our own civil-date arithmetic, so the
 * result never depends on TZ (mktime would). */
#include "timeparse.h"

#include <limits.h>
#include <stddef.h>

static int is_digit(char c) { return c >= '0' && c <= '9'; }

int parse_epoch(const char *s, long long *out)
{
  if (s == NULL || !is_digit(*s))
    return -1;
  long long v = 0;
  for (; is_digit(*s); s++) {
    int d = *s - '0';
    if (v > (LLONG_MAX - d) / 10)
      return -1;
    v = v * 10 + d;
  }
  if (*s == '.') {
    s++;
    if (!is_digit(*s))
      return -1;
    while (is_digit(*s))
      s++;
  }
  if (*s != '\0')
    return -1;
  if (out)
    *out = v;
  return 0;
}

/* Read between min and max digits at *p into *v; advances *p. */
static int digits(const char **p, int min, int max, int *v)
{
  int n = 0, x = 0;
  while (n < max && is_digit((*p)[n])) {
    x = x * 10 + ((*p)[n] - '0');
    n++;
  }
  if (n < min || is_digit((*p)[n]))
    return 0;
  *p += n;
  *v = x;
  return 1;
}

static int lit(const char **p, char c)
{
  if (**p != c)
    return 0;
  (*p)++;
  return 1;
}

static int is_leap(int y)
{
  return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int days_in_month(int y, int m)
{
  static const int dm[12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
  return m == 2 && is_leap(y) ? 29 : dm[m - 1];
}

/* Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's
 * days_from_civil); valid for the 0000-9999 years we accept. */
static long long days_from_civil(long long y, int m, int d)
{
  y -= m <= 2;
  long long era = (y >= 0 ? y : y - 399) / 400;
  long long yoe = y - era * 400;
  long long doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  long long doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}

/* Offset "Z", "+hh:mm", "+hhmm", "+hh" (or '-') into *secs (east of UTC
 * positive).  An empty string means UTC.  Must consume the rest of s. */
static int parse_offset(const char *p, long long *secs)
{
  *secs = 0;
  if (*p == '\0')
    return 1;
  if (*p == 'Z' || *p == 'z')
    return p[1] == '\0';
  int sign;
  if (*p == '+')
    sign = 1;
  else if (*p == '-')
    sign = -1;
  else
    return 0;
  p++;
  int hh, mm = 0;
  if (is_digit(p[0]) && is_digit(p[1]) && is_digit(p[2]) && is_digit(p[3])) {
    hh = (p[0] - '0') * 10 + (p[1] - '0');          /* "hhmm" */
    mm = (p[2] - '0') * 10 + (p[3] - '0');
    p += 4;
  } else {
    if (!digits(&p, 2, 2, &hh))
      return 0;
    if (*p == ':') {
      p++;
      if (!digits(&p, 2, 2, &mm))
        return 0;
    }
  }
  if (*p != '\0' || hh > 23 || mm > 59)
    return 0;
  *secs = sign * (hh * 3600LL + mm * 60LL);
  return 1;
}

static int valid_fields(int y, int mo, int d, int h, int mi, int s)
{
  return y >= 0 && y <= 9999 && mo >= 1 && mo <= 12 && d >= 1 &&
         d <= days_in_month(y, mo) && h >= 0 && h <= 23 && mi >= 0 &&
         mi <= 59 && s >= 0 && s <= 60;
}

static long long to_epoch(int y, int mo, int d, int h, int mi, int s,
                          long long off)
{
  return days_from_civil(y, mo, d) * 86400LL + h * 3600LL + mi * 60LL + s -
         off;
}

/* "M/d/yyyy h:mm:ss[ AM|PM][ offset]" */
static int parse_us(const char *p, long long *out)
{
  int mo, d, y, h, mi, s;
  if (!digits(&p, 1, 2, &mo) || !lit(&p, '/') || !digits(&p, 1, 2, &d) ||
      !lit(&p, '/') || !digits(&p, 4, 4, &y) || !lit(&p, ' ') ||
      !digits(&p, 1, 2, &h) || !lit(&p, ':') || !digits(&p, 2, 2, &mi) ||
      !lit(&p, ':') || !digits(&p, 2, 2, &s))
    return 0;
  if (*p == ' ' && (p[1] == 'A' || p[1] == 'a' || p[1] == 'P' ||
                    p[1] == 'p')) {
    int pm = p[1] == 'P' || p[1] == 'p';
    if (p[2] != 'M' && p[2] != 'm')
      return 0;
    if (h < 1 || h > 12)
      return 0;
    h = h % 12 + (pm ? 12 : 0);     /* 12 AM is 0h, 12 PM is 12h */
    p += 3;
  }
  long long off = 0;
  if (*p == ' ') {
    p++;
    if (*p == '\0')
      return 0;                     /* a trailing space alone is garbage */
  }
  if (!parse_offset(p, &off))
    return 0;
  if (!valid_fields(y, mo, d, h, mi, s))
    return 0;
  *out = to_epoch(y, mo, d, h, mi, s, off);
  return 1;
}

/* "yyyy-MM-ddTHH:mm:ss[.fff][offset]" ('T', 't' or ' ' between date and
 * time, '.' or ',' before the fraction) */
static int parse_iso(const char *p, long long *out)
{
  int y, mo, d, h, mi, s;
  if (!digits(&p, 4, 4, &y) || !lit(&p, '-') || !digits(&p, 2, 2, &mo) ||
      !lit(&p, '-') || !digits(&p, 2, 2, &d))
    return 0;
  if (*p != 'T' && *p != 't' && *p != ' ')
    return 0;
  p++;
  if (!digits(&p, 2, 2, &h) || !lit(&p, ':') || !digits(&p, 2, 2, &mi) ||
      !lit(&p, ':') || !digits(&p, 2, 2, &s))
    return 0;
  if (*p == '.' || *p == ',') {
    p++;
    if (!is_digit(*p))
      return 0;
    while (is_digit(*p))
      p++;
  }
  long long off;
  if (!parse_offset(p, &off))
    return 0;
  if (!valid_fields(y, mo, d, h, mi, s))
    return 0;
  *out = to_epoch(y, mo, d, h, mi, s, off);
  return 1;
}

int parse_expires_on(const char *s, long long *out)
{
  if (s == NULL)
    return -1;
  long long v;
  if (parse_epoch(s, &v) == 0 || parse_us(s, &v) || parse_iso(s, &v)) {
    if (out)
      *out = v;
    return 0;
  }
  return -1;
}
