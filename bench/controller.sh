#!/usr/bin/env bash
# Figures of `reconcile controller` on the private test dockerd (never your own engine):
#
#   1. drift repair latency: kill a replica KILLS times (default 20), time from the kill to
#      the replacement running, p50/p90/max: from the killed container's State.FinishedAt
#      to the replacement's State.StartedAt, both stamped by the engine, so neither the
#      docker CLI's start-up nor this script's polling is counted; and again from the die
#      event's time (the engine emits it some 40 ms after the exit), which is what the
#      controller reacts to;
#   2. the same for Docker Swarm's own repair of the same service on the same engine, with
#      `--restart-delay 0s` and with Swarm's default delay (SWARM_DEFAULT_KILLS, default 5);
#      the script inits a swarm on the private daemon and leaves it at the end;
#   3. the controller's RSS and CPU while idle for IDLE_SECONDS (default 60) with 40 replicas.
#
#   bench/controller.sh                        # builds nothing; uses RECONCILE or the newest build
#   RECONCILE=.build/release/reconcile KILLS=20 bench/controller.sh
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/.." && pwd)
if [ -z "${RECONCILE_TEST_DOCKER_HOST:-}" ]; then
    exec "$root/scripts/with-test-dockerd" "$0" "$@"
fi
export DOCKER_HOST=$RECONCILE_TEST_DOCKER_HOST

KILLS=${KILLS:-20}
SWARM_DEFAULT_KILLS=${SWARM_DEFAULT_KILLS:-5}
IDLE_SECONDS=${IDLE_SECONDS:-60}
IMAGE=reconcile-test/busybox:1
if [ -z "${RECONCILE:-}" ]; then
    RECONCILE=$(ls -t "$root"/.build*/release/reconcile "$root"/.build*/debug/reconcile 2>/dev/null | head -1 || true)
fi
[ -x "${RECONCILE:-}" ] || { echo "no reconcile binary: build it (swift build -c release --product reconcile) or set RECONCILE" >&2; exit 2; }
echo "binary: $RECONCILE"

work=$(mktemp -d /tmp/reconcile-bench-ctl.XXXXXX)
controller_pid=
swarm_started=
cleanup() {
    set +e
    if [ -n "$controller_pid" ] && kill -0 "$controller_pid" 2>/dev/null; then
        kill -TERM "$controller_pid"
        wait "$controller_pid"
    fi
    for project in bench-ctl-$$ bench-idle-$$; do
        docker ps -aq --filter "label=io.reconcile.project=$project" | xargs -r docker rm -f >/dev/null
        docker network ls -q --filter "label=io.reconcile.project=$project" | xargs -r docker network rm >/dev/null
    done
    if [ -n "$swarm_started" ]; then
        docker service rm bench-swarm >/dev/null 2>&1
        docker swarm leave --force >/dev/null 2>&1
    fi
    rm -rf "$work"
}
trap cleanup EXIT

now() { date +%s.%N; }
# Seconds since the epoch of an RFC 3339 timestamp from docker inspect.
epoch() { date -d "$1" +%s.%N; }

# Prints "p50 p90 max" of the numbers on stdin.
stats() {
    sort -g | awk '{ v[NR] = $1 } END {
        if (NR == 0) { print "- - -"; exit }
        p50 = v[int((NR - 1) * 0.5) + 1]; p90 = v[int((NR - 1) * 0.9) + 1]
        printf "%.3f %.3f %.3f\n", p50, p90, v[NR] }'
}

# Waits until COUNT containers matching FILTER run.
wait_running() {
    local filter=$1 count=$2 deadline=$((SECONDS + 60))
    until [ "$(docker ps -q --filter "$filter" --filter status=running | wc -l)" -ge "$count" ]; do
        [ $SECONDS -lt $deadline ] || { echo "timed out waiting for $count running ($filter)" >&2; return 1; }
        sleep 0.2
    done
}

manifest() { # NAME REPLICAS
    mkdir -p "$work/$1"
    cat >"$work/$1/compose.yaml" <<EOF
name: $1
services:
  web:
    image: $IMAGE
    command: ["sleep", "86400"]
    init: true
    stop_grace_period: 1s
    deploy:
      replicas: $2
EOF
}

start_controller() { # NAME PORT
    "$RECONCILE" controller -f "$work/$1/compose.yaml" --host "$DOCKER_HOST" --listen "127.0.0.1:$2" \
        >"$work/$1/controller.log" 2>&1 &
    controller_pid=$!
}

stop_controller() {
    kill -TERM "$controller_pid"
    wait "$controller_pid" || { echo "controller exited with $?" >&2; }
    controller_pid=
}

# --- 1. the controller ----------------------------------------------------------------------
project=bench-ctl-$$
manifest "$project" 4
start_controller "$project" 19464
wait_running "label=io.reconcile.project=$project" 4
sleep 2
: >"$work/controller.times"
: >"$work/controller.event-times"
for i in $(seq 1 "$KILLS"); do
    name="$project-web-$(( (i - 1) % 4 + 1 ))"
    before=$(docker inspect -f '{{.State.StartedAt}}' "$name")
    t0=$(now)
    docker kill "$name" >/dev/null
    deadline=$((SECONDS + 30))
    while :; do
        read -r running started < <(docker inspect -f '{{.State.Running}} {{.State.StartedAt}}' "$name" 2>/dev/null || echo "false x")
        if [ "$running" = true ] && [ "$started" != "$before" ]; then break; fi
        [ $SECONDS -lt $deadline ] || { echo "replica $name not repaired in 30 s" >&2; exit 1; }
        sleep 0.05
    done
    finished=$(docker inspect -f '{{.State.FinishedAt}}' "$name")
    echo "$(epoch "$started") - $(epoch "$finished")" | bc -l >>"$work/controller.times"
    # The same repair measured from the engine's die event, the controller's trigger.
    die=$(docker events --since "$t0" --until "$(now)" --filter "container=$name" --filter event=die --format '{{.TimeNano}}' | head -1)
    [ -z "$die" ] || echo "$(epoch "$started") - $die / 1000000000" | bc -l >>"$work/controller.event-times"
    sleep 1
