/* The keys a configuration file may hold, the type of each, and every
 * default: one table, read by config.c; the tools carry no defaults of
 * their own (phx(7) documents the keys). */
#include <stddef.h>

#include "config_priv.h"

static const struct field str_value[] = { { "", T_STR, NULL } };

static const struct field backoff_fields[] = {
	{ "initial", T_DURATION, NULL },
	{ "max", T_DURATION, NULL },
	{ "multiplier", T_NUM, NULL },
	{ NULL, 0, NULL },
};

/* per-check settings; also the defaults block "probe" */
#define CHECK_FIELDS \
	{ "timeout", T_DURATION, NULL }, \
	{ "retries", T_INT, NULL }, \
	{ "backoff", T_MAP, backoff_fields }, \
	{ "expected_status", T_INTLIST, NULL }, \
	{ "insecure", T_BOOL, NULL }, \
	{ "interval", T_DURATION, NULL }

static const struct field service_fields[] = {
	CHECK_FIELDS,
	{ "url", T_STR, NULL },
	{ "type", T_STR, NULL },
	{ "method", T_STR, NULL },
	{ "headers", T_DICT, str_value },
	{ "body", T_STR, NULL },
	{ "conditions", T_STRLIST, NULL },
	{ "ca_file", T_STR, NULL },
	{ "host", T_STR, NULL },
	{ "port", T_INT, NULL },
	{ "dbname", T_STR, NULL },
	{ "user", T_STR, NULL },
	{ "password", T_STR, NULL },
	{ "password_env", T_STR, NULL },
	{ "sslmode", T_STR, NULL },
	{ "query", T_STR, NULL },
	{ "container", T_STR, NULL },
	{ "healthcheck", T_BOOL, NULL },
	{ "tls_port", T_INT, NULL },
	{ "enabled", T_BOOL, NULL },
	{ "critical", T_BOOL, NULL },
	{ NULL, 0, NULL },
};
static const struct field service_value[] = { { "", T_MAP, service_fields } };

static const struct field probe_fields[] = {
	CHECK_FIELDS,
	{ "deadline", T_DURATION, NULL },
	{ "concurrency", T_INT, NULL },
	{ "min_uptime", T_DURATION, NULL },
	{ NULL, 0, NULL },
};

static const struct field deployment_fields[] = {
	{ "compose_file", T_STR, NULL },
	{ "project", T_STR, NULL },
	{ "timeout", T_DURATION, NULL },
	{ "retries", T_INT, NULL },
	{ "cleanup_on_failure", T_BOOL, NULL },
	{ "security_validation", T_BOOL, NULL },
	{ "state_dir", T_STR, NULL },
	{ "podman", T_STR, NULL },
	{ "podman_timeout", T_DURATION, NULL },
	{ "compose", T_STR, NULL },
	{ "log_lines", T_INT, NULL },
	{ "engine", T_STR, NULL },
	{ "manifests", T_STR, NULL },
	{ "kubectl", T_STR, NULL },
	{ "kube_context", T_STR, NULL },
	{ NULL, 0, NULL },
};

static const struct field command_test_fields[] = {
	{ "name", T_STR, NULL },
	{ "command", T_STRLIST, NULL },
	{ "shell", T_STR, NULL },
	{ "cwd", T_STR, NULL },
	{ "env", T_DICT, str_value },
	{ "timeout", T_DURATION, NULL },
	{ "expect_exit", T_INT, NULL },
	{ "expect_stdout", T_STR, NULL },
	{ "expect_stderr", T_STR, NULL },
	{ "enabled", T_BOOL, NULL },
	{ "script_path", T_STR, NULL },
	{ "args", T_ANY, NULL },
	{ "expect", T_ANY, NULL },
	{ "mode", T_STR, NULL },
	{ "webhook_path", T_STR, NULL },
	{ "webhook_id", T_BOOL, NULL },
	{ NULL, 0, NULL },
};
static const struct field command_test_value[] = {
	{ "", T_MAP, command_test_fields },
};

