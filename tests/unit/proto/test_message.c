/* SPDX-License-Identifier: MIT */
/* varlink messages: decoding calls, encoding replies and errors. */
#include "frame.h"
#include "message.h"

#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fixture.h"

static void parse_ok(const char *msg, fds_call *ret) {
        const char *reason = NULL;

        int r = fds_call_parse(msg, strlen(msg), ret, &reason);
        ck_assert_msg(r == 0, "%.80s: refused (%d): %s", msg, r, reason);
        ck_assert_ptr_nonnull(ret->root);
        ck_assert_ptr_nonnull(ret->method);
        ck_assert(json_is_object(ret->parameters));
}

/* Refused with -EBADMSG and a reason mentioning `about`. */
static void parse_refused_n(const char *msg, size_t len, const char *about) {
        fds_call c = { 0 };
        const char *reason = NULL;

        int r = fds_call_parse(msg, len, &c, &reason);
        ck_assert_msg(r == -EBADMSG, "%.80s: %d, want -EBADMSG", msg, r);
        ck_assert_msg(reason && strstr(reason, about), "%.80s: reason \"%s\" does not mention \"%s\"",
                      msg, reason, about);
        ck_assert_ptr_null(c.root);
}

static void parse_refused(const char *msg, const char *about) {
        parse_refused_n(msg, strlen(msg), about);
}

/* Nesting `depth` levels deep in all, the root object included. */
static char *nested(unsigned depth, bool close) {
        size_t cap = 64 + 2 * (size_t) depth;
        char *s = malloc(cap);
        int n;

        ck_assert_ptr_nonnull(s);
        ck_assert_uint_ge(depth, 2);
        n = snprintf(s, cap, "{\"method\":\"a.B\",\"parameters\":{\"x\":");
        for (unsigned i = 2; i < depth; i++)
                s[n++] = '[';
        if (close) {
                for (unsigned i = 2; i < depth; i++)
                        s[n++] = ']';
                s[n++] = '}';
                s[n++] = '}';
        }
        s[n] = '\0';
        return s;
}

START_TEST(test_call_is_decoded) {
        fds_call c;

        parse_ok("{\"method\":\"io.fds.Transfer.Copy\",\"parameters\":{\"copies\":[]}}", &c);
        ck_assert_str_eq(c.method, "io.fds.Transfer.Copy");
        ck_assert(json_is_array(json_object_get(c.parameters, "copies")));
        ck_assert(!c.more);
        ck_assert(!c.oneway);
        fds_call_done(&c);
        ck_assert_ptr_null(c.root);
}
END_TEST

START_TEST(test_call_without_parameters_gets_an_empty_object) {
        fds_call c;

        parse_ok("{\"method\":\"org.varlink.service.GetInfo\"}", &c);
        ck_assert_str_eq(c.method, "org.varlink.service.GetInfo");
        ck_assert_uint_eq(json_object_size(c.parameters), 0);
        fds_call_done(&c);
}
END_TEST

START_TEST(test_more_and_oneway_flags) {
        fds_call c;

        parse_ok("{\"method\":\"a.B\",\"more\":true}", &c);
        ck_assert(c.more);
        ck_assert(!c.oneway);
        fds_call_done(&c);

        parse_ok("{\"method\":\"a.B\",\"oneway\":true,\"more\":false}", &c);
        ck_assert(!c.more);
        ck_assert(c.oneway);
        fds_call_done(&c);

        parse_refused("{\"method\":\"a.B\",\"more\":1}", "more");
        parse_refused("{\"method\":\"a.B\",\"more\":\"true\"}", "more");
        parse_refused("{\"method\":\"a.B\",\"oneway\":null}", "oneway");
}
END_TEST

START_TEST(test_method_missing_or_not_a_string_is_refused) {
        parse_refused("{}", "method");
        parse_refused("{\"parameters\":{}}", "method");
        parse_refused("{\"method\":42}", "method");
        parse_refused("{\"method\":null}", "method");
        parse_refused("{\"method\":[\"a.B\"]}", "method");
}
END_TEST

