/*
 * crl.c — the revocation index (revoked.txt) and the CRL built from it.
 * The index is parsed strictly: a malformed line is an error naming the
 * file and line, never silently skipped, since skipping would un-revoke.
 */
#include "pki/crl.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/asn1.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/mem.h>
#include <openssl/nid.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "crypto/x509path.h"
#include "pki/ca.h"
#include "pki/internal.h"
#include "pki/issue.h"
#include "pki/pem.h"

/* A serial is at most 20 octets (RFC 5280), so 40 hex digits. */
#define SERIAL_HEX_MAX (2 * RV_X509_SERIAL_MAX)

struct revoked {
	char serial[SERIAL_HEX_MAX + 1]; /* canonical: BN_bn2hex of the value */
	int64_t when;			 /* revocation time, unix seconds */
};

struct index {
	char path[PATH_MAX];
	uint8_t *text; /* the file as read, with one extra NUL */
	size_t text_len;
	struct revoked *ent;
	size_t num_ent;
};

static void index_cleanup(struct index *idx)
{
	free(idx->text);
	free(idx->ent);
	idx->text = NULL;
	idx->ent = NULL;
}

/* canon_serial validates |in| (1..40 hex digits, not zero) and writes its
 * canonical form to |out|. */
static int canon_serial(char out[SERIAL_HEX_MAX + 1], const char *in, size_t in_len)
{
	BIGNUM *bn = NULL;
	char tmp[SERIAL_HEX_MAX + 1];
	char *hex;
	int ret = -EINVAL;

	if (in_len == 0 || in_len > SERIAL_HEX_MAX) {
		return -EINVAL;
	}
	for (size_t i = 0; i < in_len; i++) {
		if (!isxdigit((unsigned char)in[i])) {
			return -EINVAL;
		}
	}
	memcpy(tmp, in, in_len);
	tmp[in_len] = '\0';
	if (BN_hex2bn(&bn, tmp) != (int)in_len || BN_is_zero(bn)) {
		BN_free(bn);
		return -EINVAL;
	}
	hex = BN_bn2hex(bn);
	if (hex != NULL && strlen(hex) <= SERIAL_HEX_MAX) {
		strcpy(out, hex);
		ret = 0;
	}
	OPENSSL_free(hex);
	BN_free(bn);
	return ret;
}

/* unlistable: is the index's serial field |in| a number no certificate may
 * carry, zero, negative ('-' first) or longer than 20 octets (40 hex
 * digits, leading zeros aside)? An older `pki revoke --cert` wrote zero
 * and negative ones (round-seventy tester 322). */
static bool unlistable(const char *in, size_t in_len)
{
	bool neg = in_len > 0 && in[0] == '-', zero = true;
	size_t digits = 0;

	for (size_t i = neg; i < in_len; i++) {
		if (!isxdigit((unsigned char)in[i])) {
			return false; /* no number: malformed */
		}
		zero = zero && in[i] == '0';
		digits += !zero;
	}
	return in_len > neg && (neg || zero || digits > SERIAL_HEX_MAX);
}

