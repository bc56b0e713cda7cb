/* core/curl_load.h - libcurl is loaded at its first use (curl_load.c) */
#ifndef PAMSH_CURL_LOAD_H
#define PAMSH_CURL_LOAD_H

/* NULL when libcurl is loaded (loading it now if need be), else why it
 * cannot be: "cannot load libcurl.so.4: ..." */
const char *curl_load_error(void);

#endif
