/*
 * issue.c — server and client certificates signed by a CA.
 * The subjectAltName is built as GENERAL_NAMES rather than from a config
 * string, so no user-supplied name is ever parsed as extension syntax.
 */
#include "pki/issue.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <openssl/asn1.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/nid.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "pki/internal.h"
#include "pki/pem.h"

void rv_pki_issue_opts_init(struct rv_pki_issue_opts *opts, enum rv_pki_cert_kind kind,
			    const char *name)
{
	memset(opts, 0, sizeof(*opts));
	opts->kind = kind;
	opts->name = name;
	opts->out_dir = ".";
	opts->not_before_s = RV_PKI_CERT_BACKDATE_S;
	opts->not_after_s = (int64_t)RV_PKI_LEAF_DAYS_DEFAULT * 86400;
}

/* is_ip reports whether |name| is a literal IPv4 or IPv6 address. */
static bool is_ip(const char *name)
{
	uint8_t buf[16];

	return inet_pton(AF_INET, name, buf) == 1 || inet_pton(AF_INET6, name, buf) == 1;
}

/* numeric_top_label reports whether |name|'s last dot-separated label is
 * all digits: no DNS name ends so (RFC 1123 2.1, RFC 3696 2), while
 * inet_aton's short forms of an IPv4 address (127.1, 2130706433) do; or
 * whether inet_aton takes it at all (its hexadecimal forms, 0x7f.0x1,
 * which the resolver also takes for 127.0.0.1: round-twenty-seven tester
 * 133). */
static bool numeric_top_label(const char *name)
{
	const char *top = strrchr(name, '.');
	struct in_addr a;

	if (inet_aton(name, &a) != 0) {
		return true;
	}

	top = top != NULL ? top + 1 : name;
	if (*top == '\0') {
		return false;
	}
	for (; *top != '\0'; top++) {
		if (*top < '0' || *top > '9') {
			return false;
		}
	}
	return true;
}

static int add_san(X509 *x, const char *name, struct rv_pki_err *err)
{
	GENERAL_NAMES *gens = sk_GENERAL_NAME_new_null();
	GENERAL_NAME *gen = GENERAL_NAME_new();
	int ok = 0;

	if (gens == NULL || gen == NULL) {
		goto out;
	}
	if (is_ip(name)) {
		ASN1_OCTET_STRING *ip = a2i_IPADDRESS(name);

		if (ip == NULL) {
			goto out;
		}
		GENERAL_NAME_set0_value(gen, GEN_IPADD, ip);
	} else {
		ASN1_IA5STRING *dns = ASN1_IA5STRING_new();

		if (dns == NULL || !ASN1_STRING_set(dns, name, (int)strlen(name))) {
			ASN1_IA5STRING_free(dns);
			goto out;
		}
		GENERAL_NAME_set0_value(gen, GEN_DNS, dns);
	}
	if (!sk_GENERAL_NAME_push(gens, gen)) {
		goto out;
	}
	gen = NULL; /* owned by gens now */
	ok = X509_add1_ext_i2d(x, NID_subject_alt_name, gens, 0, X509V3_ADD_DEFAULT);
out:
	GENERAL_NAME_free(gen);
	GENERAL_NAMES_free(gens);
	if (!ok) {
		pki_err_ssl(err, RV_PKI_ERR_OP, "cannot add subjectAltName %s", name);
		return -ENOMEM;
	}
	return 0;
}

