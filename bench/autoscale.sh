#!/usr/bin/env bash
# Figures of autoscaling on the private test dockerd (never your own engine), printed, not
# asserted: a busybox service (each replica serves /cgi-bin/work, a 50 ms CGI, and a
# Prometheus counter of the requests it served) under `reconcile controller`, and a load
# generator on the project network calling the service name.
#
#   1. step to serving: from a step in load (1 worker to WORKERS) to every replica the
#      autoscaler added serving requests (its own counter grows) once the count settles,
#      against the target of one scrape interval plus a replica's start;
#   2. p95 latency during the step (from the step until the count settles) against the
#      steady state after it, at the per-replica load the target asks for. Latencies come
#      from busybox `time -p` in the load generator: 10 ms resolution.
#
#   bench/autoscale.sh                          # uses RECONCILE or the newest build
#   WORKERS=4 TARGET=20 INTERVAL=5 STEADY=20 bench/autoscale.sh
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/.." && pwd)
if [ -z "${RECONCILE_TEST_DOCKER_HOST:-}" ]; then
    exec "$root/scripts/with-test-dockerd" "$0" "$@"
fi
export DOCKER_HOST=$RECONCILE_TEST_DOCKER_HOST

WORKERS=${WORKERS:-4}
INTERVAL=${INTERVAL:-5}
STEADY=${STEADY:-20}
MAX=${MAX:-4}
TARGET=${TARGET:-20}
IMAGE=reconcile-test/busybox:1
if [ -z "${RECONCILE:-}" ]; then
    RECONCILE=$(ls -t "$root"/.build*/release/reconcile "$root"/.build*/debug/reconcile 2>/dev/null | head -1 || true)
fi
[ -x "${RECONCILE:-}" ] || { echo "no reconcile binary: build it (swift build -c release --product reconcile) or set RECONCILE" >&2; exit 2; }
echo "binary: $RECONCILE"

project=bench-as-$$
work=$(mktemp -d /tmp/reconcile-bench-as.XXXXXX)
controller_pid=
cleanup() {
    set +e
    if [ -n "$controller_pid" ] && kill -0 "$controller_pid" 2>/dev/null; then
        kill -TERM "$controller_pid"
        wait "$controller_pid"
    fi
    docker rm -f "$project-load" >/dev/null 2>&1
    docker ps -aq --filter "label=io.reconcile.project=$project" | xargs -r docker rm -f >/dev/null
    docker network ls -q --filter "label=io.reconcile.project=$project" | xargs -r docker network rm >/dev/null
    docker volume ls -q --filter "label=io.reconcile.history=$project" | xargs -r docker volume rm >/dev/null
    rm -rf "$work"
}
trap cleanup EXIT

uptime_now() { cut -d' ' -f1 /proc/uptime; }
running() { docker ps -q --filter "label=io.reconcile.project=$project" --filter "label=io.reconcile.service=api" | wc -l; }
served() { # container -> requests it served
    local port
    port=$(docker port "$1" 8080/tcp | head -1 | sed 's/.*://')
    curl -sf --max-time 2 "http://127.0.0.1:$port/cgi-bin/metrics" | awk '/^requests_total/{print $2}'
}

cat > "$work/compose.yaml" <<YAML
name: $project
services:
  api:
    image: $IMAGE
    init: true
    stop_grace_period: 3s
    ports: ["127.0.0.1::8080"]
    command:
      - sh
      - -c
      - |
        mkdir -p /www/cgi-bin
        printf '#!/bin/sh\necho x >> /tmp/hits\nsleep 0.05\nprintf "Content-Type: text/plain\\\\r\\\\n\\\\r\\\\nok\\\\n"\n' > /www/cgi-bin/work
        printf '#!/bin/sh\nprintf "Content-Type: text/plain\\\\r\\\\n\\\\r\\\\n"\necho "# TYPE requests_total counter"\necho "requests_total \$\$(wc -l < /tmp/hits)"\n' > /www/cgi-bin/metrics
        chmod +x /www/cgi-bin/work /www/cgi-bin/metrics
        touch /tmp/hits
        httpd -f -p 8080 -h /www &
        trap 'sleep 0.5; kill \$\$!; exit 0' TERM
        wait
    x-reconcile:
      autoscale:
        min: 1
        max: $MAX
        metric: {prometheus: requests_total, port: 8080, path: /cgi-bin/metrics}
        target: $TARGET
        interval: ${INTERVAL}s
        scale_down_window: 60s