static int index_load(struct index *idx, const struct rv_pki_ca *ca, struct rv_pki_err *err)
{
	uint8_t *buf = NULL;
	size_t len = 0, cap = 0, line = 0;
	struct stat st;
	char *p, *end;
	int ret;

	memset(idx, 0, sizeof(*idx));
	ret = pki_path(idx->path, sizeof(idx->path), ca->dir, RV_PKI_CA_INDEX, "", err);
	if (ret != 0) {
		return ret;
	}
	/* Checked as the CA key is: whoever may write the index revokes
	 * anyone at the next `pki crl` (round-twenty-seven tester 133). */
	ret = pki_not_ours(idx->path, "revocation index", false, err);
	if (ret != 0) {
		return ret;
	}
	/* A missing or empty index means nothing is revoked (pki_read_file
	 * rejects empty files, so skip it for those); a CRL that revoked
	 * something is not rebuilt from it without --unrevoke
	 * (keeps_revocations). */
	if (stat(idx->path, &st) == 0 && !(S_ISREG(st.st_mode) && st.st_size == 0)) {
		ret = pki_read_file(&buf, &len, idx->path, RV_PKI_ERR_CERT, "revocation index",
				    PKI_MAX_LIST, err);
		if (ret != 0) {
			return ret;
		}
	}
	idx->text = malloc(len + 1);
	if (idx->text == NULL) {
		free(buf);
		pki_errf(err, RV_PKI_ERR_OP, "out of memory");
		return -ENOMEM;
	}
	if (len > 0) {
		memcpy(idx->text, buf, len);
	}
	free(buf);
	idx->text[len] = '\0';
	idx->text_len = len;
	/* A NUL would end the walk below (and the rewrite of the index) at
	 * that line: every entry behind it silently un-revoked, then lost. */
	for (size_t i = 0, at = 1; i < len; i++) {
		if (idx->text[i] == '\0') {
			pki_errf(err, RV_PKI_ERR_CERT,
				 "%s:%zu: a NUL byte (the file is damaged: nothing is "
				 "revoked or rewritten until it is repaired)",
				 idx->path, at);
			free(idx->text);
			idx->text = NULL;
			return -EINVAL;
		}
		at += idx->text[i] == '\n';
	}

	for (p = (char *)idx->text; *p != '\0'; p = end) {
		char *nl = strchr(p, '\n');
		char *sp, *tend;
		long long when;

		line++;
		end = nl != NULL ? nl + 1 : p + strlen(p);
		if (*p == '#' || *p == '\n') {
			continue;
		}
		if (idx->num_ent == cap) {
			size_t ncap = cap == 0 ? 16 : cap * 2;
			struct revoked *n = realloc(idx->ent, ncap * sizeof(*n));

			if (n == NULL) {
				pki_errf(err, RV_PKI_ERR_OP, "out of memory");
				ret = -ENOMEM;
				goto err;
			}
			idx->ent = n;
			cap = ncap;
		}
		sp = memchr(p, ' ', (size_t)(end - p));
		if (sp != NULL && unlistable(p, (size_t)(sp - p))) {
			/* "Malformed, fix it" left the operator to guess at a
			 * line that looks right (tester 322). */
			pki_errf(err, RV_PKI_ERR_CERT,
				 "%s:%zu: serial %.*s is one no certificate may carry (zero, "
				 "negative or longer than 20 octets: RFC 5280), which an older "
				 "'ringvpn pki revoke' listed: remove the line, then run "
				 "'ringvpn pki crl --ca %s' (its revocation in %s/%s, if there, is "
				 "carried over into every new CRL; no ringvpn peer takes a "
				 "certificate of that serial, nor one under an intermediate of it)",
				 idx->path, line, (int)(sp - p > 48 ? 48 : sp - p), p, ca->dir,
				 ca->dir, RV_PKI_CA_CRL);
			ret = -EINVAL;
			goto err;
		}
		if (sp == NULL ||
		    canon_serial(idx->ent[idx->num_ent].serial, p, (size_t)(sp - p)) != 0) {
			goto bad_line;
		}
		errno = 0;
		when = strtoll(sp + 1, &tend, 10);
		if (errno != 0 || tend == sp + 1 || when < 0 ||
		    (*tend != ' ' && *tend != '\n' && *tend != '\0')) {
			goto bad_line;
		}
		idx->ent[idx->num_ent++].when = when;
	}
	return 0;

bad_line:
	pki_errf(err, RV_PKI_ERR_CERT,
		 "%s:%zu: malformed line (expected '<hex serial> <unix time> <subject>'); fix "
		 "or remove it, then run 'ringvpn pki crl --ca %s'",
		 idx->path, line, ca->dir);
	ret = -EINVAL;
err:
	index_cleanup(idx);
	return ret;
}

static bool index_has(const struct index *idx, const char *serial)
{
	for (size_t i = 0; i < idx->num_ent; i++) {
		if (strcmp(idx->ent[i].serial, serial) == 0) {
			return true;
		}
	}
	return false;
}

struct lift {
	char (*serials)[SERIAL_HEX_MAX + 1]; /* canonical */
	size_t num;
	bool *seen; /* per serial: the old CRL revokes it */
};

static bool lift_has(const struct lift *lift, const char *serial)
{
	bool has = false;

	for (size_t i = 0; i < lift->num; i++) {
		if (strcmp(lift->serials[i], serial) == 0) {
			lift->seen[i] = true; /* every copy: a serial named twice */
			has = true;
		}
	}
	return has;
}

/* What a CRL built from the index would leave out of the previous one
 * (dropped): |num| serials, the first in |first|; and the revocations of
 * a number no certificate may carry, which it carries over instead, in
 * |carry| (NULL: none; owned), the first's serial in |first_unlistable|. */
struct left_out {
	size_t num;
	char first[SERIAL_HEX_MAX + 1];
	char first_unlistable[SERIAL_HEX_MAX + 8];
	STACK_OF(X509_REVOKED) * carry;
};

/* carry_free frees revocations carried over (NULL: none). */
static void carry_free(STACK_OF(X509_REVOKED) * carry)
{
	sk_X509_REVOKED_pop_free(carry, X509_REVOKED_free);
}

/* carry_keep adds a copy of |rev| to |out|'s revocations carried over.
 * Returns 0 or -ENOMEM. */
