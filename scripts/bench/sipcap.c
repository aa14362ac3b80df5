// Server-side latency from the wire: records every UDP datagram to or from a SIP server's port
// on the loopback interface with the kernel's timestamp of its transmission, so that a
// server's own delay (request in → answer or NOTIFY out) can be measured without the load
// generator's scheduling in the figure. scripts/bench/server_latency.py reads its output.
//
//   sipcap PORT OUTFILE          # until SIGINT/SIGTERM; needs CAP_NET_RAW (unshare -rn gives it)
//
// One line per datagram: "<ns> <in|out> <first token> <code|-> <Call-ID> <CSeq number>
// <CSeq method> <marker|->", where the marker is the first "ts-NNN" of the body (herald-load's
// fanout puts its PUBLISH's send time there, and the NOTIFYs carry it on). On loopback a
// datagram reaches the tap once, as PACKET_HOST, stamped when the loopback device hands it to
// the receive path in the sender's own send call. Loopback only; never part of the tests.
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <netinet/ip.h>
#include <netinet/udp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t stopping = 0;
static void stop(int signal) { (void)signal; stopping = 1; }

// Copies the value of header `name` (or its compact form) into out, up to the end of line.
static void header_value(const char *message, size_t length, const char *name, const char *compact,
                         char *out, size_t capacity) {
    strcpy(out, "-");
    const char *end = message + length;
    for (const char *line = message; line < end;) {
        const char *eol = memchr(line, '\n', (size_t)(end - line));
        if (!eol) eol = end;
        if (eol - line <= 1) return;  // blank line: end of headers
        const char *colon = memchr(line, ':', (size_t)(eol - line));
        if (colon) {
            size_t name_length = (size_t)(colon - line);
            while (name_length > 0 && (line[name_length - 1] == ' ' || line[name_length - 1] == '\t')) name_length--;
            if ((name_length == strlen(name) && strncasecmp(line, name, name_length) == 0) ||
                (compact && name_length == strlen(compact) && strncasecmp(line, compact, name_length) == 0)) {
                const char *value = colon + 1;
                while (value < eol && (*value == ' ' || *value == '\t')) value++;
                size_t n = (size_t)(eol - value);
                while (n > 0 && (value[n - 1] == '\r' || value[n - 1] == ' ')) n--;
                if (n >= capacity) n = capacity - 1;
                for (size_t i = 0; i < n; i++) out[i] = (value[i] == ' ' || value[i] == '\t') ? '_' : value[i];
                out[n] = 0;
                if (n == 0) strcpy(out, "-");
                return;
            }
        }
        line = eol + 1;
    }
}

