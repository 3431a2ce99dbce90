/* The ceiling over a throughput cell: a keep-alive HTTP server on loopback
 * that answers every request with one body of BYTES bytes, built once and
 * sent with one send(). It parses nothing but the blank line ending each
 * request, so the requests/s wrk gets from it are what wrk and the kernel
 * allow for a body of that size on this machine; no server can do much
 * better. bench/compare.sh runs it beside glint's `/api/3/all` cell.
 *
 *   cc -O2 bench/ceiling.c -o ceiling && ./ceiling PORT BYTES
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

enum { MAX_FDS = 65536 };

/* Per connection: how many bytes of "\r\n\r\n" the input ended with, so a
 * request head split over two reads is still seen once. */
static unsigned char matched[MAX_FDS];

/* Count the request heads ended in `data`, carrying the partial match. */
static int heads_ended(int fd, const char *data, int len) {
    static const char end[] = "\r\n\r\n";
    int heads = 0;
    for (int i = 0; i < len; i++) {
        unsigned char m = matched[fd];
        if (data[i] == end[m]) {
            m++;
        } else {
            m = data[i] == '\r';
        }
        if (m == 4) {
            heads++;
            m = 0;
        }
        matched[fd] = m;
    }
    return heads;
}

static int send_all(int fd, const char *data, int len) {
    while (len > 0) {
        ssize_t sent = send(fd, data, len, MSG_NOSIGNAL);
        if (sent <= 0)
            return -1;
        data += sent;
        len -= sent;
    }
    return 0;
}

int main(int argc, char **argv) {
    if (argc != 3) {
        fprintf(stderr, "usage: %s PORT BYTES\n", argv[0]);
        return 2;
    }
    int port = atoi(argv[1]), bytes = atoi(argv[2]), one = 1;
    char *response = malloc(bytes + 128);
    int head = sprintf(response,
                       "HTTP/1.1 200 OK\r\ncontent-type: application/json; charset=utf-8\r\n"
                       "content-length: %d\r\n\r\n",
                       bytes);
    memset(response + head, ' ', bytes);
    int length = head + bytes;

    int listener = socket(AF_INET, SOCK_STREAM, 0);
    setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons(port)};
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(listener, (struct sockaddr *)&addr, sizeof addr) || listen(listener, 128)) {
        perror("ceiling: bind/listen");
        return 1;
    }
    int poller = epoll_create1(0);
    struct epoll_event event = {.events = EPOLLIN, .data.fd = listener}, ready[64];
    epoll_ctl(poller, EPOLL_CTL_ADD, listener, &event);
    char input[8192];
    for (;;) {
        int count = epoll_wait(poller, ready, 64, -1);
        for (int i = 0; i < count; i++) {
            int fd = ready[i].data.fd;
            if (fd == listener) {
                int conn = accept(listener, NULL, NULL);
                if (conn < 0 || conn >= MAX_FDS) {
                    if (conn >= 0)
                        close(conn);
                    continue;
                }
                setsockopt(conn, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
                matched[conn] = 0;
                event.data.fd = conn;
                epoll_ctl(poller, EPOLL_CTL_ADD, conn, &event);
                continue;
            }
            ssize_t got = read(fd, input, sizeof input);
            int heads = got > 0 ? heads_ended(fd, input, got) : 0;
            int failed = got <= 0;
            while (!failed && heads-- > 0)
                failed = send_all(fd, response, length) != 0;
            if (failed)
                close(fd); /* closing also removes it from the epoll set */
        }
    }
}
