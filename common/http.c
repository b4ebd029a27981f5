/* http: being written. */
typedef int mdf_http_placeholder_t;
