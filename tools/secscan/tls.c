/* TLS endpoints: chain, host name, legacy protocols, expiry. */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>

#include "secscan.h"

#define TLS_TIMEOUT_MS 10000
#define LEGACY_CIPHERS "DEFAULT:@SECLEVEL=0"

enum tls_try { TRY_INFO, TRY_CHAIN, TRY_HOST, TRY_TLS10, TRY_TLS11 };

/* one handshake (CONNECT_ONLY: no HTTP is spoken); *not_after is set
 * from the peer certificate when certinfo was asked for */
static CURLcode
tls_try(const struct tls_target *tt, enum tls_try how, char *err,
    time_t *not_after)
{
	CURL *c = curl_easy_init();
	struct curl_certinfo *ci = NULL;
	CURLcode rc;

	if (!c)
		phx_die(PHX_EXIT_ENV, "curl_easy_init failed");
	err[0] = '\0';
	curl_easy_setopt(c, CURLOPT_URL, tt->url);
	curl_easy_setopt(c, CURLOPT_CONNECT_ONLY, 1L);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)TLS_TIMEOUT_MS);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, err);
	curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, how == TRY_CHAIN ? 1L : 0L);
	curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, how == TRY_HOST ? 2L : 0L);
	if (tt->ca_file)
		curl_easy_setopt(c, CURLOPT_CAINFO, tt->ca_file);
	if (how == TRY_INFO)
		curl_easy_setopt(c, CURLOPT_CERTINFO, 1L);
	if (how == TRY_TLS10 || how == TRY_TLS11) {
		/* OpenSSL 3 will not offer TLS 1.0/1.1 at its default security
		 * level: without @SECLEVEL=0 every server would look safe */
		curl_easy_setopt(c, CURLOPT_SSLVERSION, how == TRY_TLS10 ?
		    (long)(CURL_SSLVERSION_TLSv1_0 | CURL_SSLVERSION_MAX_TLSv1_0) :
		    (long)(CURL_SSLVERSION_TLSv1_1 | CURL_SSLVERSION_MAX_TLSv1_1));
		curl_easy_setopt(c, CURLOPT_SSL_CIPHER_LIST, LEGACY_CIPHERS);
	}
	rc = curl_easy_perform(c);
	if (rc == CURLE_OK && how == TRY_INFO &&
	    curl_easy_getinfo(c, CURLINFO_CERTINFO, &ci) == CURLE_OK)
		phx_curl_not_after(ci, not_after);
	if (rc != CURLE_OK && !err[0])
		snprintf(err, CURL_ERROR_SIZE, "%s", curl_easy_strerror(rc));
	curl_easy_cleanup(c);
	return rc;
}

static void
check_tls_legacy(const struct tls_target *tt, const struct subject *s)
{
	static const char *names[] = { "TLSv1.0", "TLSv1.1" };
	cJSON *accepted = cJSON_CreateArray();
	char err[CURL_ERROR_SIZE], cannot[CURL_ERROR_SIZE + 16] = "";

	for (int i = 0; i < 2; i++) {
		CURLcode rc = tls_try(tt, i ? TRY_TLS11 : TRY_TLS10, err, NULL);
		if (rc == CURLE_OK)
			add_unique(accepted, names[i]);
		else if (strstr(err, "no protocols available") ||
		    strstr(err, "legacy sigalg"))
			snprintf(cannot, sizeof cannot, "%s: %s", names[i], err);
	}
	if (cJSON_GetArraySize(accepted)) {
		char *l = join(accepted);
		finding(R_TLSLEGACY, s, PHX_ST_FAIL, SEV_RULE, "tls.accepted_versions",
		    accepted, "accepts %s", l);
		free(l);
		return;
	}
	if (cannot[0])
		finding(R_TLSLEGACY, s, PHX_ST_SKIP, SEV_RULE, "tls.accepted_versions",
		    accepted, "not tested: this OpenSSL could not offer %s", cannot);
	else
		finding(R_TLSLEGACY, s, PHX_ST_PASS, SEV_RULE, "tls.accepted_versions",
		    accepted, "refuses TLS 1.0 and 1.1 (offered with "
		    LEGACY_CIPHERS ", since OpenSSL 3 refuses them client-side "
		    "otherwise)");
}

