#ifndef C_SIMUL_SHIMS_H
#define C_SIMUL_SHIMS_H

#include <sys/types.h>

/// Creates a pipe whose two ends are close-on-exec from birth (pipe2 with O_CLOEXEC).
/// Returns 0 or -1 with errno set.
int simul_pipe_cloexec(int fds[2]);

/// Spawns `path` with `argv` and `envp` through posix_spawn. In the child, `fd_sources[i]` becomes descriptor
/// `3 + i - 1` for i >= 1 and standard input for i == 0; every other descriptor above 2 is closed, the signal mask
/// is emptied and every signal disposition reset to its default. Returns 0 and stores the pid, or an errno value.
int simul_spawn(const char *path, char *const argv[], char *const envp[], const int *fd_sources, int fd_count,
                pid_t *pid_out);

/// The number of CPUs in this thread's affinity mask (sched_getaffinity), or -1.
int simul_affinity_cpu_count(void);

/// Ignores SIGPIPE for the whole process, so writing to a dead worker's pipe gives EPIPE instead of killing us.
void simul_ignore_sigpipe(void);

/// Ignores SIGINT: a process-pool worker lets its parent decide what Ctrl-C means.
void simul_ignore_sigint(void);

/// Like _exit(2): leaves without running atexit handlers or flushing stdio.
void simul_exit_now(int code) __attribute__((noreturn));

/// pidfd_open(2): a descriptor that becomes readable when `pid` exits, or -1 with errno set.
int simul_pidfd_open(pid_t pid);

/// An eventfd(2) in non-blocking, close-on-exec mode, or -1.
int simul_eventfd(void);

#endif
