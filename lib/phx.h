/* libphx: what every phx stage shares.  Every name is prefixed phx_. */
#ifndef PHX_H
#define PHX_H

#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>
#include <time.h>

#include <cJSON.h>
#include <curl/curl.h>

#define PHX_VERSION "0.1.0"
#define PHX_RECORD_VERSION 1
#define PHX_MAXLINE_DEFAULT (1024 * 1024)

/* Exit statuses shared by every stage (documented in phx.7). */
enum {
	PHX_EXIT_OK = 0,      /* everything checked passed */
	PHX_EXIT_FAIL = 1,    /* something checked failed */
	PHX_EXIT_USAGE = 2,   /* bad usage, config or input; report: INCOMPLETE */
	PHX_EXIT_ENV = 3,     /* environment: podman missing, write error, I/O */
};

/* ---- process setup (out.c) ---- */
/* progname, /dev/null on closed fds 0-2, stdout buffering, SIGPIPE, log env */
void phx_init(const char *argv0);
void phx_version(void) __attribute__((noreturn));

/* ---- errors and logging (log.c) ---- */
enum phx_level { PHX_DEBUG, PHX_INFO, PHX_WARN, PHX_ERROR };

void phx_log_quieter(void);         /* -q */
/* --log-format (one of the common options, see opt.c): "text" (the
 * default) or "json"; false for another name */
