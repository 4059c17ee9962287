/* SPDX-License-Identifier: MIT */
/* fds_frame: bytes in, whole NUL-terminated varlink messages out. */
#include "frame.h"

#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fixture.h"

/* The next message is `want`: whole, with the NUL after it. */
static void expect_message(fds_frame *f, const char *want) {
        const char *msg = NULL;
        size_t len = 0;

        ck_assert_int_eq(fds_frame_next(f, &msg, &len), 1);
        ck_assert_uint_eq(len, strlen(want));
        ck_assert_mem_eq(msg, want, len);
        ck_assert_int_eq(msg[len], '\0');
}

static void expect_nothing_yet(fds_frame *f) {
        const char *msg = NULL;
        size_t len = 0;

        ck_assert_int_eq(fds_frame_next(f, &msg, &len), 0);
}

static void expect_too_large(fds_frame *f) {
        const char *msg = NULL;
        size_t len = 0;

        ck_assert_int_eq(fds_frame_next(f, &msg, &len), -EMSGSIZE);
}

/* A string of n '.' characters: a message body with no NUL in it. */
static char *dots(size_t n) {
        char *s = malloc(n + 1);

        ck_assert_ptr_nonnull(s);
        memset(s, '.', n);
        s[n] = '\0';
        return s;
}

START_TEST(test_next_on_a_new_frame_wants_more) {
        fds_frame f;

        fds_frame_init(&f, 1024);
        ck_assert_uint_eq(fds_frame_pending(&f), 0);
        expect_nothing_yet(&f);
        fds_frame_done(&f);
}
END_TEST

START_TEST(test_message_fed_one_byte_at_a_time) {
        static const char msg[] = "{\"method\":\"io.fds.Transfer.Copy\",\"parameters\":{}}";
        fds_frame f;

        fds_frame_init(&f, 1024);
        for (size_t i = 0; i < strlen(msg); i++) {
                ck_assert_int_eq(fds_frame_feed(&f, &msg[i], 1), 0);
                expect_nothing_yet(&f);
                ck_assert_uint_eq(fds_frame_pending(&f), i + 1);
        }
        ck_assert_int_eq(fds_frame_feed(&f, "", 1), 0);
        expect_message(&f, msg);
        ck_assert_uint_eq(fds_frame_pending(&f), 0);
        expect_nothing_yet(&f);
        fds_frame_done(&f);
}
END_TEST

START_TEST(test_several_messages_in_one_feed) {
        static const char stream[] = "{\"a\":1}\0{}\0{\"b\":[2]}\0{\"c\"";
        fds_frame f;

        fds_frame_init(&f, 1024);
        ck_assert_int_eq(fds_frame_feed(&f, stream, sizeof(stream) - 1), 0);
        expect_message(&f, "{\"a\":1}");
        expect_message(&f, "{}");
        expect_message(&f, "{\"b\":[2]}");
        expect_nothing_yet(&f);
        ck_assert_uint_eq(fds_frame_pending(&f), strlen("{\"c\""));

        ck_assert_int_eq(fds_frame_feed(&f, ":3}", 4), 0);
        expect_message(&f, "{\"c\":3}");
        expect_nothing_yet(&f);
        fds_frame_done(&f);
}
END_TEST

START_TEST(test_empty_message_is_a_message) {
        fds_frame f;

        fds_frame_init(&f, 16);
        ck_assert_int_eq(fds_frame_feed(&f, "\0\0{}\0", 5), 0);
        expect_message(&f, "");
        expect_message(&f, "");
        expect_message(&f, "{}");
        expect_nothing_yet(&f);
        fds_frame_done(&f);
}
END_TEST

START_TEST(test_message_exactly_at_the_limit_is_accepted) {
        char *body = dots(16);
        fds_frame f;

        fds_frame_init(&f, 16);
        ck_assert_int_eq(fds_frame_feed(&f, body, 16), 0);
        expect_nothing_yet(&f);
        ck_assert_int_eq(fds_frame_feed(&f, "", 1), 0);
        expect_message(&f, body);
        ck_assert_uint_eq(fds_frame_pending(&f), 0);
        fds_frame_done(&f);
        free(body);
}
END_TEST

START_TEST(test_message_one_byte_over_the_limit_is_refused) {
        char *body = dots(17);
        fds_frame f;

        /* Whole (NUL included) in one feed: refused when it is taken out. */
        fds_frame_init(&f, 16);
        ck_assert_int_eq(fds_frame_feed(&f, body, 18), 0);
        expect_too_large(&f);
        fds_frame_done(&f);

        /* A good message before it still comes out first. */
        fds_frame_init(&f, 16);
        ck_assert_int_eq(fds_frame_feed(&f, "{}", 3), 0);
        ck_assert_int_eq(fds_frame_feed(&f, body, 18), 0);
        expect_message(&f, "{}");
        expect_too_large(&f);
        fds_frame_done(&f);
        free(body);
}
END_TEST

