/* appservice.c - App Service, Functions and Container Apps: the 2019
 * protocol (IDENTITY_ENDPOINT + IDENTITY_HEADER) and the 2017 one
 * (MSI_ENDPOINT + MSI_SECRET) */
#include "identity/source.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *refuse(const identity *id, const id_selector *sel) {
  (void)id; (void)sel;
  return NULL;  /* client_id, principal_id (object id) and mi_res_id */
}

static const char *refuse2017(const identity *id, const id_selector *sel) {
  (void)id;
  return sel->client_id ? NULL
    : "the 2017 App Service protocol (MSI_SECRET) selects a user-assigned identity "
      "by --client-id only";
}

static void endpoint(const identity *id, char *buf, size_t n) {
  id_endpoint_of(id->env.identity_endpoint, buf, n);
}

static void endpoint2017(const identity *id, char *buf, size_t n) {
  id_endpoint_of(id->env.msi_endpoint, buf, n);
}

/* one request with a secret header, read from the environment now: the
 * platform rotates IDENTITY_HEADER */
static int send_with_secret(identity *id, const char *url, const char *name,
                            const char *var, http_response *res, px_error *err) {
  const char *secret = getenv(var);
  if (!secret || !*secret) {
    px_set(err, PX_AUTH, "%s is no longer set", var);
    return -1;
  }
  size_t n = strlen(name) + strlen(secret) + 4;
  char *line = malloc(n);
  if (!line) {
    px_set(err, PX_AUTH, "out of memory");
    return -1;
  }
  snprintf(line, n, "%s: %s", name, secret);
  const char *headers[] = {line, NULL};
  int rc = id_send(id, "GET", url, headers, NULL, 0, NULL, NULL, res, err);
  id_free_secret(line);
  return rc;
}

static int attempt(identity *id, const char *resource, const id_selector *sel,
                   http_response *res, px_error *err) {
  const char *kind, *val;
  id_selector_pick(sel, &kind, &val);
  /* the App Service names for the three selectors */
  if (kind && strcmp(kind, "object_id") == 0) kind = "principal_id";
  if (kind && strcmp(kind, "msi_res_id") == 0) kind = "mi_res_id";
  char *url = id_query_url(id->env.identity_endpoint, "2019-08-01", resource, kind, val);
  if (!url) {
    px_set(err, PX_AUTH, "out of memory");
    return -1;
  }
  int rc = send_with_secret(id, url, "X-IDENTITY-HEADER", "IDENTITY_HEADER", res, err);
  free(url);
  return rc;
}

static int attempt2017(identity *id, const char *resource, const id_selector *sel,
                       http_response *res, px_error *err) {
  const char *val = sel ? sel->client_id : NULL;
  char *url = id_query_url(id->env.msi_endpoint, "2017-09-01", resource,
                           val ? "clientid" : NULL, val);
  if (!url) {
    px_set(err, PX_AUTH, "out of memory");
    return -1;
  }
  int rc = send_with_secret(id, url, "secret", "MSI_SECRET", res, err);
  free(url);
  return rc;
}

const id_source id_source_appservice = {
  "appservice", "App Service", refuse, endpoint, attempt};
const id_source id_source_appservice2017 = {
  "appservice", "App Service (2017 protocol)", refuse2017, endpoint2017, attempt2017};