bool phx_log_format(const char *name);
void phx_log_format_arg(const char *arg);   /* dies on a bad name */
#define PHX_OPT_LOG_FORMAT 0x1000
void phx_log_louder(void);          /* -v */
bool phx_log_enabled(enum phx_level level);
void phx_log(enum phx_level level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* true when diagnostics go into the stream as log records (PHX_LOG_STREAM
 * was set: a phx-report downstream owns the terminal and shows what the
 * records say, so a stage does not say a failure its records carry) */
bool phx_log_streamed(void);
/* diagnostics to stderr whatever PHX_LOG_STREAM says: for phx-report,
 * the progress owner itself */
void phx_log_stderr(void);
/* "debug", "info", "warning", "error": a log record's level */
const char *phx_log_word(enum phx_level level);
/* writes a log record to stderr as its stage would have */
void phx_log_relay(const cJSON *rec);
/* called with true before and false after each line written to stderr */
void phx_log_guard(void (*guard)(bool before));
/* logs, then exits through phx_exit() once phx_init() ran */
void phx_die(int status, const char *fmt, ...)
	__attribute__((format(printf, 2, 3), noreturn));
/* like phx_die, appends ": strerror(errno)" */
void phx_edie(int status, const char *fmt, ...)
	__attribute__((format(printf, 2, 3), noreturn));

/* ---- who is speaking (util.c): stamps every log line and record ---- */
extern const char *phx_progname;
/* the deployment id that stamps this stage's records */
const char *phx_deployment_id(void);
void phx_set_deployment_id(const char *id);

/* ---- memory (util.c); these die on exhaustion ---- */
void *phx_malloc(size_t n);
void *phx_calloc(size_t n, size_t size);
void *phx_reallocarray(void *p, size_t n, size_t size);
char *phx_strdup(const char *s);
char *phx_asprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void phx_wipe(void *p, size_t n);   /* for secrets: not optimised away */
void phx_free_secret(char *s);      /* wipe, then free */

/* growable byte buffer */
struct phx_buf {
	char *data;
	size_t len, cap;
};
void phx_buf_add(struct phx_buf *b, const void *p, size_t n);
void phx_buf_addstr(struct phx_buf *b, const char *s);
void phx_buf_printf(struct phx_buf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
const char *phx_buf_str(struct phx_buf *b);   /* NUL-terminated view */
void phx_buf_free(struct phx_buf *b);

/* ---- time (util.c) ---- */
int64_t phx_now_ms(void);                  /* monotonic */
int64_t phx_wall_ms(void);                 /* realtime, ms since epoch */
void phx_ts_format(int64_t wall_ms, char out[32]);   /* RFC 3339 UTC, ms */
int64_t phx_ts_parse(const char *ts);      /* -1 when not RFC 3339 */
/* "30", "1.5s", "500ms", "2m", "1h" -> milliseconds; -1 when invalid */
int64_t phx_duration_ms(const char *s);

/* ---- signals (signal.c): INT, TERM and HUP end every stage ---- */
/* the signal caught, 0 until one is; pass &phx_signal as phx_run's cancel */
extern volatile sig_atomic_t phx_signal;
/* catches them, without SA_RESTART; cleanup NULL: record the signal (the
 * stage winds down and exits phx_signal_status()), else cleanup runs in
 * the handler (async-signal-safe only) and the signal then kills */
void phx_signal_catch(void (*cleanup)(void));
/* a descriptor that turns readable once a signal is caught, for a poll
 * loop; call it before phx_signal_catch */
int phx_signal_fd(void);
/* the exit status for the signal caught, 128+N, or 0 */
int phx_signal_status(void);
/* sleeps ms, through unrelated interruptions, but stops at once when a
 * signal is caught; false then */
bool phx_sleep_ms(int64_t ms);

/* ---- deployment ids and the state directory (state.c) ---- */
const char *phx_state_dir(void);           /* PHX_STATE_DIR, or config, or .phx */
void phx_set_state_dir(const char *dir);
/* makes the state directory (0700) or checks the one there: owned by
 * another user or writable by group/others dies with PHX_EXIT_USAGE.
 * phx_mkdirs, phx_claim_deployment_id and phx_deployment_path call it. */
void phx_state_prepare(void);
/* mkdir -p, each directory made 0700 whatever the umask; dies on failure */
void phx_mkdirs(const char *path);
/* claims deploy_YYYYMMDD_HHMMSS[_N] by creating its directory; returns it */
char *phx_claim_deployment_id(void);
bool phx_valid_deployment_id(const char *id);
char *phx_deployment_path(const char *id, const char *name);  /* dir/id/name */
char *phx_read_file(const char *path, size_t *len);   /* NULL + errno */

/* ---- writing files that cannot be redirected (wfile.c) ---- */
/* Every file phx writes goes through these.  The bytes go to a temporary
 * PATH.tmp.XXXXXX that open() creates (O_EXCL|O_NOFOLLOW, 0600: nothing
 * planted there is followed); commit gives it mode, exactly, and renames
 * it onto path (a symlink at path is replaced, not written through).
 *   struct phx_wfile *w = phx_wfile_open(path, 0600);
 *   if (!w) ... errno;
 *   fputs(..., phx_wfile_fp(w));
 *   if (!phx_wfile_commit(w)) ... errno;   (or phx_wfile_abort(w))
 * Temporaries not committed are removed at exit; a signal handler calls
 * phx_wfile_unlink_all() before it re-raises. */
struct phx_wfile;
struct phx_wfile *phx_wfile_open(const char *path, mode_t mode); /* NULL+errno */
FILE *phx_wfile_fp(struct phx_wfile *w);
/* flush, chmod, close, rename; frees w; false + errno (temporary removed) */
bool phx_wfile_commit(struct phx_wfile *w);
void phx_wfile_abort(struct phx_wfile *w);   /* removes the temporary, frees */
void phx_wfile_unlink_all(void);            /* async-signal-safe */
/* a whole file at once through the above, mode 0600 */
bool phx_write_file(const char *path, const void *data, size_t len);
/* a lock or log file: O_RDWR|O_APPEND, created with mode; refuses (-1,
 * errno ELOOP/EPERM/EINVAL) a symlink, a file not ours or with a second
 * name, anything not a regular file.  The caller flock()s it. */
int phx_open_append(const char *path, mode_t mode);

/* ---- secrets (redact.c; phx_is_secret_name: secrets.c) ---- */
/* registers a value (3 bytes or more) to be masked wherever it shows:
 * raw, JSON-escaped, XML-escaped or URL-encoded */
void phx_secret_add(const char *value);
bool phx_is_secret_name(const char *name);
/* a malloc'd copy with secrets masked, or NULL when nothing changed.  A
 * text that is one JSON document is judged value by value and, when a
 * value held a secret, printed again by cJSON (still valid JSON); any
 * other text is masked as text */
char *phx_redact_mem(const char *s, size_t len, size_t *outlen);
char *phx_redact(const char *s);           /* always a malloc'd copy */
/* one plain value (not JSON, not yet escaped), masked; always a malloc'd
 * copy.  For a tool building another encoding (XML, Prometheus, SARIF,
 * text): call it on the value BEFORE clipping or escaping it */
char *phx_scrub(const char *s);
void phx_secrets_clear(void);
/* an over-long line, chunk by chunk (phx_pass does it for standard
 * output; a tool storing a stream itself does the same): writes to out
 * what is safe to write now, holds back enough bytes that a secret split
 * between two chunks is still seen whole; final writes the rest */
struct phx_redact_stream {
	struct phx_buf held;
	size_t forced;   /* held bytes a mask crossing the cut still covers */
};
void phx_redact_chunk(struct phx_redact_stream *st, const char *s, size_t len,
    bool final, struct phx_buf *out);
bool phx_redact_pending(const struct phx_redact_stream *st);

/* ---- records and standard output (out.c) ---- */
/* a new record: v, type, deployment_id, ts, source, in that order */
cJSON *phx_record_new(const char *type);
/* writes rec as one line, redacted, flushed; frees rec */
void phx_emit(cJSON *rec);
/* phase records: start returns the start time for phx_phase_end */
int64_t phx_phase_start(const char *phase);
/* status: "ok", "failed" or "error"; counts is consumed (may be NULL) */
void phx_phase_end(const char *phase, int64_t started, const char *status,
    cJSON *counts);
void phx_emit_error(const char *reason, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* cJSON helpers that return defaults instead of crashing on absent keys */
const char *phx_jstr(const cJSON *obj, const char *key);   /* NULL if absent */
/* true when the array holds the string s */
bool phx_jhas(const cJSON *arr, const char *s);
double phx_jnum(const cJSON *obj, const char *key, double dflt);
/* a number as an integer in [min, max]: beyond them (infinities too) it
 * is clamped, NaN gives dflt, so no cast sees a value it cannot hold
 * (undefined behaviour); phx_jint gives dflt when key is absent */
int64_t phx_num_int(double v, int64_t dflt, int64_t min, int64_t max);
int64_t phx_jint(const cJSON *obj, const char *key, int64_t dflt, int64_t min,
    int64_t max);
bool phx_jbool(const cJSON *obj, const char *key, bool dflt);
/* adds an integer as JSON digits (cJSON would print every number through
 * "%1.15g" and read it back to check: twenty times the cost); the key is
 * not copied: a literal */
void phx_add_int(cJSON *obj, const char *key, int64_t v);
/* adds a string without copying key or value: both must outlive obj (a
 * literal key; a value the caller keeps until obj is emitted) */
void phx_add_ref(cJSON *obj, const char *key, const char *value);
/* true when stdout failed (EPIPE, ENOSPC); checked by phx_exit() */
bool phx_stdout_failed(void);
/* for a tool with an event loop: records are held until phx_out_flush(),
 * which the loop calls before every wait, so one write carries all that a
 * wake-up learnt and no line waits on the next event */
void phx_out_hold(void);
void phx_out_flush(void);
/* flush, check stdout, exit with status (PHX_EXIT_ENV on write error) */
void phx_exit(int status) __attribute__((noreturn));

/* ---- NDJSON input (ndjson.c) ---- */
enum phx_rd {
	PHX_RD_RECORD,    /* a v1 record: in->json set */
	PHX_RD_FOREIGN,   /* valid JSON we do not understand: pass through */
	PHX_RD_INVALID,   /* not JSON (warned already): pass through */
	PHX_RD_LONG,      /* a chunk of an over-long line (warned): pass through */
	PHX_RD_AGAIN,     /* non-blocking reader has no whole line yet */
	PHX_RD_EOF,
};
struct phx_input {
	const char *line;     /* the original bytes, without the newline */
	size_t len;
	bool newline;         /* the original line ended in \n */
	bool continued;       /* LONG: these bytes continue the previous chunk */
	bool chunk;           /* LONG: a piece of an over-long line */
	unsigned long lineno;
	cJSON *json;          /* owned by the reader until the next call */
	const char *type;     /* the record's "type" when RECORD */
};
struct phx_reader;
/* maxline 0: PHX_MAX_LINE, default 1 MiB */
struct phx_reader *phx_reader_new(int fd, const char *name, size_t maxline);
void phx_reader_free(struct phx_reader *r);
int phx_reader_fd(const struct phx_reader *r);
void phx_reader_nonblock(struct phx_reader *r);
/* the next line; in is valid until the next call */
enum phx_rd phx_reader_next(struct phx_reader *r, struct phx_input *in);
unsigned long phx_reader_invalid(const struct phx_reader *r);
/* writes the input's original bytes (redacted if they hold a secret);
 * in out.c */
void phx_pass(const struct phx_input *in);
/* whether standard input is the stream of the stages before, as cat and
 * grep decide: operands and no "-" (NO); no operands (AUTO: unless it is
 * a terminal); "-" among the operands (YES, even a terminal) */
enum phx_stdin { PHX_STDIN_NO, PHX_STDIN_AUTO, PHX_STDIN_YES };
enum phx_stdin phx_stdin_want(int nargs, char *const args[]);
/* that stream, named "stdin"; NULL when there is none (NO, or AUTO and
 * a terminal, or closed) */
struct phx_reader *phx_stream_open(enum phx_stdin want);
/* reads the stream to its end, handing each line to see (may be NULL)
 * before passing it on; returns the phase's start, which is emitted once
 * the first line has come (at once without a stream) */
typedef void (*phx_stream_fn)(const struct phx_input *in, enum phx_rd rd);
int64_t phx_stream_pass(const char *phase, enum phx_stdin want,
    phx_stream_fn see);

/* ---- configuration (config.c) ---- */
/* defaults < config files < PHX_* environment; dies (exit 2) on error */
struct phx_config_opts {
	const char **files;   /* -c FILE, may repeat; NULL = default dir */
	size_t nfiles;
};
cJSON *phx_config_load(const struct phx_config_opts *opts);
/* instead of dying on an error in the files or the environment,
 * phx_config_load calls fn with the message (file:line:column first);
 * fn must not return.  Set before phx_config_load. */
void phx_config_on_error(void (*fn)(const char *msg));
/* the handler of a stage in the middle of a pipeline: it passes on the
 * stream it reads (want), with an error record, reason config_invalid,
 * in its phase (ended error), and exits 2; so phx-report still sees the
 * records before it and names the error */
void phx_config_fail_pass(const char *phase, enum phx_stdin want);
/* a path: "deployment.timeout"; NULL when absent */
const cJSON *phx_cfg(const cJSON *cfg, const char *path);
/* a key the defaults table (config.c) holds, so a merged configuration
 * always has it: no caller gives a default of its own, and a key not in
 * the table dies as an internal error naming it */
const char *phx_cfg_str(const cJSON *cfg, const char *path);
double phx_cfg_num(const cJSON *cfg, const char *path);
bool phx_cfg_bool(const cJSON *cfg, const char *path);
/* a number key of the table as an integer, clamped to [min, max] */
int64_t phx_cfg_int(const cJSON *cfg, const char *path, int64_t min,
    int64_t max);
/* an optional key, without a default (security.ca_file): NULL if unset */
const char *phx_cfg_opt_str(const cJSON *cfg, const char *path);
/* resolves value or value_env ("password" / "password_env"); malloc'd or NULL */
char *phx_cfg_secret(const cJSON *obj, const char *key);

/* ---- the recovery policy (recovery.c; phx(7), phx-records(5)) ---- */
enum phx_recover { PHX_RECOVER_RESTART, PHX_RECOVER_CONTINUE,
	PHX_RECOVER_ABORT, PHX_RECOVER_N };
extern const char *const phx_recover_names[PHX_RECOVER_N];
/* recovery.CATEGORY ("health" or "functional") for the service whose
 * services.yaml entry is entry (NULL: the key alone): a service with
 * critical: true aborts whatever the key says; a value the category does
 * not take dies with exit 2 */
enum phx_recover phx_recovery_policy(const cJSON *cfg, const char *category,
    const cJSON *entry);
/* a recovery record with category, action, service (NULL: none) and
 * why; the caller adds what else it knows (container, test, outcome) */
cJSON *phx_recovery_record(const char *category, const char *action,
    const char *service, const char *why);

/* ---- the command line (opt.c) ---- */
/* the options every tool takes, for its getopt_long (which <getopt.h>
 * declares): "x:" PHX_OPT_SHORT, and { PHX_OPT_LONG, ..., { NULL } } */
#define PHX_OPT_SHORT "c:hqVv"
#define PHX_OPT_LONG \
	{ "config", required_argument, NULL, 'c' }, \
	{ "help", no_argument, NULL, 'h' }, \
	{ "quiet", no_argument, NULL, 'q' }, \
	{ "verbose", no_argument, NULL, 'v' }, \
	{ "version", no_argument, NULL, 'V' }, \
	{ "log-format", required_argument, NULL, PHX_OPT_LOG_FORMAT }
/* an option the tool's own switch does not take: -c appends to copts,
 * -q and -v set the log level, --log-format the log format, -h prints usage to stdout and exits 0,
 * -V the version; anything else prints usage to stderr and exits 2 */
void phx_opt_common(int ch, struct phx_config_opts *copts,
    void (*usage)(FILE *));

/* ---- the vocabulary of records (status.c; phx-records(5), phx(7)) ---- */
/* a health record's status */
enum phx_health { PHX_HEALTHY, PHX_UNHEALTHY, PHX_HEALTH_N };
extern const char *const phx_health_names[PHX_HEALTH_N];
bool phx_healthy(const char *status);          /* "healthy" (NULL: no) */
const char *phx_health_name(bool healthy);
/* a test record's status; the order of functest's counts */
enum phx_test { PHX_TEST_PASSED, PHX_TEST_FAILED, PHX_TEST_SKIPPED,
	PHX_TEST_ERROR, PHX_TEST_N };
extern const char *const phx_test_names[PHX_TEST_N];
enum phx_test phx_test_parse(const char *s);   /* PHX_TEST_N: unknown */
bool phx_test_failed(const char *status);      /* "failed" or "error" */
/* a finding's status */
/* worst first: a status's rank is its value */
enum phx_status { PHX_ST_FAIL, PHX_ST_WARN, PHX_ST_SKIP, PHX_ST_INFO,
	PHX_ST_PASS, PHX_STATUS_N };
/* lowest first; NONE is no severity, and as a --fail-on level never */
enum phx_sev { PHX_SEV_NONE, PHX_SEV_LOW, PHX_SEV_MEDIUM, PHX_SEV_HIGH,
	PHX_SEV_CRITICAL, PHX_SEV_N };
extern const char *const phx_status_names[PHX_STATUS_N];
extern const char *const phx_sev_names[PHX_SEV_N];
enum phx_status phx_status_parse(const char *s);   /* PHX_STATUS_N: unknown */
enum phx_sev phx_sev_parse(const char *s);   /* LOW..CRITICAL, else NONE */
/* --fail-on and security.fail_on: a severity, or NONE / NEVER; -1 when
 * none of them */
int phx_fail_on_parse(const char *s);
/* the same, dying with exit 2 naming where (an option or a key) */
enum phx_sev phx_fail_on(const char *s, const char *where);
/* a FAIL at or above fail_on, which is not NONE */
bool phx_finding_fails(enum phx_status st, enum phx_sev sev,
    enum phx_sev fail_on);
/* the group ("rootless", "network", "ports") of a finding without a
 * category field, from its id or CIS id; NULL when none */
const char *phx_finding_group(const char *id, const char *cis);

/* ---- running commands (run.c) ---- */
struct phx_run {
	const char *const *argv;   /* exec'd directly, never through a shell */
	const char *cwd;           /* NULL: inherit */
	const char *const *env;    /* extra NAME=VALUE, NULL-terminated, or NULL */
	const char *stdin_data;    /* NULL: /dev/null */
	int64_t timeout_ms;        /* <= 0: none; kills the whole process group */
	size_t keep;               /* bytes of stdout/stderr kept (tail); 0: 1 MiB */
	/* when non-NULL and set (from a signal handler), the process group
	 * is killed and phx_run returns with cancelled set */
	const volatile sig_atomic_t *cancel;
	/* results */
	int status;                /* exit code, or 128+signal */
	bool timed_out;
	bool cancelled;
	bool exec_failed;          /* could not start: errno in exec_errno */
	int exec_errno;
	int64_t duration_ms;
	struct phx_buf out, err;
	pid_t pid;                 /* the child, leader of its process group */
};
/* runs to completion; returns false when it could not start */
bool phx_run(struct phx_run *run);
void phx_run_free(struct phx_run *run);
/* the last n lines of s (malloc'd) */
char *phx_tail_lines(const char *s, size_t len, int n);
/* the path a command name runs (PATH searched unless it holds a '/'):
 * a regular executable file, malloc'd, or NULL */
char *phx_which(const char *cmd);
/* asynchronous: starts run->argv as phx_run does (own process group,
 * stdin /dev/null), stdout and stderr both on one non-blocking pipe,
 * *fd, for the caller's poll loop; false when it could not start
 * (exec_errno).  The caller reads fd until EOF, closes it, then reaps */
bool phx_run_start(struct phx_run *run, int *fd);
/* true once the command has exited (status, duration_ms set); block:
 * wait for it */
bool phx_run_reap(struct phx_run *run, bool block);
void phx_run_kill(struct phx_run *run);    /* kills the group, reaps */

/* ---- what libcurl tells (curl.c) ---- */
/* a transfer's result as a record's reason: dns, refused, timeout, tls,
 * or protocol for anything else (man/phx-records.5) */
const char *phx_curl_reason(CURLcode rc);
/* the peer certificate's expiry from CURLINFO_CERTINFO; false when it
 * is not there or not understood */
bool phx_curl_not_after(const struct curl_certinfo *ci, time_t *not_after);

/* ---- compose files (compose.c) ---- */
/* a compose file as cJSON, read as podman-compose reads it (YAML 1.1
 * scalars, merge keys, ${VAR} from the environment and DIR/.env);
 * checked: services exist, each names an image, ports parse.  NULL on
 * error, with a malloc'd "file:line:column: message" in *err */
cJSON *phx_compose_parse(const char *name, const char *data, size_t len,
    const char *dir, char **err);
cJSON *phx_compose_load(const char *path, char **err);
/* {"service": line of its key, ...}; {} when data is no compose file */
cJSON *phx_compose_lines(const char *data, size_t len);
/* registers the secrets of the compose project at path (values under
 * secret-looking names in its .env, env_files and environment:), as
 * loading it does; quietly: a file absent or in error gives what it can */
void phx_compose_secrets(const char *path);
/* a service's published ports: [{host_ip,host_port,container_port,
 * protocol}], host_port absent when ephemeral; NULL when a spec is bad
 * (that spec as JSON in *bad, malloc'd) */
cJSON *phx_compose_ports(const cJSON *service, char **bad);

/* ---- checks (check.c) ---- */
/* the checks of a services.yaml entry (NULL: none) in their record form,
 * phx-records(5) "checks": its own check, then a healthcheck on the
 * container when the entry says healthcheck: true or when it is declared
 * (the compose file or the image has one) and the entry does not say
 * false; settings from the entry, else cfg's probe section; never a
 * password.  container: the compose service's container, or NULL; the
 * entry's "container" wins */
cJSON *phx_service_checks(const cJSON *cfg, const cJSON *entry,
    const char *container, bool declared);
/* the compose service, or the container's podman inspect (may be NULL),
 * declares a healthcheck that is not disabled or NONE */
bool phx_declares_healthcheck(const cJSON *service, const cJSON *inspect);
/* the podman networks compose network key becomes, as podman-compose
 * 1.0.3 names it: external.name, name, key when external, or
 * project_key (malloc'd) */
char *phx_compose_network_name(const cJSON *compose, const char *key,
    const char *project);
/* the podman networks service svc joins: none with network_mode, its
 * networks:, else the default network; NULL when there is no such service */
cJSON *phx_compose_networks(const cJSON *compose, const char *svc,
    const char *project);
/* service svc is a one-shot job: another service depends on it with
 * condition service_completed_successfully, so its container exiting 0
 * is its success (state "completed" in records), not a failure */
bool phx_compose_is_job(const cJSON *compose, const char *svc);
/* the restart policy of a compose service (restart:, else
 * deploy.restart_policy.condition): "" for none ("no", "none"), NULL
 * when it does not say */
const char *phx_compose_restart(const cJSON *service);

/* ---- podman (podman.c) ---- */
#define PHX_PODMAN_TIMEOUT_MS 120000   /* deployment.podman_timeout */
#define PHX_PODMAN_KEEP ((size_t)256 << 20)   /* output kept, bytes */
#define PHX_LABEL_PROJECT "io.podman.compose.project"
#define PHX_LABEL_SERVICE "com.docker.compose.service"
/* the program (deployment.podman) and timeout of every podman call */
void phx_podman_setup(const cJSON *cfg);
const char *phx_podman_program(void);
bool phx_podman_missing(void);      /* a call found no podman to run */
/* runs podman ARGS -- OPERANDS ("--" only when there are operands):
 * true when it exited 0; else *why (when why is non-NULL) is a
 * malloc'd reason.  run is the caller's to phx_run_free */
bool phx_podman(const char *const *args, const char *const *operands,
    struct phx_run *run, char **why);
/* the same with input on its standard input (secrets, a manifest):
 * never on its command line */
bool phx_podman_stdin(const char *const *args, const char *const *operands,
    const char *input, struct phx_run *run, char **why);
/* the same, asynchronous: phx_run_start's pipe in *fd; the caller
 * keeps its own deadline (timeout_ms is not watched) */
bool phx_podman_start(const char *const *args, const char *const *operands,
    struct phx_run *run, int *fd);
/* the same, stdout parsed: NULL, *why set, on failure */
cJSON *phx_podman_json(const char *const *args, const char *const *operands,
    char **why);
/* the last line of a command's stderr that says something, without
 * "Error: ", redacted; malloc'd, "" when none */
char *phx_error_line(const struct phx_buf *err);
/* a record's field must pass these before it reaches podman */
bool phx_podman_valid_name(const char *s);   /* [a-zA-Z0-9][a-zA-Z0-9_.-]* */
bool phx_podman_valid_id(const char *s);     /* 12-64 lowercase hex */
/* podman ps -a of a compose project's containers; NULL, *why on failure */
cJSON *phx_podman_project_ps(const char *project, char **why);
/* a label of a ps entry or an inspect object */
const char *phx_podman_label(const cJSON *obj, const char *key);
/* published ports of an inspect object: [{host_ip,host_port,
 * container_port,protocol}] from NetworkSettings.Ports or, for a
 * container never started, HostConfig.PortBindings (*field says which) */
cJSON *phx_podman_ports(const cJSON *info, const char **field);

/* ---- Kubernetes manifests (kube.c) ---- */
struct phx_kube;
/* every object of the manifest file path, or of the *.yaml and *.yml
 * files of folder path in name order; NULL with a malloc'd *err */
struct phx_kube *phx_kube_load(const char *path, char **err);
const cJSON *phx_kube_docs(const struct phx_kube *k);
void phx_kube_free(struct phx_kube *k);
/* the file and line where item (or its key) was read; NULL, 0: unknown */
const char *phx_kube_where(const struct phx_kube *k, const cJSON *item,
    bool key, unsigned *line);
/* the pod spec of a Pod or of a workload's template; NULL for others */
const cJSON *phx_kube_pod_spec(const cJSON *doc);
char *phx_base64(const unsigned char *p, size_t n);   /* malloc'd */

#endif
