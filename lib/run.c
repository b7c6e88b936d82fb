/* Running a command: exec'd directly (never through a shell), in its
 * own process group so a timeout kills its children too, with stdout
 * and stderr captured (the tail is kept) and no zombie left behind.
 * posix_spawn, not fork: a forked child of a threaded stage (functest)
 * could hang before exec on a lock another thread held (seen under
 * ASan), and nothing of ours runs between spawn and exec. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "phx.h"

extern char **environ;

static void
trim_to_keep(struct phx_buf *b, size_t keep)
{
	if (b->len <= keep)
		return;
	memmove(b->data, b->data + b->len - keep, keep);
	b->len = keep;
	b->data[keep] = '\0';
}

/* appends, trimming now and then rather than on every read */
static void
keep_tail(struct phx_buf *b, const char *p, size_t n, size_t keep)
{
	phx_buf_add(b, p, n);
	if (b->len > 2 * keep)
		trim_to_keep(b, keep);
}

/* environ with the run's NAME=VALUE entries replacing or added */
static char **
child_env(const char *const *extra)
{
	size_t n = 0, k = 0, m = 0;
	char **env;

	while (environ[n])
		n++;
	while (extra && extra[m])
		m++;
	env = phx_calloc(n + m + 1, sizeof *env);
	for (size_t i = 0; i < n; i++) {
		const char *eq = strchr(environ[i], '=');
		size_t len = eq ? (size_t)(eq - environ[i]) + 1 : strlen(environ[i]);
		bool replaced = false;
		for (size_t j = 0; j < m && !replaced; j++)
			replaced = strncmp(extra[j], environ[i], len) == 0;
		if (!replaced)
			env[k++] = environ[i];
	}
	for (size_t j = 0; j < m; j++)
		env[k++] = (char *)extra[j];
	return env;
}

/* starts the command; 0 or an errno value */
static int
spawn(struct phx_run *run, int in, int out, int err, pid_t *pid)
{
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t at;
	sigset_t none, dflt;
	char **env = child_env(run->env);
	int rc;

	sigemptyset(&none);
	sigemptyset(&dflt);
	sigaddset(&dflt, SIGPIPE);   /* we ignore it; the command must not */
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, in, 0);
	posix_spawn_file_actions_adddup2(&fa, out, 1);
	posix_spawn_file_actions_adddup2(&fa, err, 2);
	if (run->cwd)
		posix_spawn_file_actions_addchdir_np(&fa, run->cwd);
#if defined(__GLIBC__) && (__GLIBC__ > 2 || __GLIBC_MINOR__ >= 34)
	/* a socket or pipe of ours without FD_CLOEXEC must not leak */
	posix_spawn_file_actions_addclosefrom_np(&fa, 3);
#endif
	posix_spawnattr_init(&at);
	posix_spawnattr_setflags(&at, POSIX_SPAWN_SETPGROUP |
	    POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
	posix_spawnattr_setpgroup(&at, 0);
	posix_spawnattr_setsigmask(&at, &none);
	posix_spawnattr_setsigdefault(&at, &dflt);
	rc = posix_spawnp(pid, run->argv[0], &fa, &at,
	    (char *const *)run->argv, env);
	posix_spawnattr_destroy(&at);
	posix_spawn_file_actions_destroy(&fa);
	free(env);
	return rc;
}

/* spawn failed: nothing to wait for, the run says why */
static bool
spawn_failed(struct phx_run *run, int pipes[3][2], int e, int64_t start)
{
	for (int i = 0; i < 3; i++) {
		close(pipes[i][0]);
		close(pipes[i][1]);
	}
	run->exec_failed = true;
	run->exec_errno = e;
	run->status = 127;
	phx_buf_str(&run->out);
	phx_buf_str(&run->err);
	run->duration_ms = phx_now_ms() - start;
	return false;
}

