#ifndef CCURLSHIM_H
#define CCURLSHIM_H
#include <curl/curl.h>

// Typed wrappers for libcurl's variadic setopt/getinfo, which Swift cannot call.
CURLcode devloop_curl_setopt_long(CURL *handle, CURLoption option, long value);
CURLcode devloop_curl_setopt_string(CURL *handle, CURLoption option, const char *value);
CURLcode devloop_curl_setopt_pointer(CURL *handle, CURLoption option, void *value);
CURLcode devloop_curl_getinfo_long(CURL *handle, CURLINFO info, long *value);

#endif
