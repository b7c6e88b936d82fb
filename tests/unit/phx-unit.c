/* Unit tests for libphx, emitting TAP. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "phx.h"

static int ntest, nfail;

static void
ok(int cond, const char *name)
{
	ntest++;
	if (!cond)
		nfail++;
	printf("%sok %d - %s\n", cond ? "" : "not ", ntest, name);
}

static void
is_str(const char *got, const char *want, const char *name)
{
	int same = got && want ? strcmp(got, want) == 0 : got == want;

	ok(same, name);
	if (!same)
		printf("# got \"%s\"\n# want \"%s\"\n", got ? got : "(null)",
		    want ? want : "(null)");
}

static void
test_durations(void)
{
	ok(phx_duration_ms("30") == 30000, "duration: bare number is seconds");
	ok(phx_duration_ms("1.5s") == 1500, "duration: 1.5s");
	ok(phx_duration_ms("500ms") == 500, "duration: 500ms");
	ok(phx_duration_ms("2m") == 120000, "duration: 2m");
	ok(phx_duration_ms("1h") == 3600000, "duration: 1h");
	ok(phx_duration_ms("abc") == -1, "duration: garbage rejected");
	ok(phx_duration_ms("-1") == -1, "duration: negative rejected");
	ok(phx_duration_ms("3x") == -1, "duration: unknown unit rejected");
}

static void
test_time(void)
{
	char ts[32];

	phx_ts_format(1790000000123, ts);
	is_str(ts, "2026-09-21T14:13:20.123Z", "ts: RFC 3339 with ms, UTC");
	ok(phx_ts_parse(ts) == 1790000000123, "ts: parse round-trips");
	ok(phx_ts_parse("2026-09-21T16:13:20.123+02:00") == 1790000000123,
	    "ts: offsets are honoured");
	ok(phx_ts_parse("yesterday") == -1, "ts: garbage rejected");
	phx_ts_format(1790000000007, ts);
	is_str(ts, "2026-09-21T14:13:20.007Z", "ts: same second, other ms");
	phx_ts_format(1790000061999, ts);
	is_str(ts, "2026-09-21T14:14:21.999Z", "ts: next minute");
	phx_ts_format(0, ts);
	is_str(ts, "1970-01-01T00:00:00.000Z", "ts: the epoch");
}

static void
test_ints(void)
{
	static const struct { int64_t v; const char *json; } cases[] = {
		{ 0, "{\"n\":0}" }, { 7, "{\"n\":7}" }, { -42, "{\"n\":-42}" },
		{ 1234567890123, "{\"n\":1234567890123}" },
		{ INT64_MAX, "{\"n\":9223372036854775807}" },
		{ INT64_MIN, "{\"n\":-9223372036854775808}" },
	};

	for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
		cJSON *o = cJSON_CreateObject(), *back;
		char *s;

		phx_add_int(o, "n", cases[i].v);
		s = cJSON_PrintUnformatted(o);
		is_str(s, cases[i].json, "int: printed as JSON digits");
		back = cJSON_Parse(s);
		ok(cJSON_IsNumber(cJSON_GetObjectItem(back, "n")),
		    "int: reads back as a JSON number");
		cJSON_Delete(back);
		cJSON_Delete(o);
		free(s);
	}
}

static void
test_redact(void)
{
	char *r;

	phx_secret_add("s3cr3t-value");
	phx_secret_add("a\"b\\c-quoted");
	r = phx_redact("{\"msg\":\"token s3cr3t-value here\"}");
	is_str(r, "{\"msg\":\"token *** here\"}", "redact: known value");
	free(r);
	r = phx_redact("{\"m\":\"a\\\"b\\\\c-quoted\"}");
	is_str(r, "{\"m\":\"***\"}", "redact: JSON-escaped value");
	free(r);
	r = phx_redact("postgresql://phoenix:hunter22@db:5432/revenue");
	is_str(r, "postgresql://phoenix:***@db:5432/revenue",
	    "redact: password inside a URL");
	free(r);
	r = phx_redact("host=db user=x password=hunter22 dbname=y");
	is_str(r, "host=db user=x password=*** dbname=y",
	    "redact: password= in a DSN");
	free(r);
	ok(phx_redact_mem("nothing here", 12, NULL) == NULL,
	    "redact: NULL when nothing matched");
	r = phx_redact("http://user@host/x");
	is_str(r, "http://user@host/x", "redact: userinfo without password kept");
	free(r);
	ok(phx_is_secret_name("N8N_API_KEY"), "secret name: *_API_KEY");
	ok(phx_is_secret_name("REVENUE_DB_PASSWORD"), "secret name: *_PASSWORD");
	ok(phx_is_secret_name("WINDMILL_TOKEN"), "secret name: *_TOKEN");
	ok(!phx_is_secret_name("PHX_PORT_DB"), "secret name: ordinary name");
	ok(!phx_is_secret_name("BYPASS"), "secret name: word inside a word");
	phx_secrets_clear();
}

/* the finding vocabulary phx-secscan writes and phx-report reads */
static void
test_status(void)
{
	ok(phx_status_parse("FAIL") == PHX_ST_FAIL &&
	    phx_status_parse("PASS") == PHX_ST_PASS, "status: parsed");
	ok(phx_status_parse("pass") == PHX_STATUS_N &&
	    phx_status_parse(NULL) == PHX_STATUS_N, "status: capitals only");
	ok(PHX_ST_FAIL < PHX_ST_WARN && PHX_ST_WARN < PHX_ST_SKIP &&
	    PHX_ST_SKIP < PHX_ST_INFO && PHX_ST_INFO < PHX_ST_PASS,
	    "status: ranked worst first");
	is_str(phx_status_names[PHX_ST_WARN], "WARN", "status: names");
	ok(phx_sev_parse("critical") == PHX_SEV_CRITICAL &&
	    phx_sev_parse("Low") == PHX_SEV_LOW, "severity: any case");
	ok(phx_sev_parse("NONE") == PHX_SEV_NONE &&
	    phx_sev_parse("SEVERE") == PHX_SEV_NONE &&
	    phx_sev_parse(NULL) == PHX_SEV_NONE, "severity: none of them");
	is_str(phx_sev_names[PHX_SEV_HIGH], "HIGH", "severity: names");
	ok(phx_fail_on_parse("never") == PHX_SEV_NONE &&
	    phx_fail_on_parse("NEVER") == PHX_SEV_NONE &&
	    phx_fail_on_parse("none") == PHX_SEV_NONE, "fail-on: NONE and NEVER");
	ok(phx_fail_on_parse("medium") == PHX_SEV_MEDIUM, "fail-on: a severity");
	ok(phx_fail_on_parse("SOMETIMES") == -1 &&
	    phx_fail_on_parse("") == -1 && phx_fail_on_parse(NULL) == -1,
	    "fail-on: anything else refused");
	ok(phx_finding_fails(PHX_ST_FAIL, PHX_SEV_HIGH, PHX_SEV_HIGH) &&
	    phx_finding_fails(PHX_ST_FAIL, PHX_SEV_CRITICAL, PHX_SEV_LOW),
	    "fails: FAIL at or above the level");
	ok(!phx_finding_fails(PHX_ST_FAIL, PHX_SEV_MEDIUM, PHX_SEV_HIGH) &&
	    !phx_finding_fails(PHX_ST_WARN, PHX_SEV_CRITICAL, PHX_SEV_LOW) &&
	    !phx_finding_fails(PHX_ST_FAIL, PHX_SEV_CRITICAL, PHX_SEV_NONE),
	    "fails: not below it, not WARN, never at NONE");
	is_str(phx_finding_group("PHX-SEC-002", NULL), "rootless",
	    "group: by phx id");
	is_str(phx_finding_group("OTHER-1", "5.14"), "ports", "group: by CIS id");
	is_str(phx_finding_group("PHX-SEC-060", NULL), NULL, "group: none");
}

