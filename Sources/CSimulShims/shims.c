#define _GNU_SOURCE
#include "CSimulShims.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <spawn.h>
#include <sys/eventfd.h>
#include <sys/syscall.h>
#include <unistd.h>

int simul_pipe_cloexec(int fds[2]) { return pipe2(fds, O_CLOEXEC); }

int simul_spawn(const char *path, char *const argv[], char *const envp[], const int *fd_sources, int fd_count,
                pid_t *pid_out) {
    enum { max_fds = 16 };
    if (fd_count < 1 || fd_count > max_fds) return EINVAL;
    /* Move every source above the target range first, so that one dup2 cannot clobber another's source. */
    int high[max_fds];
    for (int i = 0; i < fd_count; i++) {
        high[i] = fcntl(fd_sources[i], F_DUPFD_CLOEXEC, 3 + max_fds);
        if (high[i] < 0) {
            int saved = errno;
            for (int j = 0; j < i; j++) close(high[j]);
            return saved;
        }
    }
    posix_spawn_file_actions_t actions;
    posix_spawnattr_t attributes;
    posix_spawn_file_actions_init(&actions);
    posix_spawnattr_init(&attributes);
    for (int i = 0; i < fd_count; i++) {
        posix_spawn_file_actions_adddup2(&actions, high[i], i == 0 ? 0 : 2 + i);
    }
    posix_spawn_file_actions_addclosefrom_np(&actions, 2 + fd_count);
    sigset_t empty, all;
    sigemptyset(&empty);
    sigfillset(&all);
    posix_spawnattr_setsigmask(&attributes, &empty);
    posix_spawnattr_setsigdefault(&attributes, &all);
    posix_spawnattr_setflags(&attributes, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
    int result = posix_spawn(pid_out, path, &actions, &attributes, argv, envp);
    posix_spawn_file_actions_destroy(&actions);
    posix_spawnattr_destroy(&attributes);
    for (int i = 0; i < fd_count; i++) close(high[i]);
    return result;
}

int simul_affinity_cpu_count(void) {
    cpu_set_t set;
    CPU_ZERO(&set);
    if (sched_getaffinity(0, sizeof(set), &set) != 0) return -1;
    return CPU_COUNT(&set);
}

void simul_ignore_sigpipe(void) { signal(SIGPIPE, SIG_IGN); }

void simul_ignore_sigint(void) { signal(SIGINT, SIG_IGN); }

void simul_exit_now(int code) { _exit(code); }

int simul_pidfd_open(pid_t pid) {
#ifdef SYS_pidfd_open
    return (int)syscall(SYS_pidfd_open, pid, 0);
#else
    errno = ENOSYS;
    return -1;
#endif
}

int simul_eventfd(void) { return eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC); }