YAML

"$RECONCILE" controller -f "$work/compose.yaml" --listen 127.0.0.1:0 >"$work/controller.log" 2>&1 &
controller_pid=$!
for _ in $(seq 1 120); do [ "$(running)" -ge 1 ] && break; sleep 0.25; done

# Workers wait for /tmp/go-N before starting, so the step is one touch.
loop='while true; do t=$( { time -p wget -q -O /dev/null http://api:8080/cgi-bin/work; } 2>&1 | awk "/^real/{print \$2}"); echo "$(cut -d" " -f1 /proc/uptime) ${t:-F}"; done'
script="(i=0; while [ \$i -lt $WORKERS ]; do i=\$((i+1)); (while [ ! -f /tmp/go-\$i ]; do sleep 0.1; done; $loop) & done; wait)"
docker run -d --name "$project-load" --network "${project}_default" --init "$IMAGE" sh -c "$script" >/dev/null
docker exec "$project-load" touch /tmp/go-1
sleep "$INTERVAL"; sleep "$INTERVAL"
before=$(running)

step=$(uptime_now)
docker exec "$project-load" sh -c "i=2; while [ \$i -le $WORKERS ]; do touch /tmp/go-\$i; i=\$((i+1)); done"
declare -A first=()
while true; do
    now=$(uptime_now)
    for c in $(docker ps --format '{{.Names}}' --filter "label=io.reconcile.project=$project" --filter "label=io.reconcile.service=api"); do
        [ -n "${first[$c]:-}" ] && continue
        n=$(served "$c" || echo 0)
        if [ "${n:-0}" -gt 0 ] && [ "$c" != "$project-api-1" ]; then first[$c]=$now; fi
    done
    # Settled: every running replica serves, and the count has not changed for three intervals.
    count=$(running)
    if [ "$count" != "${last_count:-}" ]; then last_count=$count; changed=$now; fi
    serving=1; for _ in "${!first[@]}"; do serving=$((serving + 1)); done
    if [ "$count" -gt 1 ] && [ "$serving" -ge "$count" ] && awk -v n="$now" -v c="$changed" -v i="$INTERVAL" 'BEGIN{exit !(n - c > 3 * i)}'; then
        settled_at=$changed
        break
    fi
    awk -v n="$now" -v s="$step" 'BEGIN{exit !(n - s > 120)}' && { echo "did not settle in 120 s"; break; }
    sleep 0.2
done
settled=${settled_at:-$(uptime_now)}
# The step's window ends when the count last changed and every replica served; the steady
# window starts after it.
latest=$settled
for c in "${!first[@]}"; do latest=$(awk -v a="$latest" -v b="${first[$c]}" 'BEGIN{print (b > a ? b : a)}'); done
settled=$latest
sleep "$STEADY"
end=$(uptime_now)
docker logs "$project-load" 2>/dev/null > "$work/latencies"

echo "replicas before the step: $before, after: $(running) (max $MAX); scrape interval ${INTERVAL} s"
for c in "${!first[@]}"; do
    awk -v c="$c" -v f="${first[$c]}" -v s="$step" 'BEGIN{printf "  %s serving %.1f s after the step\n", c, f - s}'
done | sort
awk -v s="$step" -v m="$settled" -v e="$end" '
    $2 == "F" { if ($1 >= s) fails++; next }
    $1 >= s && $1 < m { step[++ns] = $2 }
    $1 >= m && $1 < e { steady[++nt] = $2 }
    function p95(a, n,   i, j, t) {
        for (i = 2; i <= n; i++) { t = a[i]; for (j = i - 1; j >= 1 && a[j] > t; j--) a[j + 1] = a[j]; a[j + 1] = t }
        return n ? a[int(0.95 * n + 0.999)] : 0
    }
    END {
        ps = p95(step, ns); pt = p95(steady, nt)
        printf "step to every added replica serving: %.1f s\n", m - s
        printf "p95 latency during the step: %.3f s (%d requests); steady after it: %.3f s (%d requests); ratio %.2f; failed: %d\n",
            ps, ns, pt, nt, (pt > 0 ? ps / pt : 0), fails
    }' "$work/latencies"
