#ifndef REPRO_CHECK_CHILD_SPAWN_H
#define REPRO_CHECK_CHILD_SPAWN_H

#include <sys/resource.h>
#include <sys/types.h>

/// What the supervisor tells the parent through the report pipe.
enum repro_check_report_kind {
    /// `error` holds the errno of a failed chdir or execve; the command never ran.
    REPRO_CHECK_REPORT_SPAWN_FAILED = 1,
    /// The command ended with wait status `status`; `usage` is its own rusage (and its
    /// waited-for descendants'). The supervisor then kills what is left of the group, itself
    /// included, so this record, not the supervisor's own status, says how the command ended.
    REPRO_CHECK_REPORT_FINISHED = 2,
};

struct repro_check_report {
    int kind;
    int error;
    int status;
    struct rusage usage;
};

/// Forks a supervisor that leads a new process group, dies with its parent
/// (PR_SET_PDEATHSIG), and runs `path` with `argv` and exactly `envp` in `directory`, stdin
/// from /dev/null, stdout and stderr on the given descriptors and no other inherited
/// descriptor. On SIGTERM, SIGINT, SIGHUP or the parent's death (signal the supervisor, not
/// the group) it stops the whole group: SIGINT, SIGTERM five seconds later, SIGKILL
/// `grace_seconds` after that. It writes `repro_check_report` records to `report_fd`.
///
/// Returns the supervisor's pid, or -1 with `*error` set when fork failed.
pid_t repro_check_spawn(
    const char *path, char *const argv[], char *const envp[], const char *directory, int stdout_fd, int stderr_fd,
    int report_fd, unsigned grace_seconds, int *error);

#endif
