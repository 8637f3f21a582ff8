#!/usr/bin/env bash
# Runs every brickwall test on a fresh machine: installs what is missing, checks the
# formatting and lints, then runs the whole workspace's tests.
set -euo pipefail
cd "$(dirname "$0")/.."

# What the tests need beyond the Rust toolchain: a C compiler (plugin-ABI fixtures are C),
# tmux (the dashboard is driven in a real terminal), useradd/runuser (a second uid is
# refused by the control socket).
need_apt=()
command -v cc >/dev/null 2>&1 || need_apt+=(gcc libc6-dev)
command -v tmux >/dev/null 2>&1 || need_apt+=(tmux)
command -v useradd >/dev/null 2>&1 || need_apt+=(passwd)
command -v runuser >/dev/null 2>&1 || need_apt+=(util-linux)
# The live end-to-end tests (core/tests/live_bridge.rs, live_helpers.rs): namespaces and
# veth (iproute2), offload switches (ethtool), real peers (vsftpd, tftpd-hpa, ngircd,
# curl, ping, and below saned and amandad), and the kernel as the reference firewall (nftables, and conntrack to list
# its tables).
have() { command -v "$1" >/dev/null 2>&1 || [ -x "/usr/sbin/$1" ] || [ -x "/sbin/$1" ]; }
have ip || need_apt+=(iproute2)
have ethtool || need_apt+=(ethtool)
have vsftpd || need_apt+=(vsftpd)
have in.tftpd || need_apt+=(tftpd-hpa)
have ngircd || need_apt+=(ngircd)
have curl || need_apt+=(curl)
have ping || need_apt+=(iputils-ping)
have nft || need_apt+=(nftables)
have conntrack || need_apt+=(conntrack)
have python3 || need_apt+=(python3)
# Real peers of the SANE and Amanda helpers (core/tests/live_helpers.rs): saned and
# scanimage, and the Amanda client's amandad.
have saned || need_apt+=(sane-utils)
[ -x /usr/lib/amanda/amandad ] || need_apt+=(amanda-client)
# The SNMP helper behind NAT (core/tests/live_router.rs): net-snmp's snmptrap and
# snmptrapd.
have snmptrap || need_apt+=(snmp)
have snmptrapd || need_apt+=(snmptrapd)
# The IPFIX plugin's collectors (core/tests/ipfix.rs): nfdump's nfcapd and nfdump, and
# pmacct's nfacctd.
have nfcapd || need_apt+=(nfdump)
have nfacctd || need_apt+=(pmacct)
# The sync plugin's peer (plugins/sync/tests): Debian's conntrackd.
have conntrackd || need_apt+=(conntrackd)
# The packaging test (core/tests/packaging.rs): systemd-analyze rates the unit, and
# dpkg-deb builds and reads the package.
have systemd-analyze || need_apt+=(systemd)
have dpkg-deb || need_apt+=(dpkg)
# The example helper in C (examples/helpers/c): clang, wasm-ld, wasi-libc and the wasm32
# compiler-rt builtins.
command -v clang >/dev/null 2>&1 || need_apt+=(clang)
command -v wasm-ld >/dev/null 2>&1 || need_apt+=(lld)
[ -f /usr/lib/wasm32-wasi/libc.a ] || need_apt+=(wasi-libc)
compgen -G '/usr/lib/llvm-*/lib/clang/*/lib/wasi/libclang_rt.builtins-wasm32.a' >/dev/null \
    || need_apt+=(libclang-rt-dev-wasm32)
# The example helper in Python (examples/helpers/python): componentize-py 0.25.1 from
# PyPI, in a virtual environment of its own unless it is installed already (Debian's pip
# refuses to install into the system's Python), which needs python3-venv.
componentize_py_ok() {
    [ "$("${COMPONENTIZE_PY:-componentize-py}" --version 2>/dev/null)" = "componentize-py 0.25.1" ]
}
componentize_py_ok || python3 -c 'import ensurepip' >/dev/null 2>&1 || need_apt+=(python3-venv)
if [ ${#need_apt[@]} -gt 0 ]; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_apt[@]}"
fi
rustup component add rustfmt clippy >/dev/null 2>&1 || true
# Helpers are WebAssembly components, built from Rust by the project's own build step.
rustup target add wasm32-unknown-unknown >/dev/null

if ! componentize_py_ok; then
    venv="$HOME/.cache/brickwall/componentize-py-0.25.1"
    if [ ! -x "$venv/bin/componentize-py" ]; then
        rm -rf "$venv"
        python3 -m venv "$venv"
        "$venv/bin/pip" install --quiet componentize-py==0.25.1
    fi
    export COMPONENTIZE_PY="$venv/bin/componentize-py"
    componentize_py_ok
fi

# Reuse a target directory outside the clone, so a CI run on the same machine is incremental.
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/brickwall/target}"
mkdir -p "$CARGO_TARGET_DIR"
# A reused target directory grows with every run; when its disk runs low, start it afresh
# (a cold build takes about 15 minutes) rather than fail half-way with a full disk.
free_kib=$(df -Pk "$CARGO_TARGET_DIR" | awk 'NR==2 {print $4}')
if [ "${free_kib:-0}" -lt $((20 * 1024 * 1024)) ]; then
    echo "scripts/test.sh: less than 20 GiB free; emptying $CARGO_TARGET_DIR" >&2
    rm -rf "${CARGO_TARGET_DIR:?}"/*
fi
# Incremental caches only help edit-compile loops; in CI they cost gigabytes.
export CARGO_INCREMENTAL="${CARGO_INCREMENTAL:-0}"

# The shared test captures sit beside the repository (../shared); say so if they do not.
if [ -z "${BRICKWALL_SHARED:-}" ] && [ ! -d ../shared/pcaps ]; then
    echo "scripts/test.sh: ../shared/pcaps not found; set BRICKWALL_SHARED to the shared folder" >&2
    exit 1
fi

cargo fmt --all -- --check
cargo clippy --workspace --all-targets --quiet -- -D warnings
# The documentation builds without warnings: a broken or ambiguous doc link fails the run.
RUSTDOCFLAGS="-D warnings" cargo doc --workspace --no-deps --quiet
cargo test --workspace
# The tracker's lane lock under the loom model checker (every interleaving of its test
# threads, up to a preemption bound): a small crate, built on loom's primitives in a
# target directory of its own so the main one keeps its flags.
RUSTFLAGS="--cfg brickwall_loom" CARGO_TARGET_DIR="$CARGO_TARGET_DIR/loom" \
    cargo test -p brickwall-lanes --test loom --release
