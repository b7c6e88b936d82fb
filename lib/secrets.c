/* Which values are secrets: variables and configuration keys named like
 * passwords, tokens and keys, and the values their *_env keys name.  Each
 * value found goes to the registry of redact.c, the layer below. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "phx.h"
#include "phx_priv.h"

extern char **environ;

bool
phx_is_secret_name(const char *name)
{
	static const char *words[] = { "PASSWORD", "PASSWD", "PASS", "TOKEN",
	    "API_KEY", "APIKEY", "SECRET", "KEY", "CREDENTIAL", "CREDENTIALS",
	    "AUTH" };
	size_t n = strlen(name);

	if (strcasecmp(name, "PGPASSWORD") == 0)
		return true;
	for (size_t i = 0; i < sizeof words / sizeof *words; i++) {
		size_t w = strlen(words[i]);
		if (n < w || strcasecmp(name + n - w, words[i]) != 0)
			continue;
		if (n == w || name[n - w - 1] == '_' || name[n - w - 1] == '-')
			return true;
	}
	return false;
}

void
phx_secrets_from_env(void)
{
	for (char **e = environ; e && *e; e++) {
		const char *eq = strchr(*e, '=');
		char name[256];
		size_t n;

		if (!eq || (n = (size_t)(eq - *e)) >= sizeof name)
			continue;
		memcpy(name, *e, n);
		name[n] = '\0';
		if (phx_is_secret_name(name))
			phx_secret_add(eq + 1);
	}
}

void
phx_secrets_from_config(const cJSON *cfg)
{
	const cJSON *it;

	cJSON_ArrayForEach(it, cfg) {
		if (cJSON_IsString(it) && it->string &&
		    phx_is_secret_name(it->string))
			phx_secret_add(it->valuestring);
		else if (cJSON_IsString(it) && it->string) {
			/* password_env: NAME names where the secret lives */
			size_t n = strlen(it->string);
			if (n > 4 && strcmp(it->string + n - 4, "_env") == 0) {
				char *base = phx_strdup(it->string);
				base[n - 4] = '\0';
				if (phx_is_secret_name(base)) {
					const char *v = getenv(it->valuestring);
					if (v)
						phx_secret_add(v);
				}
				free(base);
			}
		}
		if (cJSON_IsObject(it) || cJSON_IsArray(it))
			phx_secrets_from_config(it);
	}
}
