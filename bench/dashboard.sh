#!/usr/bin/env bash
# The dashboard's figures (docs/dashboard.md, Figures):
#  1. server render time (p50, p95) and weight of the overview, revisions and figures pages
#     with 200 services x 2 replicas and 1,000 revisions (DashboardBenchTests, in process);
#  2. the controller's pass time and memory with no page open and with five pages open
#     (live-update streams that fetch their page on every change, as a browser does), on
#     the private test dockerd, over KILLS drift repairs each.
#   bench/dashboard.sh                 # debug build (what `swift build` made)
#   CONFIG=release bench/dashboard.sh  # release build with -enable-testing (slow to build)
#   ROUNDS=30 KILLS=20 REPLICAS=20 bench/dashboard.sh
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
CONFIG=${CONFIG:-debug}
export DASHBOARD_BENCH_ROUNDS=${ROUNDS:-30}
flags=()
[ "$CONFIG" = release ] && flags=(-c release -Xswiftc -enable-testing)
swift build --build-tests "${flags[@]}"
echo "==> render ($CONFIG build, $DASHBOARD_BENCH_ROUNDS rounds)"
swift test --skip-build "${flags[@]}" --filter 'DashboardBenchTests' 2>&1 | grep -E 'dashboard-bench|passed|failed'
echo "==> controller passes with pages open ($CONFIG build)"
bin=$(swift build "${flags[@]}" --show-bin-path)/reconcile
scripts/with-test-dockerd python3 bench/dashboard_pages_open.py --reconcile "$bin" --kills "${KILLS:-20}" --replicas "${REPLICAS:-20}"
