// The kernel's floor for a UDP server on this machine: an echo server that answers every
// datagram with one of the same size (recvmmsg batches of up to 64, one sendto per answer)
// and a client sending 600-byte datagrams at a fixed rate. What a SIP server can move per
// core can be no more than this; see BENCHMARKS.md ("UDP floor"). Loopback only.
//
//   udp_floor server            (port 7000)
//   udp_floor client RATE SECS  (prints sent/s and answers/s)
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec / 1e9;
}

enum { BATCH = 64, SIZE = 600 };

int main(int argc, char **argv) {
    if (argc < 2) return 2;
    int server = strcmp(argv[1], "server") == 0;
    int s = socket(AF_INET, SOCK_DGRAM, 0);
    int buffer = 8 << 20;
    setsockopt(s, SOL_SOCKET, SO_RCVBUF, &buffer, sizeof buffer);
    setsockopt(s, SOL_SOCKET, SO_SNDBUF, &buffer, sizeof buffer);
    struct sockaddr_in local = {.sin_family = AF_INET, .sin_port = htons(server ? 7000 : 7001)};
    inet_pton(AF_INET, "127.0.0.1", &local.sin_addr);
    if (bind(s, (struct sockaddr *)&local, sizeof local) != 0) { perror("bind"); return 1; }
    struct sockaddr_in peer = {.sin_family = AF_INET, .sin_port = htons(7000)};
    inet_pton(AF_INET, "127.0.0.1", &peer.sin_addr);
    static char data[BATCH][2048];
    struct mmsghdr messages[BATCH];
    struct iovec vectors[BATCH];
    struct sockaddr_in sources[BATCH];
    for (int i = 0; i < BATCH; i++) {
        vectors[i].iov_base = data[i];
        memset(&messages[i], 0, sizeof messages[i]);
        messages[i].msg_hdr.msg_iov = &vectors[i];
        messages[i].msg_hdr.msg_iovlen = 1;
        messages[i].msg_hdr.msg_name = &sources[i];
    }
    if (server) {
        for (;;) {
            for (int i = 0; i < BATCH; i++) {
                vectors[i].iov_len = sizeof data[i];
                messages[i].msg_hdr.msg_namelen = sizeof sources[i];
            }
            int count = recvmmsg(s, messages, BATCH, 0, NULL);
            for (int i = 0; i < count; i++)
                sendto(s, data[i], messages[i].msg_len, 0, (struct sockaddr *)&sources[i], sizeof sources[i]);
        }
    }
    if (argc < 4) return 2;
    double rate = atof(argv[2]);
    int seconds = atoi(argv[3]);
    long sent = 0, answered = 0;
    double start = now();
    while (now() - start < seconds) {
        long due = (long)((now() - start) * rate);
        for (; sent < due; sent++) sendto(s, data[0], SIZE, 0, (struct sockaddr *)&peer, sizeof peer);
        for (int i = 0; i < BATCH; i++) {
            vectors[i].iov_len = sizeof data[i];
            messages[i].msg_hdr.msg_namelen = sizeof sources[i];
        }
        int count = recvmmsg(s, messages, BATCH, MSG_DONTWAIT, NULL);
        if (count > 0) answered += count;
    }
    printf("sent %.0f/s answered %.0f/s\n", sent / (double)seconds, answered / (double)seconds);
    return 0;
}
