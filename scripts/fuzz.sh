#!/usr/bin/env bash
# Run aksctl's cargo-fuzz targets (fuzz/README.md) for a fixed time each.
#
#   scripts/fuzz.sh --quick          20 s per target (what .ci/run calls)
#   scripts/fuzz.sh [SECONDS]        SECONDS per target (default 600)
#   scripts/fuzz.sh --quick TARGET…  only these targets
#   scripts/fuzz.sh --build          build the targets and stop (.ci/run, in the background, before its fuzz phase)
#   FUZZ_SANITIZER=address scripts/fuzz.sh 600   with AddressSanitizer (default: none, see fuzz/README.md)
#
# The stable toolchain builds libFuzzer's nightly-only flags with RUSTC_BOOTSTRAP=1. cargo-fuzz is installed
# when missing. The corpus (fuzz/corpus/) is kept between runs; a crash (panic), a timeout or running out of
# memory leaves its input in fuzz/artifacts/ and makes this script fail (exit 1).
set -euo pipefail
cd "$(dirname "$0")/../fuzz"

seconds=600
build_only=0
if [[ "${1:-}" == "--build" ]]; then
  build_only=1
  shift
elif [[ "${1:-}" == "--quick" ]]; then
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

# No AddressSanitizer by default: aksctl's crates forbid unsafe code, so what ASan adds is checks inside
# dependencies' unsafe code (std, serde_json, …), while it makes the build slower and every run several times
# slower (fuzz/README.md). A panic, a timeout or the RSS limit fails a target either way. The same flags for build
# and run, or `run` builds again.
flags=(--sanitizer "${FUZZ_SANITIZER:-none}")

started=$(date +%s)
cargo fuzz build "${flags[@]}"
echo "== fuzz targets built in $(( $(date +%s) - started )) s"
[[ $build_only == 1 ]] && exit 0
for target in "${targets[@]}"; do
  mkdir -p "corpus/$target"
  echo "== fuzz $target for ${seconds} s"
  # -rss_limit_mb: a hostile input must not make the parsers balloon either.
  status=0
  cargo fuzz run "${flags[@]}" "$target" -- \
    -max_total_time="$seconds" -rss_limit_mb=2048 -timeout=10 -print_final_stats=1 >"/tmp/aksctl-fuzz-$target.log" 2>&1 ||
    status=$?
  grep -E '^(Done|stat::number_of_executed_units|stat::peak_rss_mb)|ERROR|SUMMARY|Test unit written' \
    "/tmp/aksctl-fuzz-$target.log" || true
  if [[ $status -ne 0 ]] || compgen -G "artifacts/$target/*" >/dev/null; then
    # The panic message, then cargo-fuzz's summary (failing input, how to reproduce) without its own backtrace.
    grep -A3 'panicked at' "/tmp/aksctl-fuzz-$target.log" >&2 || true
    sed '/^Stack backtrace:/,$d' "/tmp/aksctl-fuzz-$target.log" | tail -n 25 >&2
    echo "fuzz target $target failed (exit $status); inputs in fuzz/artifacts/$target/, log /tmp/aksctl-fuzz-$target.log" >&2
    exit 1
  fi
done
echo "== fuzzing done in $(( $(date +%s) - started )) s"
