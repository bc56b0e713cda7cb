/* servicefabric.c - Service Fabric: HTTPS to a local endpoint whose
 * certificate is pinned by the thumbprint the platform gives us */
#include "identity/source.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *refuse(const identity *id, const id_selector *sel) {
  (void)id; (void)sel;
  return "Service Fabric chooses the identity in the application manifest; drop "
         "--client-id/--object-id/--msi-res-id";
}

static void endpoint(const identity *id, char *buf, size_t n) {
  id_endpoint_of(id->env.identity_endpoint, buf, n);
}

static int attempt(identity *id, const char *resource, const id_selector *sel,
                   http_response *res, px_error *err) {
  (void)sel;
  const char *secret = getenv("IDENTITY_HEADER");
  if (!secret || !*secret) {
    px_set(err, PX_AUTH, "servicefabric: IDENTITY_HEADER is no longer set");
    return -1;
  }
  char *url = id_query_url(id->env.identity_endpoint, "2019-07-01-preview", resource,
                           NULL, NULL);
  size_t n = strlen(secret) + 16;
  char *line = malloc(n);
  if (!url || !line) {
    free(url);
    free(line);
    px_set(err, PX_AUTH, "out of memory");
    return -1;
  }
  snprintf(line, n, "Secret: %s", secret);
  const char *headers[] = {line, NULL};
  int rc = id_send(id, "GET", url, headers, NULL, 0, NULL, id->env.thumbprint, res, err);
  id_free_secret(line);
  free(url);
  return rc;
}

const id_source id_source_servicefabric = {
  "servicefabric", "Service Fabric", refuse, endpoint, attempt};