START_TEST(test_message_without_nul_growing_past_the_limit_is_refused) {
        fds_frame f;

        fds_frame_init(&f, 16);
        /* 16 bytes and no NUL may still become a message of exactly 16. */
        for (int i = 0; i < 16; i++) {
                ck_assert_int_eq(fds_frame_feed(&f, ".", 1), 0);
                expect_nothing_yet(&f);
        }
        /* The 17th cannot. */
        ck_assert_int_eq(fds_frame_feed(&f, ".", 1), 0);
        expect_too_large(&f);
        /* Nothing more is taken in, NUL or not. */
        ck_assert_int_eq(fds_frame_feed(&f, ".", 1), -EMSGSIZE);
        ck_assert_int_eq(fds_frame_feed(&f, "", 1), -EMSGSIZE);
        expect_too_large(&f);
        fds_frame_done(&f);
}
END_TEST

START_TEST(test_endless_message_is_bounded_even_if_never_asked_for) {
        fds_frame f;
        int r = 0;
        size_t fed = 0;

        /* A caller that only feeds: the buffer stops growing at one message
         * plus one read, and says so with -EMSGSIZE. */
        fds_frame_init(&f, 16);
        while (fed < 4096 && (r = fds_frame_feed(&f, ".", 1)) == 0)
                fed++;
        ck_assert_int_eq(r, -EMSGSIZE);
        ck_assert_uint_le(fed, 16 + 1 + 1);
        ck_assert_uint_le(f.cap, 16 + 1 + 1);
        expect_too_large(&f);
        fds_frame_done(&f);
}
END_TEST

START_TEST(test_pending_counts_bytes_not_handed_out) {
        fds_frame f;

        fds_frame_init(&f, 1024);
        ck_assert_int_eq(fds_frame_feed(&f, "{}\0{\"x\"", 7), 0);
        ck_assert_uint_eq(fds_frame_pending(&f), 7);
        expect_message(&f, "{}");
        ck_assert_uint_eq(fds_frame_pending(&f), 4);
        /* Looking for a NUL that is not there yet hands out nothing. */
        expect_nothing_yet(&f);
        ck_assert_uint_eq(fds_frame_pending(&f), 4);
        ck_assert_int_eq(fds_frame_feed(&f, ":1}\0", 4), 0);
        ck_assert_uint_eq(fds_frame_pending(&f), 8);
        expect_message(&f, "{\"x\":1}");
        ck_assert_uint_eq(fds_frame_pending(&f), 0);
        fds_frame_done(&f);
}
END_TEST

/* The way a libuv stream uses the frame: the alloc callback reserves
 * (suggested size), the read callback commits nread (0 on EAGAIN) and takes
 * out every whole message. Reads are cut at sizes unrelated to messages. */
START_TEST(test_reserve_and_commit_as_libuv_alloc_and_read) {
        enum { SUGGESTED = 64, N = 40 };
        static const size_t cuts[] = { 1, 7, 0, 64, 3, 13, 2, 31, 5, 64, 0, 11 };
        char stream[N * 40];
        char want[N][40];
        size_t stream_len = 0, got = 0, pos = 0;
        fds_frame f;

        for (int i = 0; i < N; i++) {
                /* 16 to 36 bytes, so some messages straddle several reads and
                 * some reads hold several messages. */
                int n = snprintf(want[i], sizeof(want[i]), "{\"i\":%d,\"pad\":\"%.*s\"}", i,
                                 i % 20, "xxxxxxxxxxxxxxxxxxxx");
                memcpy(stream + stream_len, want[i], (size_t) n + 1);
                stream_len += (size_t) n + 1;
        }

        fds_frame_init(&f, 48);
        for (size_t k = 0; pos < stream_len; k++) {
                char *p;
                size_t room;
                ck_assert_int_eq(fds_frame_reserve(&f, SUGGESTED, &p, &room), 0);
                ck_assert_uint_ge(room, 1);
                size_t nread = cuts[k % (sizeof(cuts) / sizeof(cuts[0]))];
                if (nread > room)
                        nread = room;
                if (nread > stream_len - pos)
                        nread = stream_len - pos;
                memcpy(p, stream + pos, nread);
                pos += nread;
                fds_frame_commit(&f, nread);

                const char *msg;
                size_t len;
                int r;
                while ((r = fds_frame_next(&f, &msg, &len)) == 1) {
                        ck_assert_int_lt(got, N);
                        ck_assert_uint_eq(len, strlen(want[got]));
                        ck_assert_mem_eq(msg, want[got], len);
                        got++;
                }
                ck_assert_int_eq(r, 0);
        }
        ck_assert_int_eq(got, N);
        ck_assert_uint_eq(fds_frame_pending(&f), 0);
        fds_frame_done(&f);
}
END_TEST

