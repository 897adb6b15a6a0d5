/*
 * Writes through the engine: a request's commands go to the engine, and the answer is written on
 * the loop thread that owns the request once every command is durable.
 *
 * The engine calls each command's `done` on the thread that runs it (its own, or loop 0 with
 * LARDER_ENGINE=loop); the last one of a write posts the write to its loop's receiver
 * (h2o_multithread_send_message: a mutex and, when the queue was empty, one pipe write, also when
 * that loop is loop 0 itself), and the loop thread calls the write's reply function.  A client may
 * go away meanwhile: the request's pool then disposes the anchor, which clears w->req, and the
 * reply is skipped.  The write itself is always freed on the loop thread, after the engine is done
 * with it.
 */
#include <stdio.h>
#include <string.h>

#include "http_internal.h"

typedef struct ldr__anchor {
    ldr_write_t *w;
} ldr__anchor_t;

static void ldr__anchor_dispose(void *p)
{
    ldr__anchor_t *a = p;
    if (a->w != NULL)
        a->w->req = NULL; /* the client went away: nobody to answer */
}

ldr_write_t *ldr_write_new(ldr_handler_t *h, h2o_req_t *req, h2o_iovec_t arg,
                           ldr_write_reply_cb reply)
{
    /* the body and the path argument are copied: the engine reads the commands' strings after
     * the request's pool may be gone */
    ldr_write_t *w = ldr_calloc(1, sizeof(*w) + req->entity.len + arg.len + 2);
    char *p = (char *)(w + 1);
    if (req->entity.len > 0)
        memcpy(p, req->entity.base, req->entity.len);
    w->body = h2o_iovec_init(p, req->entity.len);
    p += req->entity.len + 1;
    if (arg.len > 0)
        memcpy(p, arg.base, arg.len);
    w->arg = h2o_iovec_init(p, arg.len);
    w->h = h;
    w->req = req;
    w->loop = ldr_loop(req);
    w->route = w->loop->route;
    w->start_us = w->loop->route_start_us;
    w->reply = reply;
    w->anchor = h2o_mem_alloc_shared(&req->pool, sizeof(ldr__anchor_t), ldr__anchor_dispose);
    ((ldr__anchor_t *)w->anchor)->w = w;
    return w;
}

ldr_engine_req_t *ldr_write_cmds(ldr_write_t *w, uint32_t n)
{
    w->cmds = ldr_calloc(n ? n : 1, sizeof(*w->cmds));
    w->ncmds = n;
    return w->cmds;
}

static void ldr__release(ldr_write_t *w)
{
    if (w->aux != NULL && w->aux_clear != NULL)
        w->aux_clear(w->aux);
    ldr_free(w->aux);
    ldr_buf_free(&w->strings);
    ldr_buf_free(&w->keys);
    ldr_free(w->cmds);
    ldr_free(w);
}

void ldr_write_free(ldr_write_t *w)
{
    ((ldr__anchor_t *)w->anchor)->w = NULL;
    ldr__release(w);
}

static void ldr__done(ldr_engine_req_t *er)
{
    ldr_write_t *w = er->data;
    /* an order that moved may have a courier to book or cancel (deliveries.c) */
    uint16_t t = er->cmd.type;
    if (er->result.status == LDR_OK && !er->result.replayed &&
        (t == LDR_CMD_ORDER_PAID || t == LDR_CMD_ORDER_CANCEL || t == LDR_CMD_ORDER_REFUND ||
         t == LDR_CMD_ORDER_STATUS))
        ldr_deliveries_poke(w->h->deliveries, er->cmd.order.ptr, er->cmd.order.len);
    /* only the engine's thread counts, so no atomics; the message is the last touch of w here */
    if (++w->ndone == w->ncmds)
        h2o_multithread_send_message(&w->loop->replies, &w->msg);
}

