/*
 * ctlload_certs.c — client certificates for the load generator, in bulk.
 *
 * `ringvpn pki client` takes about 40 ms a certificate on this machine,
 * nearly all of it starting the process, so 10,000 take minutes; the same
 * call into pki/ (rv_pki_issue, the code behind the CLI) in one process
 * takes well under a millisecond each. Certificates already present are kept,
 * so a cache directory grows to the largest N asked for.
 */
#include "perf/ctlload.h"

#include <errno.h>
#include <stdio.h>
#include <unistd.h>

#include "pki/ca.h"
#include "pki/issue.h"

int ld_certs(const char *ca_dir, const char *out_dir, const char *prefix, unsigned n)
{
	struct rv_pki_ca *ca = NULL;
	struct rv_pki_err err = { 0 };
	unsigned made = 0;
	int ret;

	ret = rv_pki_ca_open(&ca, ca_dir, &err);
	if (ret) {
		fprintf(stderr, "ctlload certs: %s\n", err.msg);
		return ret;
	}
	for (unsigned i = 1; i <= n; i++) {
		struct rv_pki_issue_opts o;
		char name[64], crt[4096];

		snprintf(name, sizeof(name), "%s%u", prefix, i);
		snprintf(crt, sizeof(crt), "%s/%s.crt", out_dir, name);
		if (access(crt, R_OK) == 0) {
			continue;
		}
		rv_pki_issue_opts_init(&o, RV_PKI_CERT_CLIENT, name);
		o.out_dir = out_dir;
		o.force = true; /* a key left without its certificate */
		o.not_after_s = 3650ll * 86400;
		ret = rv_pki_issue(ca, &o, NULL, &err);
		if (ret) {
			fprintf(stderr, "ctlload certs: %s: %s\n", name, err.msg);
			break;
		}
		made++;
	}
	rv_pki_ca_free(ca);
	if (!ret) {
		printf("certs issued=%u present=%u dir=%s\n", made, n, out_dir);
	}
	return ret;
}
