/* bench-helper: the benchmark's stand-in daemon, launcher, log flood and sink.
 *
 * Built static by bench/bench.py (musl-gcc -static -O2; gcc if no musl-gcc).
 * Every timestamp is CLOCK_MONOTONIC in ns, the clock Python's
 * time.monotonic_ns() reads, and is appended as one line, with one write(2)
 * on an O_APPEND descriptor, to the file named by $BENCH_REPORT.
 *
 *   bench-helper launch PROG ARGS...  "launch PID T", then execv PROG (the
 *                                      init) in the same process: PID 1 stays.
 *   bench-helper daemon NAME           "start NAME PID T" at its first
 *                                      instruction, then pause() forever; on
 *                                      SIGTERM "term NAME PID T", then it dies
 *                                      by SIGTERM.
 *   bench-helper die NAME MS           "start NAME PID T" at its first
 *                                      instruction, sleeps MS ms, then
 *                                      "death NAME PID T" with T read right
 *                                      before the one write(2) and _exit(1):
 *                                      a daemon that dies on its own.
 *   run (argv[0] ends in "run")        the same as daemon, NAME being the
 *                                      current directory's name (s6's ./run);
 *                                      die instead when $BENCH_DIE is
 *                                      "NAME:MS" for that NAME.
 *   bench-helper flood BYTES LEN CHUNK lines of LEN bytes ('\n' included),
 *                                      BYTES in all, written CHUNK bytes a
 *                                      write; "flood T0 T1 BYTES LINES".
 *   bench-helper reaper PROG ARGS...   the floor of reaping: forks PROG, then
 *                                      blocks in wait() for ever (SIGTERM
 *                                      ends it); as PID 1 an orphan costs at
 *                                      most one wake-up and one wait().
 *   bench-helper copy                  stdin to stdout, 64 KiB read/write.
 *   bench-helper sink LINES            counts stdin; "sink T_LAST BYTES LINES"
 *                                      once LINES lines arrived, then again
 *                                      ("sinkeof ...") at EOF.
 *   bench-helper time N PROG ARGS... [::: PROG ARGS...]
 *                                      a client's whole run, N times: each
 *                                      time forks and execs PROG (then the
 *                                      next after :::, one after the other),
 *                                      stdin/stdout/stderr on /dev/null, and
 *                                      reaps it; prints "T0 T1 STATUS CPU" on
 *                                      its stdout a run, T0 right before the
 *                                      first fork, T1 right after the last
 *                                      reap, STATUS the first non-zero wait
 *                                      status (0: every command exited 0),
 *                                      CPU the clients' user + system time in
 *                                      ns (wait4's rusage).
 *   bench-helper nop                   exits 0: the floor of a fork + exec.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

static uint64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void report(const char *line, size_t len) {
    const char *path = getenv("BENCH_REPORT");
    if (!path || !*path)
        return;
    int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0)
        return;
    ssize_t r = write(fd, line, len);
    (void)r;
    close(fd);
}

static int write_all(int fd, const char *p, size_t n) {
    while (n) {
        ssize_t w = write(fd, p, n);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

static char term_line[256];

/* SIGTERM: note when it came, then die by it (the default action). */
static void on_term(int sig) {
    char line[300];
    uint64_t t = now_ns();
    int n = snprintf(line, sizeof line, "term %s %llu\n", term_line, (unsigned long long)t);
    report(line, (size_t)n);
    signal(sig, SIG_DFL);
    raise(sig);
}

static _Noreturn void daemon_main(const char *name, uint64_t t) {
    char line[256];
    int n = snprintf(line, sizeof line, "start %s %d %llu\n", name, (int)getpid(), (unsigned long long)t);
    report(line, (size_t)n);
    snprintf(term_line, sizeof term_line, "%s %d", name, (int)getpid());
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_term;
    sigaction(SIGTERM, &sa, NULL);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    for (;;)
        pause();
}

/* Lives MS ms, then dies on its own (exit 1). The report file is opened at
 * start, so between the death's timestamp and _exit there is one write(2). */
static _Noreturn void die_main(const char *name, long ms, uint64_t t) {
    const char *path = getenv("BENCH_REPORT");
    int fd = (path && *path) ? open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644) : -1;
    char line[256];
    int pid = (int)getpid();
    int n = snprintf(line, sizeof line, "start %s %d %llu\n", name, pid, (unsigned long long)t);
    if (fd >= 0 && write(fd, line, (size_t)n) < 0)
        _exit(3);
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
        ;
    uint64_t d = now_ns();
    n = snprintf(line, sizeof line, "death %s %d %llu\n", name, pid, (unsigned long long)d);
    if (fd >= 0 && write(fd, line, (size_t)n) < 0)
        _exit(3);
    _exit(1);
}

