/* lib/filelock.c driven from C, without Lua (`make test-c`): slots taken by this process and
   seen from forked children (the holder's pid, another slot free, a released slot free), a
   child killed with SIGKILL while holding a slot (the kernel drops it), then the open: mode,
   close-on-exec, and the messages for a path that cannot be opened. */
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "filelock.h"

static int failures;

#define CHECK(cond)                                                             \
    do {                                                                        \
        if (!(cond)) {                                                          \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
            failures++;                                                         \
        }                                                                       \
    } while (0)

static char path[64];

/* In a child: opens the file and tries slot; exits 0 when the result is `want` and, for
   a taken slot, the holder is the parent. */
static int child_sees(long slot, int want)
{
    pid_t pid = fork();
    int status;
    if (pid == 0) {
        long holder = -1;
        char err[256];
        int fd = cx_filelock_open(path, err, sizeof err), r;
        if (fd < 0)
            _exit(2);
        r = cx_filelock_try(fd, slot, &holder, err, sizeof err);
        if (r != want)
            _exit(3);
        if (r == 0 && holder != (long)getppid())
            _exit(4);
        _exit(0);
    }
    if (pid < 0 || waitpid(pid, &status, 0) != pid)
        return -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : 100;
}

int main(void)
{
    char dir[] = "/tmp/filelock_test.XXXXXX", err[512];
    long holder;
    int fd, fds[2], status;
    pid_t pid;
    struct stat st;
    mode_t mask;

    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        return 1;
    }
    snprintf(path, sizeof path, "%s/sync.lock", dir);
    mask = umask(022);
    umask(mask);

    fd = cx_filelock_open(path, err, sizeof err);
    CHECK(fd >= 0);
    CHECK(fstat(fd, &st) == 0 && (st.st_mode & 0777) == (0600 & ~mask));
    CHECK((fcntl(fd, F_GETFD) & FD_CLOEXEC) != 0);

    /* taken here: another process sees us as its holder; another slot is free */
    CHECK(cx_filelock_try(fd, 5, &holder, err, sizeof err) == 1);
    CHECK(cx_filelock_try(fd, 5, &holder, err, sizeof err) == 1); /* ours again */
    CHECK(child_sees(5, 0) == 0);
    CHECK(child_sees(6, 1) == 0);
    CHECK(child_sees(CX_FILELOCK_MAX_SLOT, 1) == 0);
    /* released: the child gets it */
    CHECK(cx_filelock_release(fd, 5, err, sizeof err) == 0);
    CHECK(child_sees(5, 1) == 0);

    /* a child holding slot 7 is killed: the slot is free as soon as it is reaped */
    CHECK(pipe(fds) == 0);
    pid = fork();
    if (pid == 0) {
        int cfd = cx_filelock_open(path, err, sizeof err);
        char c = cfd >= 0 && cx_filelock_try(cfd, 7, &holder, err, sizeof err) == 1 ? 'y' : 'n';
        if (write(fds[1], &c, 1) != 1)
            _exit(1);
        for (;;)
            pause();
    }
    CHECK(pid > 0);
    if (pid > 0) {
        char c = 0;
        close(fds[1]);
        CHECK(read(fds[0], &c, 1) == 1 && c == 'y');
        close(fds[0]);
        CHECK(cx_filelock_try(fd, 7, &holder, err, sizeof err) == 0 && holder == (long)pid);
        kill(pid, SIGKILL);
        CHECK(waitpid(pid, &status, 0) == pid && WIFSIGNALED(status));
        CHECK(cx_filelock_try(fd, 7, &holder, err, sizeof err) == 1);
    }
    cx_filelock_close(fd);
    /* closed: every slot of ours is free for others */
    CHECK(child_sees(7, 1) == 0);

    /* what cannot be opened is named with the system's reason */
    CHECK(cx_filelock_open("/nonexistent-dir/x.lock", err, sizeof err) == -1);
    CHECK(strcmp(err, "/nonexistent-dir/x.lock: No such file or directory") == 0);
    CHECK(cx_filelock_open(dir, err, sizeof err) == -1);
    CHECK(strncmp(err, dir, strlen(dir)) == 0 && strstr(err, "directory") != NULL);

    unlink(path);
    rmdir(dir);
    if (failures) {
        fprintf(stderr, "filelock_test: %d check(s) failed\n", failures);
        return 1;
    }
    printf("filelock_test: all checks passed\n");
    return 0;
}
