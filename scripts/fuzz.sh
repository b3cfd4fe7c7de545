#!/usr/bin/env bash
# Run aksctl's cargo-fuzz targets (fuzz/README.md) for a fixed time each.
#
#   scripts/fuzz.sh --quick          20 s per target (what CI can call)
#   scripts/fuzz.sh [SECONDS]        SECONDS per target (default 600)
#   scripts/fuzz.sh --quick TARGET…  only these targets
#
# The stable toolchain builds libFuzzer's nightly-only flags with RUSTC_BOOTSTRAP=1. cargo-fuzz is installed
# when missing. The corpus (fuzz/corpus/) is kept between runs; a crash leaves its input in fuzz/artifacts/
# and makes this script fail.
set -euo pipefail
cd "$(dirname "$0")/../fuzz"

seconds=600
if [[ "${1:-}" == "--quick" ]]; then
  seconds=20
  shift
elif [[ "${1:-}" =~ ^[0-9]+$ ]]; then
  seconds=$1
  shift
fi
targets=("$@")
if [[ ${#targets[@]} -eq 0 ]]; then
  targets=(kubeconfig exec_info arm_bodies arm_pipeline)
fi

if ! command -v cargo-fuzz >/dev/null 2>&1; then
  cargo install cargo-fuzz --locked
fi
export RUSTC_BOOTSTRAP=1
export CARGO_TERM_COLOR=never

started=$(date +%s)
cargo fuzz build
echo "== fuzz targets built in $(( $(date +%s) - started )) s"
for target in "${targets[@]}"; do
  mkdir -p "corpus/$target"
  echo "== fuzz $target for ${seconds} s"
  # -rss_limit_mb: a hostile input must not make the parsers balloon either.
  status=0
  cargo fuzz run "$target" -- \
    -max_total_time="$seconds" -rss_limit_mb=2048 -timeout=10 -print_final_stats=1 >"/tmp/aksctl-fuzz-$target.log" 2>&1 ||
    status=$?
  grep -E '^(Done|stat::number_of_executed_units|stat::peak_rss_mb)|ERROR|panicked|SUMMARY|Test unit written' \
    "/tmp/aksctl-fuzz-$target.log" || true
  if [[ $status -ne 0 ]] || compgen -G "artifacts/$target/*" >/dev/null; then
    echo "fuzz target $target failed (exit $status); inputs in fuzz/artifacts/$target/, log /tmp/aksctl-fuzz-$target.log" >&2
    exit 1
  fi
done
echo "== fuzzing done in $(( $(date +%s) - started )) s"