START_TEST(test_message_that_is_not_an_object_is_refused) {
        parse_refused("[]", "not a JSON object");
        parse_refused("[{\"method\":\"a.B\"}]", "not a JSON object");
        /* Scalars never reach the object check: the decoder only takes
         * objects and arrays at the top. Refused either way. */
        parse_refused("\"a.B\"", "JSON");
        parse_refused("42", "JSON");
        parse_refused("null", "JSON");
}
END_TEST

START_TEST(test_invalid_json_is_refused) {
        parse_refused("", "JSON");
        parse_refused("{", "JSON");
        parse_refused("{\"method\":\"a.B\",}", "JSON");
        parse_refused("{method:\"a.B\"}", "JSON");
        parse_refused("{'method':'a.B'}", "JSON");
        /* One message is one value: trailing bytes are not ignored. */
        parse_refused("{\"method\":\"a.B\"} {}", "JSON");
        /* A repeated field would leave its meaning to the decoder. */
        parse_refused("{\"method\":\"a.B\",\"method\":\"c.D\"}", "JSON");
}
END_TEST

START_TEST(test_invalid_utf8_is_refused) {
        parse_refused("{\"method\":\"a.B\",\"parameters\":{\"p\":\"\xff\"}}", "JSON");
        /* overlong '/' */
        parse_refused("{\"method\":\"a.B\",\"parameters\":{\"p\":\"\xc0\xaf\"}}", "JSON");
        /* truncated sequence, in a key */
        parse_refused("{\"method\":\"a.B\",\"parameters\":{\"\xe6\x97\":1}}", "JSON");
        /* a lone surrogate written as an escape */
        parse_refused("{\"method\":\"a.B\",\"parameters\":{\"p\":\"\\ud800\"}}", "JSON");
}
END_TEST

START_TEST(test_nul_inside_a_string_is_refused) {
        /* Every string handed on must be a whole C string: a NUL is named
         * as what is wrong, not called invalid JSON. */
        parse_refused("{\"method\":\"a.B\",\"parameters\":{\"p\":\"/a\\u0000/etc/passwd\"}}", "NUL byte");
        parse_refused("{\"method\":\"a.B\\u0000\"}", "NUL byte");
        parse_refused("{\"method\":\"a.B\",\"parameters\":{\"options\":{\"s3\":{\"region\":\"x\\u0000\"}}}}",
                      "NUL byte");
        parse_refused("{\"method\":\"a.B\",\"parameters\":{\"k\\u0000\":1}}", "JSON");
        /* Where a path goes, the request names the entry instead. */
        fds_call c = { 0 };
        parse_ok("{\"method\":\"a.B\",\"parameters\":{\"copies\":[{\"src\":\"/a\\u0000b\",\"dst\":\"/c\"}]}}", &c);
        fds_call_done(&c);
        parse_ok("{\"method\":\"a.B\",\"parameters\":{\"files\":{\"k\":\"/a\\u0000b\"}}}", &c);
        fds_call_done(&c);
        /* A raw NUL inside the given length is not JSON either. */
        parse_refused_n("{\"method\":\"a.B\"}\0", 17, "JSON");
}
END_TEST

START_TEST(test_length_is_respected) {
        static const char buf[] = "{\"method\":\"a.B\"}{\"method\":\"c.D\"}";
        fds_call c;
        const char *reason = NULL;

        ck_assert_int_eq(fds_call_parse(buf, 16, &c, &reason), 0);
        ck_assert_str_eq(c.method, "a.B");
        fds_call_done(&c);
}
END_TEST

START_TEST(test_nesting_up_to_32_levels_is_decoded) {
        char *msg = nested(32, true);
        fds_call c;

        parse_ok(msg, &c);
        fds_call_done(&c);
        free(msg);
}
END_TEST

START_TEST(test_deeper_nesting_is_refused) {
        char *msg = nested(33, true);

        parse_refused(msg, "nested too deeply");
        free(msg);
}
END_TEST

START_TEST(test_deep_nesting_is_refused_before_decoding) {
        /* Never closed, so not JSON at all: only a check made before the
         * decoder can name the nesting as the problem. */
        char *msg = nested(100000, false);

        parse_refused(msg, "nested too deeply");
        free(msg);
        parse_refused("[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[", "nested too deeply");
}
END_TEST

