/* bench-spawn: the three ways sidecar-init could start a daemon (issue #15),
 * measured the way the init does it, outside the init so that only the
 * clone differs:
 *
 *   vfork  clone(CLONE_VM|CLONE_VFORK) on a child stack (the old spawn):
 *          the parent sleeps until the child has exec'd
 *   fork   clone(SIGCHLD) without CLONE_VM or a stack (the new spawn)
 *   vm     clone(CLONE_VM) without CLONE_VFORK, on a child stack that must
 *          stay untouched until the exec (the alternative)
 *
 * Each child does what the init's does: resets 64 dispositions, setsid,
 * clears its mask, execs this program as `stamp`, which writes
 * CLOCK_MONOTONIC to fd 3 at its first instruction and exits. The parent
 * notes how long the clone call kept it (blocked) and the time from the
 * clone to the stamp (latency). With `busy N`, N SCHED_OTHER busy loops run
 * meanwhile (a flooding sibling: every CPU taken).
 *
 *   bench-spawn MODE RUNS [busy N]  -> "MODE blocked_p50 blocked_p99 latency_p50 latency_p99" (µs)
 *
 * Built by `make bench-spawn` (musl-gcc -static -O2), which prints the table
 * for BENCHMARKS.md.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static uint64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static char *self_path;
static int stamp_write;

static int child(void *arg) {
    (void)arg;
    struct sigaction dfl;
    memset(&dfl, 0, sizeof dfl);
    dfl.sa_handler = SIG_DFL;
    for (int sig = 1; sig <= 64; sig++)
        if (sig != SIGKILL && sig != SIGSTOP)
            syscall(SYS_rt_sigaction, sig, &dfl, NULL, 8);
    syscall(SYS_setsid);
    uint64_t empty = 0;
    syscall(SYS_rt_sigprocmask, SIG_SETMASK, &empty, NULL, 8);
    syscall(SYS_dup2, stamp_write, 3);
    char *argv[] = {self_path, "stamp", NULL};
    char *envp[] = {NULL};
    syscall(SYS_execve, self_path, argv, envp);
    syscall(SYS_exit, 127);
    return 127;
}

static int cmp(const void *a, const void *b) {
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static double pct(uint64_t *v, int n, double p) {
    qsort(v, n, sizeof *v, cmp);
    int i = (int)(p * (n - 1) + 0.5);
    return v[i] / 1000.0;
}

int main(int argc, char **argv) {
    if (argc >= 2 && !strcmp(argv[1], "stamp")) {
        uint64_t t = now_ns();
        ssize_t r = write(3, &t, sizeof t);
        (void)r;
        _exit(0);
    }
    if (argc < 3)
        return 2;
    self_path = realpath("/proc/self/exe", NULL);
    const char *mode = argv[1];
    int runs = atoi(argv[2]);
    int busy = argc >= 5 && !strcmp(argv[3], "busy") ? atoi(argv[4]) : 0;
    pid_t hogs[64];
    for (int i = 0; i < busy && i < 64; i++) {
        hogs[i] = fork();
        if (hogs[i] == 0)
            for (volatile uint64_t x = 0;; x++) {}
    }
    /* Block every signal, as the init does (its children start with its mask). */
    sigset_t all;
    sigfillset(&all);
    sigprocmask(SIG_BLOCK, &all, NULL);
    size_t stack_size = 64 * 1024;
    char *stack = mmap(NULL, stack_size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
    uint64_t *blocked = calloc(runs, sizeof *blocked), *latency = calloc(runs, sizeof *latency);
    for (int i = 0; i < runs; i++) {
        int ends[2];
        if (pipe2(ends, O_CLOEXEC))
            return 1;
        stamp_write = ends[1];
        uint64_t t0 = now_ns();
        pid_t pid;
        if (!strcmp(mode, "vfork"))
            pid = clone(child, stack + stack_size, CLONE_VM | CLONE_VFORK | SIGCHLD, NULL);
        else if (!strcmp(mode, "vm"))
            pid = clone(child, stack + stack_size, CLONE_VM | SIGCHLD, NULL);
        else {
            pid = (pid_t)syscall(SYS_clone, SIGCHLD, 0, 0, 0, 0);
            if (pid == 0)
                child(NULL);
        }
        uint64_t t1 = now_ns();
        close(ends[1]);
        uint64_t stamp = 0;
        ssize_t r = read(ends[0], &stamp, sizeof stamp);
        (void)r;
        close(ends[0]);
        waitpid(pid, NULL, 0);
        blocked[i] = t1 - t0;
        latency[i] = stamp > t0 ? stamp - t0 : 0;
    }
    for (int i = 0; i < busy && i < 64; i++) {
        kill(hogs[i], SIGKILL);
        waitpid(hogs[i], NULL, 0);
    }
    printf("%s %.1f %.1f %.1f %.1f\n", mode, pct(blocked, runs, 0.5), pct(blocked, runs, 0.99), pct(latency, runs, 0.5),
           pct(latency, runs, 0.99));
    return 0;
}
