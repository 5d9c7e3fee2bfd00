#define _GNU_SOURCE
#include "CKubeSimSys.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/capability.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

// Only async-signal-safe calls between fork and exec: the parent may have many threads.
static void fail(int report_fd, int step_errno) {
    int value = step_errno;
    ssize_t ignored = write(report_fd, &value, sizeof value);
    (void)ignored;
    _exit(127);
}

/// Makes `fds[i]` descriptor i (-1: /dev/null); returns where the report descriptor now is.
static int place_descriptors(const int *fds, int nfds, int report) {
    // Move every source above the targets first, so that dup2 never clobbers a later source.
    int base = nfds + 3 > report + 1 ? nfds + 3 : report + 1;
    int moved[64];
    if (nfds > 64) fail(report, EINVAL);
    for (int i = 0; i < nfds; i++) {
        int source = fds[i] >= 0 ? fds[i] : open("/dev/null", O_RDWR | O_CLOEXEC);
        if (source < 0) fail(report, errno);
        moved[i] = fcntl(source, F_DUPFD_CLOEXEC, base);
        if (moved[i] < 0) fail(report, errno);
    }
    int report_fd = fcntl(report, F_DUPFD_CLOEXEC, base + nfds + 64);
    if (report_fd < 0) fail(report, errno);
    for (int i = 0; i < nfds; i++) {
        if (dup2(moved[i], i) < 0) fail(report_fd, errno);
    }
    return report_fd;
}

/// Closes every descriptor but 0..nfds-1 and the report descriptor.
static void close_others(int nfds, int report_fd) {
    if (close_range(nfds, report_fd - 1, 0) != 0) fail(report_fd, errno);
    if (close_range(report_fd + 1, ~0U, 0) != 0) fail(report_fd, errno);
}

static void reset_signals(void) {
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    for (int signo = 1; signo < NSIG; signo++) {
        if (signo != SIGKILL && signo != SIGSTOP) signal(signo, SIG_DFL);
    }
}

/// Waits for the parent's report: 0 once the child has exec'd (or, for a joined spawn, forked the
/// program), else the errno of the failed step (the child is then reaped).
static pid_t await_report(pid_t pid, int report_fd, int *error) {
    int child_errno = 0;
    ssize_t got;
    do {
        got = read(report_fd, &child_errno, sizeof child_errno);
    } while (got < 0 && errno == EINTR);
    close(report_fd);
    if (got == (ssize_t)sizeof child_errno) {
        int status;
        while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
        }
        *error = child_errno;
        return -1;
    }
    return pid;
}

/// fork with a close-on-exec report pipe (`report[1]` for the child's errno); -1 with `*error` on failure.
static pid_t fork_reporting(int report[2], int *error) {
    if (pipe2(report, O_CLOEXEC) != 0) {
        *error = errno;
        return -1;
    }
    pid_t pid = fork();
    if (pid < 0) {
        *error = errno;
        close(report[0]);
        close(report[1]);
    }
    return pid;
}

pid_t kubesim_spawn(const char *path, char *const argv[], char *const envp[], const int *fds, int nfds,
                    int netns_fd, int death_signal, int controlling_terminal, int *error) {
    int report[2];
    pid_t parent = getpid();
    pid_t pid = fork_reporting(report, error);
    if (pid < 0) return -1;
    if (pid == 0) {
        if (death_signal != 0) {
            if (prctl(PR_SET_PDEATHSIG, death_signal) != 0) fail(report[1], errno);
            if (getppid() != parent) _exit(127);  // the parent died before prctl took effect
        }
        reset_signals();
        if (setsid() < 0) fail(report[1], errno);
        if (netns_fd >= 0 && setns(netns_fd, CLONE_NEWNET) != 0) fail(report[1], errno);
        int report_fd = place_descriptors(fds, nfds, report[1]);
        if (controlling_terminal && ioctl(0, TIOCSCTTY, 0) != 0) fail(report_fd, errno);
        close_others(nfds, report_fd);
        execve(path, argv, envp);
        fail(report_fd, errno);
    }
    close(report[1]);
    return await_report(pid, report[0], error);
}

static void write_text(int fd, const char *text) {
    ssize_t ignored = write(fd, text, strlen(text));
    (void)ignored;
}

/// execve, searching `envp`'s PATH for a name without a slash; returns (with errno) when nothing ran.
static void exec_searching(const char *program, char *const argv[], char *const envp[]) {
    if (strchr(program, '/') != NULL) {
        execve(program, argv, envp);
        return;
    }
    const char *path = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
    for (char *const *entry = envp; *entry != NULL; entry++) {
        if (strncmp(*entry, "PATH=", 5) == 0) path = *entry + 5;
    }
    char candidate[4096];
    size_t length = strlen(program);
    int denied = 0;
    while (*path != '\0') {
        const char *end = strchrnul(path, ':');
        size_t folder = (size_t)(end - path);
        if (folder + length + 2 <= sizeof candidate) {
            memcpy(candidate, folder == 0 ? "." : path, folder == 0 ? 1 : folder);
            size_t at = folder == 0 ? 1 : folder;
            candidate[at] = '/';
            memcpy(candidate + at + 1, program, length + 1);
            execve(candidate, argv, envp);
            if (errno == EACCES) denied = 1;
        }
        path = *end == ':' ? end + 1 : end;
    }
    errno = denied ? EACCES : ENOENT;
}

