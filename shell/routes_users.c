/*
 * Users over HTTP: POST /v1/auth/register, POST /v1/auth/login, GET /v1/me.
 *
 * Register: the body is checked, the password hashed on a worker (pwhash.c), then USER_ADD goes
 * through the engine like a stock write, answered once durable (201; 409 email_taken).  Login:
 * the user's hash is copied under the read lock and verified on a worker; for an unknown email
 * the worker verifies against a dummy hash, so that both cost the same; a match gets a token (200),
 * anything else 401 invalid_credentials.  Passwords live only in the job, wiped after use, and
 * never reach a log or the engine.
 */
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "http_internal.h"

#define LDR__PASSWORD_MIN 8
#define LDR__PASSWORD_MAX 128
#define LDR__TOKEN_TTL    3600

static void ldr__json_user(ldr_buf_t *b, const ldr_user_t *u)
{
    ldr_buf_puts(b, "{\"id\":");
    ldr_buf_json_str(b, u->id, strlen(u->id));
    ldr_buf_puts(b, ",\"email\":");
    ldr_buf_json_str(b, u->email, strlen(u->email));
    ldr_buf_puts(b, ",\"name\":");
    ldr_buf_json_str(b, u->name, strlen(u->name));
    ldr_buf_puts(b, ",\"locale\":");
    ldr_buf_json_str(b, u->locale, strlen(u->locale));
    ldr_buf_printf(b, ",\"role\":\"%s\",\"created_at\":", ldr_role_name((ldr_role_t)u->role));
    ldr_buf_json_time(b, u->created_at);
    ldr_buf_putc(b, '}');
}

/* ---- register ---- */

static void ldr__registered(ldr_write_t *w, h2o_req_t *req)
{
    ldr_app_t *app = w->h->app;
    const ldr_cmd_t *c = &w->cmds[0].cmd;
    int st = w->cmds[0].result.status;
    if (st == LDR_ECONFLICT) {
        ldr_http_send_error(req, 409, "email_taken", "an account with this email exists", NULL);
        return;
    }
    if (st != LDR_OK) {
        ldr_http_write_failed(req, st);
        return;
    }
    ldr_buf_t b = LDR_BUF_INIT;
    ldr_app_read_begin(app);
    const ldr_user_t *u =
        ldr_users_by_id(ldr_engine_state(app->engine)->users, c->owner.ptr, c->owner.len);
    if (u != NULL)
        ldr__json_user(&b, u);
    ldr_app_read_end(app);
    ldr_buf_putc(&b, '\n');
    ldr_http_send_json(req, 201, b.base, b.len);
    ldr_buf_free(&b);
}

/* The hash is made: the new user goes to the engine. */
static void ldr__hashed(ldr_write_t *w, h2o_req_t *req)
{
    ldr_pw_job_t *job = w->aux;
    if (!job->ok) {
        ldr_http_send_error(req, 503, "busy", "the password could not be hashed; retry", NULL);
        return;
    }
    ldr_cmd_t *c = &w->cmds[0].cmd;
    c->password_hash = (ldr_str_t){job->hash, strlen(job->hash)};
    w->reply = ldr__registered;
    ldr_write_again(w);
    ldr_write_submit(w);
}

int ldr_route_register(ldr_handler_t *h, h2o_req_t *req, h2o_iovec_t arg)
{
    static const ldr__json_key_t keys[] = {LDR__KEY("email"), LDR__KEY("password"),
                                           LDR__KEY("name"), LDR__KEY("locale")};
    if (ldr_http_not_ready(h, req))
        return 0;
    ldr_write_t *w = ldr_write_new(h, req, arg, ldr__hashed);
    ldr__jsonl_scratch_t sc = {0};
    ldr__json_line_t ln;
    if (!ldr_write_body(w, req, &sc, &ln))
        return 0;
    uint32_t f[4];
    ldr_str_t email, password, name, locale;
    ldr_error_t err = {.position = -1};
    if (ldr__json_fields(&ln, 0, NULL, keys, 4, f, &err) != LDR_OK ||
        ldr__json_str(&ln, f[0], "email", true, LDR_USER_EMAIL_MAX, &email, &err) != LDR_OK ||
        ldr__json_str(&ln, f[1], "password", true, LDR__PASSWORD_MAX, &password, &err) != LDR_OK ||
        ldr__json_str(&ln, f[2], "name", true, LDR_USER_NAME_MAX, &name, &err) != LDR_OK ||
        ldr__json_str(&ln, f[3], "locale", false, 2, &locale, &err) != LDR_OK)
        return ldr_write_bad_body(w, req, &sc, &err);
    if (!ldr_email_valid(email.ptr, email.len)) {
        ldr__json_error(&err, "email", "not an email address");
        return ldr_write_bad_body(w, req, &sc, &err);
    }
    if (password.len < LDR__PASSWORD_MIN) {
        ldr__json_error(&err, "password", "at least %d bytes", LDR__PASSWORD_MIN);
        return ldr_write_bad_body(w, req, &sc, &err);
    }
    if (locale.ptr != NULL && !ldr_str_eq(locale, "vi", 2) && !ldr_str_eq(locale, "en", 2)) {
        ldr__json_error(&err, "locale", "vi or en");
        return ldr_write_bad_body(w, req, &sc, &err);
    }
    ldr_pw_job_t *job = ldr_calloc(1, sizeof(*job));
    memcpy(job->password, password.ptr, password.len);
    w->aux = job;
    /* the user id: usr- and 16 random hex digits; the strings go into the write's key buffer */
    uint8_t rnd[8];
    randombytes_buf(rnd, sizeof(rnd));
    ldr_buf_reserve(&w->keys, 20 + email.len + name.len + 4);
    char *id = w->keys.base + w->keys.len;
    ldr_buf_puts(&w->keys, "usr-");
    for (int i = 0; i < 8; i++)
        ldr_buf_printf(&w->keys, "%02x", rnd[i]);
    ldr_cmd_t *c = &ldr_write_cmds(w, 1)->cmd;
    *c = (ldr_cmd_t){.type = LDR_CMD_USER_ADD,
                     .owner = {id, 20},
                     .role = LDR_ROLE_CUSTOMER,
                     .locale = locale.ptr != NULL ? locale : (ldr_str_t){"vi", 2}};
    ldr_write_adopt_strings(w, &sc); /* email and name point into the body's strings */
    c->email = email, c->name = name;
    if (memchr(name.ptr, '\0', name.len) != NULL) {
        ldr_http_send_error(req, 400, "invalid_body", "field \"name\": NUL byte", NULL);
        ldr_write_free(w);
        return 0;
    }
    ldr_pwhash_submit(w);
    return 0;
}

