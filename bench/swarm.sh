#!/usr/bin/env bash
# Swarm benchmark: reconcile --target swarm beside `docker stack deploy`, on the same file
# and the same private cluster (scripts/swarm-cluster; never the system or shared test daemon).
#
# The file: N services (busybox, 1 replica each) plus `api` with API_REPLICAS (20) replicas
# rolled start-first on a config change. Prints seconds and Engine API requests for:
#   cold deploy, no-op (reconcile sends no update; its requests counted), the 20-replica
#   config change, and (NODES=3) the recovery after a node loss: from the SIGKILL of node 3's
#   dockerd to every replica running again.
# Requests: reconcile counts its own (RECONCILE_REPORT_REQUESTS); the docker CLI's are
# counted from the manager's debug log ("Calling METHOD /path" lines).
#
#   bench/swarm.sh                 20 services, 1 node
#   API_REPLICAS=5 bench/swarm.sh 5     a short run (a busy 2-core machine)
#   NODES=3 bench/swarm.sh 20      20 services on 3 nodes, plus the node-loss recovery
#   RECONCILE=path/to/reconcile bench/swarm.sh
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
N=${1:-20}
API_REPLICAS=${API_REPLICAS:-20}
NODES=${NODES:-1}
R=${RECONCILE:-.build/debug/reconcile}
[ -x "$R" ] || { echo "bench/swarm.sh: $R is missing (swift build, or RECONCILE=…)" >&2; exit 1; }
DIR=$(mktemp -d)
trap 'scripts/swarm-cluster stop; rm -rf "$DIR"' EXIT
scripts/swarm-cluster stop
RECONCILE_SWARM_LOG_LEVEL=debug scripts/swarm-cluster start "$NODES"
HOST=unix://$(scripts/swarm-cluster sock 1)
LOG=$(dirname "$(scripts/swarm-cluster sock 1)")/dockerd.log
export NO_COLOR=1

write() { # FILE VERSION
    {
        echo 'version: "3.8"'
        echo "services:"
        echo "  api:"
        echo "    image: reconcile-test/busybox:1"
        echo '    command: ["sleep", "100000"]'
        echo "    environment: {MODEL_VERSION: \"$2\"}"
        echo "    stop_grace_period: 1s"
        echo "    deploy:"
        echo "      replicas: $API_REPLICAS"
        echo "      update_config: {parallelism: 5, order: start-first, monitor: 1s}"
        for i in $(seq 1 "$N"); do
            echo "  s$i:"
            echo "    image: reconcile-test/busybox:1"
            echo '    command: ["sleep", "100000"]'
            echo "    stop_grace_period: 1s"
        done
    } >"$1"
}

now() { date +%s.%N; }
calls() { grep -c 'Calling ' "$LOG" || true; }
settled() { # STACK: every service runs all its replicas
    local deadline=$((SECONDS + 600))
    until docker -H "$HOST" service ls --filter "label=com.docker.stack.namespace=$1" --format '{{.Replicas}}' \
        | awk -F/ '$1!=$2{bad=1} END{exit bad}'; do
        [ $SECONDS -lt $deadline ] || { echo "stack $1 did not settle" >&2; exit 1; }
        sleep 0.5
    done
}
updated() { # SERVICE: waits until its update has settled, and prints how
    local deadline=$((SECONDS + 600)) state
    while :; do
        state=$(docker -H "$HOST" service inspect "$1" --format '{{if .UpdateStatus}}{{.UpdateStatus.State}}{{end}}')
        case "$state" in completed|paused|rollback_completed|rollback_paused) break ;; esac
        [ $SECONDS -lt $deadline ] || { echo "$1 did not settle its update" >&2; exit 1; }
        sleep 0.2
    done
    echo "$state"
}

printf '%-34s %10s %10s\n' "($N services + api x$API_REPLICAS, $NODES node(s))" seconds requests

