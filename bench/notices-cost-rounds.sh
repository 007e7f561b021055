#!/usr/bin/env bash
# Alternated throughput rounds (bench/notices-cost.ts): the baseline, then this checkout with
# messages and webhooks on, ROUNDS times. The baseline runs in a git worktree of BASE (default
# a9bf615, the code before deadlines, messages and webhooks) with this checkout's bench files.
#   bash bench/notices-cost-rounds.sh [ROUNDS] [SINCE]
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
ROUNDS="${1:-3}"
SINCE="${2:-}"
BASE="${BASE:-a9bf615}"
RUNS="${BENCH_THROUGHPUT_RUNS:-$ROOT/bench/results/notices-cost-runs.jsonl}"
TREE="${TMPDIR:-/tmp}/dsrflow-bench-base-$BASE"
if [ ! -d "$TREE" ]; then
  git -C "$ROOT" worktree add -f "$TREE" "$BASE" >/dev/null
  ln -s "$ROOT/node_modules" "$TREE/node_modules"
fi
cp "$ROOT/bench/notices-cost.ts" "$ROOT/bench/cpu.ts" "$TREE/bench/"
# The baseline has none of the other benchmarks' code: it runs this one alone (its row goes to RUNS).
printf "import { noticesCost } from './notices-cost.js';\nawait noticesCost.run();\nprocess.exit(0);\n" > "$TREE/bench/notices-cost-only.ts"
for i in $(seq 1 "$ROUNDS"); do
  echo "== round $i: base"
  (cd "$TREE" && BENCH_THROUGHPUT_RUNS="$RUNS" BENCH_FEATURES=off npx tsx bench/notices-cost-only.ts >/dev/null)
  echo "== round $i: on"
  (cd "$ROOT" && BENCH_THROUGHPUT_RUNS="$RUNS" BENCH_THROUGHPUT_SINCE="$SINCE" BENCH_FEATURES=on npx tsx bench/run.ts notices-cost 2>&1 | grep -oE "Target.{0,400}" || true)
done