static int check_opts(const struct rv_pki_issue_opts *opts, struct rv_pki_err *err)
{
	const char *base = opts->file_base != NULL ? opts->file_base : opts->name;

	if (opts->name == NULL || opts->name[0] == '\0') {
		pki_errf(err, RV_PKI_ERR_USAGE, "a certificate name is required (--name)");
		return -EINVAL;
	}
	if (opts->kind == RV_PKI_CERT_SERVER) {
		if (!is_ip(opts->name) && numeric_top_label(opts->name)) {
			pki_errf(err, RV_PKI_ERR_USAGE,
				 "'%s' is no DNS name (its last label is a number) and no "
				 "IP address as written: a short or hexadecimal form of an "
				 "address (127.1, 10.258, 0x7f.0x1) would be certified as a "
				 "DNS name that no client connecting to the address checks; "
				 "write the address in full (127.0.0.1)",
				 opts->name);
			return -EINVAL;
		}
		if (!is_ip(opts->name) && !pki_valid_dns(opts->name)) {
			pki_errf(err, RV_PKI_ERR_USAGE,
				 "'%s' is neither a DNS name (letters, digits, '-' in labels of "
				 "1..63, dot-separated) nor an IP address",
				 opts->name);
			return -EINVAL;
		}
		if (strlen(opts->name) > 64) {
			pki_errf(err, RV_PKI_ERR_USAGE,
				 "server name '%s' is longer than 64 characters, the limit for a "
				 "certificate's common name",
				 opts->name);
			return -EINVAL;
		}
	} else if (!pki_valid_cn(opts->name)) {
		pki_errf(err, RV_PKI_ERR_USAGE,
			 "client name '%s' must be 1..64 characters of letters, digits, '.', "
			 "'_', '-', '@', not starting with '.' or '-'",
			 opts->name);
		return -EINVAL;
	}
	if (!pki_valid_cn(base) || strchr(base, ':') != NULL) {
		/* An IPv6 address as the name: its ':' said (the help gave
		 * NAME as the default: round-sixty-seven tester 287). */
		pki_errf(err, RV_PKI_ERR_USAGE,
			 "'%s' cannot be used as a file name%s; pass a plain name with --file",
			 base, strchr(base, ':') ? " (':' is kept out of file names)" : "");
		return -EINVAL;
	}
	return 0;
}

static int build_cert(X509 **out, const struct rv_pki_ca *ca, EVP_PKEY *key,
		      const struct rv_pki_issue_opts *opts, struct rv_pki_err *err)
{
	bool server = opts->kind == RV_PKI_CERT_SERVER;
	const struct pki_ext exts[] = {
		{ NID_basic_constraints, "critical,CA:FALSE" },
		{ NID_key_usage, "critical,digitalSignature" },
		{ NID_ext_key_usage, server ? "serverAuth" : "clientAuth" },
		{ NID_subject_key_identifier, "hash" },
		{ NID_authority_key_identifier, "keyid:always" },
	};
	char what[128];
	X509 *x;
	int ret;

	*out = NULL;
	snprintf(what, sizeof(what), "the certificate for %s", opts->name);
	ret = pki_cert_new(&x, opts->name, ca->cert, key, opts->not_before_s, opts->not_after_s,
			   what, err);
	if (ret != 0) {
		return ret;
	}
	ret = pki_add_exts(ca->cert, x, exts, sizeof(exts) / sizeof(exts[0]), err);
	if (ret == 0 && server) {
		ret = add_san(x, opts->name, err);
	}
	if (ret == 0) {
		ret = pki_cert_sign(x, ca->key, what, err);
	}
	if (ret != 0) {
		X509_free(x);
		return ret;
	}
	*out = x;
	return 0;
}

/* within_ca copies |opts| to |o| with the validity cut at the CA's end
 * (|*cut_to| set to it; a certificate past it would pass `pki verify` and
 * die with the CA all the same). A CA that has ended issues nothing. */
static int within_ca(const struct rv_pki_ca *ca, const struct rv_pki_issue_opts *opts,
		     struct rv_pki_issue_opts *o, int64_t *cut_to, struct rv_pki_err *err)
{
	int64_t now = (int64_t)time(NULL), end;
	int days, secs;

	*o = *opts;
	*cut_to = 0;
	/* From now (NULL) to the CA's end. */
	if (!ASN1_TIME_diff(&days, &secs, NULL, X509_get0_notAfter(ca->cert))) {
		ERR_clear_error();
		return 0; /* cannot tell: the CA's own validity decides */
	}
	end = now + (int64_t)days * 86400 + secs;
	if (end <= now) {
		pki_errf(err, RV_PKI_ERR_CERT, "the CA in %s has expired: make a new one", ca->dir);
		return -EINVAL;
	}
	if (now + o->not_after_s > end) {
		o->not_after_s = end - now;
		*cut_to = end;
		if (o->not_before_s >= o->not_after_s) {
			pki_errf(err, RV_PKI_ERR_USAGE,
				 "the validity asked for starts after the CA in %s ends", ca->dir);
			return -EINVAL;
		}
	}
	return 0;
}

