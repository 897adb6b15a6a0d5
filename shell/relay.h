/*
 * The Kafka relay: publishes the outbox (the WAL, see outbox.h) to Kafka, and applies the payment
 * and delivery events other services publish to the orders they name (see relay.c).
 *
 * One thread reads the durable records past its cursor with a WAL reader, renders each into its
 * messages and produces them with librdkafka's idempotent producer (acks=all, ordered, retried
 * without end: a broker outage only delays).  The cursor, the last LSN all of whose messages
 * Kafka acknowledged, moves on delivery reports only, and is written to DATA_DIR/relay/kafka.cursor
 * (synced and renamed into place) at most every 200 ms; the engine keeps every log segment from
 * the written cursor on (ldr_engine_retain_log), snapshots or not.  After a crash or restart the
 * relay starts again after the written cursor: a message may then go out twice (at least once),
 * with the same eventId.  A fatal producer error (or a delivery that failed for good) makes a new
 * producer start again from the cursor, after a backoff.
 */
#ifndef LARDER_SHELL_RELAY_H
#define LARDER_SHELL_RELAY_H

#include <stdbool.h>
#include <stdint.h>

#include "larder/engine.h"
#include "outbox.h"

typedef struct ldr_relay ldr_relay_t;

typedef struct ldr_relay_config {
    const char *brokers;                 /* LARDER_KAFKA_BROKERS, "host:port,…" */
    const char *topics[LDR_TOPIC_COUNT]; /* LARDER_KAFKA_TOPIC_ORDER, …; NULL: the default */
    const char *group; /* LARDER_KAFKA_GROUP: the consumer group reading the payment and delivery
                          topics (NULL: "larder"; "": no consumer) */
} ldr_relay_config_t;

typedef struct ldr_relay_metrics {
    uint64_t cursor;    /* every message up to this LSN is in Kafka */
    uint64_t durable;   /* the log's durable LSN when last looked at */
    uint64_t produced;  /* messages handed to the producer since start */
    uint64_t delivered; /* messages Kafka acknowledged since start */
    uint64_t restarts;  /* producers started again after an error */
    bool brokers_down;  /* the producer reports every broker down */
    uint64_t consumed;  /* messages read from the payment and delivery topics */
    uint64_t applied;   /* of them, events that moved an order */
    uint64_t skipped;   /* larder's own, for no order, or for an order past them */
} ldr_relay_metrics_t;

/*
 * A log reader's cursor file (the relay's, the PostgreSQL sink's): the last LSN it is done with,
 * as text.  Reading: LDR_OK, LDR_ENOENT (none yet: *lsn is 0), or LDR_EIO / LDR_EPARSE with a
 * message in err.  Writing goes to path.tmp, is synced, renamed over path and the directory
 * synced: LDR_OK or LDR_EIO (said on stderr).
 */
int ldr_log_cursor_read(const char *path, uint64_t *lsn, char *err, size_t err_len);
int ldr_log_cursor_write(const char *dir, const char *path, uint64_t lsn);
/**
 * A reader of the log in wal_dir from *cursor + 1.  When snapshots took those records away (the
 * reader `who` was off meanwhile), says so on stderr and moves *cursor to just before the oldest
 * record left.  Returns what ldr_wal_reader_open does.
 */
int ldr_log_reader_open(const char *wal_dir, uint64_t *cursor, ldr_wal_reader_t **out,
                        const char *who, char *err, size_t err_len);

/** Checks a configuration (brokers given, topic names Kafka accepts): LDR_OK or LDR_EINVAL with
 *  a message in err. */
int ldr_relay_config_check(const ldr_relay_config_t *cfg, char *err, size_t err_len);

/**
 * The relay of the log in wal_dir, its cursor in data_dir/relay.  Reads the cursor and keeps the
 * engine's log from it (call before the engine thread starts).  Returns LDR_OK, LDR_EINVAL (a bad
 * configuration: message in err) or LDR_EIO.
 */
int ldr_relay_new(const ldr_relay_config_t *cfg, const char *data_dir, ldr_engine_t *e,
                  ldr_relay_t **out, char *err, size_t err_len);
/** Starts the relay thread. */
int ldr_relay_start(ldr_relay_t *r);
/** Stops it: waits up to timeout_ms for what was produced to be acknowledged, writes the cursor. */
void ldr_relay_stop(ldr_relay_t *r, int timeout_ms);
void ldr_relay_free(ldr_relay_t *r);
void ldr_relay_metrics(ldr_relay_t *r, ldr_relay_metrics_t *out);

#endif
