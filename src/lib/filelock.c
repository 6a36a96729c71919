/* Slots as one-byte fcntl write locks (see filelock.h). Plain POSIX: F_SETLK to take or
   drop a slot without waiting, F_GETLK to name the holder of a taken one. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "filelock.h"

/* A holder seen by F_SETLK may have released the slot before F_GETLK looks: try again,
   a few times, rather than report a holder that is gone. */
#define TRIES 4

static void set_error(char *err, size_t errsize, const char *what, int e)
{
    if (err && errsize)
        snprintf(err, errsize, "%s: %s", what, strerror(e));
}

int cx_filelock_open(const char *path, char *err, size_t errsize)
{
    struct stat st;
    int fd;
    /* O_NONBLOCK: a FIFO at path must not hang the open; it is then refused below */
    do
        fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOCTTY | O_NONBLOCK, 0600);
    while (fd < 0 && errno == EINTR);
    if (fd < 0) {
        set_error(err, errsize, path, errno);
        return -1;
    }
    if (fstat(fd, &st) != 0) {
        set_error(err, errsize, path, errno);
        close(fd);
        return -1;
    }
    if (!S_ISREG(st.st_mode)) {
        if (err && errsize)
            snprintf(err, errsize, "%s: not a regular file", path);
        close(fd);
        return -1;
    }
    return fd;
}

static int set_lock(int fd, short type, long slot)
{
    struct flock fl;
    int r;
    memset(&fl, 0, sizeof fl);
    fl.l_type = type;
    fl.l_whence = SEEK_SET;
    fl.l_start = (off_t)slot;
    fl.l_len = 1;
    do
        r = fcntl(fd, F_SETLK, &fl);
    while (r != 0 && errno == EINTR);
    return r;
}

int cx_filelock_try(int fd, long slot, long *holder, char *err, size_t errsize)
{
    int i;
    *holder = 0;
    for (i = 0; i < TRIES; i++) {
        struct flock fl;
        if (set_lock(fd, F_WRLCK, slot) == 0)
            return 1;
        if (errno != EAGAIN && errno != EACCES) {
            set_error(err, errsize, "fcntl(F_SETLK)", errno);
            return -1;
        }
        memset(&fl, 0, sizeof fl);
        fl.l_type = F_WRLCK;
        fl.l_whence = SEEK_SET;
        fl.l_start = (off_t)slot;
        fl.l_len = 1;
        if (fcntl(fd, F_GETLK, &fl) != 0) {
            set_error(err, errsize, "fcntl(F_GETLK)", errno);
            return -1;
        }
        if (fl.l_type != F_UNLCK) {
            /* a holder in another PID namespace, or an open file description lock, shows
               no usable pid */
            *holder = fl.l_pid > 0 ? (long)fl.l_pid : 0;
            return 0;
        }
    }
    return 0; /* taken and released over and over while we looked: taken, holder unknown */
}

int cx_filelock_release(int fd, long slot, char *err, size_t errsize)
{
    if (set_lock(fd, F_UNLCK, slot) != 0) {
        set_error(err, errsize, "fcntl(F_SETLK)", errno);
        return -1;
    }
    return 0;
}

void cx_filelock_close(int fd)
{
    if (fd >= 0)
        close(fd);
}