static int carry_keep(struct left_out *out, X509_REVOKED *rev)
{
	X509_REVOKED *copy = X509_REVOKED_dup(rev);

	if (out->carry == NULL) {
		out->carry = sk_X509_REVOKED_new_null();
	}
	if (copy == NULL || out->carry == NULL || !sk_X509_REVOKED_push(out->carry, copy)) {
		X509_REVOKED_free(copy);
		return -ENOMEM;
	}
	return 0;
}

/* dropped counts the serials |old| revokes that |idx| does not and |lift|
 * does not name (nor |adding|, a serial about to join |idx|): what a CRL
 * built from |idx| would un-revoke unasked. Those of a number no
 * certificate may carry (zero, negative, longer than 20 octets), which
 * another tool's CRL or an older `pki revoke --cert` put there, go into
 * |out->carry| instead: no index can list them, so no command could put
 * them back or lift them, and every `pki crl` and `pki revoke` was refused
 * (round-seventy tester 322); left out, they let a revoked intermediate of
 * serial 0 back in, whose leaves a peer then took (tester 324). Returns 0
 * or -ENOMEM. */
static int dropped(X509_CRL *old, const struct index *idx, const struct lift *lift,
		   const char *adding, struct left_out *out)
{
	STACK_OF(X509_REVOKED) *revs = X509_CRL_get_REVOKED(old);
	int ret = 0;

	for (size_t i = 0; ret == 0 && i < sk_X509_REVOKED_num(revs); i++) {
		X509_REVOKED *rev = sk_X509_REVOKED_value(revs, i);
		BIGNUM *bn = ASN1_INTEGER_to_BN(X509_REVOKED_get0_serialNumber(rev), NULL);
		char *hex = bn != NULL ? BN_bn2hex(bn) : NULL;

		if (hex != NULL && (BN_is_zero(bn) || BN_is_negative(bn) ||
				    BN_num_bytes(bn) > RV_X509_SERIAL_MAX)) {
			if (out->carry == NULL) {
				snprintf(out->first_unlistable, sizeof(out->first_unlistable),
					 strlen(hex) > SERIAL_HEX_MAX ? "%.*s..." : "%.*s",
					 SERIAL_HEX_MAX, hex);
			}
			ret = carry_keep(out, rev);
		} else if (hex == NULL || (!index_has(idx, hex) && !lift_has(lift, hex) &&
					   (adding == NULL || strcmp(adding, hex) != 0))) {
			if (out->num++ == 0) {
				snprintf(out->first, sizeof(out->first), "%s",
					 hex != NULL ? hex : "?");
			}
		}
		OPENSSL_free(hex);
		BN_free(bn);
	}
	return ret;
}

/* keeps_revocations checks that |idx| lists every serial the CA's ca.crl
 * (if any, and signed by this CA: next_crl_number judges the rest)
 * revokes, but those |lift| names, each of which it must revoke and |idx|
 * no longer list. revoked.txt is the source of truth, but one that lost
 * lines (deleted, left behind when the directory was copied, cut) would
 * have the next CRL, numbered above the last, let the revoked back in,
 * silently: a revocation is lifted by name (pki crl --unrevoke SERIAL).
 * The revocations of serials no index can list go into |*carry| (NULL
 * if none; the caller frees it with carry_free), for the next CRL to
 * carry over, said in a note. Returns 0 or -errno. */
