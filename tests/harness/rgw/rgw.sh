#!/usr/bin/env bash
# Throw-away single-node Ceph RADOS Gateway (S3) on 127.0.0.1 for tests.
#
#   rgw.sh install              install ceph-mon, ceph-osd, radosgw if missing
#   rgw.sh start DIR [PORT]     fresh cluster in DIR, S3 on 127.0.0.1:PORT;
#                               writes DIR/env (AWS_ENDPOINT_URL, AWS_ACCESS_KEY_ID,
#                               AWS_SECRET_ACCESS_KEY, AWS_REGION)
#   rgw.sh stop DIR             stop radosgw, osd, mon (idempotent)
#   rgw.sh gc DIR               free deleted data now (memstore keeps it in RAM)
#   rgw.sh pause DIR            stop only radosgw (port refuses connections)
#   rgw.sh resume DIR           start radosgw again on the same port
#   rgw.sh status DIR           print which daemons run (exit 1 unless all)
#   rgw.sh role DIR NAME [RES]  an IAM role the test user may assume (STS
#                               AssumeRole), allowed all of S3 on resource RES
#                               (default arn:aws:s3:::*); prints its ARN
#
# Environment: FDS_RGW_TIMEOUT (seconds per bounded wait, default 60),
# FDS_RGW_MEMSTORE_BYTES (OSD capacity, default 8 GiB; data lives in RAM).
# Everything (config, data, logs, sockets, pids) stays inside DIR; the cluster
# is bound to 127.0.0.1 only and uses cephx-less auth.
set -euo pipefail
# Variables that would make the Ceph tools read other configuration.
unset CEPH_ARGS CEPH_CONF

readonly ACCESS_KEY="FDSTESTKEY0123456789"
readonly SECRET_KEY="fdsTestSecret0123456789abcdefghijklmnopq"
readonly REGION="us-east-1"
readonly S3_UID="fds-test"
TIMEOUT="${FDS_RGW_TIMEOUT:-60}"
MEMSTORE_BYTES="${FDS_RGW_MEMSTORE_BYTES:-8589934592}"
# Port blocks (16 ports each) are taken below the kernel's ephemeral range.
readonly PORT_LO=20000 PORT_HI=32000 BLOCK=16

die() {
    printf 'rgw.sh: %s\n' "$*" >&2
    exit 1
}

log() {
    printf 'rgw.sh: %s\n' "$*" >&2
}

usage() {
    sed -n '2,17s/^# \{0,1\}//p' "$0" >&2
    exit "${1:-2}"
}

