#!/usr/bin/env bash
# Runs brickwall's coverage-guided fuzzers (libFuzzer through cargo-fuzz, on the
# nightly toolchain): every target, or those named, for SECONDS each (default 60),
# starting from the committed corpus (core/fuzz-targets/fuzz/corpus/TARGET). Prints
# one line per target: executions, executions per second, corpus size, and whether it
# crashed (a crash leaves its input in core/fuzz-targets/fuzz/artifacts/TARGET; copy it
# to core/fuzz-targets/fuzz/regressions/TARGET once fixed, and the tests replay it).
#
#   scripts/fuzz.sh                 # every target, 60 s each
#   scripts/fuzz.sh 3600 engine     # one target for an hour
#   JOBS=2 scripts/fuzz.sh 600      # two fuzzing processes per target (default one)
#
# New inputs the fuzzers keep go to a scratch corpus (out/fuzz/TARGET). To commit them,
# keep the smallest set that covers everything, in core/fuzz-targets/fuzz:
#   cargo +nightly fuzz run -O --debug-assertions --sanitizer none --fuzz-dir . TARGET \
#       NEW_EMPTY_DIR corpus/TARGET ../../../out/fuzz/TARGET -- -set_cover_merge=1
# then replace corpus/TARGET with NEW_EMPTY_DIR.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-60}
shift || true
targets=("$@")
dir=core/fuzz-targets/fuzz
if [ ${#targets[@]} -eq 0 ]; then
    mapfile -t targets < <(sed -n 's/^name = "\(.*\)"$/\1/p' "$dir/Cargo.toml" | grep -v '^brickwall-fuzz$')
fi
command -v cargo-fuzz >/dev/null 2>&1 || cargo install cargo-fuzz --locked
# The engine embeds the bundled helpers, built for WebAssembly by the same toolchain.
rustup +nightly target add wasm32-unknown-unknown >/dev/null
export CARGO_TARGET_DIR=${FUZZ_TARGET_DIR:-$PWD/target/fuzz}
# The engine links wasmtime: AddressSanitizer would multiply the build; coverage
# guidance and Rust's own checks (overflow, bounds) stay on.
sanitizer=${SANITIZER:-none}
(cd "$dir" && cargo +nightly fuzz build -O --debug-assertions --sanitizer "$sanitizer" --fuzz-dir . "${targets[@]:0:1}" >/dev/null)
mkdir -p out/fuzz
printf '%-10s %12s %10s %8s %s\n' target executions exec/s corpus result
for t in "${targets[@]}"; do
    scratch=out/fuzz/$t
    mkdir -p "$scratch"
    log=out/fuzz/$t.log
    set +e
    (cd "$dir" && cargo +nightly fuzz run -O --debug-assertions --sanitizer "$sanitizer" --fuzz-dir . \
        "$t" "../../../$scratch" "corpus/$t" -- \
        -max_total_time="$seconds" -rss_limit_mb=4096 -timeout=10 -print_final_stats=1 \
        ${JOBS:+-jobs=$JOBS -workers=$JOBS}) >"$log" 2>&1
    rc=$?
    set -e
    execs=$( { cat "$log"; cat "$dir"/fuzz-*.log 2>/dev/null || true; } \
        | awk '/stat::number_of_executed_units/ {s += $2} END {print s + 0}')
    rate=$(( execs / (seconds > 0 ? seconds : 1) ))
    size=$(( $(find "$scratch" "$dir/corpus/$t" -type f | wc -l) ))
    if [ $rc -eq 0 ]; then result=ok; else result="CRASH (rc $rc, see $log)"; fi
    printf '%-10s %12s %10s %8s %s\n' "$t" "$execs" "$rate" "$size" "$result"
    rm -f "$dir"/fuzz-*.log
done
