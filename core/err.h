/* err.h - the one structured error that travels up from the layer that
 * knows what went wrong to the runtime, which alone turns it into text and
 * an exit code.  Plain C: no Lua, no libcurl. */
#ifndef PAMSH_ERR_H
#define PAMSH_ERR_H

#include <stddef.h>

typedef enum {
  PX_OK = 0,
  PX_AUTH,     /* identity or login failure            -> exit 3 */
  PX_HTTP,     /* PAM answered with status >= 400       -> exit 4 */
  PX_NETWORK,  /* transport, TLS, timeout               -> exit 5 */
  PX_USAGE     /* bad arguments or configuration        -> exit 2 */
} px_kind;

typedef struct px_error {
  px_kind kind;
  long status;        /* HTTP status when known, else 0 */
  char method[16];    /* request method when known */
  char path[512];     /* request path (never a query with secrets) */
  char message[1024]; /* one line, no secrets */
  char *body;         /* malloc'd response body text (server's error), or NULL */
  /* transport failures: what the failure says about trying again */
  int transient;      /* a timeout, a reset: the same request may work */
  int unreachable;    /* nothing listens / no such host: fail fast */
} px_error;

/* release body and zero; e must be zero-initialised or previously used */
void px_clear(px_error *e);
/* set kind and printf-style message; keeps method/path/status */
void px_set(px_error *e, px_kind kind, const char *fmt, ...)
  __attribute__((format(printf, 3, 4)));
const char *px_kind_name(px_kind kind);

#endif
