/* SPDX-License-Identifier: MIT */
/* The metrics: which addresses --metrics-listen takes, where a call's
 * duration lands in the histogram, the exposition text of a daemon with
 * no loop, and how the S3 client names the requests it counts. */
#include "metrics.h"
#include "metrics_http.h"

#include <arpa/inet.h>
#include <check.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "daemon.h"
#include "fixture.h"
#include "s3_stats.h"

START_TEST(test_addresses) {
        static const char *const good[] = { "127.0.0.1:9464", "0.0.0.0:1", "[::1]:65535", "[::]:80",
                                            "[::ffff:127.0.0.1]:9464" };
        static const char *const bad[] = { "", "127.0.0.1", "127.0.0.1:", "127.0.0.1:0", "127.0.0.1:65536",
                                           "127.0.0.1:099999", "127.0.0.1: 80", "127.0.0.1:+80",
                                           "localhost:80", "::1:80", "[::1]80", "[::1]", "[]:80",
                                           "[127.0.0.1]:80", "1.2.3:80", "[fe80::1%lo]:80" };
        struct sockaddr_storage ss;

        for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
                ck_assert_msg(metrics_http_parse_address(good[i], &ss) == 0, "%s refused", good[i]);
        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
                ck_assert_msg(metrics_http_parse_address(bad[i], &ss) == -EINVAL, "%s taken", bad[i]);

        ck_assert_int_eq(metrics_http_parse_address("10.1.2.3:9464", &ss), 0);
        const struct sockaddr_in *a = (const struct sockaddr_in *) &ss;
        ck_assert_int_eq(a->sin_family, AF_INET);
        ck_assert_int_eq(ntohs(a->sin_port), 9464);
        ck_assert_uint_eq(ntohl(a->sin_addr.s_addr), 0x0a010203);
        ck_assert_int_eq(metrics_http_parse_address("[::1]:80", &ss), 0);
        const struct sockaddr_in6 *b = (const struct sockaddr_in6 *) &ss;
        ck_assert_int_eq(b->sin6_family, AF_INET6);
        ck_assert_int_eq(ntohs(b->sin6_port), 80);
        ck_assert(IN6_IS_ADDR_LOOPBACK(&b->sin6_addr));
}
END_TEST

START_TEST(test_buckets) {
        metrics_counters m;

        metrics_init(&m);
        ck_assert(m.start_time > 1e9);
        metrics_call_end(&m, TRANSFER_COPY, METRICS_OUTCOME_OK, 0);           /* le 0.005 */
        metrics_call_end(&m, TRANSFER_COPY, METRICS_OUTCOME_OK, 5000000);     /* exactly 0.005 */
        metrics_call_end(&m, TRANSFER_COPY, METRICS_OUTCOME_CANCELED, 5000001); /* 0.01 */
        metrics_call_end(&m, TRANSFER_READ, METRICS_OUTCOME_OK, 61000000000ULL); /* +Inf */
        ck_assert_uint_eq(m.duration[TRANSFER_COPY][0], 2);
        ck_assert_uint_eq(m.duration[TRANSFER_COPY][1], 1);
        ck_assert_uint_eq(m.duration[TRANSFER_READ][METRICS_BUCKETS], 1);
        ck_assert_uint_eq(m.calls[TRANSFER_COPY][METRICS_OUTCOME_OK], 2);
        ck_assert_uint_eq(m.calls[TRANSFER_COPY][METRICS_OUTCOME_CANCELED], 1);
        ck_assert(m.duration_sum[TRANSFER_READ] > 60.9 && m.duration_sum[TRANSFER_READ] < 61.1);

        metrics_file_done(&m, TRANSFER_COPY, FDS_CODE_OK, 10);
        metrics_file_done(&m, TRANSFER_COPY, FDS_CODE_NOT_FOUND, 0);
        metrics_file_done(&m, TRANSFER_COPY, (fds_code) 999, 0); /* out of range: InternalError */
        ck_assert_uint_eq(m.files[TRANSFER_COPY][FDS_CODE_OK], 1);
        ck_assert_uint_eq(m.files[TRANSFER_COPY][FDS_CODE_NOT_FOUND], 1);
        ck_assert_uint_eq(m.files[TRANSFER_COPY][FDS_CODE_INTERNAL], 1);
        ck_assert_uint_eq(m.bytes[TRANSFER_COPY], 10);
}
END_TEST

