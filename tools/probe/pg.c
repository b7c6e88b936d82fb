/* phx-probe's PostgreSQL checks, through libpq's non-blocking API: connect,
 * run one query, judge its first value. */
#include <poll.h>
#include <stdlib.h>
#include <string.h>

#include "probe.h"

#define DEFAULT_QUERY "SELECT 1"

bool
is_pg_uri(const char *s)
{
	return strncmp(s, "postgresql://", 13) == 0 ||
	    strncmp(s, "postgres://", 11) == 0;
}

static void
pg_param(struct check *c, const char *key, const char *val)
{
	size_t i = 0;

	if (!val || !*val)
		return;
	while (c->pg.keys[i] && i < MAX_PGPARAMS)
		i++;
	if (i == MAX_PGPARAMS)
		return;
	c->pg.keys[i] = phx_strdup(key);
	c->pg.vals[i] = phx_strdup(val);
}

/* the password, registered as a secret; never kept anywhere but libpq */
bool
setup_pg(struct check *c, const cJSON *j, const cJSON *entry)
{
	char *pw = phx_cfg_secret(j, "password"), *host = NULL, *port = NULL;
	const char *user = phx_jstr(j, "user"), *db = phx_jstr(j, "dbname");

	if (!pw && entry)
		pw = phx_cfg_secret(entry, "password");
	if (is_pg_uri(c->target)) {
		PQconninfoOption *opts = PQconninfoParse(c->target, NULL);
		for (PQconninfoOption *o = opts; o && o->keyword; o++)
			if (strcmp(o->keyword, "password") == 0 && o->val)
				phx_secret_add(o->val);
		PQconninfoFree(opts);
		if (!opts) {
			phx_free_secret(pw);
			return false;
		}
		pg_param(c, "dbname", c->target);
		c->pg.expand = true;
		free(c->target);
		c->target = phx_redact(c->url);
	} else if (split_hostport(c->target, &host, &port)) {
		pg_param(c, "host", host);
		pg_param(c, "port", port);
		pg_param(c, "dbname", db);
		free(c->target);
		c->target = phx_asprintf("postgresql://%s%s%s:%s/%s",
		    user ? user : "", user ? "@" : "", host, port, db ? db : "");
	} else {
		phx_free_secret(pw);
		return false;
	}
	pg_param(c, "user", user);
	pg_param(c, "sslmode", phx_jstr(j, "sslmode"));
	pg_param(c, "application_name", "phx-probe");
	pg_param(c, "password", pw);
	free(host);
	free(port);
	phx_free_secret(pw);
	free(c->pg.query);
	c->pg.query = phx_strdup(phx_jstr(j, "query") ? phx_jstr(j, "query") :
	    DEFAULT_QUERY);
	return true;
}

static void
pg_quiet(void *arg, const char *msg)
{
	(void)arg;
	phx_log(PHX_DEBUG, "postgres: %s", msg);
}

static const char *
pg_reason(const char *msg)
{
	static const struct { const char *text, *reason; } map[] = {
		{ "password authentication failed", "auth" },
		{ "authentication failed", "auth" },
		{ "no pg_hba.conf entry", "auth" },
		{ "no password supplied", "auth" },
		{ "password is required", "auth" },
		{ "role \"", "auth" },
		{ "Connection refused", "refused" },
		{ "could not translate host name", "dns" },
		{ "Name or service not known", "dns" },
		{ "timeout", "timeout" },
		{ "SSL", "tls" },
		{ "starting up", "status" },
		{ "shutting down", "status" },
		{ "recovery", "status" },
		{ "does not exist", "status" },
	};

	for (size_t i = 0; i < sizeof map / sizeof *map; i++)
		if (strstr(msg, map[i].text))
			return map[i].reason;
	return "protocol";
}

void
pg_close(struct check *c)
{
	list_remove(&probe.polled, c, true);
	if (c->pg.conn)
		PQfinish(c->pg.conn);
	c->pg.conn = NULL;
}

static void
pg_fail(struct check *c, const char *reason)
{
	char *msg = phx_strdup(c->pg.conn ? PQerrorMessage(c->pg.conn) :
	    "out of memory");
	char *nl;

	/* libpq's message may span lines: keep the informative one */
	if ((nl = strstr(msg, "FATAL:")))
		memmove(msg, nl, strlen(nl) + 1);
	if ((nl = strchr(msg, '\n')))
		*nl = '\0';
	c->response_ms = phx_now_ms() - c->attempt_started;
	pg_close(c);
	attempt_failed(c, reason ? reason : pg_reason(msg), "%s", trim(msg));
	free(msg);
}

void
pg_start(struct check *c)
{
	c->pg.conn = PQconnectStartParams((const char *const *)c->pg.keys,
	    (const char *const *)c->pg.vals, c->pg.expand);
	c->pg.phase = 0;
	c->pg.events = POLLOUT;
	c->pnext = probe.polled;
	probe.polled = c;
	if (!c->pg.conn || PQstatus(c->pg.conn) == CONNECTION_BAD) {
		pg_fail(c, NULL);
		return;
	}
	PQsetNoticeProcessor(c->pg.conn, pg_quiet, NULL);
}

static void
pg_result(struct check *c, PGresult *res)
{
	ExecStatusType st = PQresultStatus(res);
	const char *state = PQresultErrorField(res, PG_DIAG_SQLSTATE);

	if (st == PGRES_TUPLES_OK && PQntuples(res) > 0 && PQnfields(res) > 0 &&
	    !c->out.len)
		phx_buf_addstr(&c->out, PQgetvalue(res, 0, 0));
	if (st != PGRES_TUPLES_OK && st != PGRES_COMMAND_OK && !c->reason) {
		const char *msg = PQresultErrorMessage(res);
		set_message(c, state && strncmp(state, "28", 2) == 0 ? "auth" :
		    state && strcmp(state, "57P03") == 0 ? "status" : "protocol",
		    "%.*s", (int)strcspn(msg, "\n"), msg);
	}
}

static void
pg_query_step(struct check *c)
{
	PGresult *res;
	int f = PQflush(c->pg.conn);

	if (f < 0 || !PQconsumeInput(c->pg.conn)) {
		pg_fail(c, "protocol");
		return;
	}
	c->pg.events = f == 1 ? POLLIN | POLLOUT : POLLIN;
	while (!PQisBusy(c->pg.conn)) {
		if (!(res = PQgetResult(c->pg.conn))) {
			bool ok = !c->reason;
			c->response_ms = phx_now_ms() - c->attempt_started;
			pg_close(c);
			if (ok)
				judge(c);
			else
				attempt_over(c, false);
			return;
		}
		pg_result(c, res);
		PQclear(res);
	}
}

void
pg_step(struct check *c)
{
	if (c->pg.phase == 1) {
		pg_query_step(c);
		return;
	}
	switch (PQconnectPoll(c->pg.conn)) {
	case PGRES_POLLING_READING:
		c->pg.events = POLLIN;
		return;
	case PGRES_POLLING_WRITING:
		c->pg.events = POLLOUT;
		return;
	case PGRES_POLLING_OK:
		break;
	default:
		pg_fail(c, NULL);
		return;
	}
	c->pg.phase = 1;
	c->out.len = 0;
	if (PQsetnonblocking(c->pg.conn, 1) != 0 ||
	    !PQsendQuery(c->pg.conn, c->pg.query)) {
		pg_fail(c, "protocol");
		return;
	}
	pg_query_step(c);
}
