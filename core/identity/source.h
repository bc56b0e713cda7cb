/* source.h - what a managed-identity token source implements, and the
 * state they share.  Internal to core/identity*. */
#ifndef PAMSH_IDENTITY_SOURCE_H
#define PAMSH_IDENTITY_SOURCE_H

#include "identity.h"

/* The environment, read once at start.  Values that rotate (the App
 * Service header, the workload identity's token file) are re-read at every
 * request by the source itself. */
typedef struct {
  const char *identity_endpoint;  /* IDENTITY_ENDPOINT */
  const char *identity_header;    /* IDENTITY_HEADER (presence only) */
  const char *thumbprint;         /* IDENTITY_SERVER_THUMBPRINT */
  const char *imds_endpoint;      /* IMDS_ENDPOINT (Azure Arc) */
  const char *msi_endpoint;       /* MSI_ENDPOINT */
  const char *msi_secret;         /* MSI_SECRET (presence only) */
  const char *token_file;         /* AZURE_FEDERATED_TOKEN_FILE */
  const char *client_id;          /* AZURE_CLIENT_ID */
  const char *tenant_id;          /* AZURE_TENANT_ID */
  const char *authority;          /* AZURE_AUTHORITY_HOST */
  const char *ca_file;            /* SSL_CERT_FILE, for HTTPS authorities */
  int himds_present;              /* /opt/azcmagent/bin/himds exists */
} id_env;

typedef struct id_source id_source;

struct identity {
  http_client *http;
  char *imds_base;
  long attempt_timeout_ms;
  double deadline;               /* monotonic seconds, 0 = none */
  double time_scale;             /* test builds only; 1 otherwise */
  id_env env;
  const id_source *source;
  char why[256];
  struct cache_entry *cache;
  int fetches;
};

struct id_source {
  const char *name;          /* info.source */
  const char *title;         /* for messages: "App Service" */
  /* NULL when the selector can be used with this source, else why not */
  const char *(*refuse_selector)(const identity *id, const id_selector *sel);
  /* the endpoint for messages, without query or secrets */
  void (*endpoint)(const identity *id, char *buf, size_t n);
  /* One attempt: send the request (two for Arc's challenge).  0 with res
   * filled (any status), -1 with err on transport failure. */
  int (*attempt)(identity *id, const char *resource, const id_selector *sel,
                 http_response *res, px_error *err);
};

extern const id_source id_source_imds, id_source_appservice, id_source_appservice2017,
  id_source_arc, id_source_cloudshell, id_source_servicefabric, id_source_workload;

/* helpers for sources */
char *id_query_url(const char *base, const char *api_version, const char *resource,
                   const char *selname, const char *selval);
int id_send(identity *id, const char *method, const char *url,
            const char *const *headers, const char *body, size_t body_len,
            const char *cainfo, const char *pin, http_response *res, px_error *err);
/* read a small file whole (NUL-terminated, trailing newline trimmed); NULL
 * with a message in err (PX_AUTH) that ends in denied_hint (how to get
 * the right to read it) when permission is denied */
char *id_read_small_file(const char *path, size_t max, const char *what,
                         const char *denied_hint, px_error *err);
void id_free_secret(char *s);
/* url without its query, for messages (a query may carry ids, never shown) */
void id_endpoint_of(const char *url, char *buf, size_t n);
/* the selector's kind and value, or NULLs */
void id_selector_pick(const id_selector *sel, const char **kind, const char **val);

#endif
