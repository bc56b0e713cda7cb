/* imds.c - Azure Instance Metadata Service (virtual machines, scale sets;
 * also AKS pod identity through AZURE_POD_IDENTITY_AUTHORITY_HOST) */
#include "identity/source.h"

#include <stdio.h>
#include <stdlib.h>

#define IMDS_PATH "/metadata/identity/oauth2/token"

static const char *refuse(const identity *id, const id_selector *sel) {
  (void)id; (void)sel;
  return NULL;  /* client_id, object_id and msi_res_id all work */
}

static void endpoint(const identity *id, char *buf, size_t n) {
  snprintf(buf, n, "%s" IMDS_PATH, id->imds_base);
}

static int attempt(identity *id, const char *resource, const id_selector *sel,
                   http_response *res, px_error *err) {
  char base[600];
  const char *kind, *val;
  endpoint(id, base, sizeof base);
  id_selector_pick(sel, &kind, &val);
  char *url = id_query_url(base, "2018-02-01", resource, kind, val);
  if (!url) {
    px_set(err, PX_AUTH, "out of memory");
    return -1;
  }
  static const char *const headers[] = {"Metadata: true", NULL};
  int rc = id_send(id, "GET", url, headers, NULL, 0, NULL, NULL, res, err);
  free(url);
  return rc;
}

const id_source id_source_imds = {"imds", "Azure IMDS", refuse, endpoint, attempt};
