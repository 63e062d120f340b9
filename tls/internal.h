/*
 * internal.h — declarations shared by the files of tls/ only.
 */
#ifndef RV_TLS_INTERNAL_H
#define RV_TLS_INTERNAL_H

#include <openssl/ssl.h>

#include "tls/ctx.h"

/* ctx.c */
SSL_CTX *rv_tls_ctx_ssl(struct rv_tls_ctx *ctx);
const char *rv_tls_ctx_server_name(const struct rv_tls_ctx *ctx);

#endif /* RV_TLS_INTERNAL_H */
