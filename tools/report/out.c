/* outputs: written a piece at a time, never whole in memory */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "report.h"

static void
out_flush(struct out *o)
{
	size_t len;
	char *clean;

	if (!o->b.len)
		return;
	clean = phx_redact_mem(o->b.data, o->b.len, &len);
	if (!clean)
		len = o->b.len;
	for (int i = 0; i < o->n; i++)
		if (!o->failed[i] &&
		    fwrite(clean ? clean : o->b.data, 1, len, o->f[i]) != len)
			o->failed[i] = true;
	free(clean);
	o->b.len = 0;
}

/* an entry ended: pass what is buffered on once there is enough */
void
out_mark(struct out *o)
{
	if (o->b.len >= 32768)
		out_flush(o);
}

bool
out_file(struct out *o, const char *path, mode_t mode)
{
	char *tmp = phx_asprintf("%s.tmp.%ld", path, (long)getpid());
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
	FILE *f = fd >= 0 && fchmod(fd, mode) == 0 ? fdopen(fd, "w") : NULL;

	if (!f) {
		phx_log(PHX_ERROR, "%s: %s", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		unlink(tmp);
		free(tmp);
		return false;
	}
	o->f[o->n] = f;
	o->tmp[o->n] = tmp;
	o->path[o->n++] = phx_strdup(path);
	return true;
}

void
out_stdout(struct out *o)
{
	o->f[o->n] = stdout;
	o->tmp[o->n] = NULL;
	o->path[o->n++] = NULL;
}

/* completes every file; false when one could not be written */
bool
out_close(struct out *o)
{
	bool ok = true;

	out_flush(o);
	for (int i = 0; i < o->n; i++) {
		if (!o->path[i]) {
			fflush(stdout);
			continue;
		}
		if (fclose(o->f[i]) == EOF || o->failed[i] ||
		    rename(o->tmp[i], o->path[i]) < 0) {
			phx_log(PHX_ERROR, "%s: %s", o->path[i], strerror(errno));
			unlink(o->tmp[i]);
			ok = false;
		}
		free(o->tmp[i]);
		free(o->path[i]);
	}
	phx_buf_free(&o->b);
	return ok;
}

/* a cJSON value printed and consumed */
void
out_json(struct out *o, cJSON *v)
{
	char *s = cJSON_PrintUnformatted(v);

	cJSON_Delete(v);
	if (!s)
		phx_die(PHX_EXIT_ENV, "out of memory");
	phx_buf_addstr(&o->b, s);
	free(s);
}

/* an object printed without its closing brace, so members can follow */
void
out_json_open(struct out *o, cJSON *v)
{
	out_json(o, v);
	if (o->b.len && o->b.data[o->b.len - 1] == '}')
		o->b.len--;
}

/* "key":value as a member of an open object, one a line */
void
out_member(struct out *o, const char *key, cJSON *v, bool *first)
{
	phx_buf_addstr(&o->b, *first ? "\n" : ",\n");
	*first = false;
	out_json(o, cJSON_CreateString(key));
	phx_buf_addstr(&o->b, ":");
	out_json(o, v);
	out_mark(o);
}

