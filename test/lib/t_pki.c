/*
 * t_pki.c — builds the test PKI described in t_pki.h with the pki/ library.
 */
#include "test/lib/t_pki.h"

#include <errno.h>
#include <ftw.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pki/ca.h"
#include "pki/crl.h"
#include "pki/issue.h"

static int fail(const char *what, int ret, const struct rv_pki_err *err)
{
	fprintf(stderr, "t_pki: %s failed: %s (%s)\n", what, err->msg, strerror(-ret));
	return ret;
}

static int join(char *out, const char *dir, const char *name)
{
	int n = snprintf(out, T_PKI_PATH, "%s/%s", dir, name);

	return n < 0 || n >= T_PKI_PATH ? -ENAMETOOLONG : 0;
}

/* issue writes DIR/name.crt and DIR/name.key signed by |ca|. */
static int issue(struct rv_pki_ca *ca, const char *dir, enum rv_pki_cert_kind kind,
		 const char *name, const char *file, int64_t from_s, int64_t to_s, char *crt,
		 char *key)
{
	struct rv_pki_issue_opts o;
	struct rv_pki_issued out;
	struct rv_pki_err err = { 0 };
	int ret;

	rv_pki_issue_opts_init(&o, kind, name);
	o.out_dir = dir;
	o.file_base = file;
	if (to_s != 0) {
		o.not_before_s = from_s;
		o.not_after_s = to_s;
	}
	ret = rv_pki_issue(ca, &o, &out, &err);
	if (ret != 0) {
		return fail(name, ret, &err);
	}
	if (snprintf(crt, T_PKI_PATH, "%s", out.crt) >= T_PKI_PATH ||
	    snprintf(key, T_PKI_PATH, "%s", out.key) >= T_PKI_PATH) {
		return -ENAMETOOLONG;
	}
	return 0;
}

static int make_ca(const char *dir, const char *name, struct rv_pki_ca **out)
{
	struct rv_pki_ca_opts o = { .name = name, .days = 30 };
	struct rv_pki_err err = { 0 };
	int ret;

	ret = rv_pki_ca_create(dir, &o, &err);
	if (ret == 0) {
		ret = rv_pki_ca_open(out, dir, &err);
	}
	return ret != 0 ? fail(dir, ret, &err) : 0;
}

int t_pki_create(struct t_pki *p)
{
	const char *tmp = getenv("TMPDIR");
	struct rv_pki_ca *ca = NULL, *other = NULL;
	struct rv_pki_err err = { 0 };
	struct rv_pki_revoked done;
	int ret;

	memset(p, 0, sizeof(*p));
	/* tmpfs by default: the keys never reach a disk, and the fsync()s that
	 * pki/ does for every file cost nothing there. */
	if (tmp == NULL || tmp[0] == '\0') {
		tmp = access("/dev/shm", W_OK | X_OK) == 0 ? "/dev/shm" : "/tmp";
	}
	if (snprintf(p->dir, sizeof(p->dir), "%s/rvt-pki-XXXXXX", tmp) >= (int)sizeof(p->dir)) {
		return -ENAMETOOLONG;
	}
	if (mkdtemp(p->dir) == NULL) {
		ret = -errno;
		fprintf(stderr, "t_pki: mkdtemp %s: %s\n", p->dir, strerror(errno));
		p->dir[0] = '\0';
		return ret;
	}
	if ((ret = join(p->ca_dir, p->dir, "ca")) != 0 ||
	    (ret = join(p->ca_crt, p->ca_dir, "ca.crt")) != 0 ||
	    (ret = join(p->ca_key, p->ca_dir, "ca.key")) != 0 ||
	    (ret = join(p->ca_crl, p->ca_dir, "ca.crl")) != 0 ||
	    (ret = join(p->other_ca_dir, p->dir, "other-ca")) != 0 ||
	    (ret = join(p->other_ca_crt, p->other_ca_dir, "ca.crt")) != 0 ||
	    (ret = join(p->other_ca_key, p->other_ca_dir, "ca.key")) != 0) {
		goto err;
	}
	if ((ret = make_ca(p->ca_dir, "ringvpn test CA", &ca)) != 0 ||
	    (ret = make_ca(p->other_ca_dir, "other test CA", &other)) != 0) {
		goto err;
	}
	ret = issue(ca, p->dir, RV_PKI_CERT_SERVER, T_PKI_SERVER_NAME, "server", 0, 0,
		    p->server_crt, p->server_key);
	for (int i = 0; ret == 0 && i < T_PKI_NUM_CLIENTS; i++) {
		char name[16];

		snprintf(name, sizeof(name), "client%d", i + 1);
		ret = issue(ca, p->dir, RV_PKI_CERT_CLIENT, name, NULL, 0, 0, p->client_crt[i],
			    p->client_key[i]);
	}
	if (ret == 0) {
		/* Valid for one day, ending one day ago. */
		ret = issue(ca, p->dir, RV_PKI_CERT_CLIENT, "expired", NULL, -2 * 86400, -86400,
			    p->expired_crt, p->expired_key);
	}
	if (ret == 0) {
		ret = issue(other, p->dir, RV_PKI_CERT_CLIENT, "rogue", NULL, 0, 0, p->rogue_crt,
			    p->rogue_key);
	}
	if (ret == 0) {
		ret = issue(ca, p->dir, RV_PKI_CERT_CLIENT, "revoked", NULL, 0, 0, p->revoked_crt,
			    p->revoked_key);
	}
	if (ret != 0) {
		goto err;
	}
	ret = rv_pki_revoke(ca, p->revoked_crt, 0, &done, &err);
	if (ret != 0) {
		fail("revoke", ret, &err);
		goto err;
	}
	rv_pki_ca_free(other);
	rv_pki_ca_free(ca);
	return 0;

err:
	rv_pki_ca_free(other);
	rv_pki_ca_free(ca);
	t_pki_destroy(p);
	return ret;
}

int t_pki_add_client(const struct t_pki *p, const char *name, char *out_crt, char *out_key)
{
	struct rv_pki_ca *ca;
	struct rv_pki_err err = { 0 };
	int ret;

	ret = rv_pki_ca_open(&ca, p->ca_dir, &err);
	if (ret != 0) {
		return fail("open CA", ret, &err);
	}
	ret = issue(ca, p->dir, RV_PKI_CERT_CLIENT, name, NULL, 0, 0, out_crt, out_key);
	rv_pki_ca_free(ca);
	return ret;
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	if (flag == FTW_DP) {
		rmdir(path);
	} else {
		unlink(path);
	}
	return 0;
}

void t_pki_destroy(struct t_pki *p)
{
	/* Only ever remove what t_pki_create made: a non-empty rvt-pki-* dir. */
	if (p->dir[0] != '\0' && strstr(p->dir, "/rvt-pki-") != NULL) {
		nftw(p->dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	}
	memset(p, 0, sizeof(*p));
}