START_TEST(test_reserve_gives_at_least_what_is_asked) {
        fds_frame f;
        char *p;
        size_t room;

        fds_frame_init(&f, 1 << 20);
        ck_assert_int_eq(fds_frame_reserve(&f, 65536, &p, &room), 0);
        ck_assert_uint_ge(room, 65536);
        memset(p, 'x', 10);
        fds_frame_commit(&f, 10);
        ck_assert_int_eq(fds_frame_reserve(&f, 65536, &p, &room), 0);
        ck_assert_uint_ge(room, 65536);
        ck_assert_uint_eq(fds_frame_pending(&f), 10);
        fds_frame_done(&f);
}
END_TEST

START_TEST(test_compaction_keeps_later_messages_intact) {
        fds_frame f;
        char *p;
        size_t room;

        static const char stream[] = "{\"first\":1}\0{\"second\":2}\0{\"thi";

        fds_frame_init(&f, 32);
        ck_assert_int_eq(fds_frame_feed(&f, stream, sizeof(stream) - 1), 0);
        expect_message(&f, "{\"first\":1}");
        /* Reserving drops the handed-out bytes, moving the rest down. */
        ck_assert_int_eq(fds_frame_reserve(&f, 8, &p, &room), 0);
        ck_assert_uint_eq(fds_frame_pending(&f), strlen("{\"second\":2}") + 1 + strlen("{\"thi"));
        memcpy(p, "rd\":3}", 7);
        fds_frame_commit(&f, 7);
        expect_message(&f, "{\"second\":2}");
        expect_message(&f, "{\"third\":3}");
        expect_nothing_yet(&f);
        fds_frame_done(&f);
}
END_TEST

START_TEST(test_compaction_keeps_a_partly_scanned_message) {
        fds_frame f;

        /* "abcdef" has been searched for a NUL before the buffer moves; the
         * search must resume at the right place afterwards. */
        fds_frame_init(&f, 8);
        ck_assert_int_eq(fds_frame_feed(&f, "{}\0abcdef", 9), 0);
        expect_message(&f, "{}");
        expect_nothing_yet(&f);
        ck_assert_int_eq(fds_frame_feed(&f, "gh\0", 3), 0);
        expect_message(&f, "abcdefgh");
        fds_frame_done(&f);

        /* Same, one byte too long: the limit still counts from the start of
         * the message, not from where the buffer was moved. */
        fds_frame_init(&f, 8);
        ck_assert_int_eq(fds_frame_feed(&f, "{}\0abcdef", 9), 0);
        expect_message(&f, "{}");
        expect_nothing_yet(&f);
        ck_assert_int_eq(fds_frame_feed(&f, "ghi", 3), 0);
        expect_too_large(&f);
        fds_frame_done(&f);
}
END_TEST

START_TEST(test_frame_can_be_used_again_after_done) {
        fds_frame f;

        fds_frame_init(&f, 16);
        ck_assert_int_eq(fds_frame_feed(&f, "{\"partial", 9), 0);
        fds_frame_done(&f);
        ck_assert_uint_eq(fds_frame_pending(&f), 0);
        ck_assert_int_eq(fds_frame_feed(&f, "{}\0", 3), 0);
        expect_message(&f, "{}");
        fds_frame_done(&f);
        fds_frame_done(&f);
}
END_TEST

static Suite *frame_suite(void) {
        Suite *s = suite_create("frame");
        TCase *split = tcase_create("splitting");
        TCase *limit = tcase_create("limit");
        TCase *buffer = tcase_create("buffer");

        tcase_add_test(split, test_next_on_a_new_frame_wants_more);
        tcase_add_test(split, test_message_fed_one_byte_at_a_time);
        tcase_add_test(split, test_several_messages_in_one_feed);
        tcase_add_test(split, test_empty_message_is_a_message);
        suite_add_tcase(s, split);

        tcase_add_test(limit, test_message_exactly_at_the_limit_is_accepted);
        tcase_add_test(limit, test_message_one_byte_over_the_limit_is_refused);
        tcase_add_test(limit, test_message_without_nul_growing_past_the_limit_is_refused);
        tcase_add_test(limit, test_endless_message_is_bounded_even_if_never_asked_for);
        suite_add_tcase(s, limit);

        tcase_add_test(buffer, test_pending_counts_bytes_not_handed_out);
        tcase_add_test(buffer, test_reserve_and_commit_as_libuv_alloc_and_read);
        tcase_add_test(buffer, test_reserve_gives_at_least_what_is_asked);
        tcase_add_test(buffer, test_compaction_keeps_later_messages_intact);
        tcase_add_test(buffer, test_compaction_keeps_a_partly_scanned_message);
        tcase_add_test(buffer, test_frame_can_be_used_again_after_done);
        suite_add_tcase(s, buffer);
        return s;
}

int main(void) {
        return fixture_run(frame_suite());
}
