/* err.c - the structured error shared by every layer */
#include "err.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void px_clear(px_error *e) {
  free(e->body);
  memset(e, 0, sizeof *e);
}

void px_set(px_error *e, px_kind kind, const char *fmt, ...) {
  va_list ap;
  e->kind = kind;
  va_start(ap, fmt);
  vsnprintf(e->message, sizeof e->message, fmt, ap);
  va_end(ap);
}

const char *px_kind_name(px_kind kind) {
  switch (kind) {
  case PX_AUTH: return "auth";
  case PX_HTTP: return "http";
  case PX_NETWORK: return "network";
  case PX_USAGE: return "usage";
  default: return "ok";
  }
}
