/* The floor under the dashboard goal: what the kernel alone charges a
 * daemon that re-reads, every 2 s, the per-tick files glint reads, and
 * serves a dashboard. It holds each process's schedstat and the system
 * files (/proc/stat, meminfo, loadavg, uptime, diskstats, net/dev, the
 * online CPUs, each interface's speed, operstate and flags) open, pread()s
 * them all at every 2 s boundary, statfs()es two mounts, and answers each
 * HTTP request with a body built once: 26 KiB (the size of glint's /all) or,
 * for a path with "views", 145 KiB (/all/views). It parses nothing, formats
 * nothing and discovers no new process, so any real collector costs more.
 *
 *   bench/floor.sh   (compiles this and measures it beside glint)
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
#include <sys/socket.h>
#include <sys/statfs.h>
#include <time.h>
#include <unistd.h>

enum { ALL_BYTES = 26 * 1024, VIEWS_BYTES = 145 * 1024, MAX_FILES = 4096 };

static int held[MAX_FILES];
static int held_count;

static void hold(const char *path) {
    int fd = open(path, O_RDONLY);
    if (fd >= 0 && held_count < MAX_FILES)
        held[held_count++] = fd;
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
    static char buf[65536];
    struct statfs fs;
    (void)unused;
    for (;;) {
        sleep_to_boundary();
        for (int i = 0; i < held_count; i++)
            pread(held[i], buf, sizeof buf, 0);
        statfs("/", &fs);
        statfs("/dev/shm", &fs);
    }
    return NULL;
}

static void hold_files(void) {
    char path[512];
    DIR *dir = opendir("/proc");
    for (struct dirent *e; dir && (e = readdir(dir));) {
        int pid = atoi(e->d_name);
        if (pid > 0) {
            snprintf(path, sizeof path, "/proc/%d/schedstat", pid);
            hold(path);
        }
    }
    if (dir)
        closedir(dir);
    const char *system[] = {"/proc/stat", "/proc/meminfo", "/proc/loadavg", "/proc/uptime",
                            "/proc/diskstats", "/proc/self/net/dev",
                            "/sys/devices/system/cpu/online", NULL};
    for (int i = 0; system[i]; i++)
        hold(system[i]);
    dir = opendir("/sys/class/net");
    for (struct dirent *e; dir && (e = readdir(dir));) {
        const char *attrs[] = {"speed", "operstate", "flags", NULL};
        for (int i = 0; e->d_name[0] != '.' && attrs[i]; i++) {
            snprintf(path, sizeof path, "/sys/class/net/%s/%s", e->d_name, attrs[i]);
            hold(path);
        }
    }
    if (dir)
        closedir(dir);
}

/* A whole response: headers, then `size` bytes of body. */
static char *response(int size, int *length) {
    char *out = malloc(size + 128);
    int head = sprintf(out, "HTTP/1.0 200 OK\r\nContent-Type: application/json\r\n"
                            "Content-Length: %d\r\n\r\n", size);
    memset(out + head, 'x', size);
    *length = head + size;
    return out;
}

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: floor PORT\n");
        return 2;
    }
    hold_files();
    fprintf(stderr, "floor: %d files held\n", held_count);
    pthread_t collector;
    pthread_create(&collector, NULL, collect, NULL);

    int all_length, views_length;
    char *all = response(ALL_BYTES, &all_length);
    char *views = response(VIEWS_BYTES, &views_length);
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
        char request[4096];
        int got = 0, n;
        while (got < (int)sizeof request - 1 && (n = read(conn, request + got, sizeof request - 1 - got)) > 0) {
            got += n;
            request[got] = 0;
            if (strstr(request, "\r\n\r\n"))
                break;
        }
        request[got] = 0;
        int is_views = strstr(request, "/views") != NULL;
        const char *out = is_views ? views : all;
        int length = is_views ? views_length : all_length, sent = 0;
        while (sent < length && (n = write(conn, out + sent, length - sent)) > 0)
            sent += n;
        close(conn);
    }
}