static bool has_line(const char *text, const char *line) {
        size_t n = strlen(line);
        for (const char *p = text; (p = strstr(p, line)); p++)
                if ((p == text || p[-1] == '\n') && p[n] == '\n')
                        return true;
        return false;
}

START_TEST(test_render) {
        static fds_daemon d; /* no loop: nothing but the counters and the state fields */
        char *text = NULL;
        size_t len = 0;

        list_init(&d.sessions);
        list_init(&d.engine.batches);
        metrics_init(&d.metrics);
        d.engine.cfg.buffer_memory = 64 << 20;
        d.stats.connections_total = 7;
        d.n_sessions = 2;
        metrics_call_end(&d.metrics, TRANSFER_SIZE, METRICS_OUTCOME_OK, 20000000); /* 0.02 s */
        metrics_file_done(&d.metrics, TRANSFER_SIZE, FDS_CODE_PERMISSION_DENIED, 0);
        metrics_call_refused(&d.metrics, TRANSFER_COPY);

        ck_assert_int_eq(metrics_render(&d, &text, &len), 0);
        ck_assert_uint_eq(strlen(text), len);
        ck_assert(has_line(text, "# TYPE fds_call_duration_seconds histogram"));
        ck_assert(has_line(text, "fds_call_duration_seconds_bucket{method=\"size\",le=\"0.01\"} 0"));
        ck_assert(has_line(text, "fds_call_duration_seconds_bucket{method=\"size\",le=\"0.025\"} 1"));
        ck_assert(has_line(text, "fds_call_duration_seconds_bucket{method=\"size\",le=\"60\"} 1"));
        ck_assert(has_line(text, "fds_call_duration_seconds_bucket{method=\"size\",le=\"+Inf\"} 1"));
        ck_assert(has_line(text, "fds_call_duration_seconds_count{method=\"size\"} 1"));
        ck_assert(has_line(text, "fds_call_duration_seconds_sum{method=\"size\"} 0.020000"));
        ck_assert(has_line(text, "fds_calls_total{method=\"size\",outcome=\"ok\"} 1"));
        /* Refused: counted, not timed. */
        ck_assert(has_line(text, "fds_calls_total{method=\"copy\",outcome=\"invalid_parameter\"} 1"));
        ck_assert(has_line(text, "fds_calls_total{method=\"copy\",outcome=\"disconnected\"} 0"));
        ck_assert(has_line(text, "fds_call_duration_seconds_count{method=\"copy\"} 0"));
        ck_assert(has_line(text, "fds_files_total{method=\"size\",result=\"PermissionDenied\"} 1"));
        ck_assert(has_line(text, "fds_files_total{method=\"copy\",result=\"ok\"} 0"));
        ck_assert(has_line(text, "fds_connections_total 7"));
        ck_assert(has_line(text, "fds_connections_open 2"));
        ck_assert(has_line(text, "fds_buffer_memory_limit_bytes 67108864"));
        ck_assert(has_line(text, "fds_s3_retries_total 0"));
        /* Every sample follows its family's HELP and TYPE. */
        ck_assert(strstr(text, "# HELP fds_files_total ") < strstr(text, "# TYPE fds_files_total counter"));
        ck_assert(strstr(text, "# TYPE fds_files_total counter") < strstr(text, "fds_files_total{"));
        ck_assert(text[len - 1] == '\n');
        free(text);
}
END_TEST

