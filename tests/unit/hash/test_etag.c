/* SPDX-License-Identifier: MIT */
/* What an ETag says about an object's bytes: its forms, the part layouts
 * tried for a multipart one, and the check of a file against it, on small
 * files made here (the digests computed independently with OpenSSL). */

#include <check.h>
#include <errno.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "etag.h"
#include "fixture.h"

#define MIB (1024ULL * 1024)

static void md5(const void *p, size_t n, uint8_t out[16]) {
        unsigned len = 0;
        ck_assert(EVP_Digest(p, n, out, &len, EVP_md5(), NULL) == 1);
}

static void hex(const uint8_t d[16], char out[33]) {
        for (int i = 0; i < 16; i++)
                sprintf(out + 2 * i, "%02x", d[i]);
}

/* The ETag S3 gives an upload of data in parts of part bytes. */
static void multipart_etag(const uint8_t *data, size_t size, size_t part, char out[48]) {
        unsigned n = (unsigned) ((size + part - 1) / part);
        uint8_t *all = malloc(n * 16), d[16];
        for (unsigned i = 0; i < n; i++) {
                size_t off = i * part, len = size - off < part ? size - off : part;
                md5(data + off, len, all + i * 16);
        }
        md5(all, n * 16, d);
        free(all);
        char h[33];
        hex(d, h);
        snprintf(out, 48, "\"%s-%u\"", h, n);
}

START_TEST(test_parse_forms) {
        etag_info e = etag_parse("\"9e107d9d372bb6826bd81d3542a419d6\"");
        ck_assert_int_eq(e.kind, ETAG_MD5);
        ck_assert_uint_eq(e.digest[0], 0x9e);
        ck_assert_uint_eq(e.digest[15], 0xd6);
        e = etag_parse("9E107D9D372BB6826BD81D3542A419D6");
        ck_assert_int_eq(e.kind, ETAG_MD5);
        e = etag_parse("\"9e107d9d372bb6826bd81d3542a419d6-17\"");
        ck_assert_int_eq(e.kind, ETAG_MULTIPART);
        ck_assert_uint_eq(e.n_parts, 17);
        static const char *opaque[] = {
                NULL, "", "\"\"", "\"9e107d9d372bb6826bd81d3542a419d\"", "\"9e107d9d372bb6826bd81d3542a419dg\"",
                "\"9e107d9d372bb6826bd81d3542a419d6-\"", "\"9e107d9d372bb6826bd81d3542a419d6-0\"",
                "\"9e107d9d372bb6826bd81d3542a419d6-10001\"", "\"9e107d9d372bb6826bd81d3542a419d6-1x\"",
                "\"9e107d9d372bb6826bd81d3542a419d6x3\"", "W/\"9e107d9d372bb6826bd81d3542a419d6\"",
        };
        for (size_t i = 0; i < sizeof(opaque) / sizeof(opaque[0]); i++)
                ck_assert_msg(etag_parse(opaque[i]).kind == ETAG_OPAQUE, "%s", opaque[i] ? opaque[i] : "NULL");
}
END_TEST

static bool has(const uint64_t *l, unsigned n, uint64_t v) {
        for (unsigned i = 0; i < n; i++)
                if (l[i] == v)
                        return true;
        return false;
}

START_TEST(test_layouts) {
        uint64_t l[ETAG_MAX_LAYOUTS];
        /* 30 MiB + 777 in 6 parts: boto3 with 6 MiB parts; not 8 or 5. */
        unsigned n = etag_layouts(30 * MIB + 777, 6, 8 * MIB, l);
        ck_assert_uint_ge(n, 1);
        ck_assert_uint_eq(l[0], 6 * MIB);
        /* Each layout cuts the object into exactly N parts, once each. */
        for (unsigned i = 0; i < n; i++) {
                ck_assert_uint_eq((30 * MIB + 777 + l[i] - 1) / l[i], 6);
                for (unsigned j = 0; j < i; j++)
                        ck_assert_uint_ne(l[i], l[j]);
        }
        /* The hint first, then 8 MiB, when they fit. */
        n = etag_layouts(40 * MIB, 4, 10 * MIB, l);
        ck_assert_uint_eq(l[0], 10 * MIB);
        n = etag_layouts(40 * MIB, 5, 10 * MIB, l);
        ck_assert_uint_eq(l[0], 8 * MIB);
        /* 7 MiB parts, 4 of them: found among the whole-MiB sizes. */
        n = etag_layouts(21 * MIB + 12345, 4, 8 * MIB, l);
        ck_assert(has(l, n, 7 * MIB));
        ck_assert(has(l, n, 6 * MIB));
        ck_assert(!has(l, n, 8 * MIB));
        /* One part: the object itself. */
        n = etag_layouts(3 * MIB, 1, 8 * MIB, l);
        ck_assert_uint_eq(n, 1);
        ck_assert_uint_eq(l[0], 3 * MIB);
        ck_assert_uint_eq(etag_layouts(3 * MIB, 0, 0, l), 0);
        /* Never more than fit. */
        n = etag_layouts(1000 * MIB, 2, 0, l);
        ck_assert_uint_le(n, ETAG_MAX_LAYOUTS);
}
END_TEST

