/*
 * test_pki_pem.c — PEM load/store (pki/pem.c, pki/file.c): private keys come
 * out 0600 whatever the umask, existing files are never replaced without
 * overwrite, no temporary files are left behind, and unreadable, empty,
 * oversized, non-regular or non-PEM files are refused with the path named.
 *
 *   ./build/<dir>/test/test_pki_pem --verbose     (or: ctest -L unit -R pki_pem)
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include <openssl/ec_key.h>
#include <openssl/evp.h>
#include <openssl/nid.h>

#include "pki/pem.h"

static char dir[64];

static void setup(void)
{
	snprintf(dir, sizeof(dir), "/dev/shm/rvt-pki-XXXXXX");
	cr_assert_not_null(mkdtemp(dir));
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	return flag == FTW_DP ? rmdir(path) : unlink(path);
}

static void teardown(void)
{
	nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

TestSuite(pki_pem, .init = setup, .fini = teardown, .timeout = 30);

static EVP_PKEY *new_key(void)
{
	EC_KEY *ec = EC_KEY_new_by_curve_name(NID_X9_62_prime256v1);
	EVP_PKEY *k = EVP_PKEY_new();

	cr_assert(EC_KEY_generate_key(ec));
	cr_assert(EVP_PKEY_assign_EC_KEY(k, ec));
	return k;
}

static size_t dir_entries(void)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	size_t n = 0;

	cr_assert_not_null(d);
	while ((e = readdir(d)) != NULL) {
		n += strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0;
	}
	closedir(d);
	return n;
}

static void write_text(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	cr_assert_not_null(f);
	fputs(text, f);
	fclose(f);
}

Test(pki_pem, key_roundtrip_mode_0600_any_umask)
{
	static const mode_t masks[] = { 0, 022, 077, 0777 };
	struct rv_pki_err err = { 0 };
	char path[128];

	for (size_t i = 0; i < sizeof(masks) / sizeof(masks[0]); i++) {
		EVP_PKEY *k = new_key(), *back;
		struct stat st;

		snprintf(path, sizeof(path), "%s/k%zu.key", dir, i);
		umask(masks[i]);
		cr_assert_eq(rv_pem_write_key(path, k, false, &err), 0, "%s", err.msg);
		umask(022);
		cr_assert_eq(stat(path, &st), 0);
		cr_assert_eq(st.st_mode & 07777, 0600, "umask %o gave %o", masks[i],
			     st.st_mode & 07777);
		cr_assert_eq(rv_pem_read_key(&back, path, &err), 0, "%s", err.msg);
		cr_assert_eq(EVP_PKEY_cmp(k, back), 1);
		EVP_PKEY_free(back);
		EVP_PKEY_free(k);
	}
	cr_assert_eq(dir_entries(), sizeof(masks) / sizeof(masks[0]), "no temp files left");
}

Test(pki_pem, key_pkcs8_pem)
{
	struct rv_pki_err err = { 0 };
	EVP_PKEY *k = new_key();
	char path[128], buf[64] = { 0 };
	FILE *f;

	snprintf(path, sizeof(path), "%s/a.key", dir);
	cr_assert_eq(rv_pem_write_key(path, k, false, &err), 0);
	f = fopen(path, "r");
	cr_assert_not_null(f);
	cr_assert_not_null(fgets(buf, sizeof(buf), f));
	fclose(f);
	cr_assert_str_eq(buf, "-----BEGIN PRIVATE KEY-----\n");
	EVP_PKEY_free(k);
}

Test(pki_pem, key_no_overwrite_then_overwrite)
{
	struct rv_pki_err err = { 0 };
	EVP_PKEY *k1 = new_key(), *k2 = new_key(), *back;
	char path[128];

	snprintf(path, sizeof(path), "%s/a.key", dir);
	cr_assert_eq(rv_pem_write_key(path, k1, false, &err), 0);
	cr_assert_eq(rv_pem_write_key(path, k2, false, &err), -EEXIST);
	cr_assert_eq(err.kind, RV_PKI_ERR_OP);
	cr_assert_not_null(strstr(err.msg, path));
	cr_assert_eq(rv_pem_read_key(&back, path, &err), 0);
	cr_assert_eq(EVP_PKEY_cmp(k1, back), 1, "first key kept");
	EVP_PKEY_free(back);
	cr_assert_eq(rv_pem_write_key(path, k2, true, &err), 0);
	cr_assert_eq(rv_pem_read_key(&back, path, &err), 0);
	cr_assert_eq(EVP_PKEY_cmp(k2, back), 1, "replaced");
	EVP_PKEY_free(back);
	cr_assert_eq(dir_entries(), 1, "no temp files left");
	EVP_PKEY_free(k1);
	EVP_PKEY_free(k2);
}

Test(pki_pem, no_overwrite_of_symlink_target)
{
	struct rv_pki_err err = { 0 };
	EVP_PKEY *k = new_key();
	char path[128], target[128];
	struct stat st;

	/* A symlink planted at the key path is not followed. */
	snprintf(path, sizeof(path), "%s/a.key", dir);
	snprintf(target, sizeof(target), "%s/target", dir);
	cr_assert_eq(symlink(target, path), 0);
	cr_assert_eq(rv_pem_write_key(path, k, false, &err), -EEXIST);
	cr_assert_neq(stat(target, &st), 0, "nothing written through the link");
	EVP_PKEY_free(k);
}

