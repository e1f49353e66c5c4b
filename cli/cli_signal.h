/* cli_signal: turns SIGINT, SIGTERM, SIGHUP and SIGWINCH into bytes on a pipe that the
 * event loop watches (the self-pipe trick), and ignores SIGPIPE. */
#ifndef CLI_SIGNAL_H
#define CLI_SIGNAL_H

/* Installs the handlers. Returns the pipe's read end (non-blocking), or -1. */
int cli_signal_install(void);

/* Reads one pending signal number from fd. Returns it, or 0 if none is pending. */
int cli_signal_next(int fd);

/* Restores default dispositions and closes the pipe. */
void cli_signal_uninstall(void);

#endif
