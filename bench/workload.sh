#!/usr/bin/env bash
# Workload benchmark, in one run:
#   1. CPU GFLOP/s of the synthetic model's GEMMs (reconcile-workload run, OpenBLAS
#      through cblas_sgemm) against numpy's matmul (its own OpenBLAS) on the same
#      shapes, and against this machine's theoretical peak from /proc/cpuinfo;
#   2. serve latency p50/p99 and requests/s with wrk on 127.0.0.1, concurrency 1 and 16,
#      one digits row per request;
#   3. cold start to healthy: process start to the first 200 from /healthz.
#
#   bench/workload.sh                    width 1024, depth 4, batches 64 256 1024
#   WIDTH=2048 DEPTH=2 BATCHES="256 1024" DURATION=10 bench/workload.sh
#
# Uses the release binary that scripts/build-image --prebuilt makes (builds it if absent).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
command -v swift >/dev/null 2>&1 || export PATH=/opt/swift/usr/bin:$PATH
WIDTH=${WIDTH:-1024}
DEPTH=${DEPTH:-4}
BATCHES=${BATCHES:-"64 256 1024"}
DURATION=${DURATION:-10}
PORT=${PORT:-18480}
SCRATCH=${RECONCILE_IMAGE_SCRATCH:-.build-image/scratch}

command -v wrk >/dev/null 2>&1 || { apt-get update -qq; DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null; }
python3 -c 'import numpy' 2>/dev/null || pip install -q numpy
# The image's binary (scripts/build-image --prebuilt makes it), run as reconcile-workload.
BUNDLE=.build-image/bin/reconcile
if [ ! -x "$BUNDLE" ]; then
    mkdir -p .build-image/static-blas .build-image/bin
    ln -sf "/usr/lib/$(gcc -print-multiarch)/libopenblas.a" .build-image/static-blas/libopenblas.a
    swift build -c release --static-swift-stdlib --scratch-path "$SCRATCH" -Xlinker -L"$PWD/.build-image/static-blas" --product reconcile-bundle >&2
    install -s "$(swift build -c release --scratch-path "$SCRATCH" --show-bin-path)/reconcile-bundle" "$BUNDLE"
fi
WORK=$(mktemp -d)
W=$WORK/reconcile-workload
ln -s "$PWD/$BUNDLE" "$W"
SERVER=
cleanup() { [ -n "$SERVER" ] && kill "$SERVER" 2>/dev/null; rm -rf "$WORK"; }
trap cleanup EXIT

echo "== CPU: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(nproc) cores, $(grep -m1 'cpu MHz' /proc/cpuinfo | cut -d: -f2 | xargs) MHz"
python3 - <<'PY'
flags = open('/proc/cpuinfo').read().split('flags', 1)[1].split('\n', 1)[0].split()
import os
mhz = float(open('/proc/cpuinfo').read().split('cpu MHz', 1)[1].split(':', 1)[1].split('\n', 1)[0])
# Two FMA pipes of the widest vector: 16 lanes (AVX-512), 8 (AVX2), else SSE add + mul of 4.
per_cycle = 64 if 'avx512f' in flags else 32 if ('avx2' in flags and 'fma' in flags) else 8
cores = os.cpu_count()
print(f"== theoretical fp32 peak: {cores} cores x {mhz/1000:.3f} GHz x {per_cycle} FLOP/cycle = {cores*mhz/1000*per_cycle:.1f} GFLOP/s")
open(os.environ.get('TMPDIR', '/tmp') + '/wl-peak', 'w').write(str(cores * mhz / 1000 * per_cycle))
PY
PEAK=$(cat "${TMPDIR:-/tmp}/wl-peak")