START_TEST(test_brackets_inside_strings_do_not_count_as_nesting) {
        fds_call c;

        parse_ok("{\"method\":\"a.B\",\"parameters\":{\"p\":"
                 "\"\\\"[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[{{{{{{{{{{{{{{{{{{{{\\\\\","
                 "\"[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[\":1}}",
                 &c);
        ck_assert_uint_eq(json_object_size(c.parameters), 2);
        fds_call_done(&c);
}
END_TEST

START_TEST(test_parameters_not_an_object_are_refused) {
        parse_refused("{\"method\":\"a.B\",\"parameters\":[]}", "parameters");
        parse_refused("{\"method\":\"a.B\",\"parameters\":\"copies\"}", "parameters");
        parse_refused("{\"method\":\"a.B\",\"parameters\":1}", "parameters");
        parse_refused("{\"method\":\"a.B\",\"parameters\":null}", "parameters");
}
END_TEST

START_TEST(test_done_accepts_null_and_zeroed) {
        fds_call c = { 0 };

        fds_call_done(NULL);
        fds_call_done(&c);
}
END_TEST

/* Encoded bytes are one message: exactly one NUL, at the end, counted in
 * the length. Returns the decoded JSON. */
static json_t *decode_encoded(const char *buf, size_t len) {
        json_error_t err;

        ck_assert_uint_ge(len, 3);
        ck_assert_int_eq(buf[len - 1], '\0');
        ck_assert_ptr_eq(memchr(buf, '\0', len), buf + len - 1);
        json_t *v = json_loadb(buf, len - 1, JSON_REJECT_DUPLICATES, &err);
        ck_assert_msg(v != NULL, "%s: %s", buf, err.text);
        return v;
}

START_TEST(test_reply_is_one_message) {
        char *buf;
        size_t len;
        json_t *v, *want;

        ck_assert_int_eq(fds_reply_encode(json_pack("{s:i}", "n", 1), false, &buf, &len), 0);
        v = decode_encoded(buf, len);
        want = json_pack("{s:{s:i}}", "parameters", "n", 1);
        ck_assert(json_equal(v, want));
        json_decref(want);
        json_decref(v);
        free(buf);

        ck_assert_int_eq(fds_reply_encode(json_object(), true, &buf, &len), 0);
        v = decode_encoded(buf, len);
        ck_assert(json_is_true(json_object_get(v, "continues")));
        ck_assert_uint_eq(json_object_size(json_object_get(v, "parameters")), 0);
        json_decref(v);
        free(buf);

        ck_assert_int_eq(fds_reply_encode(NULL, false, &buf, &len), 0);
        v = decode_encoded(buf, len);
        ck_assert(json_is_object(json_object_get(v, "parameters")));
        json_decref(v);
        free(buf);
}
END_TEST

START_TEST(test_error_is_one_message) {
        char *buf;
        size_t len;
        json_t *v, *want;

        ck_assert_int_eq(fds_error_encode(FDS_ERROR_INVALID_REQUEST,
                                          json_pack("{s:[{s:i,s:s,s:s}]}", "problems", "index", 3,
                                                    "path", "rel", "reason", "relative"),
                                          &buf, &len),
                         0);
        v = decode_encoded(buf, len);
        want = json_pack("{s:s, s:{s:[{s:i,s:s,s:s}]}}", "error", "io.fds.Transfer.InvalidRequest",
                         "parameters", "problems", "index", 3, "path", "rel", "reason", "relative");
        ck_assert(json_equal(v, want));
        json_decref(want);
        json_decref(v);
        free(buf);

        ck_assert_int_eq(fds_error_encode(VARLINK_ERROR_METHOD_NOT_FOUND, NULL, &buf, &len), 0);
        v = decode_encoded(buf, len);
        ck_assert_str_eq(json_string_value(json_object_get(v, "error")),
                         "org.varlink.service.MethodNotFound");
        ck_assert(json_is_object(json_object_get(v, "parameters")));
        ck_assert_uint_eq(json_object_size(json_object_get(v, "parameters")), 0);
        json_decref(v);
        free(buf);
}
END_TEST

