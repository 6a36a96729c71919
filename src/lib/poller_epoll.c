/* The poller on Linux: epoll, level-triggered, so that the epoll descriptor stays readable
   for an outside event loop for as long as a watched socket is ready. */
#include <errno.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "poller.h"

#define BATCH 64

int cx_poller_open(void)
{
    return epoll_create1(EPOLL_CLOEXEC);
}

void cx_poller_close(int poller)
{
    if (poller >= 0)
        close(poller);
}

int cx_poller_watch(int poller, int fd, int events)
{
    struct epoll_event ev = {0};
    ev.events = ((events & CX_POLL_IN) ? EPOLLIN : 0) | ((events & CX_POLL_OUT) ? EPOLLOUT : 0);
    ev.data.fd = fd;
    if (epoll_ctl(poller, EPOLL_CTL_MOD, fd, &ev) == 0)
        return 0;
    if (errno != ENOENT)
        return -1;
    return epoll_ctl(poller, EPOLL_CTL_ADD, fd, &ev);
}

void cx_poller_forget(int poller, int fd)
{
    struct epoll_event ev = {0}; /* ignored, but kernels before 2.6.9 wanted one */
    epoll_ctl(poller, EPOLL_CTL_DEL, fd, &ev);
}

int cx_poller_wait(int poller, int timeout_ms, cx_ready_fn ready, void *ud)
{
    struct epoll_event evs[BATCH];
    int n = epoll_wait(poller, evs, BATCH, timeout_ms), i;
    if (n < 0)
        return errno == EINTR ? 0 : -1;
    for (i = 0; i < n; i++) {
        int events = 0;
        if (evs[i].events & (EPOLLIN | EPOLLHUP))
            events |= CX_POLL_IN;
        if (evs[i].events & EPOLLOUT)
            events |= CX_POLL_OUT;
        if (evs[i].events & EPOLLERR)
            events |= CX_POLL_ERR;
        ready(ud, evs[i].data.fd, events);
    }
    return n;
}
