#!/usr/bin/env bash
# GPU checks and figures for the bundled workload, on a host with an NVIDIA GPU and
# its driver. Needs no Docker: it runs the image's binary directly, as the container
# would with --gpus.
#
#   bench/gpu.sh [BUNDLE]        BUNDLE: the image's binary (default .build-image/bin/reconcile,
#                                which scripts/build-image --prebuilt makes)
#   WIDTH=4096 DEPTH=4 BATCHES=1,32,128,1024,4096 bench/gpu.sh
#
# In one run:
#   1. the GPUs as nvidia-smi lists them and as `reconcile-workload gpus` lists them
#      through the CUDA driver API: index, UUID and memory must agree (reconcile's GPU
#      probe reads the second where it cannot run the first);
#   2. digits on the GPU: held-out accuracy and the largest difference from the CPU;
#   3. --device auto takes the GPU; --device gpu with NVIDIA_VISIBLE_DEVICES=none fails
#      with a sentence, exit 2;
#   4. the synthetic MLP (WIDTH × WIDTH, DEPTH layers) per batch size: whole forward
#      passes (copies included) and the kernels alone, in GFLOP/s, for the kernel that
#      the batch size picks and for each kernel forced; against the GPU's fp32 peak
#      (SMs × clock × FP32 lanes × 2) and against cuBLAS fp32 through PyTorch
#      (TF32 off) on the same shapes, when python3 has torch;
#   5. serve --device gpu on 127.0.0.1: /info names the GPU, /v1/predict answers the
#      first 300 digits rows, and latency p50/p99 over 1,000 sequential requests.
# Everything lands in $OUT (or a temporary folder) as well: JSON reports and logs.
# Exit status: the number of failed checks.
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
BUNDLE=${1:-.build-image/bin/reconcile}
WIDTH=${WIDTH:-4096}
DEPTH=${DEPTH:-4}
BATCHES=${BATCHES:-1,32,128,1024,4096}
PORT=${PORT:-18490}
DIR=${OUT:-$(mktemp -d)}
WORK=$(mktemp -d)
W=$WORK/reconcile-workload
ln -s "$(readlink -f "$BUNDLE")" "$W"
SERVER=
cleanup() { [ -n "$SERVER" ] && kill "$SERVER" 2>/dev/null; rm -rf "$WORK"; }
trap cleanup EXIT
failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }
ok() { echo "ok: $*"; }

echo "== 1. GPUs"
nvidia-smi -L || fail "nvidia-smi -L"
nvidia-smi --query-gpu=index,uuid,memory.total,name,clocks.max.sm,driver_version --format=csv,noheader | tee "$DIR/nvidia-smi-full.csv"
nvidia-smi --query-gpu=index,uuid,memory.total --format=csv,noheader >"$DIR/nvidia-smi.csv"
"$W" gpus >"$DIR/gpus.json" 2>"$DIR/gpus.err" || fail "reconcile-workload gpus exited $?"
"$W" gpus --format csv >"$DIR/gpus.csv" 2>>"$DIR/gpus.err"
cat "$DIR/gpus.json"
if python3 - "$DIR/nvidia-smi.csv" "$DIR/gpus.csv" <<'PY'; then ok "index and UUID agree with nvidia-smi"; else fail "reconcile-workload gpus and nvidia-smi disagree"; fi
import sys
rows = lambda p: [[f.strip() for f in l.split(',')] for l in open(p) if l.strip()]
smi, ours = rows(sys.argv[1]), rows(sys.argv[2])
print("nvidia-smi:", smi); print("workload:  ", ours)
same = len(smi) == len(ours) and all(a[:2] == b[:2] for a, b in zip(smi, ours))
for a, b in zip(smi, ours):
    print(f"memory: nvidia-smi {a[2]}, CUDA driver {b[2]}")
sys.exit(0 if same and smi else 1)
PY

echo "== 2. digits on the GPU"
if "$W" run --device gpu --min-accuracy 0.95 --batch-sizes 1,32,256 >"$DIR/digits-gpu.json" 2>"$DIR/digits-gpu.err"; then
    ok "digits on GPU passed"
else
    fail "digits on GPU: exit $?: $(tail -3 "$DIR/digits-gpu.err")"
fi
python3 - "$DIR/digits-gpu.json" <<'PY' || true
import json, sys
r = json.load(open(sys.argv[1]))
print("device:", r["device"]["name"])
print("accuracy", r["accuracy"], "on", r["heldOutRows"], "held-out rows; max error vs CPU", r["maxError"])
for b in r["batches"]:
    print(f"  batch {b['batchSize']:5d}: p50 {b['p50Ms']:.3f} ms, p99 {b['p99Ms']:.3f} ms, {b['rowsPerSecond']:.0f} rows/s")