now_ms() {
    local s ns
    read -r s ns < <(date '+%s %N')
    echo $((s * 1000 + 10#$ns / 1000000))
}

# Canonical absolute path of DIR (need not exist yet), so that "d", "./d/"
# and "$PWD/d" name the same cluster.
abspath() {
    realpath -m -- "$1"
}

# ---------------------------------------------------------------- install

cmd_install() {
    local pkgs=(ceph-mon ceph-osd radosgw openssl) missing=() p
    for p in "${pkgs[@]}"; do
        if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
            missing+=("$p")
        fi
    done
    if [ "${#missing[@]}" -eq 0 ]; then
        return 0
    fi
    local apt=(apt-get install -y --no-install-recommends "${pkgs[@]}")
    if [ "$(id -u)" -ne 0 ]; then
        apt=(sudo "${apt[@]}")
    fi
    export DEBIAN_FRONTEND=noninteractive
    log "installing ${missing[*]}"
    if ! "${apt[@]}" </dev/null; then
        log "install failed; running apt-get update and retrying"
        if [ "$(id -u)" -ne 0 ]; then
            sudo apt-get update </dev/null
        else
            apt-get update </dev/null
        fi
        "${apt[@]}" </dev/null
    fi
}

# ---------------------------------------------------------------- ports

# Local TCP ports in use in any state (listening, bound, connected).
used_ports() {
    awk 'FNR > 1 { split($2, a, ":"); print strtonum("0x" a[2]) }' \
        /proc/net/tcp /proc/net/tcp6 2>/dev/null | sort -un
}

# awk without strtonum (mawk): fall back to a bash conversion.
used_ports_portable() {
    local f line addr
    for f in /proc/net/tcp /proc/net/tcp6; do
        [ -r "$f" ] || continue
        while read -r _ addr _; do
            [ "$addr" = local_address ] && continue
            line="${addr##*:}"
            echo $((16#$line))
        done <"$f"
    done | sort -un
}

port_set() {
    if awk 'BEGIN { exit !(strtonum("0x10") == 16) }' 2>/dev/null; then
        used_ports
    else
        used_ports_portable
    fi
}

# Print the first port of a free block of BLOCK ports, avoiding $1 (may be empty).
pick_block() {
    local avoid="$1" used n_blocks start i b p ok
    used=" $(port_set | tr '\n' ' ') "
    n_blocks=$(((PORT_HI - PORT_LO) / BLOCK))
    start=$(((RANDOM * 32768 + RANDOM) % n_blocks))
    for ((i = 0; i < n_blocks; i++)); do
        b=$((PORT_LO + ((start + i) % n_blocks) * BLOCK))
        ok=1
        for ((p = b; p < b + BLOCK; p++)); do
            if [[ "$used" == *" $p "* ]] || [ "$p" = "$avoid" ]; then
                ok=0
                break
            fi
        done
        if [ "$ok" = 1 ]; then
            echo "$b"
            return 0
        fi
    done
    die "no free block of $BLOCK ports in $PORT_LO-$PORT_HI"
}

port_in_use() {
    local used
    used=" $(port_set | tr '\n' ' ') "
    [[ "$used" == *" $1 "* ]]
}

# ---------------------------------------------------------------- helpers

# HTTP status of GET / on 127.0.0.1:$1, or 000 (bash only, no curl needed).
http_status() {
    local port="$1" code=""
    (
        exec 3<>"/dev/tcp/127.0.0.1/$port" || exit 1
        printf 'GET / HTTP/1.1\r\nHost: 127.0.0.1:%s\r\nConnection: close\r\n\r\n' "$port" >&3
        read -r -t 5 _ code _ <&3 || true
        # Drain the reply so that radosgw does not log a broken pipe.
        while read -r -t 5 _ <&3; do :; done
        echo "${code:-000}"
    ) 2>/dev/null || echo 000
}

cluster_vars() {
    DIR="$(abspath "$1")"
    CONF="$DIR/ceph.conf"
    PIDS="$DIR/pids"
    LOGS="$DIR/log"
}

ceph_cli() {
    timeout "$TIMEOUT" ceph -c "$CONF" --connect-timeout "$TIMEOUT" "$@"
}

rgw_admin() {
    timeout "$TIMEOUT" radosgw-admin -c "$CONF" "$@"
}

# Print the tail of the logs of daemon $1 (mon.a, osd.0, client.rgw).
show_log() {
    local name="$1" f
    for f in "$LOGS/$name.out" "$LOGS/$name.log"; do
        if [ -s "$f" ]; then
            printf -- '---- tail of %s\n' "$f" >&2
            tail -n 40 "$f" >&2
        fi
    done
}

# Is pid $1 alive (not a zombie) and one of this cluster's daemons?
ours() {
    local pid="$1" cmd
    [ -n "$pid" ] || return 1
    kill -0 "$pid" 2>/dev/null || return 1
    # A zombie has an empty command line.
    cmd="$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null)" || return 1
    [[ "$cmd" == *"$CONF"* ]]
}

pid_of() {
    local f="$PIDS/$1.pid"
    if [ -r "$f" ]; then
        cat "$f"
    fi
}

# Start a daemon: short name (pid file), Ceph name (log), command line.
# It runs in the foreground of a background job so its pid is known at once.
spawn() {
    local name="$1" cname="$2"
    shift 2
    (
        # Close every inherited descriptor above 2 (the port lock, and any pipe
        # of the caller) so that a daemon never keeps a test runner waiting.
        local f n
        for f in "/proc/$BASHPID/fd/"*; do
            n="${f##*/}"
            if [ "$n" -gt 2 ] 2>/dev/null; then
                eval "exec $n>&-" 2>/dev/null || true
            fi
        done
        exec "$@"
    ) </dev/null >>"$LOGS/$cname.out" 2>&1 &
    local pid="$!" deadline
    echo "$pid" >"$PIDS/$name.pid"
    # Until the subshell has exec'd, its command line is this script's and
    # ours() would call the daemon dead: wait (bounded) for the exec.
    deadline=$(($(now_ms) + 10000))
    while ! ours "$pid" && kill -0 "$pid" 2>/dev/null &&
        [ "$(now_ms)" -lt "$deadline" ]; do
        sleep 0.01
    done
}

# Wait (bounded) for pid-file daemon $1 to exit; SIGKILL it after $2 s.
stop_one() {
    local name="$1" grace="$2" pid deadline
    pid="$(pid_of "$name")"
    if ours "$pid"; then
        kill -TERM "$pid" 2>/dev/null || true
        deadline=$(($(now_ms) + grace * 1000))
        while ours "$pid" && [ "$(now_ms)" -lt "$deadline" ]; do
            sleep 0.05
        done
        if ours "$pid"; then
            log "$name (pid $pid) did not stop in ${grace}s; SIGKILL"
            kill -KILL "$pid" 2>/dev/null || true
            deadline=$(($(now_ms) + 5000))
            while ours "$pid" && [ "$(now_ms)" -lt "$deadline" ]; do
                sleep 0.05
            done
        fi
    fi
    rm -f "$PIDS/$name.pid"
}

# Wait until $1 (a command) succeeds, failing with the log of daemon $2.
wait_for() {
    local what="$1" name="$2" pidname="$3" deadline
    shift 3
    deadline=$(($(now_ms) + TIMEOUT * 1000))
    until "$@"; do
        if [ -n "$pidname" ] && ! ours "$(pid_of "$pidname")"; then
            show_log "$name"
            die "$name exited while waiting for $what"
        fi
        if [ "$(now_ms)" -ge "$deadline" ]; then
            show_log "$name"
            die "timed out after ${TIMEOUT}s waiting for $what"
        fi
        sleep 0.05
    done
}

rgw_up() {
    [ "$(http_status "$HTTP_PORT")" = 200 ]
}

read_ports() {
    [ -r "$DIR/ports" ] || die "$DIR is not a cluster made by rgw.sh start"
    # shellcheck disable=SC1091
    . "$DIR/ports"
}

start_rgw() {
    spawn rgw client.rgw radosgw -c "$CONF" -n client.rgw -f
    wait_for "radosgw to answer GET / with 200 on 127.0.0.1:$HTTP_PORT" client.rgw rgw rgw_up
}

# ---------------------------------------------------------------- start

# A throw-away CA and a certificate for 127.0.0.1 signed by it, for the
# HTTPS endpoint: clients trust it through RGW_CA_BUNDLE (ca.pem) only.
make_tls() {
    local d="$DIR/tls" ext
    mkdir -p "$d"
    ext="$d/server.ext"
    printf '%s\n' "subjectAltName=IP:127.0.0.1,DNS:localhost" "basicConstraints=CA:FALSE" \
        "extendedKeyUsage=serverAuth" >"$ext"
    {
        openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 7 \
            -subj "/CN=fds test CA" -keyout "$d/ca.key" -out "$d/ca.pem" &&
            openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
                -subj "/CN=127.0.0.1" -keyout "$d/server.key" -out "$d/server.csr" &&
            openssl x509 -req -in "$d/server.csr" -CA "$d/ca.pem" -CAkey "$d/ca.key" -CAcreateserial \
                -days 7 -extfile "$ext" -out "$d/server.pem"
    } >"$LOGS/openssl.out" 2>&1 || { cat "$LOGS/openssl.out" >&2; die "making the test certificates failed"; }
}

write_conf() {
    local fsid="$1"
    cat >"$CONF" <<EOF
# Generated by tests/harness/rgw/rgw.sh: throw-away single-node cluster on 127.0.0.1.
[global]
fsid = $fsid
mon host = v2:127.0.0.1:$MON_PORT
public addr = 127.0.0.1
cluster addr = 127.0.0.1
ms bind ipv4 = true
ms bind ipv6 = false
ms bind msgr1 = false
ms bind msgr2 = true
ms bind port min = $MSGR_MIN
ms bind port max = $MSGR_MAX
auth cluster required = none
auth service required = none
auth client required = none
auth supported = none
ms mon client mode = crc
ms mon cluster mode = crc
ms mon service mode = crc
ms client mode = crc
ms cluster mode = crc
ms service mode = crc
run dir = $DIR/run
admin socket = $DIR/run/\$name.\$pid.asok
crash dir = $DIR/crash
exec dir = $DIR/run
log file = $LOGS/\$name.log
log to stderr = false
err to stderr = false
log to syslog = false
mon cluster log file = $LOGS/cluster.log
mon cluster log to syslog = false
keyring = $DIR/keyring
pid file =
osd pool default size = 1
osd pool default min size = 1
osd pool default pg num = 8
osd pool default pgp num = 8
osd pool default pg autoscale mode = off
osd crush chooseleaf type = 0
mon allow pool size one = true
mon allow pool delete = true
mon warn on pool no redundancy = false
mon data avail warn = 1
mon data avail crit = 0
mon max pg per osd = 1000

[mon]
mon data = $DIR/mon/\$cluster-\$id
paxos propose interval = 0.01
paxos min wait = 0.001

[osd]
osd data = $DIR/osd/\$cluster-\$id
osd objectstore = memstore
memstore device bytes = $MEMSTORE_BYTES
osd crush update on start = true

[client.rgw]
rgw data = $DIR/rgw
rgw frontends = beast endpoint=127.0.0.1:$HTTP_PORT ssl_endpoint=127.0.0.1:$HTTPS_PORT ssl_certificate=$DIR/tls/server.pem ssl_private_key=$DIR/tls/server.key tcp_nodelay=1
# STS (AssumeRole) for the credential tests: session tokens are sealed
# with this key, which only this throw-away cluster knows.
rgw sts key = $(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')
rgw s3 auth use sts = true
# Local keys first: an unknown key or a wrong secret then fails as AWS says
# (InvalidAccessKeyId, SignatureDoesNotMatch), not as STS's AccessDenied.
rgw s3 auth order = local, sts
EOF
}

start_failed() {
    trap - EXIT
    if [ "$1" -ne 0 ]; then
        log "start failed; stopping what was started (logs in $LOGS)"
        stop_one rgw 5
        stop_one osd 5
        stop_one mon 5
    fi
    exit "$1"
}

cmd_start() {
    if [ $# -lt 1 ] || [ $# -gt 2 ]; then usage; fi
    cluster_vars "$1"
    local want_port="${2:-}" t0 fsid osd_uuid osd_id base
    t0="$(now_ms)"
    local b
    for b in ceph-mon ceph-osd radosgw radosgw-admin monmaptool ceph; do
        command -v "$b" >/dev/null || die "$b not found: run '$0 install' first"
    done
    if [ -n "$want_port" ]; then
        if ! [[ "$want_port" =~ ^[0-9]+$ ]] || [ "$want_port" -lt 1 ] || [ "$want_port" -gt 65535 ]; then
            die "bad port: $want_port"
        fi
    fi

    mkdir -p "$DIR"
    if [ -d "$PIDS" ]; then
        local n
        for n in rgw osd mon; do
            ours "$(pid_of "$n")" && die "a cluster is already running in $DIR: '$0 stop $DIR' first"
        done
    fi
    # Fresh cluster: drop what an earlier start left (only our own entries).
    rm -rf "${DIR:?}"/{ceph.conf,monmap,keyring,mon,osd,rgw,run,log,crash,pids,env,ports,tls}
    mkdir -p "$DIR"/{mon/ceph-a,osd/ceph-0,rgw,run,log,crash,pids}
    # If anything below fails, stop what was started (the logs stay).
    trap 'start_failed $?' EXIT
    : >"$DIR/keyring"

    # Ports are picked and bound under a lock so that parallel starts do not
    # pick the same ones.
    local lock
    lock="${TMPDIR:-/tmp}/fds-rgw-ports.$(id -u).lock"
    exec 9>>"$lock"
    flock -w "$TIMEOUT" 9 || die "could not lock $lock"
    if [ -n "$want_port" ]; then
        port_in_use "$want_port" && die "port $want_port is already in use"
        HTTP_PORT="$want_port"
        base="$(pick_block "$want_port")"
        MON_PORT="$base"
    else
        base="$(pick_block "")"
        HTTP_PORT="$base"
        MON_PORT=$((base + 1))
    fi
    MSGR_MIN=$((base + 2))
    MSGR_MAX=$((base + BLOCK - 2))
    HTTPS_PORT=$((base + BLOCK - 1))
    printf 'HTTP_PORT=%s\nMON_PORT=%s\nMSGR_MIN=%s\nMSGR_MAX=%s\nHTTPS_PORT=%s\n' \
        "$HTTP_PORT" "$MON_PORT" "$MSGR_MIN" "$MSGR_MAX" "$HTTPS_PORT" >"$DIR/ports"
    make_tls

    fsid="$(cat /proc/sys/kernel/random/uuid)"
    osd_uuid="$(cat /proc/sys/kernel/random/uuid)"
    write_conf "$fsid"

    # Monitor.
    monmaptool --create --fsid "$fsid" --addv a "[v2:127.0.0.1:$MON_PORT]" \
        "$DIR/monmap" >"$LOGS/monmaptool.out" 2>&1 ||
        { cat "$LOGS/monmaptool.out" >&2; die "monmaptool failed"; }
    if ! ceph-mon -c "$CONF" -i a --mkfs --monmap "$DIR/monmap" \
        >>"$LOGS/mon.a.out" 2>&1; then
        show_log mon.a
        die "ceph-mon --mkfs failed"
    fi
    spawn mon mon.a ceph-mon -c "$CONF" -i a -f

    # OSD (memstore: data in RAM).
    if ! osd_id="$(ceph_cli osd new "$osd_uuid" 2>"$LOGS/osd-new.out")"; then
        cat "$LOGS/osd-new.out" >&2
        show_log mon.a
        die "'ceph osd new' failed (monitor not reachable?)"
    fi
    [ "$osd_id" = 0 ] || die "unexpected osd id '$osd_id'"
    if ! ceph-osd -c "$CONF" -i 0 --mkfs --osd-uuid "$osd_uuid" \
        >>"$LOGS/osd.0.out" 2>&1; then
        show_log osd.0
        die "ceph-osd --mkfs failed"
    fi
    spawn osd osd.0 ceph-osd -c "$CONF" -i 0 -f

    # S3 user (this also creates the RGW pools, so it waits for the OSD).
    if ! rgw_admin --objecter-tick-interval 0.05 user create --uid="$S3_UID" --display-name="fds test" \
        --access-key="$ACCESS_KEY" --secret-key="$SECRET_KEY" \
        >"$LOGS/user-create.out" 2>&1; then
        cat "$LOGS/user-create.out" >&2
        show_log osd.0
        die "radosgw-admin user create failed"
    fi

    start_rgw
    flock -u 9
    exec 9>&-

    cat >"$DIR/env" <<EOF
AWS_ENDPOINT_URL=http://127.0.0.1:$HTTP_PORT
AWS_ACCESS_KEY_ID=$ACCESS_KEY
AWS_SECRET_ACCESS_KEY=$SECRET_KEY
AWS_REGION=$REGION
RGW_HTTPS_URL=https://127.0.0.1:$HTTPS_PORT
RGW_CA_BUNDLE=$DIR/tls/ca.pem
EOF
    trap - EXIT
    log "S3 on http://127.0.0.1:$HTTP_PORT up in $(($(now_ms) - t0)) ms (env: $DIR/env)"
}

# ---------------------------------------------------------------- others

cmd_stop() {
    [ $# -eq 1 ] || usage
    cluster_vars "$1"
    [ -d "$PIDS" ] || return 0
    local t0
    t0="$(now_ms)"
    stop_one rgw 10
    stop_one osd 20
    stop_one mon 10
    log "stopped in $(($(now_ms) - t0)) ms"
}

cmd_gc() {
    [ $# -eq 1 ] || usage
    cluster_vars "$1"
    ours "$(pid_of osd)" || die "cluster in $DIR is not running"
    rgw_admin gc process --include-all
}

cmd_pause() {
    [ $# -eq 1 ] || usage
    cluster_vars "$1"
    read_ports
    local t0
    t0="$(now_ms)"
    # Already paused (or stopped): nothing to do.
    stop_one rgw 10
    log "radosgw paused in $(($(now_ms) - t0)) ms (port $HTTP_PORT refuses connections)"
}

cmd_resume() {
    [ $# -eq 1 ] || usage
    cluster_vars "$1"
    read_ports
    if ! ours "$(pid_of osd)" || ! ours "$(pid_of mon)"; then
        die "cluster in $DIR is not running"
    fi
    if ours "$(pid_of rgw)"; then
        return 0
    fi
    local t0
    t0="$(now_ms)"
    start_rgw
    log "radosgw resumed in $(($(now_ms) - t0)) ms on port $HTTP_PORT"
}

cmd_role() {
    [ $# -eq 2 ] || [ $# -eq 3 ] || usage
    cluster_vars "$1"
    ours "$(pid_of osd)" || die "cluster in $DIR is not running"
    local name="$2" resource="${3:-arn:aws:s3:::*}" out
    local trust='{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":["arn:aws:iam:::user/'"$S3_UID"'"]},"Action":["sts:AssumeRole"]}]}'
    local policy='{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":["s3:*"],"Resource":"'"$resource"'"}}'
    if ! out="$(rgw_admin role get --role-name="$name" 2>/dev/null)"; then
        out="$(rgw_admin role create --role-name="$name" --path=/ --assume-role-policy-doc="$trust")" ||
            die "radosgw-admin role create $name failed"
    fi
    rgw_admin role-policy put --role-name="$name" --policy-name=s3-all --policy-doc="$policy" >/dev/null ||
        die "radosgw-admin role-policy put $name failed"
    printf '%s\n' "$out" | sed -n 's/.*"Arn": *"\([^"]*\)".*/\1/p'
}

cmd_status() {
    [ $# -eq 1 ] || usage
    cluster_vars "$1"
    local n rc=0
    for n in mon osd rgw; do
        if ours "$(pid_of "$n")"; then
            echo "$n: running (pid $(pid_of "$n"))"
        else
            echo "$n: stopped"
            rc=1
        fi
    done
    return "$rc"
}

main() {
    [ $# -ge 1 ] || usage
    local cmd="$1"
    shift
    case "$cmd" in
    install) cmd_install "$@" ;;
    start) cmd_start "$@" ;;
    stop) cmd_stop "$@" ;;
    gc) cmd_gc "$@" ;;
    pause) cmd_pause "$@" ;;
    resume) cmd_resume "$@" ;;
    status) cmd_status "$@" ;;
    role) cmd_role "$@" ;;
    -h | --help | help) usage 0 ;;
    *) usage ;;
    esac
}

main "$@"