/*
 * HTTP/1.1 answers a write in a later turn of its loop, once the engine made it durable.  h2o
 * 2.2.5 stops reading a connection while its request is processed and starts again after the
 * answer; on its level-triggered epoll that is an EPOLL_CTL_DEL and an EPOLL_CTL_ADD for every
 * write, two of the ~4 system calls a loop makes for one.  A connection that waits for the engine
 * stays polled instead, with h2o told not to read it (h2o_socket_dont_read): the request's path,
 * headers and body point into the socket's input buffer, which a read could move.  h2o then finds
 * no change to make at the end of the turn, and none when it starts reading after the answer.
 * If the client sends anything (a pipelined request, or its end of stream) before its answer,
 * the connection goes back to h2o's way: not polled, read after the answer.  Whatever ends the
 * request (its answer, or the connection closing) disposes its pool, which clears the don't-read
 * mark before h2o reads the connection again.
 */
static void ldr__on_read_ahead(h2o_socket_t *sock, const char *err)
{
    h2o_socket_dont_read(sock, 0);
    h2o_socket_read_stop(sock);
}

static void ldr__unpark(void *p)
{
    h2o_socket_dont_read(*(h2o_socket_t **)p, 0);
}

static void ldr__park(h2o_req_t *req)
{
#if H2O_VERSION_MAJOR != 2 || H2O_VERSION_MINOR != 2
    /* what makes this safe is h2o 2.2's HTTP/1 (it reads no body while a handler runs, and
     * disposes the request's pool before reading again): another version keeps h2o's way */
    return;
#endif
    if (req == NULL || req->version >= 0x200 || req->conn->callbacks->get_socket == NULL)
        return;
    h2o_socket_t *sock = req->conn->callbacks->get_socket(req->conn);
    if (sock == NULL || h2o_socket_is_reading(sock))
        return; /* parked by an earlier stage of the request */
    h2o_socket_t **unpark = h2o_mem_alloc_shared(&req->pool, sizeof(*unpark), ldr__unpark);
    *unpark = sock;
    h2o_socket_dont_read(sock, 1);
    h2o_socket_read_start(sock, ldr__on_read_ahead);
}

void ldr_write_submit(ldr_write_t *w)
{
    w->ndone = 0;
    ldr__park(w->req);
    /* the loop does not exit while the engine holds its writes (only it writes the count) */
    atomic_fetch_add_explicit(&w->loop->inflight, 1, memory_order_relaxed);
    if (w->ncmds == 0) {
        h2o_multithread_send_message(&w->loop->replies, &w->msg);
        return;
    }
    for (uint32_t i = 0; i < w->ncmds; i++) {
        w->cmds[i].done = ldr__done;
        w->cmds[i].data = w;
        ldr_engine_submit(w->h->app->engine, &w->cmds[i]);
    }
}

void ldr_write_on_replies(h2o_multithread_receiver_t *receiver, h2o_linklist_t *messages)
{
    while (!h2o_linklist_is_empty(messages)) {
        ldr_write_t *w = H2O_STRUCT_FROM_MEMBER(ldr_write_t, msg.link, messages->next);
        h2o_linklist_unlink(&w->msg.link);
        atomic_fetch_sub_explicit(&w->loop->inflight, 1, memory_order_relaxed);
        h2o_req_t *req = w->req;
        if (req != NULL || w->unattended) {
            /* the anchor lives in the request's pool: only while there is a request */
            ldr__anchor_t *anchor = req != NULL ? w->anchor : NULL;
            if (anchor != NULL)
                anchor->w = NULL; /* answering may end the request and its pool */
            w->again = false;
            w->reply(w, req);
            if (w->again) { /* a second stage, not answered yet: the request lives on */
                if (anchor != NULL)
                    anchor->w = w;
                continue;
            }
            if (req != NULL)
                ldr_request_done(w->loop, req, w->route, w->start_us);
        }
        ldr__release(w); /* the anchor may be gone with its request: not touched */
    }
}

/* ---- request bodies ---- */

/*
 * A body error as the API describes it: `invalid_json` with details.position for a text that is
 * not JSON (or not one object), `invalid_body` with details.field for a field that is wrong.
 */
