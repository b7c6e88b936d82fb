/* phx-report's private header: the aggregates the stream is folded into,
 * the result judged from them, and the names its files share.  The
 * aggregates are never global: whoever needs them is handed them. */
#ifndef PHX_REPORT_H
#define PHX_REPORT_H

#include <stdio.h>

#include "phx.h"

/* every list is bounded: past these, entries are counted, not kept */
#define MAX_SERVICES   256
#define MAX_CHECKS     1024
#define MAX_TESTS      4096
#define MAX_FINDINGS   4096
#define MAX_CONTAINERS 512
#define MAX_PHASES     64
#define MAX_RECOVERIES 256
#define MAX_PORTS      256
#define MAX_ERRORS     100
#define MAX_TYPES      16
#define MAX_NAME       128     /* longest name kept */
#define MAX_TEXT       256     /* longest message, URL or title kept */
#define MAX_KEY        (2 * MAX_NAME + MAX_TEXT + 3)
#define MAX_LINE       (256 * 1024)   /* longer lines: input error */

enum verdict { SUCCESS, FAILED, INCOMPLETE };

/* string -> index, open addressing; the index points into a typed array */
struct table {
	char **keys;
	size_t *idx;
	size_t nslots, count;
};

struct service {
	char *name, *image, *container;
	bool has_checks;              /* its service record listed checks */
	int64_t ts;
};

struct port {
	char *service, *host_ip, *protocol;
	int host_port, container_port;
};

struct check {
	size_t svc;
	char *kind, *target, *status, *reason, *message;
	double response_ms;
	int attempts, status_code;
	int64_t ts;
};

struct test {
	char *suite, *name, *status, *step, *reason, *message;
	double duration_ms;
	int http_status, exit_code;
	int64_t ts;
};

struct finding {
	char *id, *cis, *where, *status, *severity, *title, *message, *category;
	char *remediation, *evidence;   /* evidence: compact JSON, clipped */
	int64_t ts;
};

struct container {
	char *name, *service, *state, *health;
	double cpu, mem, mem_limit, pids, max_cpu, max_mem;
	int restarts, exit_code;
	int64_t ts;
};

struct phase {
	char *name, *source, *status;
	int starts, ends;
	double duration_ms;
	int64_t start_ts, end_ts;
};

struct deployment {
	char *status, *project, *compose_file, *reason, *message;
	int attempt, attempts;
	double duration_ms;
	int64_t ts;
	bool seen;
};

/* one recovery action, the latest record per category, subject (a
 * service, or a test as suite/name) and action */
struct recovery {
	char *category, *action, *subject, *container, *why, *outcome;
	bool critical;
	int64_t ts;
};

/* an error record kept whole: text as listed among the record errors */
struct first_error {
	char *text, *message, *service;
	int64_t ts;
};

/* what the stream itself looked like */
struct stream_stats {
	unsigned long lines, records, foreign, invalid, long_lines;
	unsigned long unknown, duplicates, out_of_order, stale, other_ids;
	unsigned long dropped;        /* entries past a MAX_* bound */
	bool cut;                     /* the last line had no newline */
	char *type_names[MAX_TYPES];
	unsigned long type_counts[MAX_TYPES];
};

struct agg {
	struct table services_t, checks_t, tests_t, findings_t, containers_t,
	    phases_t, recoveries_t;
	struct service *services;
	struct check *checks;
	struct test *tests;
	struct finding *findings;
	struct container *containers;
	struct phase *phases;
	struct recovery *recoveries;
	size_t nservices, nchecks, ntests, nfindings, ncontainers, nphases,
	    nrecoveries;
	struct port ports[MAX_PORTS];
	size_t nports;
	struct deployment dep;
	struct first_error deploy_error;  /* phx-deploy's earliest error */
	char *input_errors[MAX_ERRORS];   /* invalid lines, in order */
	size_t ninput_errors;
	char *record_errors[MAX_ERRORS];  /* error records, deduplicated */
	size_t nrecord_errors;
	unsigned long more_record_errors;
	int64_t min_ts, max_ts;
	struct stream_stats st;
};

/* the result, derived once the stream has ended */
struct result {
	enum verdict verdict;
	char **errors;
	size_t nerrors;
	unsigned long more_errors;
	char **warnings;              /* failures let go by the policy */
	size_t nwarnings;
	unsigned long more_warnings;
	unsigned long recovered;      /* restarts that brought a service back */
	char *report_path;
	enum phx_sev fail_on;         /* PHX_SEV_NONE: never */
	bool allow_empty;             /* a run that checked nothing may pass */
	bool unproven;                /* nothing shows that the run checked */
	bool has_root;                /* errors[0] is the root cause */
	char *config_error;           /* our own configuration could not be read */
	int interrupted;              /* the signal that stopped the reading */
};

