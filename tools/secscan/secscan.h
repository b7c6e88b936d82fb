/* phx-secscan's private header: the types, the one shared state and the
 * names its files share; everything else is static to its file. */
#ifndef SECSCAN_H
#define SECSCAN_H

#include <stdbool.h>
#include <stdio.h>

#include "phx.h"

/* a finding's severity is its rule's */
enum { SEV_RULE = -1 };

enum rule_id {
	R_ROOTLESS, R_USER, R_USERNS, R_PRIVILEGED, R_CAPADD, R_CAPDEFAULT,
	R_NNP, R_READONLY, R_HEALTH, R_HOSTNET, R_HOSTPID, R_HOSTIPC, R_HOSTUTS,
	R_SECCOMP, R_MOUNTS, R_SOCKET, R_NETDECL, R_NETDEFAULT, R_REACH,
	R_PORT, R_PRIVPORT, R_MEMORY, R_CPU, R_PIDS, R_TLSCHAIN, R_TLSHOST,
	R_TLSLEGACY, R_TLSEXPIRY, R_VULN,
	/* pods of Kubernetes manifests (pods.c) */
	R_K_NONROOT, R_K_ESCALATION, R_K_CAPS, R_K_SECCOMP, R_K_READONLY,
	R_K_RESOURCES, R_K_PRIVILEGED, R_K_HOSTNET, R_K_HOSTPID, R_K_HOSTIPC,
	R_K_HOSTPATH, R_N
};

struct rule {
	/* the title names what is checked, reading right beside PASS, WARN
	 * and FAIL alike; the description says what and why */
	const char *id, *cis, *title, *description, *remediation, *help_uri;
	enum phx_sev severity;
	bool enabled;
	bool forced;          /* severity set in security.yaml */
};

/* what a finding is about */
struct subject {
	const char *service, *container, *target, *image;
	const char *file;     /* a manifest's finding: where, for SARIF */
	unsigned line;
};

struct target {
	char *ref;            /* what was asked for: container id or name */
	char *service;        /* compose service, when known */
	bool from_argv;
	cJSON *inspect;       /* podman inspect object */
	cJSON *oci;           /* the OCI runtime config, when readable */
	const char *name, *project;
	struct target *next;
};

struct tls_target {
	char *url, *service, *ca_file;
	struct tls_target *next;
};

/* the run's state that several files read or write (defined in main.c) */
struct secscan_state {
	cJSON *cfg;
	enum phx_sev fail_on;
	const char *sarif;
	const char *compose_file;
	const char *project;
	const char *scanner;
	char *stream_compose, *stream_project;
	const char *manifests;   /* -k, else the stream's */
	char *stream_manifests;
	cJSON *compose;          /* the parsed compose file */
	cJSON *compose_lines;    /* service name -> line */
	char *compose_why;       /* why no compose file was read */
	cJSON *info;             /* podman info */
	cJSON *containers;       /* podman ps -a: everything, for reachability */
	cJSON *ignore;
	struct target *targets;
	struct tls_target *tls;
	int counts[PHX_STATUS_N];
	int ignored, errors, scanned;
	bool failed;             /* a FAIL at or above fail_on */
	bool missing_argv;       /* a container named on the command line is gone */
	bool scan_done;          /* once phx-deploy ended ok, mid-stream */
};

extern struct secscan_state secscan;

/* rules.c: the rules, and the SARIF score of each severity */
extern struct rule rules[R_N];
extern const char *const sev_score[PHX_SEV_N];
void apply_rules(void);

/* json.c: reading podman's JSON */
void add_unique(cJSON *arr, const char *s);
const cJSON *jpath(const cJSON *obj, const char *path);
const char *jpath_str(const cJSON *obj, const char *path);
double jpath_num(const cJSON *obj, const char *path);
cJSON *dup_or_null(const cJSON *v);
char *join(const cJSON *arr);

/* findings.c */
void finding(int r, const struct subject *s, enum phx_status st, int sev,
    const char *field, cJSON *value, const char *fmt, ...)
	__attribute__((format(printf, 7, 8)));

/* sarif.c */
void sarif_begin(void);
void sarif_add(int r, enum phx_status st, enum phx_sev sev, const struct subject *s,
    const char *msg, const cJSON *evidence);
bool write_sarif(bool ok);

/* engine.c: what podman reports */
void engine_prefetch(void);
void load_engine(void);
void engine_containers(void);
void networks_prefetch(void);
cJSON *default_caps(void);
const cJSON *network_info(const char *name);
void engine_free(void);

/* targets.c: the containers to scan */
void add_target(const char *ref, const char *service, bool from_argv);
void add_project(const char *project);
void inspect_targets(void);
void free_targets(void);
int oci_ns(const struct target *t, const char *type);
cJSON *oci_ns_list(const struct target *t);

/* readfile.c: a file a record or podman names, a regular file of at most
 * SECSCAN_FILE_MAX bytes (phx-secscan(1)), NUL-terminated */
#define SECSCAN_FILE_MAX (4 << 20)
char *read_regular(const char *path, size_t *len, char **why);

/* compose.c */
const char *compose_path(void);
bool load_compose(bool must);
bool declared_internal(const char *name, const char *project);

/* container*.c: the checks of one container */
void check_rootless(void);
void scan_container(const struct target *t);
long check_user(const struct target *t, const struct subject *s);
void check_userns(const struct target *t, const struct subject *s, long uid);
void check_privileged(const struct target *t, const struct subject *s);
void check_caps(const struct target *t, const struct subject *s);
void check_secopts(const struct target *t, const struct subject *s);
void check_seccomp(const struct target *t, const struct subject *s);
void check_hostns(const struct target *t, const struct subject *s, int r,
    const char *field, const char *ocitype, const char *what);
void check_mounts(const struct target *t, const struct subject *s);
void check_networks(const struct target *t, const struct subject *s);
void check_ports(const struct target *t, const struct subject *s);

/* tls.c */
void add_tls(const char *service, const char *spec, const char *ca_file);
void add_tls_from_config(const char *svc);
void scan_tls(const struct tls_target *tt);
void free_tls(void);

/* pods.c */
void scan_manifests(const char *path);

/* images.c */
void scan_images(void);

#endif
