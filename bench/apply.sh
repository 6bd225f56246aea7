#!/usr/bin/env bash
# Apply benchmark: reconcile against (a) the parallel raw-API floor (docker CLI with
# xargs -P) and (b) Debian's docker-compose, on the same private dockerd, for the stack
# S(n): a network and a volume; api: n busybox httpd replicas; db: 1 replica with the
# volume; worker: n sleeping replicas. Prints a table of medians (seconds) and ratios.
#
#   bench/apply.sh              n = 5 and 20, 3 runs each
#   RUNS=5 bench/apply.sh 5 20 40
#   RECONCILE=.build-image/bin/reconcile bench/apply.sh     measure that binary, build nothing
#
# Runs on the private test dockerd (scripts/with-test-dockerd), never on the user's engine.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
command -v swift >/dev/null 2>&1 || export PATH=/opt/swift/usr/bin:$PATH
if [ -z "${RECONCILE_TEST_DOCKER_HOST:-}" ]; then
    exec scripts/with-test-dockerd "$0" "$@"
fi
command -v docker-compose >/dev/null 2>&1 || { apt-get update -qq; DEBIAN_FRONTEND=noninteractive apt-get install -y -qq docker-compose >/dev/null; }
# RECONCILE: a release binary to measure (the image's, .build-image/bin/reconcile, will do);
# else one is built here.
if [ -n "${RECONCILE:-}" ]; then
    R=$RECONCILE
else
    swift build -c release --product reconcile >/dev/null
    R=$(swift build -c release --show-bin-path)/reconcile
