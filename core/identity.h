/* identity.h - managed-identity token sources and the token cache.
 * Uses http; knows nothing of Lua or PAM. */
#ifndef PAMSH_IDENTITY_H
#define PAMSH_IDENTITY_H

#include "err.h"
#include "http.h"

typedef struct {
  const char *client_id;   /* at most one of the three */
  const char *object_id;
  const char *msi_res_id;
} id_selector;

typedef struct {
  char *access_token;      /* the JWT; secret */
  long long expires_on;    /* epoch seconds */
  long long obtained_at;   /* when the request was sent */
  char *resource;
  char *client_id;         /* as IMDS reports it, may be NULL */
  const char *source;      /* "imds" */
} id_token;

typedef struct identity identity;

/* imds_base: e.g. "http://169.254.169.254" (no path) */
identity *identity_new(http_client *http, const char *imds_base, long budget_ms);
void identity_free(identity *id);

/* A valid token for resource and selector, from the cache or fetched.
 * The returned token is owned by the cache and stays valid until the next
 * identity_* call.  NULL with err (PX_AUTH or PX_USAGE) on failure. */
const id_token *identity_get(identity *id, const char *resource,
                             const id_selector *sel, px_error *err);

/* number of token requests sent so far (for tests and doctor) */
int identity_fetch_count(const identity *id);

/* seconds to wait before retry n (0-based), given a Retry-After value (or
 * NULL); exposed for unit tests */
double identity_backoff(int attempt, const char *retry_after, double jitter01);

#endif