/* ---- login ---- */

typedef struct ldr__login {
    ldr_pw_job_t job; /* first: the write's aux is both */
    bool known;
    uint8_t role;
    char id[LDR_USER_ID_MAX + 1];
} ldr__login_t;

static void ldr__verified(ldr_write_t *w, h2o_req_t *req)
{
    ldr__login_t *l = w->aux;
    if (!l->known || !l->job.ok) {
        ldr_http_send_error(req, 401, "invalid_credentials", "wrong email or password", NULL);
        return;
    }
    ldr_buf_t tok = LDR_BUF_INIT, b = LDR_BUF_INIT;
    if (ldr_token_mint(w->h->auth, (ldr_role_t)l->role, l->id, (int64_t)time(NULL), LDR__TOKEN_TTL,
                       &tok) != LDR_OK) {
        ldr_http_send_error(req, 500, "internal", "cannot mint a token", NULL);
        return;
    }
    ldr_buf_puts(&b, "{\"access_token\":");
    ldr_buf_json_str(&b, tok.base, tok.len);
    ldr_buf_printf(&b, ",\"token_type\":\"Bearer\",\"expires_in\":%d}\n", LDR__TOKEN_TTL);
    h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_CACHE_CONTROL, NULL,
                   H2O_STRLIT("no-store"));
    ldr_http_send_json(req, 200, b.base, b.len);
    ldr_buf_free(&tok);
    ldr_buf_free(&b);
}

int ldr_route_login(ldr_handler_t *h, h2o_req_t *req, h2o_iovec_t arg)
{
    static const ldr__json_key_t keys[] = {LDR__KEY("email"), LDR__KEY("password")};
    if (ldr_http_not_ready(h, req))
        return 0;
    ldr_write_t *w = ldr_write_new(h, req, arg, ldr__verified);
    ldr__jsonl_scratch_t sc = {0};
    ldr__json_line_t ln;
    if (!ldr_write_body(w, req, &sc, &ln))
        return 0;
    uint32_t f[2];
    ldr_str_t email, password;
    ldr_error_t err = {.position = -1};
    if (ldr__json_fields(&ln, 0, NULL, keys, 2, f, &err) != LDR_OK ||
        ldr__json_str(&ln, f[0], "email", true, LDR_USER_EMAIL_MAX, &email, &err) != LDR_OK ||
        ldr__json_str(&ln, f[1], "password", true, LDR__PASSWORD_MAX, &password, &err) != LDR_OK)
        return ldr_write_bad_body(w, req, &sc, &err);
    ldr__login_t *l = ldr_calloc(1, sizeof(*l));
    l->job.verify = true;
    memcpy(l->job.password, password.ptr, password.len);
    ldr_app_read_begin(h->app);
    const ldr_user_t *u =
        ldr_users_by_email(ldr_engine_state(h->app->engine)->users, email.ptr, email.len);
    if (u != NULL) {
        l->known = true, l->role = u->role;
        strcpy(l->id, u->id);
        strcpy(l->job.hash, u->hash);
    } /* else an empty hash: the worker verifies against a dummy, so timing tells nothing */
    ldr_app_read_end(h->app);
    ldr__jsonl_scratch_free(&sc);
    w->aux = l;
    ldr_pwhash_submit(w);
    return 0;
}

/* ---- me ---- */

int ldr_route_me(ldr_handler_t *h, h2o_req_t *req, h2o_iovec_t arg)
{
    ldr_principal_t who;
    if (ldr_http_not_ready(h, req) ||
        !ldr_http_authorize(h, req,
                            LDR_ROLES(LDR_ROLE_CUSTOMER) | LDR_ROLES(LDR_ROLE_ADMIN) |
                                LDR_ROLES(LDR_ROLE_SERVICE),
                            &who))
        return 0;
    ldr_buf_t b = LDR_BUF_INIT;
    ldr_app_read_begin(h->app);
    const ldr_user_t *u =
        ldr_users_by_id(ldr_engine_state(h->app->engine)->users, who.sub, strlen(who.sub));
    if (u != NULL) {
        ldr__json_user(&b, u);
    } else { /* a token minted for a subject with no account (`larder token`) */
        ldr_buf_puts(&b, "{\"id\":");
        ldr_buf_json_str(&b, who.sub, strlen(who.sub));
        ldr_buf_printf(&b, ",\"role\":\"%s\"}", ldr_role_name(who.role));
    }
    ldr_app_read_end(h->app);
    ldr_buf_putc(&b, '\n');
    ldr_http_send_json(req, 200, b.base, b.len);
    ldr_buf_free(&b);
    return 0;
}