fi
DOCKER=$(command -v docker)
RUNS=${RUNS:-3}
SIZES=("$@")
[ ${#SIZES[@]} -gt 0 ] || SIZES=(5 20)
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

now() { date +%s.%N; }
elapsed() { echo "$(now) - $1" | bc -l; }
median() { sort -n | awk '{a[NR]=$1} END {m=int((NR+1)/2); if (NR%2) print a[m]; else print (a[m]+a[m+1])/2}'; }

stack() { # N API_ENV API_REPLICAS
    cat <<YAML
services:
  api:
    image: reconcile-test/busybox:1
    command: ["httpd", "-f", "-p", "8080", "-h", "/var/www"]
    init: true
    environment:
      VERSION: "$2"
    deploy:
      replicas: $3
  db:
    image: reconcile-test/busybox:1
    command: ["sleep", "2147483647"]
    init: true
    volumes: [data:/data]
  worker:
    image: reconcile-test/busybox:1
    command: ["sleep", "2147483647"]
    init: true
    deploy:
      replicas: $1
networks:
  default: {}
volumes:
  data: {}
YAML
}

clean_project() { # NAME
    "$R" destroy -p "$1" -f "$WORK/$1/compose.yaml" --volumes --history >/dev/null 2>&1 || true
    ids=$("$DOCKER" ps -aq --filter "label=com.docker.compose.project=$1"); [ -z "$ids" ] || "$DOCKER" rm -f $ids >/dev/null
    ids=$("$DOCKER" ps -aq --filter "label=bench.floor=$1"); [ -z "$ids" ] || "$DOCKER" rm -f $ids >/dev/null
    "$DOCKER" network rm "$1_default" >/dev/null 2>&1 || true
    "$DOCKER" volume rm "$1_data" >/dev/null 2>&1 || true
}

bench_reconcile() { # N RUN → "cold noop scale change requests"
    local n=$1 p="rb$1x$2"; mkdir -p "$WORK/$p"; local f="$WORK/$p/compose.yaml"
    stack "$n" 1 "$n" >"$f"
    local t; t=$(now); "$R" apply -p "$p" -f "$f" --yes >/dev/null; local cold; cold=$(elapsed "$t")
    t=$(now); RECONCILE_REPORT_REQUESTS=1 "$R" apply -p "$p" -f "$f" --yes 2>"$WORK/req" >/dev/null; local noop; noop=$(elapsed "$t")
    local requests; requests=$(sed -n 's/^engine requests: //p' "$WORK/req")
    stack "$n" 1 $((2 * n)) >"$f"
    t=$(now); "$R" apply -p "$p" -f "$f" --yes >/dev/null; local scale; scale=$(elapsed "$t")
    stack "$n" 2 $((2 * n)) >"$f"
    t=$(now); "$R" apply -p "$p" -f "$f" --yes >/dev/null; local change; change=$(elapsed "$t")
    clean_project "$p"
    echo "$cold $noop $scale $change ${requests:-?}"
}

bench_compose() { # N RUN → "cold noop scale change"
    local n=$1 p="cb$1x$2"; mkdir -p "$WORK/$p"; local f="$WORK/$p/docker-compose.yml"
    { echo 'version: "3.8"'; stack "$n" 1 "$n"; } >"$f"
    local t; t=$(now); docker-compose -p "$p" -f "$f" up -d >/dev/null 2>&1; local cold; cold=$(elapsed "$t")
    t=$(now); docker-compose -p "$p" -f "$f" up -d >/dev/null 2>&1; local noop; noop=$(elapsed "$t")
    { echo 'version: "3.8"'; stack "$n" 1 $((2 * n)); } >"$f"
    t=$(now); docker-compose -p "$p" -f "$f" up -d >/dev/null 2>&1; local scale; scale=$(elapsed "$t")
    { echo 'version: "3.8"'; stack "$n" 2 $((2 * n)); } >"$f"
    t=$(now); docker-compose -p "$p" -f "$f" up -d >/dev/null 2>&1; local change; change=$(elapsed "$t")
    docker-compose -p "$p" -f "$f" down -v >/dev/null 2>&1 || true
    clean_project "$p"
    echo "$cold $noop $scale $change"
}

bench_floor() { # N RUN → "cold": network, volume and 2n+1 containers created and started in parallel
    local n=$1 p="fb$1x$2"
    local t; t=$(now)
    "$DOCKER" network create --label "bench.floor=$p" "${p}_default" >/dev/null &
    "$DOCKER" volume create --label "bench.floor=$p" "${p}_data" >/dev/null &
    wait
    {
        for i in $(seq 1 "$n"); do echo "api-$i httpd -f -p 8080 -h /var/www"; echo "worker-$i sleep 2147483647"; done
        echo "db-1 sleep 2147483647"
    } | xargs -P 16 -L 1 bash -c '"$0" run -d --init --label "bench.floor='"$p"'" --network "'"$p"'_default" $( [ "${1%%-*}" = db ] && echo -v "'"$p"'_data:/data" ) --name "'"$p"'-$1" reconcile-test/busybox:1 "${@:2}" >/dev/null' "$DOCKER"
    local cold; cold=$(elapsed "$t")
    clean_project "$p"
    echo "$cold"
}

printf '%-6s %-10s %8s %8s %8s %8s %10s\n' n tool cold no-op scale change requests
for n in "${SIZES[@]}"; do
    : >"$WORK/r"; : >"$WORK/c"; : >"$WORK/f"
    for run in $(seq 1 "$RUNS"); do
        bench_reconcile "$n" "$run" >>"$WORK/r"
        bench_compose "$n" "$run" >>"$WORK/c"
        bench_floor "$n" "$run" >>"$WORK/f"
    done
    col() { awk -v c="$2" '{print $c}' "$1" | median; }
    rc=$(col "$WORK/r" 1); rn=$(col "$WORK/r" 2); rs=$(col "$WORK/r" 3); rx=$(col "$WORK/r" 4); rq=$(col "$WORK/r" 5)
    cc=$(col "$WORK/c" 1); cn=$(col "$WORK/c" 2); cs=$(col "$WORK/c" 3); cx=$(col "$WORK/c" 4)
    fc=$(col "$WORK/f" 1)
    printf '%-6s %-10s %8.2f %8.3f %8.2f %8.2f %10s\n' "$n" reconcile "$rc" "$rn" "$rs" "$rx" "$rq"
    printf '%-6s %-10s %8.2f %8.3f %8.2f %8.2f\n' "$n" compose "$cc" "$cn" "$cs" "$cx"
    printf '%-6s %-10s %8.2f\n' "$n" floor "$fc"
    printf '%-6s %-10s cold/floor %.2f   no-op compose/reconcile %.1fx   change reconcile/compose %.2f\n' \
        "$n" ratios "$(echo "$rc / $fc" | bc -l)" "$(echo "$cn / $rn" | bc -l)" "$(echo "$rx / $cx" | bc -l)"
done
