/* cli_signal: turns SIGINT, SIGTERM, SIGHUP and SIGWINCH (and, in interactive mode,
 * SIGTSTP) into bytes on a pipe that the event loop watches (the self-pipe trick), and
 * ignores SIGPIPE. */
#ifndef CLI_SIGNAL_H
#define CLI_SIGNAL_H

/* Installs the handlers; with job_control also for SIGTSTP, so that Ctrl-Z can restore
 * the terminal before stopping (see cli_signal_stop). Returns the pipe's read end
 * (non-blocking), or -1. */
int cli_signal_install(int job_control);

/* Reads one pending signal number from fd. Returns it, or 0 if none is pending. */
int cli_signal_next(int fd);

/* Stops the process as the default SIGTSTP would, and returns once it is continued
 * (at once if the group is orphaned: the kernel then discards the stop). The handler is
 * back in place on return. */
void cli_signal_stop(void);

/* Restores default dispositions and closes the pipe. */
void cli_signal_uninstall(void);

#endif
