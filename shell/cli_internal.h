/* Internal to the command line: subcommands that live outside shell/main.c. */
#ifndef LARDER_SHELL_CLI_INTERNAL_H
#define LARDER_SHELL_CLI_INTERNAL_H

/** `larder wal check|dump DIR`; returns the process exit status. */
int ldr_cmd_wal(int argc, char **argv);
/** `larder token --role ROLE --sub ID [--ttl SECONDS]`; returns the process exit status. */
int ldr_cmd_token(int argc, char **argv);

/** `larder user add ...`; returns the process exit status. */
int ldr_cmd_user(int argc, char **argv);

/** `larder dev kafka ...` (a local mock Kafka cluster); returns the process exit status. */
int ldr_cmd_dev(int argc, char **argv);
/** `larder db migrate|load`; returns the process exit status. */
int ldr_cmd_db(int argc, char **argv);
/** `larder import --from-postgres ...`; returns the process exit status. */
int ldr_cmd_import(int argc, char **argv);

#endif
