#!/usr/bin/env bash
# Builds brickwall and runs its demo: synthetic traffic (our own generator) replayed
# through the engine with the embedded demo config; on a terminal the dashboard opens
# on the run (q closes it); then a summary. No root needed.
# Extra arguments go to `brickwall demo` (e.g. --report out.jsonl --write out.pcap).
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/brickwall/target}"
# The bundled application helpers are built to WebAssembly during the build.
rustup target add wasm32-unknown-unknown >/dev/null 2>&1 || true
exec cargo run --release --quiet -p brickwall-core --bin brickwall -- demo "$@"
