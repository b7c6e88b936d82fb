/* deploy.h: what the files of phx-deploy share; nothing else includes it. */
#ifndef DEPLOY_H
#define DEPLOY_H

#include "phx.h"

#define SETTLE_MS 500       /* a container must stay up this long to count */
#define POLL_MS 200
#define STOP_TIMEOUT "10"   /* seconds podman waits before SIGKILL */
#define KUBE_SETTLE_MS 3000 /* a pod's container must not restart in this */

enum outcome { UP_OK, UP_FAILED, UP_INTERRUPTED, UP_ENV };

struct deploy {
	cJSON *cfg;             /* resolved configuration */
	const char *podman;     /* commands, from the configuration */
	const char *composecmd;
	const char *project;
	char *compose_path;     /* absolute */
	char *compose_dir;
	char *compose_text;     /* exact bytes, snapshotted */
	size_t compose_len;
	cJSON *compose;         /* parsed */
	char *run_file;         /* the file podman-compose reads */
	cJSON *state;           /* state.json of this deployment */
	int attempts, log_lines;
	int64_t timeout_ms;
	bool cleanup;
	bool rollback_on_failure;   /* recovery.deployment: rollback */
	/* the project's named volumes when up began: reused, and kept by the
	 * cleanup of a failed attempt (only what this run made goes) */
	cJSON *volumes_before;
	const char *restored_from, *rollback_of;
	/* the kube engine (kube*.c): the manifests, the workloads as podman
	 * plays them, and the stream podman kube play reads */
	struct phx_kube *kube;
	bool engine_kube;       /* --engine kube: known before the manifests */
	/* the volumes podman kube play makes of ConfigMaps, by name and
	 * unlabelled: removed with the project (state.json kube_volumes) */
	cJSON *kube_volumes;
	cJSON *kube_workloads;
	char *kube_play;
	/* the cluster path (kubectl*.c): the context ("current": kubectl's
	 * own), NULL for podman kube play; the command; the claims there
	 * before this up (kept by a failed attempt's clean-up) */
	const char *kube_context;
	const char *kubectl;
	cJSON *claims_before;
	/* while set, a failure before the deployment starts is told as the
	 * records of this phase (refuse.c), not only on standard error */
	const char *phase;
	cJSON *stats;           /* taken beside confirm's last inspect */
};

/* what confirm() found out about a failed attempt */
struct failure {
	char *service, *reason, *message, *image, *log_tail, *container;
	int exit_code, port;
	double mem_limit;       /* HostConfig.Memory, bytes; 0: none */
	cJSON *crec;            /* a container record, or NULL */
};

/* an argv being built, NULL-terminated */
struct args {
	const char **v;
	size_t n, cap;
};

/* the process's own state, one per run (defined in main.c) */
struct deploy_globals {
	bool dry_run;
};
extern struct deploy_globals deploy_globals;

/* util.c */
void args_add(struct args *a, const char *s);
void args_free(struct args *a);
void now_ts(char out[32]);
void set_str(cJSON *obj, const char *key, const char *val);
void set_num(cJSON *obj, const char *key, double val);
void set_item(cJSON *obj, const char *key, cJSON *v);

/* input.c */
void input_open(void);
char *input_first(bool *newline, char **stream_id);
void pass_copy(char *line, bool newline);
void input_drain(void);
void input_close(void);

/* podman.c */
bool run_compose(const char *const *argv, int64_t timeout_ms, struct phx_run *r);
bool podman_run(const char *const *args, const char *const *operands,
    struct phx_run *r);
cJSON *project_ps(struct deploy *d);
cJSON *project_objects(struct deploy *d, const char *kind);
cJSON *inspect(const cJSON *ids);
cJSON *stats(const cJSON *ids);
bool images_exist(const cJSON *names);
cJSON *inspect_and_stats(const cJSON *ids, cJSON **st);
bool podman_exists(const char *kind, const char *name);
cJSON *ids_of(const cJSON *list, const char *key);
const cJSON *container_of(const cJSON *ps, const char *service);
const cJSON *info_by_id(const cJSON *infos, const char *id);

/* logs.c */
char *container_log(const char *name, int tail, bool keep_ts);
void preserve(const char *id, const char *when, const cJSON *ps);

/* remove.c */
int count_left(const cJSON *left);
cJSON *remove_project(struct deploy *d, int *removed, const cJSON *keep);

/* state.c */
void write_redacted(const char *path, const char *text);
char *state_path(const char *id, const char *name);
void state_save(struct deploy *d);
void state_status(struct deploy *d, const char *status);
cJSON *state_load(const char *id);
char *find_deployment(const char *project, const char *before, bool want_success);
void mark_stack(const char *id, const char *stack, const char *key, const char *val);
void mark(const char *id, const char *status, const char *key, const char *val);
cJSON *known_state(const char *id);

/* checks.c */
cJSON *service_checks(struct deploy *d, const char *name, const cJSON *svc,
    const cJSON *ports, const cJSON *info, const char *container);