START_TEST(test_strings_round_trip_through_a_frame) {
        /* Quotes, backslashes, control characters, non-ASCII and even a NUL
         * (escaped on the wire) come back as they went. */
        json_t *params = json_pack("{s:s, s:s, s:s%}", "plain", "/data/a b.bin", "odd",
                                   "q\"b\\n\n\t\x01 d\xc3\xa9j\xc3\xa0 \xe6\x97\xa5", "nul", "a\0b",
                                   (size_t) 3);
        json_t *want = json_pack("{s:O, s:b}", "parameters", params, "continues", 1);
        fds_frame f;
        const char *msg;
        size_t len, msg_len;
        char *buf;

        ck_assert_ptr_nonnull(params);
        ck_assert_int_eq(fds_reply_encode(params, true, &buf, &len), 0);
        fds_frame_init(&f, 1024);
        ck_assert_int_eq(fds_frame_feed(&f, buf, len), 0);
        ck_assert_int_eq(fds_frame_next(&f, &msg, &msg_len), 1);
        ck_assert_uint_eq(msg_len, len - 1);
        ck_assert_uint_eq(fds_frame_pending(&f), 0);
        json_t *v = json_loadb(msg, msg_len, JSON_ALLOW_NUL, NULL);
        ck_assert(json_equal(v, want));
        json_decref(v);
        json_decref(want);
        fds_frame_done(&f);
        free(buf);
}
END_TEST

START_TEST(test_interface_description_is_the_varlink_file) {
        const char *dir = getenv("FDS_TEST_DATA");
        char path[4096];
        char *text = NULL;
        size_t len = 0;
        FILE *fp;

        ck_assert_msg(dir != NULL, "FDS_TEST_DATA not set");
        snprintf(path, sizeof(path), "%s/../../proto/io.fds.Transfer.varlink", dir);
        fp = fopen(path, "re");
        ck_assert_msg(fp != NULL, "%s: %m", path);
        FILE *mem = open_memstream(&text, &len);
        int ch;
        while ((ch = fgetc(fp)) != EOF)
                fputc(ch, mem);
        fclose(fp);
        fclose(mem);
        ck_assert_uint_eq(fds_interface_description_len, len);
        ck_assert_mem_eq(fds_interface_description, text, len);
        ck_assert_int_eq(fds_interface_description[len], '\0');
        ck_assert_ptr_nonnull(strstr(fds_interface_description, "interface io.fds.Transfer\n"));
        free(text);
}
END_TEST

static Suite *message_suite(void) {
        Suite *s = suite_create("message");
        TCase *call = tcase_create("call");
        TCase *depth = tcase_create("depth");
        TCase *encode = tcase_create("encode");

        tcase_add_test(call, test_call_is_decoded);
        tcase_add_test(call, test_call_without_parameters_gets_an_empty_object);
        tcase_add_test(call, test_more_and_oneway_flags);
        tcase_add_test(call, test_method_missing_or_not_a_string_is_refused);
        tcase_add_test(call, test_message_that_is_not_an_object_is_refused);
        tcase_add_test(call, test_invalid_json_is_refused);
        tcase_add_test(call, test_invalid_utf8_is_refused);
        tcase_add_test(call, test_nul_inside_a_string_is_refused);
        tcase_add_test(call, test_length_is_respected);
        tcase_add_test(call, test_parameters_not_an_object_are_refused);
        tcase_add_test(call, test_done_accepts_null_and_zeroed);
        suite_add_tcase(s, call);

        tcase_add_test(depth, test_nesting_up_to_32_levels_is_decoded);
        tcase_add_test(depth, test_deeper_nesting_is_refused);
        tcase_add_test(depth, test_deep_nesting_is_refused_before_decoding);
        tcase_add_test(depth, test_brackets_inside_strings_do_not_count_as_nesting);
        suite_add_tcase(s, depth);

        tcase_add_test(encode, test_reply_is_one_message);
        tcase_add_test(encode, test_error_is_one_message);
        tcase_add_test(encode, test_strings_round_trip_through_a_frame);
        tcase_add_test(encode, test_interface_description_is_the_varlink_file);
        suite_add_tcase(s, encode);
        return s;
}

int main(void) {
        return fixture_run(message_suite());
}
