/* The floor under the dashboard goal: what the kernel alone charges any
 * daemon that collects, every 2 s, the data glint's default plugins serve,
 * reading it where Linux publishes it, and serves a dashboard.
 *
 * Every 2 s (at the even second, as glint's plugins tick) it makes the reads
 * that data needs and nothing more, each through a handle held open, so no
 * open is paid twice:
 * - the system files: /proc/stat (which also counts the online CPUs),
 *   meminfo, vmstat, loadavg, uptime, diskstats, net/dev, each interface's
 *   speed, operstate and flags; statfs of two mounts; and every third tick
 *   /proc/cpuinfo (the CPU's current frequency, which Glances and glint
 *   keep for 6 s);
 * - per process, the cheapest file that tells whether it ran since the last
 *   read (schedstat, or stat for a process with more threads than one, as
 *   schedstat counts only its first thread); only when it ran, its stat,
 *   statm and io (CPU times, memory, I/O); glint reads these again every
 *   30 s for a process that slept, the floor never does;
 * - new processes, found from the last pid in /proc/loadavg (all of /proc
 *   listed only when more than 64 pids went by): stat, statm, io, status
 *   (user and groups) and cmdline. (Glances reads these two again every
 *   60 s; the floor never does.)
 * It answers each HTTP request with a body built once: ALL_BYTES (the size
 * of glint's /all) or, for a path with "views", VIEWS_BYTES, and keeps the
 * connection open for the client's next request, as glint does. It parses only
 * loadavg's last pid and two fields of a new process's stat, compares the
 * probe files' bytes and formats nothing, so any collector of the same data
 * from /proc and /sys costs more.
 *
 *   cc -O2 -pthread bench/floor.c -o floor && ./floor PORT [ALL_BYTES VIEWS_BYTES]
 *   bench/compare.sh   (compiles this and measures it beside glint and Glances)
 */
#include <arpa/inet.h>
#include <dirent.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/statfs.h>
#include <time.h>
#include <unistd.h>

enum {
    MAX_SYSTEM = 256,
    MAX_PROCS = 8192,
    PROBE_BYTES = 512,        /* a whole stat line: its CPU ticks can lie past byte 128 */
    PID_STEPS = 64,           /* new pids tried one by one, else /proc listed */
};

static int system_files[MAX_SYSTEM];
static int system_count;
static int loadavg = -1;
static int cpuinfo = -1;

struct proc {
    int pid, probe, stat, statm, io;
    int probe_len;
    char probe_bytes[PROBE_BYTES];
};
static struct proc procs[MAX_PROCS];
static int proc_count;
static int last_pid;
static char buf[65536];

static int read_held(int fd) { return fd < 0 ? -1 : (int)pread(fd, buf, sizeof buf - 1, 0); }

static int open_proc_file(int pid, const char *name) {
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/%s", pid, name);
    return open(path, O_RDONLY | O_CLOEXEC);
}

/* Open, read and close: a new process's files read only once. */
static void read_once(int pid, const char *name) {
    int fd = open_proc_file(pid, name);
    if (fd >= 0) {
        read_held(fd);
        close(fd);
    }
}

/* Open `path` to be re-read at every tick; its handle, or -1. */
static int hold_system(const char *path) {
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd >= 0 && system_count < MAX_SYSTEM)
        system_files[system_count++] = fd;
    return fd;
}

static int known(int pid) {
    for (int i = 0; i < proc_count; i++)
        if (procs[i].pid == pid)
            return 1;
    return 0;
}

/* stat's field `n` (man proc's numbering) as a number, read from `buf`
 * after the ')' that ends the command name. */
static int stat_field(int len, int n) {
    if (len <= 0)
        return 0;
    buf[len] = 0;
    char *p = strrchr(buf, ')');
    for (int field = 2; p && field < n; field++)
        p = strchr(p + 1, ' ');
    return p ? atoi(p + 1) : 0;
}

static void add_process(int pid) {
    if (proc_count == MAX_PROCS)
        return;
    struct proc *p = &procs[proc_count];
    p->pid = pid;
    p->stat = open_proc_file(pid, "stat");
    if (p->stat < 0)
        return;
    int len = read_held(p->stat);
    /* Gone already, or exit_signal -1: a thread's id, not a process. */
    if (len <= 0 || stat_field(len, 38) == -1) {
        close(p->stat);
        return;
    }
    int threads = stat_field(len, 20);
    p->statm = open_proc_file(pid, "statm");
    p->io = open_proc_file(pid, "io");
    read_held(p->statm);
    read_held(p->io);
    read_once(pid, "status");
    read_once(pid, "cmdline");
    p->probe = threads > 1 ? p->stat : open_proc_file(pid, "schedstat");
    p->probe_len = read_held(p->probe);
    if (p->probe_len > 0)
        memcpy(p->probe_bytes, buf, p->probe_len < PROBE_BYTES ? p->probe_len : PROBE_BYTES);
    proc_count++;
}

static void drop_process(int i) {
    struct proc *p = &procs[i];
    if (p->probe != p->stat)
        close(p->probe);
    close(p->stat);
    close(p->statm);
    close(p->io);
    procs[i] = procs[--proc_count];
}

static void list_proc(void) {
    DIR *dir = opendir("/proc");
    for (struct dirent *e; dir && (e = readdir(dir));) {
        int pid = atoi(e->d_name);
        if (pid > 0 && !known(pid))
            add_process(pid);
    }
    if (dir)
        closedir(dir);
}