/* how long the next poll may wait; kills the group on timeout or cancel */
static int
poll_wait(struct phx_run *run, int64_t start, int64_t *cancelled_at)
{
	int wait = -1;

	if (run->timeout_ms > 0) {
		int64_t left = start + run->timeout_ms - phx_now_ms();
		if (left <= 0) {
			if (!run->timed_out)
				kill(-run->pid, SIGKILL);
			run->timed_out = true;
			left = 100;   /* drain what is left */
		}
		wait = (int)left;
	}
	if (run->cancel) {
		/* a signal just before poll() would not interrupt it */
		if (wait < 0 || wait > 100)
			wait = 100;
		if (*run->cancel && !run->cancelled) {
			kill(-run->pid, SIGKILL);
			run->cancelled = true;
			*cancelled_at = phx_now_ms();
		}
	}
	return wait;
}

/* after a poll: reads stdout and stderr, writes stdin; closes at EOF */
static void
pump(struct phx_run *run, struct pollfd pfd[3], size_t keep, size_t *in_off,
    size_t in_len)
{
	for (int i = 0; i < 2; i++) {
		char chunk[8192];
		ssize_t n;
		if (pfd[i].fd < 0 || !pfd[i].revents)
			continue;
		n = read(pfd[i].fd, chunk, sizeof chunk);
		if (n > 0)
			keep_tail(i ? &run->err : &run->out, chunk, (size_t)n, keep);
		else if (n == 0 || errno != EINTR) {
			close(pfd[i].fd);
			pfd[i].fd = -1;
		}
	}
	if (pfd[2].fd >= 0 && pfd[2].revents) {
		ssize_t n = write(pfd[2].fd, run->stdin_data + *in_off,
		    in_len - *in_off);
		if (n > 0)
			*in_off += (size_t)n;
		if (n < 0 || *in_off >= in_len) {
			close(pfd[2].fd);
			pfd[2].fd = -1;
		}
	}
}

/* the command ran: no zombie, the tails kept, its status */
static void
reap(struct phx_run *run, struct pollfd pfd[3], size_t keep, int64_t start)
{
	int wstatus = 0;

	for (int i = 0; i < 3; i++)
		if (pfd[i].fd >= 0)
			close(pfd[i].fd);
	if (run->timed_out || run->cancelled)
		kill(-run->pid, SIGKILL);
	while (waitpid(run->pid, &wstatus, 0) < 0 && errno == EINTR)
		;
	trim_to_keep(&run->out, keep);
	trim_to_keep(&run->err, keep);
	phx_buf_str(&run->out);
	phx_buf_str(&run->err);
	run->duration_ms = phx_now_ms() - start;
	if (WIFEXITED(wstatus))
		run->status = WEXITSTATUS(wstatus);
	else if (WIFSIGNALED(wstatus))
		run->status = 128 + WTERMSIG(wstatus);
}

bool
phx_run(struct phx_run *run)
{
	int pipes[3][2];   /* stdin, stdout, stderr */
	size_t keep = run->keep ? run->keep : 1024 * 1024;
	int64_t start = phx_now_ms(), cancelled_at = 0;
	size_t in_off = 0, in_len = run->stdin_data ? strlen(run->stdin_data) : 0;
	pid_t pid;
	int e;

	run->status = -1;
	run->timed_out = run->exec_failed = run->cancelled = false;
	for (int i = 0; i < 3; i++)
		if (pipe2(pipes[i], O_CLOEXEC) < 0)
			phx_edie(PHX_EXIT_ENV, "pipe");
	e = spawn(run, pipes[0][0], pipes[1][1], pipes[2][1], &pid);
	if (e != 0)
		return spawn_failed(run, pipes, e, start);
	run->pid = pid;
	close(pipes[0][0]);
	close(pipes[1][1]);
	close(pipes[2][1]);
	if (!run->stdin_data) {
		close(pipes[0][1]);
		pipes[0][1] = -1;
	} else
		fcntl(pipes[0][1], F_SETFL, O_NONBLOCK);

	struct pollfd pfd[3] = {
		{ pipes[1][0], POLLIN, 0 }, { pipes[2][0], POLLIN, 0 },
		{ pipes[0][1], POLLOUT, 0 },
	};
	while (pfd[0].fd >= 0 || pfd[1].fd >= 0) {
		int wait = poll_wait(run, start, &cancelled_at);
		if (poll(pfd, 3, wait) < 0 && errno != EINTR)
			break;
		pump(run, pfd, keep, &in_off, in_len);
		if (run->timed_out && phx_now_ms() > start + run->timeout_ms + 2000)
			break;   /* a grandchild kept the pipe open */
		if (run->cancelled && phx_now_ms() > cancelled_at + 2000)
			break;
	}
	reap(run, pfd, keep, start);
	return true;
}