static int keeps_revocations(const struct rv_pki_ca *ca, const struct index *idx,
			     const struct lift *lift, const char *adding,
			     STACK_OF(X509_REVOKED) * *carry, struct rv_pki_err *err)
{
	struct left_out out = { 0 };
	char crl_path[PATH_MAX];
	X509_CRL *old = NULL;
	size_t n;
	int ret;

	*carry = NULL;

	for (size_t i = 0; i < lift->num; i++) {
		if (index_has(idx, lift->serials[i])) {
			pki_errf(err, RV_PKI_ERR_USAGE,
				 "serial %s is still listed in %s: remove its line, then run "
				 "'ringvpn pki crl --ca %s --unrevoke %s' again to lift its "
				 "revocation (both are needed: the line alone is refused as a lost "
				 "one)",
				 lift->serials[i], idx->path, ca->dir, lift->serials[i]);
			return -EINVAL;
		}
	}
	ret = pki_path(crl_path, sizeof(crl_path), ca->dir, RV_PKI_CA_CRL, "", err);
	if (ret != 0) {
		return ret;
	}
	if (pki_exists(crl_path)) {
		ret = rv_pem_read_crl(&old, crl_path, err);
		if (ret != 0) {
			char why[sizeof(err->msg)];

			/* Its revocations cannot be compared: a backup holds them. */
			snprintf(why, sizeof(why), "%s", err != NULL ? err->msg : "unreadable");
			/* Without a ca.crl the next is numbered by the time,
			 * above the earlier ones (next_crl_number): it was said
			 * to be numbered from 1 and refused by running servers
			 * (round-seventy tester 322). */
			pki_errf(err, RV_PKI_ERR_CERT,
				 "%s; restore it from a backup, or move it away and run 'ringvpn "
				 "pki crl --ca %s' to sign one from revoked.txt (numbered by the "
				 "time, above the CRLs this CA signed before, so that running "
				 "servers take it)",
				 why, ca->dir);
			return ret;
		}
		ret = X509_CRL_verify(old, ca->key) == 1 ? dropped(old, idx, lift, adding, &out)
							 : 0;
		ERR_clear_error();
		X509_CRL_free(old);
		if (ret != 0) {
			pki_errf(err, RV_PKI_ERR_OP, "out of memory");
			goto err;
		}
	}
	if (out.num != 0) {
		pki_errf(err, RV_PKI_ERR_CERT,
			 "%s revokes %zu certificate(s) that %s does not list (serial %s%s; "
			 "'ringvpn pki show %s' lists them): restore the index or put each back "
			 "with 'ringvpn pki revoke --ca %s --serial SERIAL'; to lift a "
			 "revocation on purpose, 'ringvpn pki crl --ca %s --unrevoke SERIAL'",
			 crl_path, out.num, idx->path, out.first, out.num > 1 ? " and others" : "",
			 crl_path, ca->dir, ca->dir);
		ret = -EINVAL;
		goto err;
	}
	for (size_t i = 0; i < lift->num; i++) {
		if (!lift->seen[i]) {
			pki_errf(err, RV_PKI_ERR_USAGE, "serial %s is not revoked by %s",
				 lift->serials[i], crl_path);
			ret = -EINVAL;
			goto err;
		}
	}
	/* Never dropped: a revoked intermediate of serial 0 (another tool's,
	 * in the CA's CRL) was left out, and its leaves got in again (round-
	 * seventy tester 324). */
	n = out.carry != NULL ? sk_X509_REVOKED_num(out.carry) : 0;
	if (n != 0) {
		pki_note(err,
			 "%s revokes %zu certificate(s) of a serial %s cannot list (serial %s%s: "
			 "zero, negative or longer than 20 octets; another tool's, or listed by "
			 "an older 'ringvpn pki revoke'): carried over into the new CRL, as into "
			 "every one after it",
			 crl_path, n, idx->path, out.first_unlistable, n > 1 ? " and others" : "");
	}
	*carry = out.carry;
	return 0;

err:
	carry_free(out.carry);
	return ret;
}

/* next_crl_number reads the previous ca.crl (if any), checks it was signed by
 * this CA, and returns its cRLNumber + 1. Without one: 1 for a new CA
 * (|first|), else the time in seconds, said in |err| as a note (kind NONE):
 * a CA directory restored without its ca.crl numbered again from 1, below
 * what the servers run, which they refuse, and each `pki crl` the servers'
 * advice asked for added only one. */
static int next_crl_number(ASN1_INTEGER **out, const struct rv_pki_ca *ca, const char *crl_path,
			   bool first, struct rv_pki_err *err)
{
	X509_CRL *old = NULL;
	ASN1_INTEGER *num = NULL;
	BIGNUM *bn = NULL;
	int ret;

	*out = NULL;
	if (pki_exists(crl_path)) {
		ret = rv_pem_read_crl(&old, crl_path, err);
		if (ret != 0) {
			goto out;
		}
		if (X509_CRL_verify(old, ca->key) != 1) {
			pki_err_ssl(err, RV_PKI_ERR_CERT,
				    "%s was not signed by this CA; move it away and run 'ringvpn "
				    "pki crl --ca %s'",
				    crl_path, ca->dir);
			ret = -EINVAL;
			goto out;
		}
		num = X509_CRL_get_ext_d2i(old, NID_crl_number, NULL, NULL);
	}
	bn = num != NULL ? ASN1_INTEGER_to_BN(num, NULL) : BN_new();
	if (bn != NULL && num == NULL && !first) {
		uint64_t t = (uint64_t)time(NULL);

		if (!BN_set_u64(bn, t - 1)) {
			BN_free(bn);
			bn = NULL;
		}
		pki_note(err,
			 "no %s before: this CRL is numbered %llu (the time), above those this "
			 "CA numbered before, so that running servers take it; it revokes only "
			 "what %s/%s lists",
			 crl_path, (unsigned long long)t, ca->dir, RV_PKI_CA_INDEX);
	}
	if (bn == NULL || !BN_add_word(bn, 1) || (*out = BN_to_ASN1_INTEGER(bn, NULL)) == NULL) {
		pki_err_ssl(err, RV_PKI_ERR_OP, "cannot compute the next CRL number");
		ret = -ENOMEM;
		goto out;
	}
	ret = 0;
out:
	BN_free(bn);
	ASN1_INTEGER_free(num);
	X509_CRL_free(old);
	return ret;
}

