/*
 * Writes through the engine: a request's commands go to the engine thread, and the answer is
 * written on the loop thread that owns the request once every command is durable.
 *
 * The engine calls each command's `done` on its own thread; the last one of a write posts the write
 * to its loop's receiver (h2o_multithread_send_message: a mutex and, when the queue was empty, one
 * pipe write), and the loop thread calls the write's reply function.  A client may go away
 * meanwhile: the request's pool then disposes the anchor, which clears w->req, and the reply is
 * skipped.  The write itself is always freed on the loop thread, after the engine is done with it.
 */
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
    /* only the engine thread counts, so no atomics; the message is the last touch of w here */
    if (++w->ndone == w->ncmds)
        h2o_multithread_send_message(&w->loop->replies, &w->msg);
}

void ldr_write_submit(ldr_write_t *w)
{
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
        if (w->req != NULL) {
            ((ldr__anchor_t *)w->anchor)->w = NULL;
            w->reply(w, w->req);
            ldr_request_done(w->loop, w->req, w->route, w->start_us);
        }
        ldr__release(w); /* the anchor may be gone with its request: not touched */
    }
}