echo "== GEMM GFLOP/s, synthetic MLP width $WIDTH depth $DEPTH (median of 20 iterations per batch)"
printf '%8s %12s %12s %8s %10s\n' batch reconcile numpy ratio "of peak"
for b in $BATCHES; do
    ours=$("$W" run --synthetic --width "$WIDTH" --depth "$DEPTH" --device cpu --batch-sizes "$b" --iterations 20 --warmup 3 2>/dev/null |
        python3 -c 'import json,sys; print(json.load(sys.stdin)["batches"][0]["matmulGflops"])')
    theirs=$(python3 - "$b" "$WIDTH" "$DEPTH" <<'PY'
import sys, time, numpy as np
b, w, d = map(int, sys.argv[1:])
rng = np.random.default_rng(1)
x = rng.uniform(-1, 1, (b, w)).astype(np.float32)
ws = [rng.uniform(-1, 1, (w, w)).astype(np.float32) for _ in range(d)]
bufs = [np.empty((b, w), np.float32), np.empty((b, w), np.float32)]
def once():
    a = x
    for i, m in enumerate(ws):
        np.matmul(a, m, out=bufs[i % 2]); a = bufs[i % 2]
for _ in range(3): once()
ts = []
for _ in range(20):
    t = time.perf_counter(); once(); ts.append(time.perf_counter() - t)
ts.sort()
print(2 * b * w * w * d / ts[len(ts) // 2 - (1 - len(ts) % 2) * 0] / 1e9)
PY
)
    python3 -c "import sys; o,t,p=map(float,sys.argv[1:4]); print(f'{int(sys.argv[4]):8d} {o:12.1f} {t:12.1f} {o/t:8.2f} {100*o/p:9.1f}%')" "$ours" "$theirs" "$PEAK" "$b"
done
python3 -c 'import numpy; c=numpy.show_config(mode="dicts"); print("   numpy", numpy.__version__, "with", c["Build Dependencies"]["blas"]["name"], c["Build Dependencies"]["blas"].get("version",""))' 2>/dev/null || true
echo "   reconcile-workload with $("$W" run --synthetic --width 8 --depth 1 --device cpu --batch-sizes 1 --iterations 1 2>/dev/null | python3 -c 'import json,sys; print(json.load(sys.stdin)["device"]["name"])')"

echo "== cold start to healthy (process start to first 200 from /healthz), 5 runs"
for i in 1 2 3 4 5; do
    start=$(date +%s%N)
    "$W" serve --device cpu --port "$PORT" >"$WORK/serve.log" 2>&1 &
    SERVER=$!
    until curl -fs "http://127.0.0.1:$PORT/healthz" >/dev/null 2>&1; do sleep 0.005; done
    echo "   run $i: $(( ($(date +%s%N) - start) / 1000000 )) ms"
    kill "$SERVER"; wait "$SERVER" 2>/dev/null || true; SERVER=
done

echo "== serve: POST /v1/predict, one digits row per request, wrk ${DURATION}s on 127.0.0.1"
"$W" serve --device cpu --port "$PORT" >"$WORK/serve.log" 2>&1 &
SERVER=$!
until curl -fs "http://127.0.0.1:$PORT/healthz" >/dev/null 2>&1; do sleep 0.01; done
python3 - "$WORK/post.lua" <<'PY'
import gzip, json, sys
row = [float(v) for v in gzip.open('workload/data/digits.csv.gz', 'rt').readline().split(',')[:64]]
body = json.dumps({"inputs": [row]})
open(sys.argv[1], 'w').write('wrk.method = "POST"\nwrk.body = %s\nwrk.headers["Content-Type"] = "application/json"\n' % json.dumps(body))
PY
printf '%12s %10s %10s %10s\n' concurrency p50 p99 "req/s"
for c in 1 16; do
    t=$(( c < 2 ? 1 : 2 ))
    wrk -t"$t" -c"$c" -d"${DURATION}s" --latency -s "$WORK/post.lua" "http://127.0.0.1:$PORT/v1/predict" >"$WORK/wrk-$c.txt"
    p50=$(awk '$1=="50%"{print $2}' "$WORK/wrk-$c.txt")
    p99=$(awk '$1=="99%"{print $2}' "$WORK/wrk-$c.txt")
    rps=$(awk '/Requests\/sec/{print $2}' "$WORK/wrk-$c.txt")
    errors=$(grep -E 'Non-2xx|Socket errors' "$WORK/wrk-$c.txt" || true)
    printf '%12s %10s %10s %10s %s\n' "$c" "$p50" "$p99" "$rps" "$errors"
done