static void
test_ids(void)
{
	ok(phx_valid_deployment_id("deploy_20261127_120000"), "id: valid");
	ok(phx_valid_deployment_id("deploy_20261127_120000_2"), "id: suffixed");
	ok(!phx_valid_deployment_id("../etc"), "id: path rejected");
	ok(!phx_valid_deployment_id("deploy_x/../../y_zzzzzzzz"),
	    "id: slash rejected");
}

static void
test_reader(void)
{
	static const char input[] =
	    "{\"v\":1,\"type\":\"health\",\"deployment_id\":\"deploy_20261127_120000\"}\n"
	    "not json\n"
	    "{\"foreign\":true}\n"
	    "\n"
	    "{\"v\":1,\"type\":\"test\"}\r\n"
	    "01234567890123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890123456789\n"
	    "{\"v\":1,\"type\":\"last\"}";
	enum phx_rd want[] = { PHX_RD_RECORD, PHX_RD_INVALID, PHX_RD_FOREIGN,
	    PHX_RD_FOREIGN, PHX_RD_RECORD, PHX_RD_LONG, PHX_RD_LONG,
	    PHX_RD_RECORD, PHX_RD_EOF };
	struct phx_input in;
	struct phx_reader *r;
	int fds[2], i = 0, good = 1;
	struct phx_buf got = { 0 };

	if (pipe(fds) < 0 || write(fds[1], input, sizeof input - 1) < 0)
		abort();
	close(fds[1]);
	r = phx_reader_new(fds[0], "pipe", 80);
	for (;;) {
		enum phx_rd rd = phx_reader_next(r, &in);
		if (i < (int)(sizeof want / sizeof *want) && rd != want[i]) {
			printf("# line %d: got %d want %d\n", i, rd, want[i]);
			good = 0;
		}
		i++;
		if (rd == PHX_RD_EOF)
			break;
		phx_buf_add(&got, in.line, in.len);
		if (in.newline)
			phx_buf_add(&got, "\n", 1);
	}
	ok(good && i == 9, "reader: classifies every kind of line");
	ok(got.len == sizeof input - 1 && memcmp(got.data, input, got.len) == 0,
	    "reader: the bytes handed back are the bytes read");
	is_str(phx_deployment_id(), "deploy_20261127_120000",
	    "reader: adopts the stream's deployment id");
	ok(phx_reader_invalid(r) == 2, "reader: counts invalid and long lines");
	phx_buf_free(&got);
	phx_reader_free(r);
	close(fds[0]);
	phx_set_deployment_id(NULL);
}

