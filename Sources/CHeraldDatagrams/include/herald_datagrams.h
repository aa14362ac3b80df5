#ifndef HERALD_DATAGRAMS_H
#define HERALD_DATAGRAMS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

/// One datagram to send: its bytes and where to.
typedef struct herald_datagram {
    const uint8_t *bytes;
    size_t length;
    const struct sockaddr *address;
    socklen_t address_length;
    /// Set by herald_send_datagrams: 0 when the kernel took it, else the errno that refused it.
    int error;
} herald_datagram;

/// Sends every datagram on the (non-blocking) socket `fd` with as few sendmmsg calls as the
/// kernel allows, in order. A datagram the kernel refuses (EMSGSIZE, ENETUNREACH, and EAGAIN
/// when the send buffer is full: it never waits) gets its errno in `error` and the rest still
/// go. Returns how many failed.
size_t herald_send_datagrams(int fd, herald_datagram *datagrams, size_t count);

#endif
