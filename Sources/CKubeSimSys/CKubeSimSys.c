#define _GNU_SOURCE
#include "CKubeSimSys.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

// Only async-signal-safe calls between fork and exec: the parent may have many threads.
static void fail(int report_fd, int step_errno) {
    int value = step_errno;
    ssize_t ignored = write(report_fd, &value, sizeof value);
    (void)ignored;
    _exit(127);
}

pid_t kubesim_spawn(const char *path, char *const argv[], char *const envp[], const int *fds, int nfds,
                    int netns_fd, int death_signal, int controlling_terminal, int *error) {
    int report[2];
    if (pipe2(report, O_CLOEXEC) != 0) {
        *error = errno;
        return -1;
    }
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid < 0) {
        *error = errno;
        close(report[0]);
        close(report[1]);
        return -1;
    }
    if (pid == 0) {
        if (death_signal != 0) {
            if (prctl(PR_SET_PDEATHSIG, death_signal) != 0) fail(report[1], errno);
            if (getppid() != parent) _exit(127);  // the parent died before prctl took effect
        }
        sigset_t none;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
        for (int signo = 1; signo < NSIG; signo++) {
            if (signo != SIGKILL && signo != SIGSTOP) signal(signo, SIG_DFL);
        }
        if (setsid() < 0) fail(report[1], errno);
        if (netns_fd >= 0 && setns(netns_fd, CLONE_NEWNET) != 0) fail(report[1], errno);
        // Move every source above the targets first, so that dup2 never clobbers a later source.
        int base = nfds + 3 > report[1] + 1 ? nfds + 3 : report[1] + 1;
        int moved[64];
        if (nfds > 64) fail(report[1], EINVAL);
        for (int i = 0; i < nfds; i++) {
            int source = fds[i] >= 0 ? fds[i] : open("/dev/null", O_RDWR | O_CLOEXEC);
            if (source < 0) fail(report[1], errno);
            moved[i] = fcntl(source, F_DUPFD_CLOEXEC, base);
            if (moved[i] < 0) fail(report[1], errno);
        }
        int report_fd = fcntl(report[1], F_DUPFD_CLOEXEC, base + nfds + 64);
        if (report_fd < 0) fail(report[1], errno);
        for (int i = 0; i < nfds; i++) {
            if (dup2(moved[i], i) < 0) fail(report_fd, errno);
        }
        if (controlling_terminal && ioctl(0, TIOCSCTTY, 0) != 0) fail(report_fd, errno);
        if (close_range(nfds, report_fd - 1, 0) != 0) fail(report_fd, errno);
        if (close_range(report_fd + 1, ~0U, 0) != 0) fail(report_fd, errno);
        execve(path, argv, envp);
        fail(report_fd, errno);
    }
    close(report[1]);
    int child_errno = 0;
    ssize_t got;
    do {
        got = read(report[0], &child_errno, sizeof child_errno);
    } while (got < 0 && errno == EINTR);
    close(report[0]);
    if (got == (ssize_t)sizeof child_errno) {
        int status;
        while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
        }
        *error = child_errno;
        return -1;
    }
    return pid;
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
