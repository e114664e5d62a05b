#define _GNU_SOURCE
#include "child_spawn.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

// Everything after fork runs in a copy of a multi-threaded process, so only async-signal-safe
// calls: no allocation, no locks, no stdio.

// Set only in the supervisor, after fork: each supervisor is its own process.
static unsigned supervisor_grace = 10;
static volatile sig_atomic_t supervisor_stage = 0;

// Stopping escalates: SIGINT first, as a terminal's Ctrl-C would, because shells run their
// EXIT/INT traps for it (fakeroot's trap stops its faked daemon, which lives in another
// session) but die at once on SIGTERM; SIGTERM after five seconds (a trap that runs a command
// under fakeroot can take seconds on a busy machine); SIGKILL after the grace.
// The group includes this process, which ignores its own echoes.
static void supervisor_stop(int signal_number) {
    (void)signal_number;
    if (supervisor_stage != 0) return;
    supervisor_stage = 1;
    kill(0, SIGINT);
    alarm(5);
}

static void supervisor_escalate(int signal_number) {
    (void)signal_number;
    if (supervisor_stage == 1) {
        supervisor_stage = 2;
        kill(0, SIGTERM);
        alarm(supervisor_grace);
    } else {
        kill(0, SIGKILL);
    }
}

// Only 0, 1, 2 and the report pipe go on: an inherited descriptor held by a build's daemon
// would keep whoever waits on it (a pipe reader, a test harness) waiting forever.
static void close_other_descriptors(int keep) {
    if (close_range(3, (unsigned)keep - 1, 0) == 0 && close_range((unsigned)keep + 1, ~0U, 0) == 0) return;
    long limit = sysconf(_SC_OPEN_MAX);
    if (limit < 0 || limit > 65536) limit = 65536;
    for (int fd = 3; fd < limit; fd++) {
        if (fd != keep) close(fd);
    }
}

static void write_report(int fd, int kind, int error, int status, const struct rusage *usage) {
    struct repro_check_report report;
    memset(&report, 0, sizeof report);
    report.kind = kind;
    report.error = error;
    report.status = status;
    if (usage) report.usage = *usage;
    const char *bytes = (const char *)&report;
    size_t left = sizeof report;
    while (left > 0) {
        ssize_t written = write(fd, bytes, left);
        if (written < 0 && errno == EINTR) continue;
        if (written <= 0) return;
        bytes += written;
        left -= (size_t)written;
    }
}

static void reset_signals(void) {
    struct sigaction action;
    memset(&action, 0, sizeof action);
    action.sa_handler = SIG_DFL;
    sigemptyset(&action.sa_mask);
    for (int number = 1; number < NSIG; number++) {
        if (number == SIGKILL || number == SIGSTOP) continue;
        sigaction(number, &action, NULL);  // fails harmlessly for numbers glibc reserves
    }
}

static void install(int number, void (*handler)(int)) {
    struct sigaction action;
    memset(&action, 0, sizeof action);
    action.sa_handler = handler;
    sigfillset(&action.sa_mask);
    sigaction(number, &action, NULL);
}

static void die_with_parent(pid_t parent, int signal_number) {
    prctl(PR_SET_PDEATHSIG, signal_number);
    // The parent may have died before prctl took effect: then nobody will signal us.
    if (getppid() != parent) _exit(127);
}