Test(pki_pem, read_errors_name_the_file)
{
	static const struct {
		const char *name, *content;
		int ret;
	} cases[] = {
		{ "missing.crt", NULL, -ENOENT },
		{ "empty.crt", "", -EINVAL },
		{ "garbage.crt", "hello\n", -EINVAL },
		{ "keyascert.crt", "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n",
		  -EINVAL },
	};
	struct rv_pki_err err = { 0 };
	char path[128];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		X509 *x = (X509 *)1;

		snprintf(path, sizeof(path), "%s/%s", dir, cases[i].name);
		if (cases[i].content != NULL) {
			write_text(path, cases[i].content);
		}
		cr_assert_eq(rv_pem_read_cert(&x, path, &err), cases[i].ret, "%s", cases[i].name);
		cr_assert_null(x);
		cr_assert_eq(err.kind, RV_PKI_ERR_CERT);
		cr_assert_not_null(strstr(err.msg, path), "%s", err.msg);
	}
}

Test(pki_pem, read_key_errors)
{
	struct rv_pki_err err = { 0 };
	EVP_PKEY *k;
	char path[128];

	snprintf(path, sizeof(path), "%s/missing.key", dir);
	cr_assert_eq(rv_pem_read_key(&k, path, &err), -ENOENT);
	cr_assert_eq(err.kind, RV_PKI_ERR_KEY);
	cr_assert_not_null(strstr(err.msg, "private key not found"), "%s", err.msg);
	/* A directory is not a key. */
	cr_assert_eq(rv_pem_read_key(&k, dir, &err), -EINVAL);
	cr_assert_eq(err.kind, RV_PKI_ERR_KEY);
	cr_assert_not_null(strstr(err.msg, "not a regular file"), "%s", err.msg);
}

Test(pki_pem, read_oversized)
{
	struct rv_pki_err err = { 0 };
	X509 *x;
	char path[128];
	int fd;

	snprintf(path, sizeof(path), "%s/big.crt", dir);
	fd = open(path, O_CREAT | O_WRONLY, 0644);
	cr_assert_geq(fd, 0);
	cr_assert_eq(ftruncate(fd, 2 << 20), 0);
	close(fd);
	cr_assert_eq(rv_pem_read_cert(&x, path, &err), -EINVAL);
	cr_assert_not_null(strstr(err.msg, "size"), "%s", err.msg);
}

Test(pki_pem, write_into_missing_dir)
{
	struct rv_pki_err err = { 0 };
	EVP_PKEY *k = new_key();
	char path[128];

	snprintf(path, sizeof(path), "%s/nodir/a.key", dir);
	cr_assert_eq(rv_pem_write_key(path, k, false, &err), -ENOENT);
	cr_assert_not_null(strstr(err.msg, path), "%s", err.msg);
	EVP_PKEY_free(k);
}