# docker stack deploy (stack "cli"); its requests from the daemon's log.
write "$DIR/v1.yaml" 1
write "$DIR/v2.yaml" 2
c0=$(calls); t0=$(now)
docker -H "$HOST" stack deploy --resolve-image never -c "$DIR/v1.yaml" cli >/dev/null 2>&1
settled cli
t1=$(now); c1=$(calls)
printf '%-34s %10.2f %10s\n' "stack deploy: cold (to running)" "$(echo "$t1 - $t0" | bc)" "$((c1 - c0))"
c0=$(calls); t0=$(now)
before=$(docker -H "$HOST" service inspect cli_api --format '{{.Version.Index}}')
docker -H "$HOST" stack deploy --resolve-image never -c "$DIR/v1.yaml" cli >/dev/null 2>&1
t1=$(now); c1=$(calls)
after=$(docker -H "$HOST" service inspect cli_api --format '{{.Version.Index}}')
printf '%-34s %10.2f %10s  %s\n' "stack deploy: no-op" "$(echo "$t1 - $t0" | bc)" "$((c1 - c0))" "api version $before -> $after"
c0=$(calls); t0=$(now)
docker -H "$HOST" stack deploy --resolve-image never -c "$DIR/v2.yaml" cli >/dev/null 2>&1
state=$(updated cli_api)
t1=$(now); c1=$(calls)
printf '%-34s %10.2f %10s  %s\n' "stack deploy: api config change" "$(echo "$t1 - $t0" | bc)" "$((c1 - c0))" "$state"
docker -H "$HOST" stack rm cli >/dev/null
until [ -z "$(docker -H "$HOST" ps -q)" ]; do sleep 0.5; done

# reconcile (project "rc").
run() { # FILE ARGS… → "seconds requests"
    local file=$1; shift
    local t0 t1 out
    t0=$(now)
    out=$(RECONCILE_REPORT_REQUESTS=1 "$R" "$@" -f "$file" -p rc --target swarm --host "$HOST" 2>&1 >/dev/null | sed -n 's/^engine requests: //p')
    t1=$(now)
    echo "$(echo "$t1 - $t0" | bc) $out"
}
read -r s q < <(run "$DIR/v1.yaml" apply --yes)
printf '%-34s %10.2f %10s\n' "reconcile: cold (to running)" "$s" "$q"
v=$(docker -H "$HOST" service inspect rc_api --format '{{.Version.Index}}')
read -r s q < <(run "$DIR/v1.yaml" apply --yes)
printf '%-34s %10.2f %10s  %s\n' "reconcile: no-op" "$s" "$q" "api version $v -> $(docker -H "$HOST" service inspect rc_api --format '{{.Version.Index}}')"
[ "$(docker -H "$HOST" service inspect rc_api --format '{{.Version.Index}}')" = "$v" ] || echo "reconcile: the no-op sent an update!" >&2
read -r s q < <(run "$DIR/v1.yaml" plan)
printf '%-34s %10.2f %10s\n' "reconcile: plan (no changes)" "$s" "$q"
read -r s q < <(run "$DIR/v2.yaml" apply --yes || true)
printf '%-34s %10.2f %10s  %s\n' "reconcile: api config change" "$s" "$q" "$(docker -H "$HOST" service inspect rc_api --format '{{.UpdateStatus.State}}')"

if [ "$NODES" -ge 3 ]; then
    t0=$(now)
    scripts/swarm-cluster kill 3
    deadline=$((SECONDS + 300))
    until [ "$(docker -H "$HOST" service ls --filter label=com.docker.stack.namespace=rc --format '{{.Replicas}}' | awk -F/ '$1!=$2{bad=1} END{exit bad}'; echo $?)" = 0 ] \
        && [ "$(docker -H "$HOST" node ls --format '{{.Status}}' | grep -c Down)" -ge 1 ]; do
        [ $SECONDS -lt $deadline ] || { echo "replicas did not recover" >&2; exit 1; }
        sleep 0.5
    done
    t1=$(now)
    printf '%-34s %10.2f %10s\n' "swarm: recovery after node loss" "$(echo "$t1 - $t0" | bc)" "-"
fi
