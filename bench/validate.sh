#!/usr/bin/env bash
# Validation benchmark: the time endpoint validation adds to an apply, and the time an
# automatic rollback adds, for the shipped example manifests/inference (3 model replicas,
# endpoint validation over a 5 s window at concurrency 4 per replica, plus a job-validated
# benchmark service). Prints medians in seconds and the validation report.
#
#   bench/validate.sh            3 runs
#   RUNS=5 bench/validate.sh
#
# Runs on the private test dockerd (scripts/with-test-dockerd) with the workload image
# built from the Dockerfile (scripts/test-workload-image), never on the user's engine.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
command -v swift >/dev/null 2>&1 || export PATH=/opt/swift/usr/bin:$PATH
if [ -z "${RECONCILE_TEST_DOCKER_HOST:-}" ]; then
    exec scripts/with-test-dockerd "$0" "$@"
fi
export RECONCILE_IMAGE=${RECONCILE_TEST_WORKLOAD_IMAGE:-reconcile-test/reconcile:workload}
export RECONCILE_WORKLOAD_IMAGE=$RECONCILE_IMAGE
scripts/test-workload-image "$RECONCILE_IMAGE"
swift build --product reconcile >/dev/null
R=$(swift build --show-bin-path)/reconcile
RUNS=${RUNS:-3}
PROJECT=bench-validate-$$
WORK=$(mktemp -d)
chmod 755 "$WORK"
cleanup() {
    "$R" destroy -f manifests/inference -p "$PROJECT" --history >/dev/null 2>&1 || true
    rm -rf "$WORK"
}
trap cleanup EXIT

now() { date +%s.%N; }
median() { sort -n | awk '{a[NR]=$1} END {m=int((NR+1)/2); if (NR%2) print a[m]; else print (a[m]+a[m+1])/2}'; }
apply() { # ARGS...; prints seconds, fails on a non-zero exit unless ALLOW_FAIL=1
    local start rc=0
    start=$(now)
    "$R" apply -f manifests/inference -p "$PROJECT" --yes "$@" >"$WORK/last.out" 2>"$WORK/last.err" || rc=$?
    if [ $rc -ne 0 ] && [ -z "${ALLOW_FAIL:-}" ]; then cat "$WORK/last.out" "$WORK/last.err" >&2; exit 1; fi
    echo "$(now) - $start" | bc -l
}

# A model that loads and serves but answers wrong: the bundled weights zeroed.
mkdir -p "$WORK/models/broken"
cp workload/models/digits-mlp/model.json "$WORK/models/broken/"
head -c "$(stat -c %s workload/models/digits-mlp/weights.bin)" /dev/zero >"$WORK/models/broken/weights.bin"
sum=$(sha256sum "$WORK/models/broken/weights.bin" | cut -d' ' -f1)
sed -i "s/\"weightsSHA256\" : \"[0-9a-f]*\"/\"weightsSHA256\" : \"$sum\"/" "$WORK/models/broken/model.json"
chmod -R a+rX "$WORK/models"
export MODEL_DIR=$WORK/models

echo "cold apply (3 replicas + job, validated): $(GENERATION=0 apply) s" >&2
novalidate=() validate=()
for run in $(seq 1 "$RUNS"); do
    novalidate+=("$(GENERATION=a$run apply --no-validate)")
    validate+=("$(GENERATION=b$run apply)")
    echo "run $run: rollout ${novalidate[-1]} s, rollout + validation ${validate[-1]} s" >&2
done
report=$(cat "$WORK/last.out")
rollback=()
for run in $(seq 1 "$RUNS"); do
    rollback+=("$(ALLOW_FAIL=1 GENERATION=c$run MODEL_PATH=/models/broken apply)")
    grep -q "rolled back to revision" "$WORK/last.err" || { echo "expected a rollback:" >&2; cat "$WORK/last.err" >&2; exit 1; }
    echo "run $run: rollout + failed validation + rollback + validation ${rollback[-1]} s" >&2
done

m_nv=$(printf '%s\n' "${novalidate[@]}" | median)
m_v=$(printf '%s\n' "${validate[@]}" | median)
m_rb=$(printf '%s\n' "${rollback[@]}" | median)
printf '\n%-58s %8s\n' "what (median of $RUNS, seconds)" "seconds"
printf '%-58s %8.2f\n' "apply of a config change, --no-validate (3 replicas)" "$m_nv"
printf '%-58s %8.2f\n' "the same apply, validated (endpoint 5 s window + job)" "$m_v"
printf '%-58s %8.2f\n' "  time added by validation" "$(echo "$m_v - $m_nv" | bc -l)"
printf '%-58s %8.2f\n' "apply of a broken model, rolled back and re-validated" "$m_rb"
printf '%-58s %8.2f\n' "  time added by the rollback (vs a validated apply)" "$(echo "$m_rb - $m_v" | bc -l)"
echo
echo "validation report of the last validated apply:"
sed -n '/^Validation:/,$p' <<<"$report"
echo
"$R" history -f manifests/inference -p "$PROJECT" | tail -4
