/* What libcurl tells, read once for every stage: a transfer's result as
 * a record's reason, and the peer certificate's expiry from certinfo.
 * Two tools with two tables had drifted apart (a TLS failure was "tls"
 * in a health record and "protocol" in a test record). */
#include <string.h>
#include <time.h>

#include "phx.h"

/* the reasons of man/phx-records.5 that a transfer can end in */
const char *
phx_curl_reason(CURLcode rc)
{
	switch (rc) {
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_COULDNT_RESOLVE_PROXY:
		return "dns";
	case CURLE_COULDNT_CONNECT:
		return "refused";
	case CURLE_OPERATION_TIMEDOUT:
		return "timeout";
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_CERTPROBLEM:
	case CURLE_SSL_CIPHER:
	case CURLE_SSL_CACERT_BADFILE:
	case CURLE_SSL_ISSUER_ERROR:
	case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
	case CURLE_SSL_INVALIDCERTSTATUS:
	case CURLE_SSL_CRL_BADFILE:
	case CURLE_SSL_CLIENTCERT:
	case CURLE_SSL_ENGINE_NOTFOUND:
	case CURLE_SSL_ENGINE_SETFAILED:
	case CURLE_SSL_ENGINE_INITFAILED:
	case CURLE_SSL_SHUTDOWN_FAILED:
	case CURLE_USE_SSL_FAILED:
		return "tls";
	default:
		return "protocol";
	}
}

/* "Mar  5 12:00:00 2031 GMT" from OpenSSL (ASN1_TIME_print), "2031-03-05
 * 12:00:00 GMT" from curl's own parser (GnuTLS and the other backends) */
static bool
expire_date(const char *s, time_t *when)
{
	static const char *const formats[] = {
		"%b %d %H:%M:%S %Y", "%Y-%m-%d %H:%M:%S",
	};

	s += strspn(s, " ");
	for (size_t i = 0; i < sizeof formats / sizeof *formats; i++) {
		struct tm tm = { 0 };
		const char *end = strptime(s, formats[i], &tm);
		if (!end)
			continue;
		end += strspn(end, " ");
		if (strcmp(end, "GMT") != 0 && *end != '\0')
			continue;
		*when = timegm(&tm);
		return *when != (time_t)-1;
	}
	return false;
}

bool
phx_curl_not_after(const struct curl_certinfo *ci, time_t *not_after)
{
	static const char key[] = "Expire date:";

	if (!ci || ci->num_of_certs < 1)
		return false;
	for (const struct curl_slist *s = ci->certinfo[0]; s; s = s->next)
		if (strncmp(s->data, key, sizeof key - 1) == 0)
			return expire_date(s->data + sizeof key - 1, not_after);
	return false;
}