static void
test_run(void)
{
	const char *argv1[] = { "sh", "-c", "echo out; echo err >&2; exit 3", NULL };
	const char *argv2[] = { "sh", "-c", "sleep 5 & sleep 5", NULL };
	const char *argv3[] = { "/nonexistent/cmd", NULL };
	struct phx_run a = { .argv = argv1 }, b = { .argv = argv2, .timeout_ms = 200 };
	struct phx_run c = { .argv = argv3 };
	char *t;

	phx_run(&a);
	ok(a.status == 3, "run: exit status");
	is_str(a.out.data, "out\n", "run: stdout captured");
	is_str(a.err.data, "err\n", "run: stderr captured");
	phx_run(&b);
	ok(b.timed_out && b.duration_ms < 3000, "run: timeout kills the group");
	ok(!phx_run(&c) && c.exec_failed, "run: exec failure reported");
	t = phx_tail_lines("a\nb\nc\nd\n", 8, 2);
	is_str(t, "c\nd\n", "tail: last two lines");
	free(t);
	phx_run_free(&a);
	phx_run_free(&b);
	phx_run_free(&c);
}

static int
mode_of(const char *path)
{
	struct stat st;

	return lstat(path, &st) < 0 ? -1 : (int)(st.st_mode & 07777);
}

/* phx_write_file and phx_wfile_*: modes whatever the umask, and nothing
 * planted at the temporary or the target name is written through */
static void
test_wfile(const char *dir)
{
	char *victim = phx_asprintf("%s/victim", dir);
	char *path = phx_asprintf("%s/out", dir);
	char *planted = phx_asprintf("%s.tmp.%ld", path, (long)getpid());
	char *text;
	struct phx_wfile *w;
	mode_t old = umask(0);

	phx_write_file(victim, "mine\n", 5);
	ok(mode_of(victim) == 0600, "write_file: 0600 under umask 000");
	ok(symlink(victim, planted) == 0 && symlink(victim, path) == 0,
	    "write_file: symlinks planted at the temporary and the target");
	ok(phx_write_file(path, "new\n", 4), "write_file: written");
	is_str(text = phx_read_file(victim, NULL), "mine\n",
	    "write_file: planted symlinks not followed, victim unchanged");
	free(text);
	ok(mode_of(path) == 0600, "write_file: target replaced by a plain file");
	umask(0777);
	w = phx_wfile_open(path, 0640);
	ok(w && fputs("piece 1\n", phx_wfile_fp(w)) >= 0 &&
	    fputs("piece 2\n", phx_wfile_fp(w)) >= 0 && phx_wfile_commit(w),
	    "wfile: written a piece at a time under umask 777");
	ok(mode_of(path) == 0640, "wfile: committed with the mode asked");
	is_str(text = phx_read_file(path, NULL), "piece 1\npiece 2\n",
	    "wfile: content");
	free(text);
	umask(0);
	w = phx_wfile_open(path, 0600);
	fputs("half", phx_wfile_fp(w));
	phx_wfile_abort(w);
	is_str(text = phx_read_file(path, NULL), "piece 1\npiece 2\n",
	    "wfile: abort leaves the old file");
	free(text);
	umask(old);
	free(planted);
	free(path);
	free(victim);
}

