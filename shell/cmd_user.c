/*
 * `larder user add [--admin] [--name NAME] [--locale vi|en] [--data-dir DIR] [--catalog FILE]
 * EMAIL`: creates an account offline, the way admins are made (never over HTTP).  The password is
 * the first line of stdin.  The server must be stopped: the command opens the data dir's log
 * itself (recovering it onto the catalog, which it needs for that), appends USER_ADD and syncs.
 */
#include <errno.h>
#include <getopt.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli_internal.h"
#include "larder/app.h"
#include "larder/auth.h"
#include "larder/engine.h"

static const char ldr__user_usage[] =
    "usage: larder user add [--admin] [--name NAME] [--locale vi|en] [--data-dir DIR]\n"
    "                       [--catalog FILE] EMAIL\n"
    "\n"
    "Creates an account in the data dir's log, offline: stop the server first (it holds the\n"
    "log).  The password (8 to 128 bytes) is the first line of stdin; it is stored as an\n"
    "Argon2id hash.  The new account's id is printed on stdout.  Admin accounts are made\n"
    "only this way, never over HTTP.\n"
    "\n"
    "options:\n"
    "  --admin          the account's role is admin (default customer)\n"
    "  --name NAME      display name (default: the part of EMAIL before the @)\n"
    "  --locale vi|en   preferred language (default vi)\n"
    "  --data-dir DIR   the server's data dir (env LARDER_DATA_DIR; default ./data)\n"
    "  --catalog FILE   the catalog the server serves, needed to recover the log (default\n"
    "                   DIR/catalog.jsonl, where --demo keeps it)\n"
    "  -h, --help       show this help\n"
    "\n"
    "exit status: 0 created, 1 failed (the email exists, the log is busy or unreadable), 2 bad\n"
    "usage.\n";

__attribute__((format(printf, 1, 2))) static int ldr__user_error(const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "larder user add: ");
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\nRun `larder user --help` for usage.\n");
    return 2;
}

int ldr_cmd_user(int argc, char **argv)
{
    static const struct option longopts[] = {{"admin", no_argument, NULL, 'a'},
                                             {"name", required_argument, NULL, 'n'},
                                             {"locale", required_argument, NULL, 'l'},
                                             {"data-dir", required_argument, NULL, 'd'},
                                             {"catalog", required_argument, NULL, 'c'},
                                             {"help", no_argument, NULL, 'h'},
                                             {NULL, 0, NULL, 0}};
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        fputs(ldr__user_usage, argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    if (strcmp(argv[1], "add") != 0)
        return ldr__user_error("unknown subcommand \"%s\" (want add)", argv[1]);
    bool admin = false;
    const char *name = NULL, *locale = "vi", *dir = getenv("LARDER_DATA_DIR"), *catalog = NULL;
    int c;
    opterr = 0;
    optind = 2;
    while ((c = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
        switch (c) {
        case 'a':
            admin = true;
            break;
        case 'n':
            name = optarg;
            break;
        case 'l':
            locale = optarg;
            break;
        case 'd':
            dir = optarg;
            break;
        case 'c':
            catalog = optarg;
            break;
        case 'h':
            fputs(ldr__user_usage, stdout);
            return 0;
        default:
            return ldr__user_error("unknown or incomplete option \"%s\"", argv[optind - 1]);
        }
    }
    if (optind != argc - 1)
        return ldr__user_error("%s", "want exactly one EMAIL");
    const char *email = argv[optind];
    if (!ldr_email_valid(email, strlen(email)))
        return ldr__user_error("\"%s\" is not an email address", email);
    if (strcmp(locale, "vi") != 0 && strcmp(locale, "en") != 0)
        return ldr__user_error("--locale wants vi or en, not \"%s\"", locale);
    if (dir == NULL || dir[0] == '\0')
        dir = "data";
    char cpath[4200], wal[4200], namebuf[LDR_USER_NAME_MAX + 1];
    if (catalog == NULL) {
        snprintf(cpath, sizeof(cpath), "%s/catalog.jsonl", dir);
        catalog = cpath;
    }
    if (name == NULL) {
        snprintf(namebuf, sizeof(namebuf), "%.*s", (int)(strchr(email, '@') - email), email);
        name = namebuf;
    }
    char password[LDR_USER_HASH_MAX + 8];
    if (fgets(password, sizeof(password), stdin) == NULL)
        return ldr__user_error("%s", "no password on stdin");
    password[strcspn(password, "\r\n")] = '\0';
    if (strlen(password) < 8 || strlen(password) > 128)
        return ldr__user_error("%s", "the password wants 8 to 128 bytes");

    char *buf;
    size_t len;
    if (ldr_read_file(catalog, &buf, &len) != LDR_OK) {
        fprintf(stderr, "larder user add: cannot read the catalog %s: %s\n", catalog,
                strerror(errno));
        return 1;
    }
    ldr_catalog_t *cat = ldr_catalog_new();
    ldr_catalog_load_jsonl(cat, buf, len, NULL, NULL, NULL);
    ldr_free(buf);
    snprintf(wal, sizeof(wal), "%s/wal", dir);
    ldr_engine_opts_t eo = {.wal_dir = wal, .catalog = cat};
    ldr_engine_t *e;
    ldr_wal_recovery_t rep;
    int rc = ldr_engine_open(&eo, &e, &rep);
    if (rc != LDR_OK) {
        fprintf(stderr, "larder user add: cannot open the log in %s: %s\n", wal,
                rc == LDR_EBUSY  ? "a server holds it; stop it first"
                : rep.message[0] ? rep.message
                                 : ldr_strerror(rc));
        ldr_catalog_free(cat);
        return 1;
    }
    char hash[crypto_pwhash_STRBYTES], id[32];
    uint8_t rnd[8];
    bool ok = sodium_init() >= 0 && crypto_pwhash_str(hash, password, strlen(password),
                                                      crypto_pwhash_OPSLIMIT_INTERACTIVE,
                                                      crypto_pwhash_MEMLIMIT_INTERACTIVE) == 0;
    sodium_memzero(password, sizeof(password));
    randombytes_buf(rnd, sizeof(rnd));
    snprintf(id, sizeof(id), "usr-%02x%02x%02x%02x%02x%02x%02x%02x", rnd[0], rnd[1], rnd[2], rnd[3],
             rnd[4], rnd[5], rnd[6], rnd[7]);
    ldr_cmd_t cmd = {.type = LDR_CMD_USER_ADD,
                     .owner = {id, strlen(id)},
                     .email = {email, strlen(email)},
                     .name = {name, strlen(name)},
                     .locale = {locale, 2},
                     .role = admin ? LDR_ROLE_ADMIN : LDR_ROLE_CUSTOMER,
                     .password_hash = {hash, strlen(hash)}};
    ldr_cmd_result_t res;
    rc = ok ? ldr_engine_execute(e, &cmd, (int64_t)time(NULL), &res, NULL) : LDR_ENOMEM;
    if (rc == LDR_OK)
        rc = ldr_engine_sync(e);
    if (ldr_engine_close(e) != LDR_OK && rc == LDR_OK)
        rc = LDR_ESTORAGE;
    ldr_catalog_free(cat);
    if (rc != LDR_OK) {
        fprintf(stderr, "larder user add: %s\n",
                rc == LDR_ECONFLICT ? "an account with this email exists"
                : rc == LDR_EINVAL  ? "the name is not valid text"
                                    : ldr_strerror(rc));
        return 1;
    }
    printf("%s\n", id);
    fprintf(stderr, "larder user add: created %s account %s for %s\n", admin ? "an admin" : "a", id,
            email);
    return 0;
}
