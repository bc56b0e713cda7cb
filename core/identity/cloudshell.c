/* cloudshell.c - Azure Cloud Shell: MSI_ENDPOINT alone, a form POST */
#include "identity/source.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "url.h"

static const char *refuse(const identity *id, const id_selector *sel) {
  (void)id; (void)sel;
  return "Cloud Shell offers only the signed-in user's identity; drop "
         "--client-id/--object-id/--msi-res-id";
}

static void endpoint(const identity *id, char *buf, size_t n) {
  id_endpoint_of(id->env.msi_endpoint, buf, n);
}

static int attempt(identity *id, const char *resource, const id_selector *sel,
                   http_response *res, px_error *err) {
  (void)sel;
  char *enc = url_encode(resource, strlen(resource));
  size_t n = enc ? strlen(enc) + 16 : 0;
  char *form = enc ? malloc(n) : NULL;
  if (!form) {
    free(enc);
    px_set(err, PX_AUTH, "out of memory");
    return -1;
  }
  snprintf(form, n, "resource=%s", enc);
  free(enc);
  static const char *const headers[] = {
    "Metadata: true", "Content-Type: application/x-www-form-urlencoded", NULL};
  int rc = id_send(id, "POST", id->env.msi_endpoint, headers, form, strlen(form),
                   NULL, NULL, res, err);
  free(form);
  return rc;
}

const id_source id_source_cloudshell = {"cloudshell", "Cloud Shell", refuse, endpoint, attempt};