static void run_supervisor(
    pid_t parent, const char *path, char *const argv[], char *const envp[], const char *directory, int stdout_fd,
    int stderr_fd, int report_fd, unsigned grace_seconds) {
    supervisor_grace = grace_seconds;
    sigset_t all, none;
    sigfillset(&all);
    sigemptyset(&none);
    // Signals stay blocked (as the parent blocked them around fork) until the handlers are in.
    reset_signals();
    setpgid(0, 0);
    die_with_parent(parent, SIGTERM);
    // Orphans of the command come to us, so we can wait for what is left of the group.
    prctl(PR_SET_CHILD_SUBREAPER, 1);

    int null_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (null_fd < 0 || dup2(null_fd, 0) < 0 || dup2(stdout_fd, 1) < 0 || dup2(stderr_fd, 2) < 0) {
        write_report(report_fd, REPRO_CHECK_REPORT_SPAWN_FAILED, errno, 0, NULL);
        _exit(127);
    }
    close_other_descriptors(report_fd);
    if (chdir(directory) != 0) {
        write_report(report_fd, REPRO_CHECK_REPORT_SPAWN_FAILED, errno, 0, NULL);
        _exit(127);
    }

    pid_t supervisor = getpid();
    pid_t command = fork();
    if (command < 0) {
        write_report(report_fd, REPRO_CHECK_REPORT_SPAWN_FAILED, errno, 0, NULL);
        _exit(127);
    }
    if (command == 0) {
        die_with_parent(supervisor, SIGKILL);
        sigprocmask(SIG_SETMASK, &none, NULL);
        execve(path, argv, envp);
        write_report(report_fd, REPRO_CHECK_REPORT_SPAWN_FAILED, errno, 0, NULL);
        _exit(127);
    }

    install(SIGTERM, supervisor_stop);
    install(SIGINT, supervisor_stop);
    install(SIGHUP, supervisor_stop);
    install(SIGALRM, supervisor_escalate);
    // A report written after the parent died must fail with EPIPE, not end the supervisor
    // before it has stopped and reaped the group.
    install(SIGPIPE, SIG_IGN);
    // The group's SIGINT and SIGTERM echo back here: only the first stop request counts.
    sigprocmask(SIG_SETMASK, &none, NULL);

    int status = 0;
    struct rusage usage;
    memset(&usage, 0, sizeof usage);
    // As a subreaper this process inherits orphans (fakeroot's faked daemon among them) and
    // must reap them all, or their zombies would stay "alive" to whoever waits for them.
    for (;;) {
        int reaped_status = 0;
        struct rusage reaped_usage;
        pid_t reaped = wait4(-1, &reaped_status, 0, &reaped_usage);
        if (reaped == command) {
            status = reaped_status;
            usage = reaped_usage;
            break;
        }
        if (reaped < 0 && errno != EINTR) _exit(127);
    }
    write_report(report_fd, REPRO_CHECK_REPORT_FINISHED, 0, status, &usage);
    // What the command left running in its group (a background job, a shell still running its
    // trap) is stopped the same way and reaped, so a trap can stop its daemon. Daemons that
    // made their own session (disorderfs, faked) are not in the group and are left alone.
    pid_t group = getpid();
    for (;;) {
        int leftover = 0;
        pid_t reaped = waitpid(-group, &leftover, WNOHANG);
        if (reaped > 0) continue;
        if (reaped < 0) {
            if (errno == EINTR) continue;
            break;  // ECHILD: no member of the group is left among our children
        }
        supervisor_stop(0);
        // Any child: a member of the group, or an orphan a member's trap is waiting to see go.
        if (waitpid(-1, &leftover, 0) < 0 && errno != EINTR) break;
    }
    // Anything still in the group was not ours to wait for; it goes now, and so do we: the
    // parent takes the command's status from the report.
    kill(0, SIGKILL);
    _exit(127);
}

pid_t repro_check_spawn(
    const char *path, char *const argv[], char *const envp[], const char *directory, int stdout_fd, int stderr_fd,
    int report_fd, unsigned grace_seconds, int *error) {
    sigset_t all, previous;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &previous);
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid == 0) {
        run_supervisor(parent, path, argv, envp, directory, stdout_fd, stderr_fd, report_fd, grace_seconds);
        _exit(127);
    }
    int saved = errno;
    if (pid > 0) {
        // Also from this side, so a kill(-pid) right after return cannot miss the group.
        setpgid(pid, pid);
    }
    pthread_sigmask(SIG_SETMASK, &previous, NULL);
    if (pid < 0) {
        *error = saved;
        return -1;
    }
    return pid;
}