static int add_revoked(X509_CRL *crl, const struct revoked *r)
{
	X509_REVOKED *rev = X509_REVOKED_new();
	BIGNUM *bn = NULL;
	ASN1_INTEGER *serial = NULL;
	ASN1_TIME *when = ASN1_TIME_set(NULL, (time_t)r->when);
	int ok;

	ok = rev != NULL && when != NULL && BN_hex2bn(&bn, r->serial) > 0 &&
	     (serial = BN_to_ASN1_INTEGER(bn, NULL)) != NULL &&
	     X509_REVOKED_set_serialNumber(rev, serial) &&
	     X509_REVOKED_set_revocationDate(rev, when) && X509_CRL_add0_revoked(crl, rev);
	if (!ok) {
		X509_REVOKED_free(rev);
	}
	ASN1_INTEGER_free(serial);
	ASN1_TIME_free(when);
	BN_free(bn);
	return ok ? 0 : -ENOMEM;
}

/* crl_next_update returns when a CRL signed at |now| for |days| says the
 * next one comes: no later than the CA's end, as a certificate's validity
 * is cut (issue.c within_ca), with a note added to |err| (kind NONE) when it
 * is. A CRL promising to be renewed after its CA is gone told the operator
 * of a date on which nothing it covers can be valid any more. */
static time_t crl_next_update(const struct rv_pki_ca *ca, time_t now, int days,
			      struct rv_pki_err *err)
{
	time_t next = now + (time_t)days * 86400, end;
	char when[32];
	struct tm tm;
	int d, s;

	if (!ASN1_TIME_diff(&d, &s, NULL, X509_get0_notAfter(ca->cert))) {
		ERR_clear_error();
		return next;
	}
	end = now + (time_t)d * 86400 + s;
	if (end <= now || next <= end) {
		return next; /* an ended CA's CRL protects nothing: left as asked */
	}
	strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S UTC", gmtime_r(&end, &tm));
	pki_note(err,
		 "the CRL's next update is %s, when the CA ends, not in %d days: a CRL "
		 "cannot outlive its CA",
		 when, days);
	return end;
}

/* crl_build signs the CA's next ca.crl from |idx|, with the revocations
 * |carry| holds (may be NULL) carried over as they were. */
static int crl_build(const struct rv_pki_ca *ca, const struct index *idx,
		     STACK_OF(X509_REVOKED) * carry, int days, bool first, struct rv_pki_err *err)
{
	char crl_path[PATH_MAX];
	X509_CRL *crl = NULL;
	ASN1_INTEGER *num = NULL;
	ASN1_TIME *last = NULL, *next = NULL;
	X509_EXTENSION *aki = NULL;
	X509V3_CTX ctx;
	time_t now = time(NULL);
	int ret;

	if (days == 0) {
		days = RV_PKI_CRL_DAYS_DEFAULT;
	}
	if (days < 1 || days > 36500) {
		pki_errf(err, RV_PKI_ERR_USAGE, "CRL validity must be 1..36500 days (got %d)",
			 days);
		return -EINVAL;
	}
	ret = pki_path(crl_path, sizeof(crl_path), ca->dir, RV_PKI_CA_CRL, "", err);
	if (ret != 0) {
		return ret;
	}
	ret = next_crl_number(&num, ca, crl_path, first, err);
	if (ret != 0) {
		return ret;
	}
	crl = X509_CRL_new();
	/* Dated a few minutes back, as certificates are (issue.c): a host whose
	 * clock is a little behind the CA's would refuse every peer while the
	 * CRL is "not yet valid". */
	last = ASN1_TIME_set(NULL, now + RV_PKI_BACKDATE_S);
	next = ASN1_TIME_set(NULL, crl_next_update(ca, now, days, err));
	if (crl == NULL || last == NULL || next == NULL ||
	    !X509_CRL_set_version(crl, X509_CRL_VERSION_2) ||
	    !X509_CRL_set_issuer_name(crl, X509_get_subject_name(ca->cert)) ||
	    !X509_CRL_set1_lastUpdate(crl, last) || !X509_CRL_set1_nextUpdate(crl, next)) {
		pki_err_ssl(err, RV_PKI_ERR_OP, "cannot build the CRL");
		ret = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < idx->num_ent; i++) {
		if (add_revoked(crl, &idx->ent[i]) != 0) {
			pki_err_ssl(err, RV_PKI_ERR_OP, "cannot add serial %s to the CRL",
				    idx->ent[i].serial);
			ret = -ENOMEM;
			goto out;
		}
	}
	for (size_t i = 0; carry != NULL && i < sk_X509_REVOKED_num(carry); i++) {
		X509_REVOKED *copy = X509_REVOKED_dup(sk_X509_REVOKED_value(carry, i));

		if (copy == NULL || !X509_CRL_add0_revoked(crl, copy)) {
			X509_REVOKED_free(copy);
			pki_err_ssl(err, RV_PKI_ERR_OP, "cannot carry a revocation over");
			ret = -ENOMEM;
			goto out;
		}
	}
	X509V3_set_ctx(&ctx, ca->cert, NULL, NULL, crl, 0);
	aki = X509V3_EXT_nconf_nid(NULL, &ctx, NID_authority_key_identifier, "keyid:always");
	if (!X509_CRL_sort(crl) ||
	    !X509_CRL_add1_ext_i2d(crl, NID_crl_number, num, 0, X509V3_ADD_DEFAULT) ||
	    aki == NULL || !X509_CRL_add_ext(crl, aki, -1) ||
	    !X509_CRL_sign(crl, ca->key, EVP_sha256())) {
		pki_err_ssl(err, RV_PKI_ERR_OP, "cannot sign the CRL");
		ret = -EINVAL;
		goto out;
	}
	ret = rv_pem_write_crl(crl_path, crl, err);
out:
	X509_EXTENSION_free(aki);
	ASN1_TIME_free(last);
	ASN1_TIME_free(next);
	ASN1_INTEGER_free(num);
	X509_CRL_free(crl);
	return ret;
}

