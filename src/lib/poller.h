/* The descriptor poller behind the transport: one descriptor that becomes readable when any
   watched socket is ready. Linux has epoll (poller_epoll.c); kqueue (macOS, the BSDs) would be
   another file with these functions. */
#ifndef CX_LIB_POLLER_H
#define CX_LIB_POLLER_H

#define CX_POLL_IN 1
#define CX_POLL_OUT 2
#define CX_POLL_ERR 4

/* The poller's own descriptor (close-on-exec), or -1 with errno set. */
int cx_poller_open(void);
void cx_poller_close(int poller);
/* Watches fd for `events` (CX_POLL_IN | CX_POLL_OUT), adding it or changing what is watched.
   0 ok, -1 with errno set. */
int cx_poller_watch(int poller, int fd, int events);
/* Stops watching fd (quietly: it may be closed already). */
void cx_poller_forget(int poller, int fd);
typedef void (*cx_ready_fn)(void *ud, int fd, int events);
/* Waits up to timeout_ms (0: not at all) for ready descriptors and calls ready(ud, fd,
   events) for each. Returns how many, 0 on timeout or interruption, -1 with errno set. */
int cx_poller_wait(int poller, int timeout_ms, cx_ready_fn ready, void *ud);

#endif