/* records.c */
cJSON *deployment_record(struct deploy *d, const char *status, int attempt);
cJSON *key_names(const cJSON *obj);
cJSON *service_record(struct deploy *d, const char *name, const cJSON *svc,
    const cJSON *info);
cJSON *container_record(const char *service, const cJSON *info, const cJSON *st);
cJSON *missing_record(const char *service, const char *name);
void mark_completed(cJSON *rec, const cJSON *compose);

/* preflight.c */
bool preflight(struct deploy *d, struct failure *f);

/* diagnose.c */
bool port_taken(const char *ip, int port);
void fail_port_in_use(struct failure *f, const char *service, const char *ip,
    int port);
bool failure_retried(const struct failure *f);
void failure_free(struct failure *f);
void diagnose(struct deploy *d, const char *name, const cJSON *svc,
    const cJSON *info, const struct phx_run *pc, struct failure *f);
void emit_failure(struct deploy *d, const struct failure *f, int attempt);

/* confirm.c */
int64_t started_ms(const cJSON *info);
enum outcome confirm(struct deploy *d, int64_t deadline, const struct phx_run *pc,
    cJSON **infos, struct failure *f);

/* up.c */
int deploy_up(struct deploy *d);
int cmd_up(struct deploy *d, const char *compose, const char *project);
/* up.c, shared with the kube engine: -n's records; an attempt's log kept */
int plan(struct deploy *d);
void save_attempt_log(struct deploy *d, int attempt, const struct phx_run *pc,
    const char *name);

/* refuse.c */
void deploy_fail(struct deploy *d, int status, const char *reason,
    const char *fmt, ...) __attribute__((format(printf, 4, 5), noreturn));
const char *compose_error_reason(const char *err);

/* setup.c */
void need_tools(struct deploy *d, bool compose_too);
void lock_project(struct deploy *d);
char *claim_project(struct deploy *d, bool *nl);
void settings(struct deploy *d, const char *project);
void load_compose(struct deploy *d, const char *path, const char *text, size_t len);
void start_state(struct deploy *d);
bool place_run_file(struct deploy *d);
void deploy_free(struct deploy *d);

/* kube.c */
char *kube_scoped(const struct deploy *d, const char *name);
void kube_load(struct deploy *d, const char *path);

/* kube_up.c */
enum outcome kube_attempt(struct deploy *d, int attempt, struct failure *f,
    cJSON **infos);

/* kube_cmd.c */
enum outcome kube_ready(struct deploy *d, int64_t deadline, cJSON **infos,
    struct failure *f);
int kube_cmd_up(struct deploy *d, const char *manifests, const char *project);

/* kube.c, shared with kubectl.c */
cJSON *kube_obj_at(cJSON *parent, const char *key);
void kube_move_ports(const char *ann, cJSON *spec);
bool kube_is_workload(const char *kind);
/* kube_up.c: a Secret's {"KEY": base64}, stringData filled from the
 * environment; NULL, f filled, when a value is missing */
char *kube_secret_data(const cJSON *doc, struct failure *f);
/* kube_cmd.c: a failed container as both paths tell it */
void kube_fail(struct failure *f, const char *service, const cJSON *info,
    const char *reason, char *log_tail);
char *crash_loop_message(const char *service, const char *container,
    int restarts, const char *log_tail);

/* kubectl.c: the cluster path */
void kubectl_args(const struct deploy *d, struct args *a);
bool kubectl_run(struct args *a, const char *input,
    int64_t timeout_ms, struct phx_run *r);
cJSON *kubectl_get(const struct deploy *d, const char *what, bool by_project);
cJSON *kubectl_cluster_doc(const struct deploy *d, const cJSON *doc);
enum outcome kubectl_attempt(struct deploy *d, int attempt, struct failure *f,
    cJSON **infos);
bool kubectl_clean(struct deploy *d, const char *when);
void kubectl_claims_before(struct deploy *d);

/* kubectl_records.c: records from kubectl get -o json, no command run */
cJSON *kubectl_views(const struct deploy *d, const cJSON *pods,
    const cJSON *forwards);
bool kubectl_diagnose(const struct deploy *d, const cJSON *pods,
    const cJSON *events, bool rolled_out, struct failure *f);

/* kubectl_down.c: port-forwards and down */
bool forwards_start(struct deploy *d, struct failure *f);
void forwards_stop(const cJSON *list);
void kubectl_save_logs(struct deploy *d, const char *when, const cJSON *pods);
int kubectl_down(struct deploy *d, const char *id, const cJSON *st,
    bool volumes);

/* kube_export.c */
int cmd_export_kube(struct deploy *d, const char *id);

/* down.c */
int teardown(struct deploy *d, const char *id, bool volumes);
int cmd_down(struct deploy *d, const char *id, bool volumes);

/* rollback.c */
int cmd_rollback(struct deploy *d, const char *id, const char *compose);
void recover_by_rollback(struct deploy *failed);

/* status.c */
int cmd_status(struct deploy *d, const char *id);

/* restart.c */
int cmd_restart(struct deploy *d, const char *service, const char *project);

#endif