/* lock_unchanged returns the lock of |ca|'s directory: the one |ca| was
 * loaded holding (rv_pki_ca_open_locked, as the commands load it: round-
 * seventy tester 324), else taken now, checking that the CA there is
 * still the one |ca| loaded: `pki ca --force` may have replaced it
 * meanwhile (it holds the lock too), and a revocation waiting for the lock
 * then wrote the old CA's serial into the new CA's index (tester 322).
 * Returns the lock's descriptor (give it back with lock_release) or -errno
 * with |err| set. */
static int lock_unchanged(const struct rv_pki_ca *ca, struct rv_pki_err *err)
{
	struct rv_pki_ca *now = NULL;
	int lock, ret;

	if (ca->lock >= 0) {
		return ca->lock;
	}
	lock = pki_ca_lock(ca->dir, &ca->waiter, false, err);
	if (lock < 0) {
		return lock;
	}
	ret = rv_pki_ca_open(&now, ca->dir, err);
	if (ret == 0 && X509_cmp(now->cert, ca->cert) != 0) {
		pki_errf(err, RV_PKI_ERR_OP,
			 "the CA in %s was replaced (by 'ringvpn pki ca --force') while this "
			 "command waited for its lock: nothing done; run it again to act on the "
			 "new CA",
			 ca->dir);
		ret = -ESTALE;
	}
	rv_pki_ca_free(now);
	if (ret != 0) {
		close(lock);
		return ret;
	}
	return lock;
}

/* lock_release gives back what lock_unchanged returned: the lock it took,
 * not the one |ca| holds. */
static void lock_release(const struct rv_pki_ca *ca, int lock)
{
	if (lock != ca->lock) {
		close(lock);
	}
}

int rv_pki_crl_update(const struct rv_pki_ca *ca, int crl_days, const char *const *lift,
		      size_t num_lift, struct rv_pki_err *err)
{
	char serials[RV_PKI_LIFT_MAX][SERIAL_HEX_MAX + 1];
	bool seen[RV_PKI_LIFT_MAX] = { false };
	struct lift l = { .serials = serials, .num = num_lift, .seen = seen };
	STACK_OF(X509_REVOKED) *carry = NULL;
	struct index idx;
	int lock, ret;

	if (num_lift > RV_PKI_LIFT_MAX) {
		pki_errf(err, RV_PKI_ERR_USAGE, "at most %d revocations are lifted at once",
			 RV_PKI_LIFT_MAX);
		return -EINVAL;
	}
	for (size_t i = 0; i < num_lift; i++) {
		if (canon_serial(serials[i], lift[i], strlen(lift[i])) != 0) {
			pki_errf(err, RV_PKI_ERR_USAGE,
				 "'%s' is not a serial (1..%d hex digits, not zero)", lift[i],
				 SERIAL_HEX_MAX);
			return -EINVAL;
		}
	}
	lock = lock_unchanged(ca, err);
	if (lock < 0) {
		return lock;
	}
	ret = index_load(&idx, ca, err);
	if (ret == 0) {
		ret = keeps_revocations(ca, &idx, &l, NULL, &carry, err);
		ret = ret ? ret : crl_build(ca, &idx, carry, crl_days, false, err);
		carry_free(carry);
		index_cleanup(&idx);
	}
	lock_release(ca, lock);
	return ret;
}