/* loadavg ends with the last pid handed out. */
static int read_last_pid(void) {
    int len = read_held(loadavg);
    if (len <= 0)
        return 0;
    buf[len] = 0;
    char *space = strrchr(buf, ' ');
    return space ? atoi(space + 1) : 0;
}

static void find_new_processes(void) {
    int now = read_last_pid();
    if (now == last_pid)
        return;
    if (now > last_pid && now - last_pid <= PID_STEPS) {
        for (int pid = last_pid + 1; pid <= now; pid++)
            add_process(pid);
    } else {
        list_proc();
    }
    last_pid = now;
}

static void scan_processes(void) {
    for (int i = 0; i < proc_count;) {
        struct proc *p = &procs[i];
        int len = read_held(p->probe);
        if (len <= 0) {
            drop_process(i);
            continue;
        }
        int kept = len < PROBE_BYTES ? len : PROBE_BYTES;
        if (len != p->probe_len || memcmp(buf, p->probe_bytes, kept) != 0) {
            p->probe_len = len;
            memcpy(p->probe_bytes, buf, kept);
            if (p->probe != p->stat)
                read_held(p->stat);
            read_held(p->statm);
            read_held(p->io);
        }
        i++;
    }
    find_new_processes();
}

/* Sleep to the next even second, as glint's plugins tick on 2 s boundaries. */
static void sleep_to_boundary(void) {
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    long left = 2000000000L - ((now.tv_sec % 2) * 1000000000L + now.tv_nsec);
    struct timespec wait = {left / 1000000000L, left % 1000000000L};
    nanosleep(&wait, NULL);
}

static void *collect(void *unused) {
    struct statfs fs;
    (void)unused;
    for (unsigned tick = 0;; tick++) {
        sleep_to_boundary();
        for (int i = 0; i < system_count; i++)
            read_held(system_files[i]);
        if (tick % 3 == 0)
            read_held(cpuinfo);
        statfs("/", &fs);
        statfs("/dev/shm", &fs);
        scan_processes();
    }
    return NULL;
}

static void hold_system_files(void) {
    char path[512];
    const char *system[] = {"/proc/stat",      "/proc/meminfo",      "/proc/vmstat", "/proc/uptime",
                            "/proc/diskstats", "/proc/self/net/dev", NULL};
    for (int i = 0; system[i]; i++)
        hold_system(system[i]);
    loadavg = hold_system("/proc/loadavg");
    cpuinfo = open("/proc/cpuinfo", O_RDONLY | O_CLOEXEC);
    DIR *dir = opendir("/sys/class/net");
    for (struct dirent *e; dir && (e = readdir(dir));) {
        const char *attrs[] = {"speed", "operstate", "flags", NULL};
        for (int i = 0; e->d_name[0] != '.' && attrs[i]; i++) {
            snprintf(path, sizeof path, "/sys/class/net/%s/%s", e->d_name, attrs[i]);
            hold_system(path);
        }
    }
    if (dir)
        closedir(dir);
}

/* A whole response: headers, then `size` bytes of body. */
static char *response(int size, int *length) {
    char *out = malloc(size + 128);
    int head = sprintf(out, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                            "Content-Length: %d\r\n\r\n", size);
    memset(out + head, 'x', size);
    *length = head + size;
    return out;
}

int main(int argc, char **argv) {
    if (argc != 2 && argc != 4) {
        fprintf(stderr, "usage: floor PORT [ALL_BYTES VIEWS_BYTES]\n");
        return 2;
    }
    int all_bytes = argc == 4 ? atoi(argv[2]) : 26 * 1024;
    int views_bytes = argc == 4 ? atoi(argv[3]) : 145 * 1024;
    /* Four handles per process: raise the soft limit as glint does. */
    struct rlimit files;
    getrlimit(RLIMIT_NOFILE, &files);
    files.rlim_cur = files.rlim_max;
    setrlimit(RLIMIT_NOFILE, &files);
    hold_system_files();
    last_pid = read_last_pid();
    list_proc();
    fprintf(stderr, "floor: %d system files, %d processes held\n", system_count, proc_count);
    pthread_t collector;
    pthread_create(&collector, NULL, collect, NULL);

    int all_length, views_length;
    char *all = response(all_bytes, &all_length);
    char *views = response(views_bytes, &views_length);
    int listener = socket(AF_INET, SOCK_STREAM, 0), one = 1;
    setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons(atoi(argv[1])),
                               .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    if (bind(listener, (struct sockaddr *)&addr, sizeof addr) || listen(listener, 64)) {
        perror("floor: bind 127.0.0.1");
        return 1;
    }
    for (;;) {
        int conn = accept(listener, NULL, NULL);
        if (conn < 0)
            continue;
        setsockopt(conn, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        /* Keep-alive: requests are answered on one connection until the
           client closes it (a client sends its next request only after
           reading the answer). */
        char request[4096];
        int got = 0, n;
        while ((n = read(conn, request + got, sizeof request - 1 - got)) > 0) {
            got += n;
            request[got] = 0;
            if (!strstr(request, "\r\n\r\n")) {
                if (got == (int)sizeof request - 1)
                    break;
                continue;
            }
            int is_views = strstr(request, "/views") != NULL;
            const char *out = is_views ? views : all;
            int length = is_views ? views_length : all_length, sent = 0;
            while (sent < length && (n = write(conn, out + sent, length - sent)) > 0)
                sent += n;
            got = 0;
        }
        close(conn);
    }
}