static int file_of(const uint8_t *data, size_t n) {
        char path[] = "/tmp/fds-test-etag-XXXXXX";
        int fd = mkstemp(path);
        ck_assert_int_ge(fd, 0);
        unlink(path);
        ck_assert_int_eq(write(fd, data, n), (ssize_t) n);
        return fd;
}

START_TEST(test_check_file) {
        size_t size = 2 * MIB + 3000, part = 1 * MIB;
        uint8_t *data = malloc(size);
        for (size_t i = 0; i < size; i++)
                data[i] = (uint8_t) (i * 7 + (i >> 13));
        int fd = file_of(data, size);
        char tag[48], h[33];
        uint8_t d[16];

        md5(data, size, d);
        hex(d, h);
        etag_info e = etag_parse(h);
        ck_assert_int_eq(etag_check_file(fd, size, &e, 0), 1);

        multipart_etag(data, size, part, tag);
        e = etag_parse(tag);
        ck_assert_int_eq(e.kind, ETAG_MULTIPART);
        ck_assert_uint_eq(e.n_parts, 3);
        ck_assert_int_eq(etag_check_file(fd, size, &e, part), 1);
        ck_assert_int_eq(etag_check_file(fd, size, &e, part + 1), 0);
        uint64_t layouts[] = { part + 4096, part };
        ck_assert_int_eq(etag_check_layouts(fd, size, &e, layouts, 2, 0), 1);
        ck_assert_int_eq(etag_check_layouts(fd, size, &e, layouts, 1, 0), 0);

        /* One flipped bit anywhere is a mismatch for either form. */
        uint8_t flipped = data[size - 1] ^ 0x10;
        ck_assert_int_eq(pwrite(fd, &flipped, 1, (off_t) (size - 1)), 1);
        ck_assert_int_eq(etag_check_file(fd, size, &e, part), 0);
        e = etag_parse(h);
        ck_assert_int_eq(etag_check_file(fd, size, &e, 0), 0);

        /* The file shorter than it should be: a read error, not a match. */
        ck_assert_int_eq(etag_check_file(fd, size + 10, &e, 0), -ENODATA);
        e = etag_parse("\"x\"");
        ck_assert_int_eq(etag_check_file(fd, size, &e, 0), -EINVAL);
        close(fd);
        free(data);
}
END_TEST

START_TEST(test_metadata) {
        ck_assert_uint_eq(etag_meta_part_size("8388608"), 8 * MIB);
        ck_assert_uint_eq(etag_meta_part_size("0"), 0);
        ck_assert_uint_eq(etag_meta_part_size("-5"), 0);
        ck_assert_uint_eq(etag_meta_part_size("12x"), 0);
        ck_assert_uint_eq(etag_meta_part_size("99999999999999999999999"), 0);
        ck_assert_uint_eq(etag_meta_part_size(NULL), 0);
        uint8_t d[16], want[16];
        md5("", 0, want); /* d41d8cd98f00b204e9800998ecf8427e */
        ck_assert(etag_meta_md5("1B2M2Y8AsgTpgAmY7PhCfg==", d));
        ck_assert_mem_eq(d, want, 16);
        ck_assert(!etag_meta_md5("1B2M2Y8AsgTpgAmY7PhCfg=", d));
        ck_assert(!etag_meta_md5("1B2M2Y8AsgTpgAmY7PhC*g==", d));
        ck_assert(!etag_meta_md5(NULL, d));
}
END_TEST

int main(void) {
        Suite *s = suite_create("etag");
        TCase *tc = tcase_create("etag");
        tcase_add_test(tc, test_parse_forms);
        tcase_add_test(tc, test_layouts);
        tcase_add_test(tc, test_check_file);
        tcase_add_test(tc, test_metadata);
        suite_add_tcase(s, tc);
        return fixture_run(s);
}