PY

echo "== 3. device selection"
"$W" run --device auto --batch-sizes 1 --iterations 3 >"$DIR/auto.json" 2>"$DIR/auto.err"
if python3 -c 'import json,sys; sys.exit(json.load(open(sys.argv[1]))["device"]["kind"] != "gpu")' "$DIR/auto.json" 2>/dev/null; then
    ok "--device auto chose the GPU: $(cat "$DIR/auto.err" | head -1)"
else
    fail "--device auto did not choose the GPU: $(cat "$DIR/auto.err")"
fi
NVIDIA_VISIBLE_DEVICES=none "$W" run --device gpu --batch-sizes 1 --iterations 1 >/dev/null 2>"$DIR/none.err"
status=$?
if [ $status = 2 ]; then ok "NVIDIA_VISIBLE_DEVICES=none: exit 2: $(cat "$DIR/none.err")"; else fail "NVIDIA_VISIBLE_DEVICES=none: exit $status: $(cat "$DIR/none.err")"; fi
uuid=$(cut -d, -f2 "$DIR/nvidia-smi.csv" | head -1 | xargs)
if [ -z "$uuid" ]; then
    fail "no GPU UUID from nvidia-smi"
elif NVIDIA_VISIBLE_DEVICES=$uuid "$W" run --device gpu --batch-sizes 1 --iterations 1 >/dev/null 2>"$DIR/uuid.err"; then
    ok "NVIDIA_VISIBLE_DEVICES=$uuid runs on the GPU"
else
    fail "NVIDIA_VISIBLE_DEVICES=$uuid: $(cat "$DIR/uuid.err")"
fi

echo "== 4. synthetic MLP width $WIDTH depth $DEPTH, batches $BATCHES"
for kernel in auto large small; do
    if [ $kernel = auto ]; then unset RECONCILE_WORKLOAD_KERNEL; else export RECONCILE_WORKLOAD_KERNEL=$kernel; fi
    if "$W" run --synthetic --width "$WIDTH" --depth "$DEPTH" --device gpu --batch-sizes "$BATCHES" --iterations 20 --warmup 3 \
        >"$DIR/synthetic-$kernel.json" 2>"$DIR/synthetic-$kernel.err"; then
        ok "synthetic, kernel $kernel: within the CPU tolerance"
    else
        fail "synthetic, kernel $kernel: exit $?: $(tail -3 "$DIR/synthetic-$kernel.err")"
    fi
