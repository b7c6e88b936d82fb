/* phx-probe's private header: the types and names its files share.
 * Each file keeps everything else static. */
#ifndef PROBE_H
#define PROBE_H

#include <curl/curl.h>
#include <libpq-fe.h>

#include "phx.h"

#define MAX_EXPECTED 16
#define MAX_PGPARAMS 10
#define MAX_MS (7 * 86400000LL)  /* the longest duration taken from outside */
#define MAX_COUNT 1000000        /* the most retries, or jobs */

enum kind { K_HTTP, K_TCP, K_PG, K_HC };

enum state { S_NEW, S_WAITING, S_QUEUED, S_RUNNING, S_DONE };

struct settings {
	int64_t timeout, binit, bmax, interval;
	double mult;
	int retries;
	long expected[MAX_EXPECTED];
	size_t nexpected;
	bool insecure;
};

/* what a finished attempt said, kept so that an attempt the deadline
 * cuts short cannot replace it: reason, message and status agree */
struct result {
	bool valid, ok;
	const char *reason;
	char *message;
	long status_code;
	int64_t response_ms;
	cJSON *cond_results;
};

struct cond;          /* a parsed condition: private to cond.c */
struct service;

/* http and tcp: through a libcurl easy handle */
struct http_part {
	char *method, *body, *ca_file;
	struct curl_slist *headers;
	CURL *easy;
	char errbuf[CURL_ERROR_SIZE];
	bool too_big;
	char tls_version[32];
	bool tls_seen, tls_verified;
	int64_t not_after;    /* wall ms, 0 unknown */
};

struct pg_part {
	char *keys[MAX_PGPARAMS + 1], *vals[MAX_PGPARAMS + 1];
	bool expand;
	char *query;
	PGconn *conn;
	int phase;            /* 0 connecting, 1 querying */
	short events;
};

/* podman healthcheck run, a child process with a pipe */
struct hc_part {
	char *container;
	struct phx_run run;   /* phx_run_start's: pid, then status */
	int pipefd;
};

struct check {
	struct service *svc;
	enum kind kind;
	char *target;         /* for records: no secret in it */
	char *url;            /* what curl connects to */
	struct cond *conds;
	size_t nconds;
	bool want_body, status_in_conds;
	struct settings set;
	char *invalid;        /* why the check could not be built */
	char *odd_kind;       /* an unknown kind, as given */
	/* schedule */
	enum state state;
	int attempts;
	int64_t started, due, attempt_started, attempt_deadline;
	struct check *next;   /* waiting list or queue */
	struct check *pnext;  /* polled list (postgres, healthcheck) */
	/* the running attempt */
	struct phx_buf out;   /* body, query value or command output */
	cJSON *json;          /* out parsed, for [BODY].path */
	bool json_tried;
	/* the last attempt's result */
	bool healthy;
	long status_code;
	int64_t response_ms, duration_ms;
	const char *reason;
	char *message;
	cJSON *cond_results;
	struct result kept;   /* the last finished attempt's */
	bool confirming;      /* the one attempt of the confirm pass */
	/* one per kind; only the check's own kind is used */
	struct http_part http;
	struct pg_part pg;
	struct hc_part hc;
};

struct service {
	char *name;
	struct check **checks;
	size_t nchecks, ndone;
	bool emitted, adhoc;
	bool early;           /* started by its container, no record yet */
	bool healthy, confirming;
	int64_t healthy_at;   /* when its healthy record went out */
	unsigned long lineno;
	/* recovery (recover.c): phx restarted its container (once at
	 * most), the outcome is not said yet, or was "recovered", an abort
	 * was said, it failed under `continue` */
	bool restarted, recovering, recovered, recovery_said, continued;
	char *recovery_why, *recovery_container;
};

/* the state that several files share */
struct probe_state {
	const cJSON *cfg;
	struct settings dflt;
	struct {              /* command-line overrides; negative: not given */
		int64_t timeout, interval;
		int retries;
		bool insecure;
	} opt;
	CURLM *multi;
	bool wait;
	int64_t deadline_ms, deadline_at;
	/* wait mode: a service whose container may restart is confirmed
	 * no sooner than min_uptime after its last start (events.c) */
	int64_t min_uptime_ms;
	int concurrency;
	struct check *waiting;  /* by due time */
	struct check *polled;   /* postgres and healthcheck attempts */
	struct service **svcs;
	size_t nsvcs, pending;
	struct phx_reader *in;
	int healthy, unhealthy, input_errors;
	bool confirmed;         /* the confirm pass has begun */
};
extern struct probe_state probe;