static int flood(unsigned long long bytes, size_t len, size_t chunk) {
    if (len < 1 || chunk < 1)
        return 2;
    /* A buffer of whole lines, at least 256 KiB, written round and round. */
    size_t per = (262144 / len + 1) * len;
    char *buf = malloc(per);
    if (!buf)
        return 1;
    for (size_t i = 0; i < per; i++)
        buf[i] = (i % len == len - 1) ? '\n' : (char)('a' + (i * 7 + i / len) % 26);
    unsigned long long left = bytes - bytes % len, sent = 0;
    uint64_t t0 = now_ns();
    size_t off = 0;
    while (left) {
        size_t n = chunk;
        if (n > left)
            n = (size_t)left;
        if (n > per - off)
            n = per - off;
        if (write_all(1, buf + off, n) < 0)
            return 1;
        off = (off + n) % per;
        left -= n;
        sent += n;
    }
    uint64_t t1 = now_ns();
    char line[256];
    int k = snprintf(line, sizeof line, "flood %llu %llu %llu %llu\n", (unsigned long long)t0,
                     (unsigned long long)t1, sent, sent / len);
    report(line, (size_t)k);
    return 0;
}

/* Sends N signals SIG to PID 1 of its namespace (it is entered with nsenter,
 * so it is no child of PID 1); notes the time when half are sent. */
static int sigflood(long n, int sig) {
    char line[128];
    for (long i = 0; i < n; i++) {
        if (i == n / 2) {
            int k = snprintf(line, sizeof line, "sigflood-half %llu\n", (unsigned long long)now_ns());
            report(line, (size_t)k);
        }
        if (kill(1, sig) < 0 && errno != EINTR)
            return 1;
    }
    int k = snprintf(line, sizeof line, "sigflood-done %llu\n", (unsigned long long)now_ns());
    report(line, (size_t)k);
    return 0;
}

/* A process that is not PID 1's child (entered with nsenter) and outlives
 * its SIGTERM by MS ms: what a sweep waits for. Notes the time of its death. */
static volatile sig_atomic_t termed;
static void on_stray_term(int sig) {
    (void)sig;
    termed = 1;
}
static int stray(long ms) {
    signal(SIGTERM, on_stray_term);
    char line[128];
    int k = snprintf(line, sizeof line, "stray-up %d %llu\n", (int)getpid(), (unsigned long long)now_ns());
    report(line, (size_t)k);
    while (!termed)
        pause();
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
        ;
    k = snprintf(line, sizeof line, "stray-death %llu\n", (unsigned long long)now_ns());
    report(line, (size_t)k);
    _exit(0);
}

static void quit(int sig) {
    (void)sig;
    _exit(0);
}

static _Noreturn void reaper(char **argv) {
    pid_t pid = fork();
    if (pid == 0) {
        execv(argv[0], argv);
        _exit(127);
    }
    signal(SIGTERM, quit);
    for (;;)
        if (wait(NULL) < 0 && errno == ECHILD)
            pause();
}

static char iobuf[65536];

static int copy(void) {
    for (;;) {
        ssize_t r = read(0, iobuf, sizeof iobuf);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return r < 0;
        if (write_all(1, iobuf, (size_t)r) < 0)
            return 1;
    }
}

static int sink(unsigned long long want) {
    unsigned long long bytes = 0, lines = 0;
    uint64_t last = 0;
    int told = 0;
    char line[256];
    for (;;) {
        ssize_t r = read(0, iobuf, sizeof iobuf);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        last = now_ns();
        bytes += (unsigned long long)r;
        for (char *p = iobuf, *e = iobuf + r; (p = memchr(p, '\n', (size_t)(e - p))); p++)
            lines++;
        if (!told && want && lines >= want) {
            told = 1;
            int k = snprintf(line, sizeof line, "sink %llu %llu %llu\n", (unsigned long long)last, bytes, lines);
            report(line, (size_t)k);
        }
    }
    int k = snprintf(line, sizeof line, "sinkeof %llu %llu %llu\n", (unsigned long long)last, bytes, lines);
    report(line, (size_t)k);
    return 0;
}

