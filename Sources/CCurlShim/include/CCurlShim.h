#ifndef CCURLSHIM_H
#define CCURLSHIM_H
#include <curl/curl.h>

// Typed wrappers for libcurl's variadic setopt/getinfo, which Swift cannot call.
CURLcode devloop_curl_setopt_long(CURL *handle, CURLoption option, long value);
CURLcode devloop_curl_setopt_string(CURL *handle, CURLoption option, const char *value);
CURLcode devloop_curl_setopt_pointer(CURL *handle, CURLoption option, void *value);
CURLcode devloop_curl_getinfo_long(CURL *handle, CURLINFO info, long *value);

// In-memory PEM (CAINFO_BLOB, SSLCERT_BLOB, SSLKEY_BLOB): libcurl copies the bytes.
CURLcode devloop_curl_setopt_blob(CURL *handle, CURLoption option, const void *data, size_t length);

// Callbacks: function pointers cannot travel through the void* wrapper portably.
typedef size_t (*devloop_curl_data_callback)(char *data, size_t size, size_t count, void *context);
typedef int (*devloop_curl_progress_callback)(void *context, curl_off_t dltotal, curl_off_t dlnow,
                                              curl_off_t ultotal, curl_off_t ulnow);
CURLcode devloop_curl_setopt_write_function(CURL *handle, devloop_curl_data_callback callback);
CURLcode devloop_curl_setopt_header_function(CURL *handle, devloop_curl_data_callback callback);
CURLcode devloop_curl_setopt_read_function(CURL *handle, devloop_curl_data_callback callback);
CURLcode devloop_curl_setopt_xferinfo_function(CURL *handle, devloop_curl_progress_callback callback);

// The socket of a CONNECT_ONLY connection, to poll it for the WebSocket I/O loop.
CURLcode devloop_curl_getinfo_socket(CURL *handle, curl_socket_t *socket);

#endif