/// Keeps only `mask` in the bounding, effective, permitted and inheritable sets.
static int limit_capabilities(unsigned long long mask, int keep_effective) {
    for (int cap = 0; cap < 64; cap++) {
        if (!(mask & (1ULL << cap)) && prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0 && errno != EINVAL) return -1;
    }
    if (!keep_effective) return 0;
    struct __user_cap_header_struct header = {.version = _LINUX_CAPABILITY_VERSION_3, .pid = 0};
    struct __user_cap_data_struct data[2];
    for (int i = 0; i < 2; i++) {
        __u32 bits = (__u32)(mask >> (32 * i));
        data[i].effective = bits;
        data[i].permitted = bits;
        data[i].inheritable = bits;
    }
    return (int)syscall(SYS_capset, &header, data);
}

// The joined spawn's parent: SIGTERM kills the program's process group; the parent then reaps it
// (the program's pid namespace cannot end while a zombie of it waits for a parent that is gone).
static volatile pid_t program_group = 0;
static volatile sig_atomic_t stop_requested = 0;

static void kill_program(int signo) {
    (void)signo;
    stop_requested = 1;
    if (program_group > 0) kill(-program_group, SIGKILL);
}

pid_t kubesim_spawn_joined(const char *program, char *const argv[], char *const envp[], const int *fds, int nfds,
                           const int ns_fds[5], const char *cwd, unsigned long long capabilities, long uid,
                           long gid, int controlling_terminal, int *error) {
    static const int kinds[5] = {CLONE_NEWIPC, CLONE_NEWUTS, CLONE_NEWNET, CLONE_NEWPID, CLONE_NEWNS};
    int report[2];
    pid_t parent = getpid();
    pid_t pid = fork_reporting(report, error);
    if (pid < 0) return -1;
    if (pid == 0) {
        if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0) fail(report[1], errno);
        if (getppid() != parent) _exit(127);
        reset_signals();
        if (setsid() < 0) fail(report[1], errno);
        // The mount namespace last: it changes the root and the working directory.
        for (int i = 0; i < 5; i++) {
            if (ns_fds[i] >= 0 && setns(ns_fds[i], kinds[i]) != 0) fail(report[1], errno);
        }
        int report_fd = place_descriptors(fds, nfds, report[1]);
        if (controlling_terminal && ioctl(0, TIOCSCTTY, 0) != 0) fail(report_fd, errno);
        close_others(nfds, report_fd);
        if (chdir(cwd) != 0) fail(report_fd, errno);
        if (gid >= 0) {
            gid_t group = (gid_t)gid;
            if (setgroups(1, &group) != 0 || setgid(group) != 0) fail(report_fd, errno);
        }
        if (limit_capabilities(capabilities, 0) != 0) fail(report_fd, errno);
        if (uid >= 0 && setuid((uid_t)uid) != 0) fail(report_fd, errno);
        if (geteuid() == 0 && limit_capabilities(capabilities, 1) != 0) fail(report_fd, errno);
        struct sigaction forward = {.sa_handler = kill_program};
        sigemptyset(&forward.sa_mask);
        if (sigaction(SIGTERM, &forward, NULL) != 0) fail(report_fd, errno);
        // The raw system call: glibc's fork takes locks that another thread of kubesim may have held
        // when this process was forked.
        pid_t child = (pid_t)syscall(SYS_clone, SIGCHLD, 0, 0, 0, 0);
        if (child < 0) fail(report_fd, errno);
        if (child == 0) {
            close(report_fd);
            signal(SIGTERM, SIG_DFL);
            if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0) _exit(127);
            // A process group of its own, in the foreground of the terminal if there is one, so that
            // a stop kills the command and what it started, while this parent lives on to reap it.
            setpgid(0, 0);
            if (controlling_terminal) {
                signal(SIGTTOU, SIG_IGN);
                tcsetpgrp(0, getpid());
                signal(SIGTTOU, SIG_DFL);
            }
            exec_searching(program, argv, envp);
            int code = errno == EACCES ? 126 : 127;
            write_text(2, "exec: \"");
            write_text(2, program);
            write_text(2, code == 127 ? "\": executable file not found in $PATH\n" : "\": permission denied\n");
            _exit(code);
        }
        setpgid(child, child);
        program_group = child;
        if (stop_requested) kill(-child, SIGKILL);
        close(report_fd);
        // The streams end when the program and what it started close them, not when this process does.
        int null_fd = open("/dev/null", O_RDWR);
        for (int i = 0; i < nfds; i++) dup2(null_fd, i);
        int status;
        while (waitpid(child, &status, 0) < 0) {
            if (errno != EINTR) _exit(128 + SIGKILL);
        }
        _exit(WIFSIGNALED(status) ? 128 + WTERMSIG(status) : WEXITSTATUS(status));
    }
    close(report[1]);
    return await_report(pid, report[0], error);
}

int kubesim_enter_network_namespace(int fd) { return setns(fd, CLONE_NEWNET); }

int kubesim_pipe(int fds[2]) { return pipe2(fds, O_CLOEXEC); }

int kubesim_become_subreaper(void) { return prctl(PR_SET_CHILD_SUBREAPER, 1); }

int kubesim_open_terminal(int *controller, int *terminal, unsigned short columns, unsigned short rows) {
    int main_fd = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (main_fd < 0) return -1;
    char name[128];
    if (grantpt(main_fd) != 0 || unlockpt(main_fd) != 0 || ptsname_r(main_fd, name, sizeof name) != 0) {
        close(main_fd);
        return -1;
    }
    int other = open(name, O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (other < 0) {
        close(main_fd);
        return -1;
    }
    struct winsize size = {.ws_row = rows, .ws_col = columns};
    ioctl(main_fd, TIOCSWINSZ, &size);
    *controller = main_fd;
    *terminal = other;
    return 0;
}

int kubesim_resize_terminal(int fd, unsigned short columns, unsigned short rows) {
    struct winsize size = {.ws_row = rows, .ws_col = columns};
    return ioctl(fd, TIOCSWINSZ, &size);
}