/* phx_open_append: locks and logs refuse a symlink, a hard link, a file
 * not regular; phx_mkdirs makes 0700 whatever the umask */
static void
test_append(const char *dir)
{
	char *victim = phx_asprintf("%s/victim", dir);
	char *lock = phx_asprintf("%s/.lock", dir);
	char *sub = phx_asprintf("%s/a/b", dir);
	mode_t old = umask(0);
	int fd = phx_open_append(lock, 0600);

	ok(fd >= 0 && mode_of(lock) == 0600, "append: created 0600 under umask 000");
	if (fd >= 0)
		close(fd);
	ok((fd = phx_open_append(lock, 0600)) >= 0, "append: opened again");
	if (fd >= 0)
		close(fd);
	unlink(lock);
	ok(symlink(victim, lock) == 0 && phx_open_append(lock, 0600) < 0 &&
	    errno == ELOOP, "append: a symlink refused");
	unlink(lock);
	ok(link(victim, lock) == 0 && phx_open_append(lock, 0600) < 0,
	    "append: a second name refused");
	unlink(lock);
	umask(0777);
	phx_mkdirs(sub);
	umask(0);
	*strrchr(sub, '/') = '\0';
	ok(mode_of(sub) == 0700, "mkdirs: 0700 under umask 777");
	ok(chdir(sub) == 0 && mode_of("b") == 0700 && chdir("/") == 0,
	    "mkdirs: the last one 0700 too");
	umask(old);
	free(sub);
	free(lock);
	free(victim);
}

static void
test_files(void)
{
	char tmpl[] = "/tmp/phx-unit.XXXXXX";
	char *dir = mkdtemp(tmpl), *cmd;

	if (!dir) {
		ok(0, "files: mkdtemp");
		return;
	}
	test_wfile(dir);
	test_append(dir);
	cmd = phx_asprintf("rm -rf '%s'", dir);
	if (system(cmd) != 0)
		ok(0, "files: cleanup");
	free(cmd);
}

int
main(int argc, char **argv)
{
	phx_init(argv[0]);
	if (argc >= 2 && strcmp(argv[1], "pass") == 0) {
		/* phx-unit pass [MAXLINE]: the reader and phx_pass, alone */
		struct phx_reader *r = phx_reader_new(0, "stdin",
		    argc > 2 ? (size_t)atol(argv[2]) : 0);
		struct phx_input in;
		while (phx_reader_next(r, &in) != PHX_RD_EOF)
			phx_pass(&in);
		phx_reader_free(r);
		if (argc > 3)   /* then a record of our own */
			phx_emit(phx_record_new(argv[3]));
		phx_exit(PHX_EXIT_OK);
	}
	if (argc >= 2 && strcmp(argv[1], "config") == 0) {
		/* phx-unit config [FILE...]: the merged configuration */
		struct phx_config_opts o = { (const char **)argv + 2,
		    (size_t)(argc - 2) };
		cJSON *cfg = phx_config_load(&o);
		char *s = cJSON_Print(cfg), *clean = phx_redact(s);
		puts(clean);
		free(clean);
		free(s);
		cJSON_Delete(cfg);
		phx_exit(PHX_EXIT_OK);
	}
	phx_log_quieter();
	phx_log_quieter();
	test_durations();
	test_time();
	test_ints();
	test_redact();
	test_status();
	test_ids();
	test_reader();
	test_run();
	test_files();
	printf("1..%d\n", ntest);
	return nfail ? 1 : 0;
}
