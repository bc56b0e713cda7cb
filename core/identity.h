/* identity.h - managed-identity tokens from every Azure source (IMDS, App
 * Service, Azure Arc, Cloud Shell, Service Fabric, workload identity),
 * retried as the Azure SDKs retry, cached per (source, identity, resource).
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
  char *client_id;         /* as the endpoint reports it, may be NULL */
  const char *source;      /* "imds", "appservice", ... */
} id_token;

typedef struct {
  const char *imds_base;   /* e.g. "http://169.254.169.254" (no path) */
  long attempt_timeout_ms; /* one request; also the retry budget */
  double deadline;         /* CLOCK_MONOTONIC seconds, 0 = none */
} identity_config;

typedef struct identity identity;

/* Detects the source from the environment (the Azure SDKs' order). */
identity *identity_new(http_client *http, const identity_config *cfg);
void identity_free(identity *id);

/* Which source was chosen and why, and its endpoint (no secrets). */
typedef struct {
  const char *source;
  const char *title;
  char why[256];
  char endpoint[512];
} id_source_info;
void identity_describe(const identity *id, id_source_info *out);

/* A valid token for resource and selector, from the cache or fetched.
 * The returned token is owned by the cache and stays valid until the next
 * identity_* call.  NULL with err (PX_AUTH or PX_USAGE) on failure. */
const id_token *identity_get(identity *id, const char *resource,
                             const id_selector *sel, px_error *err);

/* number of token requests sent so far (for tests and doctor) */
int identity_fetch_count(const identity *id);


#endif
