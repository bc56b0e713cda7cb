/* workload.c - AKS workload identity: the projected service-account token
 * is exchanged at Entra ID for an access token (client credentials with a
 * client assertion).  The file is re-read at every request: Kubernetes
 * rotates it. */
#include "identity/source.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "url.h"

#define DEFAULT_AUTHORITY "https://login.microsoftonline.com"
#define ASSERTION_MAX 65536

static const char *refuse(const identity *id, const id_selector *sel) {
  (void)id;
  return sel->client_id ? NULL
    : "workload identity selects an identity by --client-id only";
}

static void endpoint(const identity *id, char *buf, size_t n) {
  const char *a = id->env.authority ? id->env.authority : DEFAULT_AUTHORITY;
  size_t al = strlen(a);
  while (al && a[al - 1] == '/') al--;
  snprintf(buf, n, "%.*s/%s/oauth2/v2.0/token", (int)al, a,
           id->env.tenant_id ? id->env.tenant_id : "<AZURE_TENANT_ID>");
}

static int attempt(identity *id, const char *resource, const id_selector *sel,
                   http_response *res, px_error *err) {
  const char *client = sel && sel->client_id ? sel->client_id : id->env.client_id;
  if (!id->env.tenant_id || !client) {
    px_set(err, PX_USAGE, "workload: AZURE_FEDERATED_TOKEN_FILE is set but %s is not",
           !id->env.tenant_id ? "AZURE_TENANT_ID" : "AZURE_CLIENT_ID (or --client-id)");
    return -1;
  }
  char url[600];
  endpoint(id, url, sizeof url);
  char *assertion = id_read_small_file(id->env.token_file, ASSERTION_MAX,
                                       "the federated token file",
                                       "run as a user allowed to read it", err);
  if (!assertion) return -1;
  /* scope: "<resource>/.default" unless it already is a scope */
  size_t rl = strlen(resource);
  const char *suffix = rl > 9 && strcmp(resource + rl - 9, "/.default") == 0 ? "" : "/.default";
  char *scope_raw = malloc(rl + 10);
  if (scope_raw) snprintf(scope_raw, rl + 10, "%s%s", resource, suffix);
  char *scope = scope_raw ? url_encode(scope_raw, strlen(scope_raw)) : NULL;
  char *cid = url_encode(client, strlen(client));
  char *as = url_encode(assertion, strlen(assertion));
  id_free_secret(assertion);
  free(scope_raw);
  char *form = NULL;
  size_t n = 0;
  if (scope && cid && as) {
    n = strlen(scope) + strlen(cid) + strlen(as) + 200;
    form = malloc(n);
  }
  if (!form) {
    free(scope);
    free(cid);
    id_free_secret(as);
    px_set(err, PX_AUTH, "out of memory");
    return -1;
  }
  snprintf(form, n, "grant_type=client_credentials&client_id=%s&scope=%s"
           "&client_assertion_type=urn%%3Aietf%%3Aparams%%3Aoauth%%3Aclient-assertion-type"
           "%%3Ajwt-bearer&client_assertion=%s", cid, scope, as);
  free(scope);
  free(cid);
  id_free_secret(as);
  static const char *const headers[] = {
    "Content-Type: application/x-www-form-urlencoded", "Accept: application/json", NULL};
  int rc = id_send(id, "POST", url, headers, form, strlen(form), id->env.ca_file, NULL,
                   res, err);
  id_free_secret(form);
  return rc;
}

const id_source id_source_workload = {
  "workload", "workload identity", refuse, endpoint, attempt};