void ldr_http_body_error(ldr_buf_t *b, const ldr_error_t *err, const char **code)
{
    ldr_buf_reset(b);
    if (err->position >= 0) {
        *code = "invalid_json";
        ldr_buf_printf(b, "{\"position\":%ld}", err->position);
    } else {
        *code = "invalid_body";
        if (err->field[0] != '\0') {
            ldr_buf_puts(b, "{\"field\":");
            ldr_buf_json_str(b, err->field, strlen(err->field));
            ldr_buf_putc(b, '}');
        }
    }
    ldr_buf_putc(b, '\0');
}

int ldr_write_bad_body(ldr_write_t *w, h2o_req_t *req, ldr__jsonl_scratch_t *sc,
                       const ldr_error_t *err)
{
    ldr_buf_t d = LDR_BUF_INIT;
    const char *code;
    ldr_http_body_error(&d, err, &code);
    ldr_http_send_error(req, 400, code, err->message, d.base[0] != '\0' ? d.base : NULL);
    ldr_buf_free(&d);
    ldr__jsonl_scratch_free(sc);
    ldr_write_free(w);
    return 0;
}

bool ldr_http_idempotency_key(h2o_req_t *req, const ldr_principal_t *who, const char *needed_for,
                              h2o_iovec_t *scope)
{
    *scope = (h2o_iovec_t){NULL, 0};
    ssize_t i = h2o_find_header_by_str(&req->headers, H2O_STRLIT("idempotency-key"), -1);
    if (i < 0 && needed_for == NULL)
        return true;
    h2o_iovec_t k = i >= 0 ? req->headers.entries[i].value : (h2o_iovec_t){NULL, 0};
    bool ok = k.len >= 1 && k.len <= 255;
    for (size_t j = 0; ok && j < k.len; j++)
        ok = k.base[j] > 0x20 && k.base[j] < 0x7f;
    if (!ok) {
        char msg[256];
        if (i < 0)
            snprintf(msg, sizeof(msg),
                     "this needs an Idempotency-Key header (1 to 255 visible ASCII characters), %s",
                     needed_for);
        ldr_http_send_error(req, 400, "invalid_parameter",
                            i < 0 ? msg
                                  : "Idempotency-Key must be 1 to 255 visible ASCII characters",
                            "{\"header\":\"Idempotency-Key\"}");
        return false;
    }
    size_t sub = strlen(who->sub);
    scope->base = h2o_mem_alloc_pool(&req->pool, sub + 1 + k.len);
    memcpy(scope->base, who->sub, sub);
    scope->base[sub] = ' ';
    memcpy(scope->base + sub + 1, k.base, k.len);
    scope->len = sub + 1 + k.len;
    return true;
}

/* Parses the write's body as one JSON object; on failure answers 400 and frees the write. */
bool ldr_write_body(ldr_write_t *w, h2o_req_t *req, ldr__jsonl_scratch_t *sc, ldr__json_line_t *ln)
{
    ldr_error_t err = {.position = -1};
    if (w->body.len == 0)
        ldr__json_error(&err, NULL, "the body must be a JSON object");
    else if (ldr__json_object(sc, w->body.base, w->body.len, ln, &err) == LDR_OK)
        return true;
    if (err.position < 0 && err.field[0] == '\0')
        err.position = 0; /* not one JSON object: an invalid_json at its start */
    ldr_write_bad_body(w, req, sc, &err);
    return false;
}

/* The body's strings now belong to the write: the commands point into them. */
void ldr_write_adopt_strings(ldr_write_t *w, ldr__jsonl_scratch_t *sc)
{
    w->strings = sc->strings;
    sc->strings = (ldr_buf_t)LDR_BUF_INIT;
    ldr__jsonl_scratch_free(sc);
}

void ldr_http_write_failed(h2o_req_t *req, int status)
{
    if (status == LDR_ESTORAGE)
        ldr_http_send_error(
            req, 503, "storage_unavailable",
            "the write-ahead log cannot write now; nothing was changed, retry later", NULL);
    else
        ldr_http_send_error(req, 500, "internal", ldr_strerror(status), NULL);
}
