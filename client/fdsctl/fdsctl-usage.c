/* SPDX-License-Identifier: MIT */
/* fdsctl --help, and how a usage error is told. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>

#include "fdsctl.h"

void usage(FILE *f) {
        fputs("Usage: fdsctl [OPTIONS] copy SRC DST\n"
              "       fdsctl [OPTIONS] copy --batch FILE\n"
              "       fdsctl [OPTIONS] ls [-l] [-r] PATH\n"
              "       fdsctl [OPTIONS] size PATH...\n"
              "       fdsctl [OPTIONS] cat PATH...\n"
              "       fdsctl [OPTIONS] status\n"
              "       fdsctl [OPTIONS] calls\n"
              "       fdsctl [OPTIONS] cancel ID...\n"
              "       fdsctl [OPTIONS] bwlimit [RATE [ID]]\n"
              "\n"
              "Copy, list, size and read local files and S3 objects through fdsd.\n"
              "A PATH is a local path (relative ones are taken from the current\n"
              "directory) or an s3://BUCKET/KEY URL.\n"
              "\n"
              "Commands:\n"
              "  copy SRC DST           copy one file\n"
              "  copy --batch FILE      copy every pair in FILE (\"-\": stdin), one per line:\n"
              "                         {\"src\": SRC, \"dst\": DST} or SRC<TAB>DST\n"
              "  ls PATH                what is in a directory, or under an s3:// prefix as in\n"
              "                         aws s3 ls (s3://B/data/ lists data/, s3://B/data what\n"
              "                         starts with data); directories end with /\n"
              "  size PATH...           print SIZE<TAB>PATH for each path\n"
              "  cat PATH...            write the contents of each path to stdout\n"
              "  status                 the daemon's version, uptime, work in flight and counters\n"
              "  calls                  the calls fdsd runs: ID, caller, files, bytes, rate, cap\n"
              "  cancel ID...           cancel calls (yours; root: any); their caller gets every\n"
              "                         result, the unfinished files Canceled\n"
              "  bwlimit [RATE [ID]]    set the daemon's bandwidth cap (root or fdsd's user), or\n"
              "                         call ID's, while it runs; RATE is off or 512K, 10M, 1.5G\n"
              "                         (bytes a second, binary units); no RATE: show the cap\n"
              "\n"
              "Options:\n"
              "  -b, --batch FILE       read the pairs to copy from FILE\n"
              "  -r, --recursive        SRC is a directory or s3:// prefix: copy every file\n"
              "                         under it into DST, keeping relative paths; ls: every\n"
              "                         file below PATH\n"
              "  -l, --long             ls: modification time and size of each entry\n"
              "      --summarize        ls: the number of files and their total size, last\n"
              "      --dry-run          validate and list what would be copied; move nothing\n"
              "  -n, --no-clobber       leave destinations that exist alone; reported as skipped\n"
              "      --skip-existing    the same as --no-clobber\n"
              "      --exclude GLOB     with -r: leave out files whose path below SRC matches\n"
              "      --include GLOB     with -r: take them back; as in aws s3 cp, the last\n"
              "                         matching --exclude/--include decides (* matches /)\n"
              "  -p, --parallelism N    files in flight at once (daemon default if unset)\n"
              "      --priority N       this call's share of file starts, 1 to 100 (default\n"
              "                         10): 40 starts 4 files for every one of a call of 10\n"
              "      --no-validate      start at once; a missing source fails only its file\n"
              "      --max-attempts N   tries per S3 request (default 5)\n"
              "      --endpoint URL     S3 endpoint (else $AWS_ENDPOINT_URL_S3, $AWS_ENDPOINT_URL)\n"
              "      --region REGION    S3 region (else $AWS_REGION, $AWS_DEFAULT_REGION)\n"
              "      --profile NAME     AWS profile of the daemon's shared files (else $AWS_PROFILE)\n"
              "      --path-style       path-style S3 addressing (bucket in the path)\n"
              "                         Credentials: $AWS_ACCESS_KEY_ID and $AWS_SECRET_ACCESS_KEY\n"
              "                         ($AWS_SESSION_TOKEN) when both are set, else the daemon's\n"
              "  -o, --option KEY=VAL   set a call option, e.g. s3.endpoint_url=http://...\n"
              "                         (VAL is an integer, true/false, or a string)\n"
              "  -s, --socket PATH      the daemon's socket (default: $FDS_SOCKET, else\n"
              "                         $XDG_RUNTIME_DIR/fds/fdsd.sock, else /run/fds/fdsd.sock)\n"
              "  -j, --json             one JSON object per result line; the copy summary last\n"
              "  -q, --quiet            no summary and no progress line\n"
              "  -h, --help             show this help\n"
              "  -V, --version          show the version\n"
              "\n"
              "Exit status: 0 all files succeeded, 1 some failed, 2 usage, connection\n"
              "or request error.\n",
              f);
}

int usage_error(const char *fmt, ...) {
        va_list ap;

        fputs("fdsctl: ", stderr);
        va_start(ap, fmt);
        vfprintf(stderr, fmt, ap);
        va_end(ap);
        fputs("\nTry 'fdsctl --help'.\n", stderr);
        return -EINVAL;
}
