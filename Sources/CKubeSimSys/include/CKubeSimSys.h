#ifndef CKUBESIMSYS_H
#define CKUBESIMSYS_H
#include <sys/types.h>

// Linux calls kubesim's pod runtime needs that Swift's Glibc module leaves out (it is built without
// _GNU_SOURCE) or that must run between fork and exec.

/// fork + exec `path`: `fds[i]` becomes descriptor i in the child (-1: /dev/null), every other descriptor
/// is closed, signals are reset to their defaults and unblocked, the child starts a new session (with
/// descriptor 0 as its controlling terminal when `controlling_terminal` is set), gets `death_signal` when
/// the calling thread exits (0: none) and, when `netns_fd` >= 0, enters that network namespace. Returns
/// the pid, or -1 with the errno of the failed step in `*error`.
pid_t kubesim_spawn(const char *path, char *const argv[], char *const envp[], const int *fds, int nfds,
                    int netns_fd, int death_signal, int controlling_terminal, int *error);

/// As kubesim_spawn, but the program joins a running container, as a runtime's exec does: the child
/// enters the namespaces in `ns_fds` (ipc, uts, net, pid, mnt: -1 skips one), changes to `cwd` inside
/// the container's root, keeps only the capabilities in `capabilities` (a bit mask), takes `gid`/`uid`
/// (-1: unchanged), then forks the program, which is inside the pid namespace. The returned process
/// waits for the program and exits with its code (128 + signal when signalled); SIGTERM to it kills
/// the program's process group (the program leads one, in the terminal's foreground). A program that cannot be executed exits 126 (not executable) or 127 (not
/// found) with the reason on descriptor 2. `envp`'s PATH is searched for a name without a slash.
pid_t kubesim_spawn_joined(const char *program, char *const argv[], char *const envp[], const int *fds, int nfds,
                           const int ns_fds[5], const char *cwd, unsigned long long capabilities, long uid,
                           long gid, int controlling_terminal, int *error);

/// Opens a pseudo-terminal: `*controller` (kubesim's side) and `*terminal` (the process's), both
/// close-on-exec, sized `columns` x `rows`.
int kubesim_open_terminal(int *controller, int *terminal, unsigned short columns, unsigned short rows);

/// Sets a terminal's size (TIOCSWINSZ); the foreground process gets SIGWINCH.
int kubesim_resize_terminal(int fd, unsigned short columns, unsigned short rows);

/// setns(fd, CLONE_NEWNET) for the calling thread.
int kubesim_enter_network_namespace(int fd);

/// prctl(PR_SET_CHILD_SUBREAPER, 1): orphaned descendants become this process's children.
int kubesim_become_subreaper(void);

/// pipe2(fds, O_CLOEXEC).
int kubesim_pipe(int fds[2]);

#endif
