/* tap.h - a tiny header-only TAP producer for the unit tests.
 *
 * Each test file includes this header for the macros; exactly one file
 * (main.c) defines TAP_IMPLEMENTATION before including it, so the counters
 * are shared by every test file.  The plan "1..N" is printed at the end by
 * done_testing(), which TAP allows. */
#ifndef PAMSH_TAP_H
#define PAMSH_TAP_H

#include <stddef.h>

int tap_ok(int cond, const char *file, int line, const char *fmt, ...)
  __attribute__((format(printf, 4, 5)));
int tap_is_str(const char *got, const char *want, const char *file, int line,
               const char *desc);
int tap_is_int(long long got, long long want, const char *file, int line,
               const char *desc);
void tap_diag(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
int done_testing(void);

/* ok(cond, "printf-style description", ...) */
#define ok(cond, ...) tap_ok(!!(cond), __FILE__, __LINE__, __VA_ARGS__)
/* is_str(got, want, desc): NULL equals only NULL */
#define is_str(got, want, desc) \
  tap_is_str((got), (want), __FILE__, __LINE__, (desc))
#define is_int(got, want, desc) \
  tap_is_int((long long)(got), (long long)(want), __FILE__, __LINE__, (desc))
#define diag(...) tap_diag(__VA_ARGS__)

#ifdef TAP_IMPLEMENTATION

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static int tap_run, tap_failed;

/* Descriptions and diagnostics must stay on one TAP line each. */
static void tap_print_escaped(const char *s)
{
  for (; *s; s++) {
    unsigned char c = (unsigned char)*s;
    if (c == '\n')
      fputs("\\n", stdout);
    else if (c == '\r')
      fputs("\\r", stdout);
    else if (c == '#')
      fputs("\\#", stdout);   /* '#' would start a TAP directive */
    else if (c < 0x20 || c == 0x7f)
      printf("\\x%02x", c);
    else
      putchar(c);
  }
}

static int tap_result(int cond, const char *file, int line, const char *desc)
{
  tap_run++;
  printf("%sok %d - ", cond ? "" : "not ", tap_run);
  tap_print_escaped(desc);
  putchar('\n');
  if (!cond) {
    tap_failed++;
    printf("#   Failed test at %s line %d.\n", file, line);
  }
  fflush(stdout);
  return cond;
}

int tap_ok(int cond, const char *file, int line, const char *fmt, ...)
{
  char desc[512];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(desc, sizeof desc, fmt, ap);
  va_end(ap);
  return tap_result(cond, file, line, desc);
}

int tap_is_str(const char *got, const char *want, const char *file, int line,
               const char *desc)
{
  int cond = (got == NULL || want == NULL) ? got == want
                                           : strcmp(got, want) == 0;
  if (!tap_result(cond, file, line, desc)) {
    fputs("#          got: ", stdout);
    if (got) { putchar('\''); tap_print_escaped(got); putchar('\''); }
    else fputs("NULL", stdout);
    fputs("\n#     expected: ", stdout);
    if (want) { putchar('\''); tap_print_escaped(want); putchar('\''); }
    else fputs("NULL", stdout);
    putchar('\n');
    fflush(stdout);
  }
  return cond;
}

int tap_is_int(long long got, long long want, const char *file, int line,
               const char *desc)
{
  int cond = got == want;
  if (!tap_result(cond, file, line, desc)) {
    printf("#          got: %lld\n#     expected: %lld\n", got, want);
    fflush(stdout);
  }
  return cond;
}

void tap_diag(const char *fmt, ...)
{
  char msg[1024];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  fputs("# ", stdout);
  tap_print_escaped(msg);
  putchar('\n');
  fflush(stdout);
}

int done_testing(void)
{
  printf("1..%d\n", tap_run);
  if (tap_failed)
    printf("# Looks like you failed %d test%s of %d.\n", tap_failed,
           tap_failed == 1 ? "" : "s", tap_run);
  fflush(stdout);
  return tap_failed ? 1 : 0;
}

#endif /* TAP_IMPLEMENTATION */
#endif