int rv_pki_issue(const struct rv_pki_ca *ca, const struct rv_pki_issue_opts *opts,
		 struct rv_pki_issued *out, struct rv_pki_err *err)
{
	const char *base = opts->file_base != NULL ? opts->file_base : opts->name;
	struct rv_pki_issue_opts o;
	struct rv_pki_issued paths = { .cut_to = 0 };
	struct pki_staged key_st, crt_st;
	char bak[PATH_MAX + 32];
	bool have_bak = false;
	EVP_PKEY *key = NULL;
	X509 *cert = NULL;
	int ret;

	ret = check_opts(opts, err);
	if (ret != 0) {
		return ret;
	}
	if ((ret = pki_path(paths.crt, sizeof(paths.crt), opts->out_dir, base, ".crt", err)) != 0 ||
	    (ret = pki_path(paths.key, sizeof(paths.key), opts->out_dir, base, ".key", err)) != 0) {
		return ret;
	}
	if (!opts->force) {
		const char *exists = pki_exists(paths.key)   ? paths.key
				     : pki_exists(paths.crt) ? paths.crt
							     : NULL;
		if (exists != NULL) {
			pki_errf(err, RV_PKI_ERR_OP,
				 "%s already exists; refusing to overwrite it (use --force to "
				 "replace it, or --file to pick another name)",
				 exists);
			return -EEXIST;
		}
	}
	ret = within_ca(ca, opts, &o, &paths.cut_to, err);
	if (ret != 0) {
		return ret;
	}
	ret = pki_new_key(&key, err);
	if (ret != 0) {
		return ret;
	}
	ret = build_cert(&cert, ca, key, &o, err);
	if (ret == 0) {
		ret = pki_serial_hex(paths.serial, sizeof(paths.serial),
				     X509_get0_serialNumber(cert), err);
	}
	if (ret != 0) {
		goto out;
	}
	/* Both written before either is put in place: a write that fails
	 * (a full disk) leaves the old key and certificate as they were
	 * (the key replaced first, a --force left the old certificate
	 * without its key). What can still fail after that is a rename
	 * within the directory. */
	ret = rv_pem_stage_key(&key_st, paths.key, key, err);
	if (ret != 0) {
		goto out;
	}
	ret = rv_pem_stage_cert(&crt_st, paths.crt, cert, err);
	if (ret != 0) {
		pki_unstage_file(&key_st);
		goto out;
	}
	/* The old key kept aside (a hard link) until the certificate is in
	 * place: a certificate that could not replace the old one (a file
	 * mounted over it, a directory there) left the old certificate
	 * without any key, the old one deleted (round-twenty-seven tester
	 * 133). */
	if (opts->force) {
		/* One name, not one a process: a run killed meanwhile
		 * leaves it, and the next --force removes it (tester 134). */
		snprintf(bak, sizeof(bak), "%s.old", paths.key);
		(void)unlink(bak);
		if (link(paths.key, bak) == 0) {
			have_bak = true;
		} else if (errno != ENOENT) {
			ret = -errno;
			pki_errf(err, RV_PKI_ERR_OP, "%s: cannot keep the old key aside: %s",
				 paths.key, strerror(-ret));
			pki_unstage_file(&key_st);
			pki_unstage_file(&crt_st);
			goto out;
		}
	}
	ret = pki_publish_file(&key_st, opts->force, err);
	if (ret != 0) {
		pki_unstage_file(&crt_st);
		goto out_bak;
	}
	ret = pki_publish_file(&crt_st, opts->force, err);
	if (ret != 0) {
		/* The old key back with the old certificate, or none. */
		if (have_bak && rename(bak, paths.key) == 0) {
			have_bak = false;
		} else {
			unlink(paths.key);
		}
		goto out_bak;
	}
	if (out != NULL) {
		*out = paths;
	}
out_bak:
	if (have_bak) {
		unlink(bak);
	}
out:
	X509_free(cert);
	EVP_PKEY_free(key);
	return ret;
}