/* One run of the commands in argv (split at ":::"); returns the first
 * non-zero wait status, 0 when all exited 0, -1 when fork failed. */
static int run_cmds(char **argv, int argc, int devnull, uint64_t *cpu) {
    int status = 0;
    *cpu = 0;
    for (int i = 0; i < argc;) {
        int j = i;
        while (j < argc && strcmp(argv[j], ":::") != 0)
            j++;
        char *save = argv[j < argc ? j : argc];
        argv[j] = NULL;
        pid_t pid = fork();
        if (pid < 0)
            return -1;
        if (pid == 0) {
            dup2(devnull, 0);
            dup2(devnull, 1);
            dup2(devnull, 2);
            execvp(argv[i], argv + i);
            _exit(127);
        }
        int st;
        struct rusage ru;
        while (wait4(pid, &st, 0, &ru) < 0 && errno == EINTR)
            ;
        *cpu += (uint64_t)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000000000ull +
                (uint64_t)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) * 1000ull;
        if (st && !status)
            status = st;
        if (j < argc)
            argv[j] = save;
        i = j + 1;
    }
    return status;
}

static int time_runs(long n, int argc, char **argv) {
    int devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
    if (devnull < 0 || n < 1 || argc < 1)
        return 2;
    for (long k = 0; k < n; k++) {
        uint64_t cpu, t0 = now_ns();
        int st = run_cmds(argv, argc, devnull, &cpu);
        uint64_t t1 = now_ns();
        printf("%llu %llu %d %llu\n", (unsigned long long)t0, (unsigned long long)t1, st, (unsigned long long)cpu);
    }
    return fflush(stdout) != 0;
}

int main(int argc, char **argv) {
    uint64_t t = now_ns();
    size_t a0 = strlen(argv[0]);
    if (a0 >= 3 && strcmp(argv[0] + a0 - 3, "run") == 0) {
        char cwd[4096];
        if (!getcwd(cwd, sizeof cwd))
            strcpy(cwd, "run");
        char *base = strrchr(cwd, '/');
        const char *name = base ? base + 1 : cwd;
        const char *die = getenv("BENCH_DIE"); /* NAME:MS */
        size_t k = strlen(name);
        if (die && strncmp(die, name, k) == 0 && die[k] == ':')
            die_main(name, strtol(die + k + 1, 0, 10), t);
        daemon_main(name, t);
    }
    if (argc >= 3 && strcmp(argv[1], "daemon") == 0)
        daemon_main(argv[2], t);
    if (argc == 4 && strcmp(argv[1], "die") == 0)
        die_main(argv[2], strtol(argv[3], 0, 10), t);
    if (argc >= 3 && strcmp(argv[1], "launch") == 0) {
        char line[128];
        int n = snprintf(line, sizeof line, "launch %d %llu\n", (int)getpid(), (unsigned long long)now_ns());
        report(line, (size_t)n);
        execv(argv[2], argv + 2);
        perror("bench-helper launch: execv");
        return 127;
    }
    if (argc == 5 && strcmp(argv[1], "flood") == 0)
        return flood(strtoull(argv[2], 0, 10), strtoul(argv[3], 0, 10), strtoul(argv[4], 0, 10));
    if (argc == 4 && strcmp(argv[1], "sigflood") == 0)
        return sigflood(strtol(argv[2], 0, 10), (int)strtol(argv[3], 0, 10));
    if (argc == 3 && strcmp(argv[1], "stray") == 0)
        return stray(strtol(argv[2], 0, 10));
    if (argc >= 3 && strcmp(argv[1], "reaper") == 0)
        reaper(argv + 2);
    if (argc == 2 && strcmp(argv[1], "copy") == 0)
        return copy();
    if (argc == 3 && strcmp(argv[1], "sink") == 0)
        return sink(strtoull(argv[2], 0, 10));
    if (argc >= 4 && strcmp(argv[1], "time") == 0)
        return time_runs(strtol(argv[2], 0, 10), argc - 3, argv + 3);
    if (argc == 2 && strcmp(argv[1], "nop") == 0)
        return 0;
    fprintf(stderr, "usage: bench-helper launch PROG ARGS... | daemon NAME | die NAME MS | flood BYTES LEN CHUNK | reaper PROG ARGS... | "
                    "copy | sink LINES | sigflood N SIG | stray MS | time N PROG ARGS... [::: PROG ARGS...] | nop\n");
    return 2;
}