static inline int64_t
min64(int64_t a, int64_t b)
{
	return a < b ? a : b;
}

/* cond.c */
char *trim(char *s);
void setup_conditions(struct check *c, const cJSON *conds);
const char *eval_conditions(struct check *c);
void conds_free(struct check *c);

/* check.c */
extern const char *const kind_names[];
void result_keep(struct check *c, bool ok);
void result_restore(struct check *c);
/* from the configuration's probe section */
void settings_defaults(struct settings *s, const cJSON *cfg);
bool split_hostport(const char *t, char **host, char **port);
struct check *check_new(struct service *svc, const cJSON *j,
    const cJSON *entry, const struct settings *base);
void check_free(struct check *c);
void set_message(struct check *c, const char *reason, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
void vset_message(struct check *c, const char *reason, const char *fmt,
    va_list ap) __attribute__((format(printf, 3, 0)));

/* sched.c */
void queue_push(struct check *c);
void list_remove(struct check **head, struct check *c, bool polled);
void verdict(struct check *c, bool healthy);
void attempt_over(struct check *c, bool ok);
void attempt_failed(struct check *c, const char *reason, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
void judge(struct check *c);
int64_t attempt_budget(const struct check *c, int64_t now);
void start_due(int64_t now);
bool confirm_start(int64_t now);
void expire_polled(int64_t now);
void check_cancel(struct check *c);
void check_hold(struct check *c);

/* http.c */
bool setup_http(struct check *c, const cJSON *j);
bool setup_tcp(struct check *c);
void http_start(struct check *c, int64_t now);
void harvest_curl(void);
void easy_release(struct check *c);
void http_cleanup(void);

/* pg.c */
bool is_pg_uri(const char *s);
bool setup_pg(struct check *c, const cJSON *j, const cJSON *entry);
void pg_start(struct check *c);
void pg_step(struct check *c);
void pg_close(struct check *c);

/* hc.c */
void hc_start(struct check *c);
void hc_read(struct check *c);
void hc_reap(struct check *c);
void hc_kill(struct check *c);

/* emit.c */
int64_t ensure_phase_start(void);
void service_emit(struct service *s);
void service_fail(struct service *s, const char *reason, const char *message);

/* service.c */
struct service *service_find(const char *name);
struct service *service_new(const char *name);
void service_add_check(struct service *s, struct check *c);
void service_start(struct service *s);
void service_early(const char *name, const char *container);
/* the compose file (wait mode) makes it a one-shot job: exit 0 is done */
bool service_is_job(const char *name);
const char *compose_restart(const char *name);
void services_free(void);
const cJSON *config_entry(const char *name);
void read_input(void);

/* adhoc.c */
void add_target(const char *arg);
void add_config_services(const char *list, bool all);

/* events.c */
#define WATCH_PROJECT_LABEL "io.podman.compose.project"
void watch_record(const char *type, const cJSON *rec);
void watch_event(const cJSON *ev);
size_t watch_fds(struct curl_waitfd *fds, size_t n);
bool watch_ready(int fd);
int64_t watch_hold_until(const struct service *s);
void watch_final_start(void);
/* cause.c */
char *exit_cause(int code, bool oom, int64_t mem_limit);
void watch_finish(void);
void watch_stop(void);

/* evsrc.c: Podman's events, for the watch; children of podman */
struct child {
	struct phx_run run;   /* started by lib: its own process group */
	int fd;               /* stdout and stderr, non-blocking */
	struct phx_buf out;
};
void child_end(struct child *ch);
bool child_drain(struct child *ch);   /* false: the output ended */
void evsrc_begin(const char *proj, const char *label);
size_t evsrc_fds(struct curl_waitfd *fds, size_t n);
bool evsrc_ready(int fd);
int64_t evsrc_timeout(int64_t now);
void evsrc_poll(int64_t now);
void evsrc_finish(void);
void evsrc_stop(void);

/* recover.c */
/* a container fault while the run goes on (live) or at its end: true
 * when the policy restarted the container and checks the service again,
 * false when the caller fails it */
bool recover_fault(struct service *s, const char *container,
    const char *reason, const char *message, bool live);
void recover_verdict(struct service *s, bool healthy);
void recover_free(struct service *s);

/* loop.c */
void run_loop(void);
void abort_all(void);

#endif