done
read -r c50 c90 cmax < <(stats <"$work/controller.times")
read -r e50 e90 emax < <(stats <"$work/controller.event-times")
stop_controller
docker ps -aq --filter "label=io.reconcile.project=$project" | xargs -r docker rm -f >/dev/null

# --- 2. Docker Swarm ------------------------------------------------------------------------
swarm_kills() { # DELAY KILLS OUT
    docker service rm bench-swarm >/dev/null 2>&1 || true
    docker service create --detach --quiet --name bench-swarm --replicas 4 --no-resolve-image \
        ${1:+--restart-delay "$1"} --stop-grace-period 1s "$IMAGE" sleep 86400 >/dev/null
    wait_running "label=com.docker.swarm.service.name=bench-swarm" 4
    sleep 2
    : >"$3"
    for i in $(seq 1 "$2"); do
        victim=$(docker ps -q --filter label=com.docker.swarm.service.name=bench-swarm --filter status=running | head -1)
        known=$(docker ps -aq --filter label=com.docker.swarm.service.name=bench-swarm | sort)
        t0=$(now)
        docker kill "$victim" >/dev/null
        deadline=$((SECONDS + 60))
        while :; do
            fresh=$(comm -13 <(echo "$known") <(docker ps -q --filter label=com.docker.swarm.service.name=bench-swarm --filter status=running | sort) | head -1)
            [ -z "$fresh" ] || break
            [ $SECONDS -lt $deadline ] || { echo "swarm did not repair in 60 s" >&2; exit 1; }
            sleep 0.05
        done
        started=$(docker inspect -f '{{.State.StartedAt}}' "$fresh")
        finished=$(docker inspect -f '{{.State.FinishedAt}}' "$victim" 2>/dev/null || true)
        if [ -n "$finished" ]; then t0=$(epoch "$finished"); fi
        echo "$(epoch "$started") - $t0" | bc -l >>"$3"
        sleep 1
    done
    docker service rm bench-swarm >/dev/null
    # Wait for the tasks' containers to go, so the next run counts only its own.
    deadline=$((SECONDS + 60))
    while [ -n "$(docker ps -aq --filter label=com.docker.swarm.service.name=bench-swarm)" ] && [ $SECONDS -lt $deadline ]; do sleep 0.5; done
}

s50=- s90=- smax=- d50=- d90=- dmax=-
if docker swarm init --advertise-addr 127.0.0.1 >/dev/null 2>"$work/swarm.err"; then
    swarm_started=1
    swarm_kills 0s "$KILLS" "$work/swarm0.times"
    read -r s50 s90 smax < <(stats <"$work/swarm0.times")
    if [ "$SWARM_DEFAULT_KILLS" -gt 0 ]; then
        swarm_kills "" "$SWARM_DEFAULT_KILLS" "$work/swarmdefault.times"
        read -r d50 d90 dmax < <(stats <"$work/swarmdefault.times")
    fi
    docker swarm leave --force >/dev/null
    swarm_started=
else
    echo "swarm not available on the test engine: $(cat "$work/swarm.err")" >&2
fi

# --- 3. idle cost with 40 replicas ----------------------------------------------------------
project=bench-idle-$$
manifest "$project" 40
start_controller "$project" 19465
wait_running "label=io.reconcile.project=$project" 40
sleep 5
ticks() { awk '{ print $14 + $15 }' "/proc/$controller_pid/stat"; }
hz=$(getconf CLK_TCK)
t0=$(ticks)
sleep "$IDLE_SECONDS"
t1=$(ticks)
rss_kb=$(awk '/^VmRSS/ { print $2 }' "/proc/$controller_pid/status")
hwm_kb=$(awk '/^VmHWM/ { print $2 }' "/proc/$controller_pid/status")
cpu=$(echo "($t1 - $t0) * 100 / ($hz * $IDLE_SECONDS)" | bc -l)
stop_controller

printf '\nDrift repair: kill -> replacement running (s), %d kills, 4 replicas\n' "$KILLS"
printf '%-38s %8s %8s %8s\n' "" p50 p90 max
printf '%-38s %8s %8s %8s\n' "reconcile controller" "$c50" "$c90" "$cmax"
printf '%-38s %8s %8s %8s\n' "  the same, from the die event" "$e50" "$e90" "$emax"
printf '%-38s %8s %8s %8s\n' "swarm, restart_policy.delay 0s" "$s50" "$s90" "$smax"
printf '%-38s %8s %8s %8s\n' "swarm, default delay ($SWARM_DEFAULT_KILLS kills)" "$d50" "$d90" "$dmax"
printf '\nController idle %d s with 40 replicas: RSS %.1f MB (peak %.1f MB), CPU %.2f%% of a core\n' \
    "$IDLE_SECONDS" "$(echo "$rss_kb / 1024" | bc -l)" "$(echo "$hwm_kb / 1024" | bc -l)" "$cpu"
