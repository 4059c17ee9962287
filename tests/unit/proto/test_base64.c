/* SPDX-License-Identifier: MIT */
/* base64 both ways: RFC 4648's test vectors, every byte value round trip,
 * and what the decoder must refuse (it reads Read contents and Content-MD5). */
#include "base64.h"

#include <check.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fixture.h"

/* RFC 4648, section 10. */
static const struct {
        const char *plain;
        const char *encoded;
} vectors[] = {
        { "", "" },
        { "f", "Zg==" },
        { "fo", "Zm8=" },
        { "foo", "Zm9v" },
        { "foob", "Zm9vYg==" },
        { "fooba", "Zm9vYmE=" },
        { "foobar", "Zm9vYmFy" },
};

START_TEST(test_rfc4648_vectors_encode) {
        for (size_t i = 0; i < sizeof(vectors) / sizeof(vectors[0]); i++) {
                char *s = base64_encode(vectors[i].plain, strlen(vectors[i].plain));

                ck_assert_ptr_nonnull(s);
                ck_assert_str_eq(s, vectors[i].encoded);
                free(s);
        }
}
END_TEST

START_TEST(test_rfc4648_vectors_decode) {
        for (size_t i = 0; i < sizeof(vectors) / sizeof(vectors[0]); i++) {
                uint8_t *data = NULL;
                size_t size = 99;

                ck_assert_int_eq(base64_decode(vectors[i].encoded, strlen(vectors[i].encoded), &data, &size), 0);
                ck_assert_uint_eq(size, strlen(vectors[i].plain));
                ck_assert_mem_eq(data, vectors[i].plain, size);
                ck_assert_uint_eq(data[size], 0); /* NUL after the data */
                free(data);
        }
}
END_TEST

START_TEST(test_padding_is_optional_on_decode) {
        uint8_t *data = NULL;
        size_t size = 0;

        ck_assert_int_eq(base64_decode("Zm9vYg", 6, &data, &size), 0);
        ck_assert_uint_eq(size, 4);
        ck_assert_mem_eq(data, "foob", 4);
        free(data);
        ck_assert_int_eq(base64_decode("Zm9vYmE", 7, &data, &size), 0);
        ck_assert_uint_eq(size, 5);
        ck_assert_mem_eq(data, "fooba", 5);
        free(data);
}
END_TEST

/* Every byte value, every length mod 3, through "+" and "/" too. */
START_TEST(test_every_byte_round_trips) {
        uint8_t in[300];

        for (size_t i = 0; i < sizeof(in); i++)
                in[i] = (uint8_t) (i * 7 + 3);
        for (size_t len = 0; len <= sizeof(in); len++) {
                char *s = base64_encode(in, len);
                uint8_t *out = NULL;
                size_t size = 0;

                ck_assert_ptr_nonnull(s);
                ck_assert_uint_eq(strlen(s), (len + 2) / 3 * 4);
                ck_assert_int_eq(base64_decode(s, strlen(s), &out, &size), 0);
                ck_assert_uint_eq(size, len);
                if (len > 0)
                        ck_assert_mem_eq(out, in, len);
                free(out);
                free(s);
        }
}
END_TEST

START_TEST(test_bad_input_is_einval) {
        static const char *const bad[] = {
                "Zm9v!A==", /* outside the alphabet */
                "Zm9v YmFy", /* white space */
                "Zm9v-_==", /* the URL-safe alphabet is another encoding */
                "Z",        /* one character cannot hold a byte */
                "Zm9vY",    /* nor can five */
                "Zg=",      /* padding that does not complete a group */
                "Zg==Zg==", /* padding inside the text */
                "Zm9v====", /* a whole group of padding */
                "====",
                "Zh==",     /* leftover bits that are not zero */
                "Zm9=",
        };

        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
                uint8_t *data = (uint8_t *) "untouched";
                size_t size = 42;

                ck_assert_msg(base64_decode(bad[i], strlen(bad[i]), &data, &size) == -EINVAL,
                              "\"%s\" was accepted", bad[i]);
                ck_assert_str_eq((const char *) data, "untouched");
                ck_assert_uint_eq(size, 42);
        }
}
END_TEST

/* The length given is what is read: a NUL or more text after it is not. */
START_TEST(test_decode_reads_only_len_bytes) {
        uint8_t *data = NULL;
        size_t size = 0;

        ck_assert_int_eq(base64_decode("Zm9v!!!!", 4, &data, &size), 0);
        ck_assert_uint_eq(size, 3);
        ck_assert_mem_eq(data, "foo", 3);
        free(data);
        ck_assert_int_eq(base64_decode("AA\0A", 4, &data, &size), -EINVAL);
}
END_TEST

static Suite *base64_suite(void) {
        Suite *s = suite_create("base64");
        TCase *tc = tcase_create("both ways");

        tcase_add_test(tc, test_rfc4648_vectors_encode);
        tcase_add_test(tc, test_rfc4648_vectors_decode);
        tcase_add_test(tc, test_padding_is_optional_on_decode);
        tcase_add_test(tc, test_every_byte_round_trips);
        tcase_add_test(tc, test_bad_input_is_einval);
        tcase_add_test(tc, test_decode_reads_only_len_bytes);
        suite_add_tcase(s, tc);
        return s;
}

int main(void) {
        return fixture_run(base64_suite());
}