done
unset RECONCILE_WORKLOAD_KERNEL
python3 - "$DIR" "$WIDTH" "$DEPTH" "$BATCHES" <<'PY' | tee "$DIR/gemm-table.txt"
import json, sys, os
d, width, depth = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
batches = [int(b) for b in sys.argv[4].split(',')]
gpus = json.load(open(os.path.join(d, 'gpus.json')))
g = gpus['gpus'][0]
major, minor = map(int, g['computeCapability'].split('.'))
lanes = {(9, 0): 128, (8, 0): 64, (7, 0): 64, (7, 5): 64, (6, 0): 64}.get((major, minor), 128)
peak = g['multiprocessors'] * g['clockKHz'] * 1e3 * lanes * 2 / 1e9
print(f"GPU: {g['name']}, {g['multiprocessors']} SMs at {g['clockKHz']/1e6:.3f} GHz, {lanes} FP32 lanes each: fp32 peak {peak/1000:.1f} TFLOP/s")
ref = {}
try:
    import torch
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    gen = torch.Generator(device='cuda').manual_seed(1)
    ws = [torch.rand(width, width, device='cuda', generator=gen) * 2 - 1 for _ in range(depth)]
    for b in batches:
        x = torch.rand(b, width, device='cuda', generator=gen) * 2 - 1
        bufs = [torch.empty(b, width, device='cuda'), torch.empty(b, width, device='cuda')]
        def once():
            a = x
            for i, w in enumerate(ws):
                torch.matmul(a, w, out=bufs[i % 2]); a = bufs[i % 2]
        for _ in range(3): once()
        torch.cuda.synchronize()
        times = []
        for _ in range(20):
            s, e = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
            s.record(); once(); e.record(); torch.cuda.synchronize(); times.append(s.elapsed_time(e) / 1e3)
        times.sort()
        ref[b] = 2 * b * width * width * depth / times[len(times) // 2] / 1e9
    print(f"cuBLAS reference: torch {torch.__version__}, fp32 matmul, TF32 off")
except Exception as e:
    print("no cuBLAS reference:", e)
runs = {k: json.load(open(os.path.join(d, f'synthetic-{k}.json'))) for k in ('auto', 'large', 'small') if os.path.getsize(os.path.join(d, f'synthetic-{k}.json')) > 0}
if 'auto' in runs:
    print("max |GPU - CPU| / max(1, |CPU|):", runs['auto']['maxError'])
print(f"{'batch':>6} {'e2e GFLOP/s':>12} {'kernel':>10} {'large':>10} {'small':>10} {'cuBLAS':>10} {'vs cuBLAS':>9} {'of peak':>8} {'p50 ms':>8}")
for i, b in enumerate(batches):
    row = lambda k, f: runs[k]['batches'][i][f] if k in runs else float('nan')
    k = row('auto', 'matmulGflops')
    r = ref.get(b, float('nan'))
    print(f"{b:6d} {row('auto', 'gflops'):12.1f} {k:10.1f} {row('large', 'matmulGflops'):10.1f} {row('small', 'matmulGflops'):10.1f} {r:10.1f} {k / r:9.2f} {100 * k / peak:7.1f}% {row('auto', 'p50Ms'):8.3f}")
PY

echo "== 5. serve --device gpu on 127.0.0.1:$PORT"
start=$(date +%s%N)
"$W" serve --device gpu --port "$PORT" >"$DIR/serve.log" 2>&1 &
SERVER=$!
python3 - "$PORT" "$start" "$DIR" "$SERVER" <<'PY'
import gzip, http.client, json, os, sys, time
port, start, d, pid = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], int(sys.argv[4])
def alive():
    try:
        os.kill(pid, 0); return True
    except OSError:
        return False
deadline = time.time() + 30
while True:
    try:
        c = http.client.HTTPConnection('127.0.0.1', port, timeout=5); c.request('GET', '/healthz')
        if c.getresponse().status == 200: break
    except OSError:
        pass
    if time.time() > deadline or not alive(): print("FAIL: no /healthz within 30 s, or the server exited"); sys.exit(1)
    time.sleep(0.005)
print(f"cold start to healthy: {(time.time_ns() - start) / 1e6:.0f} ms")
c = http.client.HTTPConnection('127.0.0.1', port, timeout=10)
c.request('GET', '/info'); info = json.loads(c.getresponse().read()); print("/info:", json.dumps(info)[:400])
json.dump(info, open(d + '/serve-info.json', 'w'))
rows = [l.strip().split(',') for l in gzip.open('workload/data/digits.csv.gz', 'rt') if l.strip()][:300]
x = [[float(v) for v in r[:64]] for r in rows]; y = [int(r[64]) for r in rows]
c.request('POST', '/v1/predict', json.dumps({"inputs": x}), {'Content-Type': 'application/json'})
resp = c.getresponse(); body = json.loads(resp.read())
preds = body.get('predictions') or body.get('classes') or []
labels = [p['label'] if isinstance(p, dict) else p for p in preds]
acc = sum(int(a == b) for a, b in zip(labels, y)) / len(y)
print(f"/v1/predict on 300 rows: status {resp.status}, accuracy {acc:.3f}, device {body.get('device')}")
one = json.dumps({"inputs": [x[0]]})
ts = []
for _ in range(1000):
    t = time.perf_counter(); c.request('POST', '/v1/predict', one, {'Content-Type': 'application/json'}); c.getresponse().read(); ts.append(time.perf_counter() - t)
ts.sort()
print(f"serve, 1 row a request, 1,000 sequential: p50 {ts[499]*1e3:.3f} ms, p99 {ts[989]*1e3:.3f} ms, {1000/sum(ts):.0f} req/s")
c.request('GET', '/metrics'); m = c.getresponse().read().decode(); open(d + '/metrics.txt', 'w').write(m)
sys.exit(0 if resp.status == 200 and acc >= 0.95 and info.get('device', {}).get('kind') == 'gpu' else 1)
PY
[ $? = 0 ] && ok "serve on the GPU answers correctly" || fail "serve on the GPU: $(tail -5 "$DIR/serve.log")"
kill "$SERVER" 2>/dev/null; wait "$SERVER" 2>/dev/null; SERVER=

echo "== $failures check(s) failed; reports in $DIR"
exit $failures