START_TEST(test_s3_ops) {
        const sigv4_pair upload_id[] = { { "partNumber", "1" }, { "uploadId", "x" } };
        const sigv4_pair uploads[] = { { "uploads", NULL } };
        const sigv4_pair list[] = { { "list-type", "2" }, { "prefix", "a/" } };
        const sigv4_pair copy[] = { { "X-Amz-Copy-Source", "/b/k" } };
        s3_stats s = { 0 };

        ck_assert_int_eq(s3_op_classify(HTTP_GET, true, NULL, 0, NULL, 0), S3_OP_GET_OBJECT);
        ck_assert_int_eq(s3_op_classify(HTTP_HEAD, true, NULL, 0, NULL, 0), S3_OP_HEAD_OBJECT);
        ck_assert_int_eq(s3_op_classify(HTTP_HEAD, false, NULL, 0, NULL, 0), S3_OP_HEAD_BUCKET);
        ck_assert_int_eq(s3_op_classify(HTTP_PUT, true, NULL, 0, NULL, 0), S3_OP_PUT_OBJECT);
        ck_assert_int_eq(s3_op_classify(HTTP_PUT, true, NULL, 0, copy, 1), S3_OP_COPY_OBJECT);
        ck_assert_int_eq(s3_op_classify(HTTP_PUT, true, upload_id, 2, NULL, 0), S3_OP_UPLOAD_PART);
        ck_assert_int_eq(s3_op_classify(HTTP_PUT, true, upload_id, 2, copy, 1), S3_OP_UPLOAD_PART_COPY);
        ck_assert_int_eq(s3_op_classify(HTTP_POST, true, uploads, 1, NULL, 0),
                         S3_OP_CREATE_MULTIPART_UPLOAD);
        ck_assert_int_eq(s3_op_classify(HTTP_POST, true, upload_id + 1, 1, NULL, 0),
                         S3_OP_COMPLETE_MULTIPART_UPLOAD);
        ck_assert_int_eq(s3_op_classify(HTTP_DELETE, true, upload_id + 1, 1, NULL, 0),
                         S3_OP_ABORT_MULTIPART_UPLOAD);
        ck_assert_int_eq(s3_op_classify(HTTP_DELETE, true, NULL, 0, NULL, 0), S3_OP_DELETE_OBJECT);
        ck_assert_int_eq(s3_op_classify(HTTP_GET, true, upload_id + 1, 1, NULL, 0), S3_OP_LIST_PARTS);
        ck_assert_int_eq(s3_op_classify(HTTP_GET, false, list, 2, NULL, 0), S3_OP_LIST_OBJECTS_V2);
        ck_assert_int_eq(s3_op_classify(HTTP_GET, false, uploads, 1, NULL, 0), S3_OP_LIST_MULTIPART_UPLOADS);
        ck_assert_int_eq(s3_op_classify(HTTP_GET, false, NULL, 0, NULL, 0), S3_OP_OTHER);
        ck_assert_str_eq(s3_op_name(S3_OP_COMPLETE_MULTIPART_UPLOAD), "CompleteMultipartUpload");
        ck_assert_str_eq(s3_op_name((s3_op) 99), "Other");

        /* Statuses take a slot each as they come; past the table, "other". */
        s3_stats_count(&s, S3_OP_GET_OBJECT, 404);
        s3_stats_count(&s, S3_OP_GET_OBJECT, 0);
        s3_stats_count(&s, S3_OP_GET_OBJECT, 404);
        ck_assert_uint_eq(s.ops[S3_OP_GET_OBJECT].by_status[0].status, 404);
        ck_assert_uint_eq(s.ops[S3_OP_GET_OBJECT].by_status[0].n, 2);
        ck_assert_uint_eq(s.ops[S3_OP_GET_OBJECT].by_status[1].status, 0);
        ck_assert_uint_eq(s.ops[S3_OP_GET_OBJECT].by_status[1].n, 1);
        for (long st = 200; st < 200 + S3_STATS_STATUSES; st++)
                s3_stats_count(&s, S3_OP_PUT_OBJECT, st);
        s3_stats_count(&s, S3_OP_PUT_OBJECT, 599);
        s3_stats_count(&s, S3_OP_PUT_OBJECT, 200);
        ck_assert_uint_eq(s.ops[S3_OP_PUT_OBJECT].other, 1);
        ck_assert_uint_eq(s.ops[S3_OP_PUT_OBJECT].by_status[0].n, 2);
}
END_TEST

static Suite *metrics_suite(void) {
        Suite *s = suite_create("metrics");
        TCase *tc = tcase_create("metrics");

        tcase_add_test(tc, test_addresses);
        tcase_add_test(tc, test_buckets);
        tcase_add_test(tc, test_render);
        tcase_add_test(tc, test_s3_ops);
        suite_add_tcase(s, tc);
        return s;
}

int main(void) {
        return fixture_run(metrics_suite());
}
