// Batched UDP sending for Herald's datagram sender thread: sendmmsg(2) in chunks, with the
// per-datagram error handling NIO's write path would otherwise give us.
#define _GNU_SOURCE
#include "herald_datagrams.h"

#include <errno.h>
#include <string.h>
#include <sys/uio.h>

enum { chunk = 64 };

size_t herald_send_datagrams(int fd, herald_datagram *datagrams, size_t count) {
    struct mmsghdr headers[chunk];
    struct iovec vectors[chunk];
    size_t failed = 0;
    size_t next = 0;
    while (next < count) {
        size_t batch = count - next < chunk ? count - next : chunk;
        for (size_t i = 0; i < batch; i++) {
            herald_datagram *datagram = &datagrams[next + i];
            datagram->error = 0;
            vectors[i].iov_base = (void *)datagram->bytes;
            vectors[i].iov_len = datagram->length;
            memset(&headers[i], 0, sizeof headers[i]);
            headers[i].msg_hdr.msg_name = (void *)datagram->address;
            headers[i].msg_hdr.msg_namelen = datagram->address_length;
            headers[i].msg_hdr.msg_iov = &vectors[i];
            headers[i].msg_hdr.msg_iovlen = 1;
        }
        int sent = sendmmsg(fd, headers, (unsigned int)batch, 0);
        if (sent > 0) {
            next += (size_t)sent;
            continue;
        }
        // sendmmsg reports an error only for the first datagram of the call: that one failed.
        int error = sent == 0 ? EIO : errno;
        if (error == EINTR) continue;
        datagrams[next].error = error;
        failed++;
        next++;
    }
    return failed;
}
