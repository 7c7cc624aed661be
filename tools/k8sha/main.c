/* k8sha: the operator CLI of libk8sha. */
#include <stdio.h>
#include <string.h>

#include "cli.h"

static const char usage[] =
    "usage: k8sha <command> [options]\n"
    "\n"
    "commands:\n"
    "  config check [-c FILE] [-D key=value]... [--kube] [--json]\n"
    "      show the effective high-availability configuration, or what is wrong with it\n"
    "  watch [-c FILE] [-D key=value]... [--json]\n"
    "      print every change to the cluster's HA ConfigMaps as it happens\n"
    "  elect --identity ID --address ADDR [--component NAME]... [-c FILE] [-D key=value]...\n"
    "      join the leader election; one line per event; SIGTERM releases the lock\n"
    "  status [-c FILE] [-D key=value]... [--json]\n"
    "      the lock holder, its lease, transitions and published components\n"
    "  jobs [-c FILE] [-D key=value]... [--json]\n"
    "      the jobs in the HA data: job graph, checkpoint counts, ConfigMap sizes\n"
    "  checkpoints JOBID [-c FILE] [-D key=value]... [--json]\n"
    "      the checkpoints a job's ConfigMap holds and the blobs they point to\n"
    "  cleanup (--job JOBID | --cluster) [--dry-run] [--yes] [-c FILE] [-D key=value]... [--json]\n"
    "      delete a job's or the whole cluster's HA data (idempotent, resumable)\n"
    "  orphans [--delete] [-c FILE] [-D key=value]... [--json]\n"
    "      blobs no pointer references and job ConfigMaps without a job graph\n"
    "  version\n"
    "      show the library version\n"
    "\n"
    "status, jobs, checkpoints, cleanup and orphans also take --timeout DURATION (30s, 500ms, 2m;\n"
    "0: none): the bound of the whole command, 60 s by default (300 s for cleanup and orphans,\n"
    "which take the lock first); past it they say so and exit with status 1.\n";

int main(int argc, char **argv) {
  if (argc >= 3 && strcmp(argv[1], "config") == 0 && strcmp(argv[2], "check") == 0)
    return cmd_config_check(argc - 3, argv + 3);
  if (argc >= 2 && strcmp(argv[1], "elect") == 0)
    return cmd_elect(argc - 2, argv + 2);
  if (argc >= 2 && strcmp(argv[1], "status") == 0)
    return cmd_status(argc - 2, argv + 2);
  if (argc >= 2 && strcmp(argv[1], "jobs") == 0)
    return cmd_jobs(argc - 2, argv + 2);
  if (argc >= 2 && strcmp(argv[1], "checkpoints") == 0)
    return cmd_checkpoints(argc - 2, argv + 2);
  if (argc >= 2 && strcmp(argv[1], "cleanup") == 0)
    return cmd_cleanup(argc - 2, argv + 2);
  if (argc >= 2 && strcmp(argv[1], "orphans") == 0)
    return cmd_orphans(argc - 2, argv + 2);
  if (argc >= 2 && strcmp(argv[1], "watch") == 0)
    return cmd_watch(argc - 2, argv + 2);
  if (argc == 2 && strcmp(argv[1], "version") == 0) {
    printf("k8sha %s\n", k8sha_version_string());
    return CLI_OK;
  }
  if (argc == 2 && (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0)) {
    printf("%s", usage);
    return CLI_OK;
  }
  fprintf(stderr, "%s", usage);
  return CLI_INVALID;
}