void
phx_run_free(struct phx_run *run)
{
	phx_buf_free(&run->out);
	phx_buf_free(&run->err);
}

char *
phx_tail_lines(const char *s, size_t len, int n)
{
	size_t i = len;

	if (i && s[i - 1] == '\n')
		i--;
	while (i > 0 && n > 0) {
		i--;
		if (s[i] == '\n')
			n--;
	}
	if (n == 0)
		i++;
	return phx_asprintf("%.*s", (int)(len - i), s + i);
}

char *
phx_which(const char *cmd)
{
	const char *path = getenv("PATH");
	char *copy, *save = NULL, *found = NULL;
	struct stat st;

	if (!cmd || !*cmd)
		return NULL;
	if (strchr(cmd, '/'))
		return stat(cmd, &st) == 0 && S_ISREG(st.st_mode) &&
		    access(cmd, X_OK) == 0 ? phx_strdup(cmd) : NULL;
	copy = phx_strdup(path ? path : "/usr/local/bin:/usr/bin:/bin");
	for (char *dir = strtok_r(copy, ":", &save); dir && !found;
	    dir = strtok_r(NULL, ":", &save)) {
		char *p = phx_asprintf("%s/%s", *dir ? dir : ".", cmd);
		if (stat(p, &st) == 0 && S_ISREG(st.st_mode) && access(p, X_OK) == 0)
			found = p;
		else
			free(p);
	}
	free(copy);
	return found;
}

bool
phx_run_start(struct phx_run *run, int *fd)
{
	int out[2], in;
	int e;

	run->status = -1;
	run->timed_out = run->exec_failed = run->cancelled = false;
	run->pid = 0;
	*fd = -1;
	if (pipe2(out, O_CLOEXEC) < 0)
		phx_edie(PHX_EXIT_ENV, "pipe");
	if ((in = open("/dev/null", O_RDONLY | O_CLOEXEC)) < 0)
		phx_edie(PHX_EXIT_ENV, "/dev/null");
	run->duration_ms = phx_now_ms();   /* the start, until reaped */
	e = spawn(run, in, out[1], out[1], &run->pid);
	close(in);
	close(out[1]);
	if (e != 0) {
		close(out[0]);
		run->exec_failed = true;
		run->exec_errno = e;
		run->status = 127;
		run->pid = 0;
		return false;
	}
	fcntl(out[0], F_SETFL, O_NONBLOCK);
	*fd = out[0];
	return true;
}

bool
phx_run_reap(struct phx_run *run, bool block)
{
	int wstatus = 0;
	pid_t got;

	if (run->pid <= 0)
		return true;
	while ((got = waitpid(run->pid, &wstatus, block ? 0 : WNOHANG)) < 0 &&
	    errno == EINTR)
		;
	if (got == 0)
		return false;
	run->pid = 0;   /* got < 0: not ours to wait for any more */
	run->duration_ms = phx_now_ms() - run->duration_ms;
	if (WIFEXITED(wstatus))
		run->status = WEXITSTATUS(wstatus);
	else if (WIFSIGNALED(wstatus))
		run->status = 128 + WTERMSIG(wstatus);
	return true;
}

void
phx_run_kill(struct phx_run *run)
{
	if (run->pid <= 0)
		return;
	kill(-run->pid, SIGKILL);
	phx_run_reap(run, true);
}