int pki_crl_create(const struct rv_pki_ca *ca, struct rv_pki_err *err)
{
	struct index idx;
	int ret = index_load(&idx, ca, err);

	if (ret == 0) {
		ret = crl_build(ca, &idx, NULL, 0, true, err);
		index_cleanup(&idx);
	}
	return ret;
}

/* revoke_canon appends |serial| (canonical) to the index unless present and
 * rebuilds the CRL. */
static int revoke_canon(const struct rv_pki_ca *ca, const char *serial, const char *subject,
			int crl_days, bool *out_already, struct rv_pki_err *err)
{
	STACK_OF(X509_REVOKED) *carry = NULL;
	struct index idx;
	char *text = NULL;
	size_t text_len;
	int64_t now = (int64_t)time(NULL);
	int lock, n, ret;

	*out_already = false;
	lock = lock_unchanged(ca, err);
	if (lock < 0) {
		return lock;
	}
	ret = index_load(&idx, ca, err);
	if (ret == 0) {
		/* Before the index is written; the serial revoked now may be
		 * one the index lost, put back. */
		ret = keeps_revocations(ca, &idx, &(struct lift){ .num = 0 }, serial, &carry, err);
		if (ret != 0) {
			index_cleanup(&idx);
		}
	}
	if (ret != 0) {
		lock_release(ca, lock);
		return ret;
	}
	for (size_t i = 0; i < idx.num_ent; i++) {
		if (strcmp(idx.ent[i].serial, serial) == 0) {
			*out_already = true;
		}
	}
	if (!*out_already) {
		bool nl = idx.text_len > 0 && idx.text[idx.text_len - 1] != '\n';

		text_len = idx.text_len + strlen(serial) + strlen(subject) + 48;
		text = malloc(text_len);
		if (text == NULL) {
			pki_errf(err, RV_PKI_ERR_OP, "out of memory");
			ret = -ENOMEM;
			goto out;
		}
		n = snprintf(text, text_len, "%s%s%s %" PRId64 " %s\n", (const char *)idx.text,
			     nl ? "\n" : "", serial, now, subject);
		if (n < 0 || (size_t)n >= text_len) {
			pki_errf(err, RV_PKI_ERR_OP, "cannot format the index line");
			ret = -EINVAL;
			goto out;
		}
		/* Written, it could not be read back: no pki command would work
		 * on this CA again. */
		if ((size_t)n > PKI_MAX_LIST) {
			pki_errf(err, RV_PKI_ERR_OP,
				 "%s would pass %u bytes, the most pki reads: start a new CA",
				 idx.path, PKI_MAX_LIST);
			ret = -EFBIG;
			goto out;
		}
		/* The index is written first: if signing the CRL then fails, the
		 * revocation is still recorded and 'pki crl' can finish the job. */
		ret = pki_write_file(idx.path, (const uint8_t *)text, (size_t)n, 0644, true, err);
		if (ret != 0) {
			goto out;
		}
		if (idx.num_ent == 0 || idx.ent == NULL) {
			free(idx.ent);
			idx.ent = malloc(sizeof(*idx.ent));
			if (idx.ent == NULL) {
				pki_errf(err, RV_PKI_ERR_OP, "out of memory");
				ret = -ENOMEM;
				goto out;
			}
		} else {
			struct revoked *r = realloc(idx.ent, (idx.num_ent + 1) * sizeof(*r));

			if (r == NULL) {
				pki_errf(err, RV_PKI_ERR_OP, "out of memory");
				ret = -ENOMEM;
				goto out;
			}
			idx.ent = r;
		}
		snprintf(idx.ent[idx.num_ent].serial, sizeof(idx.ent[0].serial), "%s", serial);
		idx.ent[idx.num_ent++].when = now;
	}
	ret = crl_build(ca, &idx, carry, crl_days, false, err);
out:
	carry_free(carry);
	free(text);
	index_cleanup(&idx);
	lock_release(ca, lock);
	return ret;
}

int rv_pki_revoke(const struct rv_pki_ca *ca, const char *cert_path, int crl_days,
		  struct rv_pki_revoked *out, struct rv_pki_err *err)
{
	STACK_OF(X509) *certs = NULL;
	const char *unfit;
	EVP_PKEY *ca_pub;
	X509 *cert;
	int ret;