static const struct field suite_fields[] = {
	{ "type", T_STR, NULL },
	{ "service", T_STR, NULL },
	{ "enabled", T_BOOL, NULL },
	{ "timeout", T_DURATION, NULL },
	{ "parallel", T_BOOL, NULL },
	{ "base_url", T_STR, NULL },
	{ "api_key", T_STR, NULL },
	{ "api_key_env", T_STR, NULL },
	{ "token", T_STR, NULL },
	{ "token_env", T_STR, NULL },
	{ "workspace", T_STR, NULL },
	{ "script_path", T_STR, NULL },
	{ "args", T_ANY, NULL },
	{ "expect", T_ANY, NULL },
	{ "webhook_path", T_STR, NULL },
	{ "webhook_id", T_BOOL, NULL },
	{ "mode", T_STR, NULL },
	{ "shell", T_STR, NULL },
	{ "cwd", T_STR, NULL },
	{ "env", T_DICT, str_value },
	{ "expect_exit", T_INT, NULL },
	{ "tests", T_LIST, command_test_value },
	{ NULL, 0, NULL },
};
static const struct field suite_value[] = { { "", T_MAP, suite_fields } };

static const struct field tests_fields[] = {
	{ "parallel", T_BOOL, NULL },
	{ "timeout", T_DURATION, NULL },
	{ "suites", T_DICT, suite_value },
	{ NULL, 0, NULL },
};

static const struct field rule_fields[] = {
	{ "severity", T_STR, NULL },
	{ "enabled", T_BOOL, NULL },
	{ NULL, 0, NULL },
};
static const struct field rule_value[] = { { "", T_MAP, rule_fields } };

static const struct field security_fields[] = {
	{ "fail_on", T_STR, NULL },
	{ "sensitive_ports", T_INTLIST, NULL },
	{ "ignore", T_STRLIST, NULL },
	{ "min_cert_days", T_INT, NULL },
	{ "scanner", T_STR, NULL },
	{ "rules", T_DICT, rule_value },
	{ "tls_ports", T_DICT, str_value },
	{ "max_pids", T_INT, NULL },
	{ "sensitive_mounts", T_STRLIST, NULL },
	{ "ca_file", T_STR, NULL },
	{ NULL, 0, NULL },
};

static const struct field report_fields[] = {
	{ "allow_empty", T_BOOL, NULL },
	{ NULL, 0, NULL },
};

static const struct field recovery_fields[] = {
	{ "deployment", T_STR, NULL },
	{ "health", T_STR, NULL },
	{ "functional", T_STR, NULL },
	{ NULL, 0, NULL },
};

const struct field phx_cfg_root_fields[] = {
	{ "deployment", T_MAP, deployment_fields },
	{ "probe", T_MAP, probe_fields },
	{ "services", T_DICT, service_value },
	{ "tests", T_MAP, tests_fields },
	{ "security", T_MAP, security_fields },
	{ "report", T_MAP, report_fields },
	{ "recovery", T_MAP, recovery_fields },
	{ "include", T_STRLIST, NULL },
	{ NULL, 0, NULL },
};

const char phx_cfg_defaults[] =
    "{\"deployment\":{\"compose_file\":\"infra/podman/compose.yaml\","
    "\"project\":\"phoenix-hydra\",\"timeout\":300000,\"retries\":3,"
    "\"cleanup_on_failure\":true,\"security_validation\":true,"
    "\"state_dir\":\".phx\",\"podman\":\"podman\",\"podman_timeout\":120000,"
    "\"compose\":\"podman-compose\",\"log_lines\":50,"
    "\"engine\":\"compose\",\"manifests\":\"infra/kube\","
    "\"kubectl\":\"kubectl\",\"kube_context\":\"\"},"
    "\"probe\":{\"timeout\":30000,\"retries\":5,\"backoff\":{\"initial\":1000,"
    "\"max\":30000,\"multiplier\":2},\"expected_status\":[200],"
    "\"insecure\":false,\"interval\":500,\"deadline\":0,\"concurrency\":32,\"min_uptime\":3000},"
    "\"services\":{},"
    "\"tests\":{\"parallel\":true,\"timeout\":600000,\"suites\":{}},"
    "\"security\":{\"fail_on\":\"HIGH\",\"sensitive_ports\":[22,23,2375,2376,"
    "3306,5432,5984,6379,9200,11211,27017],\"ignore\":[],\"min_cert_days\":30,"
    "\"scanner\":\"auto\",\"rules\":{},\"tls_ports\":{},\"max_pids\":1024,"
    "\"sensitive_mounts\":[\"/\",\"/boot\",\"/dev\",\"/etc\",\"/lib\",\"/lib64\","
    "\"/proc\",\"/root\",\"/sys\",\"/usr\",\"/var/lib/containers\"]},"
    "\"report\":{\"allow_empty\":false},"
    "\"recovery\":{\"deployment\":\"retry\",\"health\":\"restart\","
    "\"functional\":\"abort\"}}";
