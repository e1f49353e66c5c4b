#include "cli_signal.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

static int pipe_fds[2] = {-1, -1};
static const int caught[] = {SIGINT, SIGTERM, SIGHUP, SIGWINCH, SIGTSTP};
static size_t n_caught;
static struct sigaction action;

static void handler(int sig)
{
    int saved = errno;
    unsigned char b = (unsigned char)sig;
    if (write(pipe_fds[1], &b, 1) < 0) {
        /* pipe full: a signal of this kind is already pending */
    }
    errno = saved;
}

int cli_signal_install(int job_control)
{
    if (pipe(pipe_fds) != 0)
        return -1;
    for (int i = 0; i < 2; i++) {
        fcntl(pipe_fds[i], F_SETFL, fcntl(pipe_fds[i], F_GETFL) | O_NONBLOCK);
        fcntl(pipe_fds[i], F_SETFD, FD_CLOEXEC);
    }
    memset(&action, 0, sizeof action);
    action.sa_handler = handler;
    sigemptyset(&action.sa_mask);
    action.sa_flags = SA_RESTART;
    n_caught = sizeof caught / sizeof caught[0] - (job_control ? 0 : 1);
    for (size_t i = 0; i < n_caught; i++)
        sigaction(caught[i], &action, NULL);
    signal(SIGPIPE, SIG_IGN);
    return pipe_fds[0];
}

int cli_signal_next(int fd)
{
    unsigned char b;
    ssize_t n = read(fd, &b, 1);
    return n == 1 ? b : 0;
}

void cli_signal_stop(void)
{
    signal(SIGTSTP, SIG_DFL);
    raise(SIGTSTP); /* delivered before raise returns: the process stops here */
    sigaction(SIGTSTP, &action, NULL);
}

void cli_signal_uninstall(void)
{
    for (size_t i = 0; i < n_caught; i++)
        signal(caught[i], SIG_DFL);
    for (int i = 0; i < 2; i++) {
        if (pipe_fds[i] >= 0)
            close(pipe_fds[i]);
        pipe_fds[i] = -1;
    }
}
