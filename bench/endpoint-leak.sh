#!/usr/bin/env bash
# Reproduces, with the docker CLI alone, the Docker 20.10 bug that can leave a network
# that no container is attached to refused with "has active endpoints": the engine's
# count of a network's endpoints leaks when containers on the network are created,
# stopped and removed concurrently. A start-first rollout does exactly that (new replicas
# start while old ones stop), and so does any tool that recreates containers in parallel,
# so `destroy` after a rollout may be refused on this engine (README, Rollouts).
#
# Each round: 20 running containers on a fresh network; then 20 swaps, 10 at a time
# (start a new container, give it the service alias, take the old one off the network,
# stop and remove it, rename the new one to the old one's name); then every container is
# removed and the network removal is tried. Prints how many rounds leaked.
#   SERIAL=1     the swaps one at a time
#   NORENAME=1   no rename         NOMOVES=1   no network disconnect/connect
#   NOFORCE=1    disconnect without --force
#
#   bench/endpoint-leak.sh [ROUNDS]        (default 3; runs on the private test dockerd)
#
# Leaked networks go only with a restart of the daemon: scripts/with-test-dockerd stops
# the daemon it started at the end, and the next start has a clean count.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
if [ -z "${RECONCILE_TEST_DOCKER_HOST:-}" ]; then
    exec "$here/../scripts/with-test-dockerd" "$0" "$@"
fi
export DOCKER_HOST=$RECONCILE_TEST_DOCKER_HOST
rounds=${1:-3}
par=10; [ "${SERIAL:-}" = 1 ] && par=1
rename=1; [ "${NORENAME:-}" = 1 ] && rename=0
moves=1; [ "${NOMOVES:-}" = 1 ] && moves=0
force=-f; [ "${NOFORCE:-}" = 1 ] && force=
image=reconcile-test/busybox:1
leaked=0
for round in $(seq 1 "$rounds"); do
    net=leak-$$-$round
    docker network create --label reconcile-bench=endpoint-leak "$net" >/dev/null
    seq 1 20 | xargs -P 20 -I{} docker run -d --init --label reconcile-bench=endpoint-leak --name "$net-{}" \
        --network "$net" --network-alias svc "$image" sleep 100000 >/dev/null
    seq 1 20 | xargs -P "$par" -I{} sh -c "
        docker run -d --init --label reconcile-bench=endpoint-leak --name $net-{}-new --network $net $image sleep 100000 >/dev/null
        if [ $moves = 1 ]; then
            docker network disconnect $force $net $net-{}-new && docker network connect --alias svc $net $net-{}-new
            docker network disconnect $force $net $net-{}
        fi
        docker stop -t 1 $net-{} >/dev/null && docker rm -f $net-{} >/dev/null
        if [ $rename = 1 ]; then docker rename $net-{}-new $net-{}; fi"
    docker rm -f $(docker ps -aq --filter "label=reconcile-bench=endpoint-leak" --filter "name=$net-") >/dev/null
    if docker network rm "$net" >/dev/null 2>&1; then
        echo "round $round: the network was removed"
    else
        leaked=$((leaked + 1))
        echo "round $round: $(docker network rm "$net" 2>&1 | head -1) (containers attached: $(docker network inspect -f '{{len .Containers}}' "$net"))"
    fi
done
echo "$leaked of $rounds rounds left a network the engine refuses to remove (swaps $par at a time, renames: $rename, network moves: $moves, force: ${force:-no})"
