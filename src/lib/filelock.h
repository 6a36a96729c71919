/* Advisory locks on a lock file: POSIX fcntl byte-range write locks, one byte per slot at
   offset slot (the file stays empty; locks may lie past its end). The kernel drops a
   process's locks when it exits, however it dies (SIGKILL included), so a crashed holder
   never leaves a slot taken.
   fcntl locks belong to the process, not to the descriptor: two descriptors of one file in
   one process do not exclude each other, and closing ANY descriptor of the file in the
   process drops all of the process's locks on it. So: one open lock file per path per
   process. A lock held by this process is taken again without complaint. */
#ifndef CX_LIB_FILELOCK_H
#define CX_LIB_FILELOCK_H

#include <stddef.h>
#include <stdint.h>

/* The highest slot: offsets fit a 32-bit off_t. */
#define CX_FILELOCK_MAX_SLOT 2147483647L

/* Opens or creates path (mode 0600 before the umask, close-on-exec, read-write: a write lock
   needs a descriptor open for writing) and returns its descriptor; -1 with the message
   ("<path>: <strerror>") in err (errsize bytes) when it cannot, or when path is not a
   regular file. */
int cx_filelock_open(const char *path, char *err, size_t errsize);

/* Tries to take slot (0..CX_FILELOCK_MAX_SLOT) without waiting. 1: this process holds it
   now. 0: another process holds it, *holder its pid (0 when unknown). -1: a system error,
   its message in err. */
int cx_filelock_try(int fd, long slot, long *holder, char *err, size_t errsize);

/* Releases slot (held or not). 0, or -1 with the message in err. */
int cx_filelock_release(int fd, long slot, char *err, size_t errsize);

/* Closes fd, which drops every lock this process holds on the file. */
void cx_filelock_close(int fd);

#endif