/* the mark of a reason that follows from the root cause */
#define UPSTREAM " (upstream: see root cause)"

/* text goes to up to three places (files are written to a temporary
 * name and renamed when complete); every value in it was masked before
 * it was cut or encoded */
struct out {
	struct phx_buf b;
	FILE *f[3];
	struct phx_wfile *w[3];       /* NULL: standard output */
	char *path[3];
	int n;
	int failed[3];                /* errno of a failed write, else 0 */
};

/* the live progress line on a terminal (on); elsewhere, while a
 * pipeline runs, a line per stage event (lines); from a live stream the
 * stages' log records are written to stderr (relay) */
struct progress {
	bool on, lines, relay;
	int64_t t0, drawn;
};

enum { SVC_UNKNOWN, SVC_HEALTHY, SVC_UNHEALTHY };

/* util.c: clipped copies, defaults */
char *clip(const char *s);
char *clip_text(const char *s);
char *clip_masked(char *s, size_t max);
void set_str(char **dst, const char *src);
void set_text(char **dst, const char *src);
const char *or(const char *s, const char *dflt);
bool same_str(const char *a, const char *b);

/* table.c */
bool table_get(const struct table *t, const char *key, size_t *idx);
void table_put(struct table *t, const char *key, size_t idx);
void table_free(struct table *t);

/* fold.c */
void fold(struct agg *agg, const cJSON *rec, const char *type);

/* agg.c: the aggregates' upkeep and what every output reads off them */
void add_bounded(char **list, size_t *n, unsigned long *more, char *s);
void agg_free(struct agg *agg);
unsigned char *service_states(const struct agg *agg);
const struct check **primary_checks(const struct agg *agg);
bool is_running(const struct container *c);
bool is_completed(const struct container *c);
char *test_key(const struct test *t);
double duration_seconds(const struct agg *agg);
const char *svc_state_name(int state);   /* SVC_* */
/* a failure of subject that the recovery policy let go (continue) */
bool continued(const struct agg *agg, const char *category,
    const char *subject);
unsigned long recoveries_with(const struct agg *agg, const char *outcome);

/* verdict.c */
bool test_failed(const struct test *t);
bool finding_fails(const struct finding *f, enum phx_sev fail_on);
void judge(const struct agg *agg, struct result *r);
void emit_verdict(const struct result *r, int64_t started);
void result_free(struct result *r);
extern const char *const verdict_names[3];
extern const int verdict_exit[3];
int result_exit(const struct result *r);

/* out.c */
bool out_file(struct out *o, const char *path, mode_t mode);
void out_stdout(struct out *o);
void out_mark(struct out *o);
void out_json(struct out *o, cJSON *v);
void out_json_open(struct out *o, cJSON *v);
void out_member(struct out *o, const char *key, cJSON *v, bool *first);
bool out_close(struct out *o);
int utf8_seq(const char *s);
void add_shown(struct phx_buf *b, const char *s);
char *shown(const char *s);

/* the renderers: json.c, text.c, junit.c, prom.c */
void report_write(struct out *o, const struct agg *agg, const struct result *r);
void text_print(const struct agg *agg, const struct result *r, bool verbose);
void junit_write(struct out *o, const struct agg *agg, const struct result *r);
void prometheus_write(struct out *o, const struct agg *agg,
    const struct result *r);

/* tap.c, markdown.c */
void tap_write(struct out *o, const struct agg *agg, const struct result *r);
void markdown_write(struct out *o, const struct agg *agg,
    const struct result *r);
void annotations_write(struct out *o, const struct agg *agg,
    const struct result *r);

/* progress.c */
void progress_clear(struct progress *p);
/* lines written to stderr while reading go above the progress line;
 * NULL when reading is over */
void progress_own_stderr(struct progress *p, const struct agg *agg);
void progress_draw(struct progress *p, const struct agg *agg, bool force);
void progress_note(struct progress *p, const struct agg *agg,
    const cJSON *rec, const char *type);

/* store.c */
FILE *store_open(void);
void store_line(FILE *f, const struct phx_input *in);
void settle_id(struct agg *agg, bool store);
void store_close(FILE *f, const char *id);
void store_cleanup(void);

/* read.c */
void ingest(struct agg *agg, struct phx_reader *rd, const char *name,
    FILE *store, bool pass, struct progress *pg, int64_t *phase_started);

#endif
