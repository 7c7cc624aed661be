/* The k8sha operator CLI: shared pieces of its commands. */
#ifndef K8SHA_CLI_H
#define K8SHA_CLI_H

#include <k8sha.h>

/* Exit codes. */
#define CLI_OK 0
#define CLI_FAILED 1  /* the operation failed (API unreachable, ...) */
#define CLI_INVALID 2 /* bad usage or invalid configuration */

/* Options every command that reads the configuration accepts. */
typedef struct cli_config_opts {
  const char *file;   /* -c FILE */
  const char **defs;  /* -D key=value, in order */
  int n_defs;
  int json;           /* --json */
  unsigned long timeout_ms; /* --timeout DURATION: the whole command's bound (0: none) */
  int timeout_given;
} cli_config_opts;

/* The default of --timeout: an API server that accepts connections and never answers must not
 * hang a command. (Commands that take the lock wait a lease for it on top.) */
#define CLI_DEFAULT_TIMEOUT_MS 60000ul
/* ... and of the commands that take the lock (a lease) and scan (a lease and more) first. */
#define CLI_DEFAULT_LOCKING_TIMEOUT_MS 300000ul

/* Parses -c/-D/--json from argv (starting after the command words); leaves other arguments in
 * `rest`. Returns 0, or prints a usage error and returns CLI_INVALID. */
int cli_parse_config_opts(int argc, char **argv, cli_config_opts *o, const char *usage);

/* Bounds the command: when `ms` (the --timeout, 0: none) passes on `loop`, says that the API
 * server did not answer in time, naming `what`, and exits with CLI_FAILED. */
void cli_arm_timeout(struct uv_loop_s *loop, unsigned long ms, const char *what);

/* Loads the configuration the options name (or $FLINK_CONF_DIR/config.yaml / flink-conf.yaml
 * when no -c is given) and applies -D overrides. Prints what failed and returns CLI_INVALID on
 * failure; on success *out is the configuration to free. Validation is left to the caller. */
int cli_load_config(const cli_config_opts *o, k8sha_config **out);

struct uv_loop_s;

/* Loads, validates and resolves the configuration the options name, initialises `loop` and
 * creates a context on it. `cluster_id` (may be NULL) receives the cluster id. Prints what failed
 * and returns CLI_INVALID / CLI_FAILED, or 0. */
int cli_open(const cli_config_opts *o, struct uv_loop_s *loop, k8sha_ctx **ctx, char *cluster_id,
             size_t size);
/* Frees the context (NULL: none) and closes the loop once its handles have finished. */
void cli_close(k8sha_ctx *ctx, struct uv_loop_s *loop);

/* Reads the cluster's HA ConfigMaps once: *objs maps name -> object (json_t *, to decref).
 * Prints what failed and returns CLI_FAILED / CLI_INVALID, or 0. */
typedef struct json_t json_t;
int cli_snapshot(const cli_config_opts *o, char *cluster_id, size_t size, json_t **objs,
                 char *message, size_t msize);
/* The jobs the HA ConfigMaps know, with their checkpoint counts and ConfigMap sizes (a JSON
 * array to decref). */
json_t *cli_jobs_summary(json_t *objs, const char *cluster_id);

/* Joins the election as `identity` and waits until granted, or until a lease duration (plus a
 * margin) shows that a live leader holds the lock (message says so). 0 or CLI_FAILED. */
int cli_take_lock(k8sha_ctx *ctx, struct uv_loop_s *loop, const char *identity,
                  k8sha_election **out, char *message, size_t size);
/* Releases the lock (so a real leader takes over at once) and frees the election. */
void cli_release_lock(k8sha_election *e, struct uv_loop_s *loop);

/* Prints every error diagnostic to stderr; returns how many there were. */
int cli_print_errors(const k8sha_config *cfg);

int cmd_config_check(int argc, char **argv);
int cmd_watch(int argc, char **argv);
int cmd_elect(int argc, char **argv);
int cmd_status(int argc, char **argv);
int cmd_jobs(int argc, char **argv);
int cmd_checkpoints(int argc, char **argv);
int cmd_cleanup(int argc, char **argv);
int cmd_orphans(int argc, char **argv);

#endif