static void
check_tls_expiry(const struct subject *s, time_t not_after)
{
	long min = (long)phx_cfg_int(secscan.cfg, "security.min_cert_days",
	    INT_MIN, INT_MAX);
	char when[32];
	struct tm tm;
	double days;

	if (not_after == 0) {
		finding(R_TLSEXPIRY, s, PHX_ST_SKIP, SEV_RULE, "tls.not_after",
		    cJSON_CreateNull(), "the certificate's expiry date was not "
		    "reported");
		return;
	}
	gmtime_r(&not_after, &tm);
	strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &tm);
	days = difftime(not_after, time(NULL)) / 86400;
	if (days < 0)
		finding(R_TLSEXPIRY, s, PHX_ST_FAIL, SEV_RULE, "tls.not_after",
		    cJSON_CreateString(when), "certificate expired %.0f days ago "
		    "(%s)", -days + 0.5, when);
	else if (days < min)
		finding(R_TLSEXPIRY, s, PHX_ST_WARN, PHX_SEV_MEDIUM, "tls.not_after",
		    cJSON_CreateString(when), "certificate expires in %ld days "
		    "(%s), under security.min_cert_days %ld", (long)days, when, min);
	else
		finding(R_TLSEXPIRY, s, PHX_ST_PASS, SEV_RULE, "tls.not_after",
		    cJSON_CreateString(when), "certificate valid for %ld more "
		    "days (%s)", (long)days, when);
}

void
scan_tls(const struct tls_target *tt)
{
	struct subject s = { tt->service, NULL, tt->url, NULL, NULL, 0 };
	char err[CURL_ERROR_SIZE];
	time_t not_after = 0;
	CURLcode rc;

	if (tls_try(tt, TRY_INFO, err, &not_after) != CURLE_OK) {
		finding(R_TLSCHAIN, &s, PHX_ST_SKIP, SEV_RULE, "tls.handshake",
		    cJSON_CreateString(err), "no TLS check done: the handshake "
		    "failed: %s", err);
		return;
	}
	rc = tls_try(tt, TRY_CHAIN, err, NULL);
	if (rc == CURLE_OK)
		finding(R_TLSCHAIN, &s, PHX_ST_PASS, SEV_RULE, "tls.verify",
		    cJSON_CreateString("ok"), "certificate chain verifies%s%s",
		    tt->ca_file ? " against " : "", tt->ca_file ? tt->ca_file : "");
	else
		finding(R_TLSCHAIN, &s, PHX_ST_FAIL, SEV_RULE, "tls.verify",
		    cJSON_CreateString(err), "certificate chain does not verify: %s",
		    err);
	rc = tls_try(tt, TRY_HOST, err, NULL);
	if (rc == CURLE_OK)
		finding(R_TLSHOST, &s, PHX_ST_PASS, SEV_RULE, "tls.hostname",
		    cJSON_CreateString("ok"), "certificate matches the host name");
	else
		finding(R_TLSHOST, &s, PHX_ST_FAIL, SEV_RULE, "tls.hostname",
		    cJSON_CreateString(err), "host name check failed: %s", err);
	check_tls_legacy(tt, &s);
	check_tls_expiry(&s, not_after);
}

void
add_tls(const char *service, const char *spec, const char *ca_file)
{
	struct tls_target *tt, **tail = &secscan.tls;
	char *url;

	if (strncmp(spec, "https://", 8) == 0)
		url = phx_strdup(spec);
	else if (strspn(spec, "0123456789") == strlen(spec))
		url = phx_asprintf("https://localhost:%s/", spec);
	else
		url = phx_asprintf("https://%s/", spec);
	for (tt = secscan.tls; tt; tail = &tt->next, tt = tt->next)
		if (strcmp(tt->url, url) == 0) {
			free(url);
			return;
		}
	tt = phx_calloc(1, sizeof *tt);
	tt->url = url;
	tt->service = service ? phx_strdup(service) : NULL;
	if (!ca_file)
		ca_file = phx_cfg_opt_str(secscan.cfg, "security.ca_file");
	tt->ca_file = ca_file ? phx_strdup(ca_file) : NULL;
	*tail = tt;
}

/* TLS endpoints that security.yaml or services.yaml give for a service */
void
add_tls_from_config(const char *svc)
{
	const cJSON *conf = cJSON_GetObjectItemCaseSensitive(
	    phx_cfg(secscan.cfg, "services"), svc);
	const cJSON *tp = cJSON_GetObjectItemCaseSensitive(
	    phx_cfg(secscan.cfg, "security.tls_ports"), svc);
	const char *ca = phx_jstr(conf, "ca_file");
	const char *url = phx_jstr(conf, "url");

	if (cJSON_IsString(tp))
		add_tls(svc, tp->valuestring, ca);
	if (url && strncmp(url, "https://", 8) == 0)
		add_tls(svc, url, ca);
	if (cJSON_IsNumber(cJSON_GetObjectItemCaseSensitive(conf, "tls_port"))) {
		const char *host = phx_jstr(conf, "host") ? phx_jstr(conf, "host") :
		    "localhost";
		char *spec = phx_asprintf("%s:%.0f", host,
		    phx_jnum(conf, "tls_port", 0));
		add_tls(svc, spec, ca);
		free(spec);
	}
}

void
free_tls(void)
{
	while (secscan.tls) {
		struct tls_target *tt = secscan.tls;
		secscan.tls = tt->next;
		free(tt->url);
		free(tt->service);
		free(tt->ca_file);
		free(tt);
	}
}
