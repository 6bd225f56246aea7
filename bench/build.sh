#!/usr/bin/env bash
# Build benchmark: the cost of a build context on a no-op apply. Two stacks of the same
# shape (api, db, model) on the private test dockerd; in one the api is `build:` from a
# context of FILES files (default 5,000, with a .dockerignore), in the other it runs the
# same image by name. After a first apply of each (which builds), it times RUNS no-op
# applies of each and prints the medians and their ratio (the issue's bound: 1.5).
# It also times the cold build+apply of the built stack and a one-file change (rebuild
# and recreate of the api).
#
#   bench/build.sh
#   FILES=5000 RUNS=9 bench/build.sh
#   RECONCILE=.build/release/reconcile bench/build.sh     measure that binary, build nothing
#
# Runs on the private test dockerd (scripts/with-test-dockerd), never on the user's engine.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
command -v swift >/dev/null 2>&1 || export PATH=/opt/swift/usr/bin:$PATH
if [ -z "${RECONCILE_TEST_DOCKER_HOST:-}" ]; then
    exec scripts/with-test-dockerd "$0" "$@"
fi
if [ -n "${RECONCILE:-}" ]; then
    R=$RECONCILE
else
    swift build -c release --product reconcile >/dev/null
    R=$(swift build -c release --show-bin-path)/reconcile
fi
DOCKER=$(command -v docker)
RUNS=${RUNS:-7}
FILES=${FILES:-5000}
WORK=$(mktemp -d)
export XDG_CACHE_HOME=$WORK/cache
P_BUILD=bb$$
P_PLAIN=bp$$
cleanup() {
    for p in "$P_BUILD" "$P_PLAIN"; do
        "$R" destroy -p "$p" -f "$WORK/$p/compose.yaml" --volumes --history >/dev/null 2>&1 || true
    done
    ids=$("$DOCKER" images -q --filter "reference=$P_BUILD-api" | sort -u)
    [ -z "$ids" ] || "$DOCKER" rmi -f $ids >/dev/null 2>&1 || true
    rm -rf "$WORK"
}
trap cleanup EXIT

now() { date +%s.%N; }
elapsed() { echo "$(now) - $1" | bc -l; }
median() { sort -n | awk '{a[NR]=$1} END {m=int((NR+1)/2); if (NR%2) print a[m]; else print (a[m]+a[m+1])/2}'; }

stack() { # API_LINES
    cat <<YAML
services:
  api:
$1
    command: ["httpd", "-f", "-p", "8080", "-h", "/app"]
    init: true
    depends_on: [db, model]
  db:
    image: reconcile-test/busybox:1
    command: ["sleep", "2147483647"]
    init: true
  model:
    image: reconcile-test/busybox:2
    command: ["sleep", "2147483647"]
    init: true
YAML
}

# The context: FILES small files in 50 folders, a Dockerfile, and a .dockerignore.
mkdir -p "$WORK/$P_BUILD/api" "$WORK/$P_PLAIN"
ctx=$WORK/$P_BUILD/api
for ((d = 0; d < 50; d++)); do mkdir -p "$ctx/pkg$d"; done
for ((i = 0; i < FILES; i++)); do echo "file $i" >"$ctx/pkg$((i % 50))/f$i.py"; done
printf 'FROM reconcile-test/busybox:1\nCOPY . /app\n' >"$ctx/Dockerfile"
printf '*.log\n**/__pycache__\n' >"$ctx/.dockerignore"
stack "    build: ./api" >"$WORK/$P_BUILD/compose.yaml"

t=$(now); "$R" apply -p "$P_BUILD" -f "$WORK/$P_BUILD/compose.yaml" --yes >/dev/null; cold=$(elapsed "$t")
tag=$("$DOCKER" inspect --format '{{.Config.Image}}' "$P_BUILD-api-1")
stack "    image: $tag" >"$WORK/$P_PLAIN/compose.yaml"
"$R" apply -p "$P_PLAIN" -f "$WORK/$P_PLAIN/compose.yaml" --yes >/dev/null

noop() { # PROJECT
    local t; t=$(now); "$R" apply -p "$1" -f "$WORK/$1/compose.yaml" --yes >"$WORK/out"; elapsed "$t"
    grep -q "No changes" "$WORK/out" || { echo "not a no-op:" >&2; cat "$WORK/out" >&2; exit 1; }
}
with=(); without=()
for ((r = 0; r < RUNS; r++)); do
    with+=("$(noop "$P_BUILD")")
    without+=("$(noop "$P_PLAIN")")
done
m_with=$(printf '%s\n' "${with[@]}" | median)
m_without=$(printf '%s\n' "${without[@]}" | median)

echo "changed" >>"$ctx/pkg7/f7.py"
t=$(now); "$R" apply -p "$P_BUILD" -f "$WORK/$P_BUILD/compose.yaml" --yes >"$WORK/out"; change=$(elapsed "$t")
grep -q "context changed (pkg7/f7.py)" "$WORK/out" || { echo "the one-file change was not planned as such:" >&2; cat "$WORK/out" >&2; exit 1; }

printf 'context: %d files; %d runs each (medians, seconds)\n' "$FILES" "$RUNS"
printf '%-44s %8.3f\n' "cold build + apply (built stack)" "$cold"
printf '%-44s %8.3f\n' "no-op apply, api built from the context" "$m_with"
printf '%-44s %8.3f\n' "no-op apply, api by image name" "$m_without"
printf '%-44s %8.2f\n' "ratio (bound: 1.5)" "$(echo "$m_with / $m_without" | bc -l)"
printf '%-44s %8.3f\n' "one-file change: rebuild + recreate the api" "$change"