int main(int argc, char **argv) {
    if (argc != 3) {
        fprintf(stderr, "usage: sipcap PORT OUTFILE\n");
        return 2;
    }
    unsigned port = (unsigned)atoi(argv[1]);
    FILE *out = fopen(argv[2], "w");
    if (!out) { perror("fopen"); return 1; }
    setvbuf(out, NULL, _IOFBF, 1 << 20);

    int s = socket(AF_PACKET, SOCK_DGRAM, htons(ETH_P_IP));
    if (s < 0) { perror("socket(AF_PACKET)"); return 1; }
    int buffer = 64 << 20;
    if (setsockopt(s, SOL_SOCKET, SO_RCVBUFFORCE, &buffer, sizeof buffer) != 0)
        setsockopt(s, SOL_SOCKET, SO_RCVBUF, &buffer, sizeof buffer);
    int on = 1;
    setsockopt(s, SOL_SOCKET, SO_TIMESTAMPNS, &on, sizeof on);
    struct sockaddr_ll bound = {.sll_family = AF_PACKET, .sll_protocol = htons(ETH_P_IP),
                                .sll_ifindex = (int)if_nametoindex("lo")};
    if (bound.sll_ifindex == 0 || bind(s, (struct sockaddr *)&bound, sizeof bound) != 0) { perror("bind lo"); return 1; }
    struct timeval tick = {.tv_sec = 0, .tv_usec = 200000};  // to notice a signal while idle
    setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tick, sizeof tick);

    struct sigaction action = {.sa_handler = stop};
    sigaction(SIGINT, &action, NULL);
    sigaction(SIGTERM, &action, NULL);
    fprintf(stderr, "sipcap: listening on lo for port %u\n", port);

    static char packet[65536];
    char control[256];
    unsigned long kept = 0;
    while (!stopping) {
        struct sockaddr_ll from;
        struct iovec vector = {.iov_base = packet, .iov_len = sizeof packet};
        struct msghdr message = {.msg_name = &from, .msg_namelen = sizeof from, .msg_iov = &vector,
                                 .msg_iovlen = 1, .msg_control = control, .msg_controllen = sizeof control};
        ssize_t n = recvmsg(s, &message, 0);
        if (n < 0) continue;
        if (from.sll_pkttype != PACKET_HOST) continue;
        if ((size_t)n < sizeof(struct iphdr)) continue;
        struct iphdr *ip = (struct iphdr *)packet;
        size_t ip_length = (size_t)ip->ihl * 4;
        if (ip->protocol != IPPROTO_UDP || (size_t)n < ip_length + sizeof(struct udphdr)) continue;
        if ((ntohs(ip->frag_off) & 0x1fff) != 0) continue;  // not a first fragment
        struct udphdr *udp = (struct udphdr *)(packet + ip_length);
        unsigned source = ntohs(udp->source), destination = ntohs(udp->dest);
        const char *direction = destination == port ? "in" : (source == port ? "out" : NULL);
        if (!direction) continue;
        struct timespec stamp = {0};
        for (struct cmsghdr *c = CMSG_FIRSTHDR(&message); c; c = CMSG_NXTHDR(&message, c))
            if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_TIMESTAMPNS) memcpy(&stamp, CMSG_DATA(c), sizeof stamp);

        const char *sip = packet + ip_length + sizeof(struct udphdr);
        size_t length = (size_t)n - ip_length - sizeof(struct udphdr);
        if (length < 4 || (length == 4 && memcmp(sip, "\r\n\r\n", 4) == 0)) continue;  // keep-alive
        char first[32] = "-", code[8] = "-";
        size_t i = 0;
        while (i < length && i < sizeof first - 1 && sip[i] != ' ' && sip[i] != '\r') { first[i] = sip[i]; i++; }
        first[i] = 0;
        if (strcmp(first, "SIP/2.0") == 0 && length > i + 4) { memcpy(code, sip + i + 1, 3); code[3] = 0; }
        char call_id[256], cseq[64];
        header_value(sip, length, "Call-ID", "i", call_id, sizeof call_id);
        header_value(sip, length, "CSeq", NULL, cseq, sizeof cseq);
        char *cseq_method = strchr(cseq, '_');
        if (cseq_method) *cseq_method++ = 0; else cseq_method = "-";
        char marker[40] = "-";
        const char *found = memmem(sip, length, "ts-", 3);
        if (found) {
            size_t m = 0;
            while (found + m < sip + length && m < sizeof marker - 1 && (found[m] == 't' || found[m] == 's' || found[m] == '-' ||
                   (found[m] >= '0' && found[m] <= '9'))) { marker[m] = found[m]; m++; }
            marker[m] = 0;
        }
        fprintf(out, "%lld %s %s %s %s %s %s %s\n", (long long)stamp.tv_sec * 1000000000LL + stamp.tv_nsec, direction,
                first, code, call_id, cseq, cseq_method, marker);
        kept++;
    }
    struct tpacket_stats statistics;
    socklen_t size = sizeof statistics;
    if (getsockopt(s, SOL_PACKET, PACKET_STATISTICS, &statistics, &size) == 0)
        fprintf(stderr, "sipcap: %lu datagrams kept, %u dropped by the kernel\n", kept, statistics.tp_drops);
    fclose(out);
    return 0;
}
