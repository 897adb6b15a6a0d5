/* Internal to the HTTP shell: the request handler's helpers shared by server.c and routes.c. */
#ifndef LARDER_SHELL_HTTP_INTERNAL_H
#define LARDER_SHELL_HTTP_INTERNAL_H

#include <h2o.h>

#include "larder/app.h"
#include "larder/buf.h"

typedef struct ldr_handler {
    h2o_handler_t super;
    ldr_app_t *app;
} ldr_handler_t;

/** Routes one request; always answers (returns 0). */
int ldr_route(ldr_handler_t *h, h2o_req_t *req);

/** Sends `body` as application/json with `status`. */
void ldr_http_send_json(h2o_req_t *req, int status, const char *body, size_t len);
/**
 * Sends the API error shape {"error":{"code","message","details"?}}.  `details_json` is a JSON
 * object text or NULL.
 */
void ldr_http_send_error(h2o_req_t *req, int status, const char *code, const char *message,
                         const char *details_json);

/** The product as API.md describes it, with its per-store availability. */
void ldr_json_product(ldr_buf_t *b, const ldr_app_t *app, const ldr_product_t *p, uint32_t doc);

#endif