	memset(out, 0, sizeof(*out));
	ret = rv_pem_read_certs(&certs, cert_path, err);
	if (ret != 0) {
		return ret;
	}
	/* Of two, the first alone was revoked and the file said revoked
	 * (round-seventy tester 322). */
	if (sk_X509_num(certs) > 1) {
		pki_errf(err, RV_PKI_ERR_USAGE,
			 "%s holds %zu certificates: revoke one at a time, each from a file of its "
			 "own or by its serial (--serial; 'ringvpn pki show %s' shows each "
			 "one's); nothing revoked",
			 cert_path, sk_X509_num(certs), cert_path);
		ret = -EINVAL;
		goto out;
	}
	cert = sk_X509_value(certs, 0);
	ca_pub = X509_get_pubkey(ca->cert);
	if (X509_check_issued(ca->cert, cert) != X509_V_OK || ca_pub == NULL ||
	    X509_verify(cert, ca_pub) != 1) {
		EVP_PKEY_free(ca_pub);
		ERR_clear_error();
		pki_errf(err, RV_PKI_ERR_CERT,
			 "%s was not issued by the CA in %s; revoke it with the CA that issued it",
			 cert_path, ca->dir);
		ret = -EINVAL;
		goto out;
	}
	EVP_PKEY_free(ca_pub);
	/* Self-issued, it passes the check above; listed in its own CRL it
	 * changes nothing (only leaves are checked against it), so saying
	 * "revoked" would mislead. */
	if (X509_cmp(cert, ca->cert) == 0) {
		pki_errf(err, RV_PKI_ERR_USAGE,
			 "%s is the CA's own certificate: a CA is not revoked in its own CRL; "
			 "to retire it, make a new CA and issue new certificates",
			 cert_path);
		ret = -EINVAL;
		goto out;
	}
	/* Serial 0 or a negative one went into the index as a line its parser
	 * refuses, and every later revoke and crl failed; a longer one failed
	 * "serial number too long", naming nothing (tester 322). No peer takes
	 * such a certificate (rv_x509_serial_unfit). */
	unfit = rv_x509_serial_unfit(cert);
	if (unfit != NULL) {
		/* An intermediate's refusal covers what it issued: said so
		 * (round-seventy tester 324). */
		bool is_ca = X509_check_ca(cert) != 0;

		pki_errf(err, RV_PKI_ERR_CERT,
			 "%s: refused: its serial number is %s, which %s/%s cannot list (RFC 5280 "
			 "allows a positive integer of at most 20 octets); nothing revoked: no "
			 "ringvpn peer takes this %s (the handshake and 'ringvpn pki verify' "
			 "refuse %s)",
			 cert_path, unfit, ca->dir, RV_PKI_CA_INDEX,
			 is_ca ? "CA certificate, nor any certificate under it" : "certificate",
			 is_ca ? "a chain that holds it" : "it");
		ret = -EINVAL;
		goto out;
	}
	ret = pki_serial_hex(out->serial, sizeof(out->serial), X509_get0_serialNumber(cert), err);
	if (ret != 0) {
		goto out;
	}
	pki_name_oneline(out->subject, sizeof(out->subject), X509_get_subject_name(cert));
	ret = revoke_canon(ca, out->serial, out->subject, crl_days, &out->already, err);
out:
	sk_X509_pop_free(certs, X509_free);
	return ret;
}

int rv_pki_revoke_serial(const struct rv_pki_ca *ca, const char *serial_hex, int crl_days,
			 struct rv_pki_revoked *out, struct rv_pki_err *err)
{
	char *serial = out->serial, own[SERIAL_HEX_MAX + 1];

	memset(out, 0, sizeof(*out));
	if (canon_serial(serial, serial_hex, strlen(serial_hex)) != 0) {
		pki_errf(err, RV_PKI_ERR_USAGE,
			 "'%s' is not a serial number (1..40 hex digits, not zero, as 'ringvpn "
			 "pki show' prints it)",
			 serial_hex);
		return -EINVAL;
	}
	/* The CA's own, refused as --cert refuses it (it was listed, and
	 * `pki verify` then called the CA revoked: round-twenty-seven tester
	 * 133). */
	if (pki_serial_hex(own, sizeof(own), X509_get0_serialNumber(ca->cert), err) == 0 &&
	    strcmp(own, serial) == 0) {
		pki_errf(err, RV_PKI_ERR_USAGE,
			 "%s is the serial of the CA's own certificate: a CA is not revoked in its "
			 "own CRL; to retire it, make a new CA and issue new certificates",
			 serial);
		return -EINVAL;
	}
	return revoke_canon(ca, serial, "(revoked by serial)", crl_days, &out->already, err);
}
