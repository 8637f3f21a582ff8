#!/usr/bin/env bash
# Builds the Debian package: packaging/build-deb.sh [OUT_DIR]  (default: target/debian)
#
# The binary is built with the release profile (no debug info) unless BRICKWALL_BIN
# names one already built (BRICKWALL_DEB_FAST=1 then compresses quickly, for tests). The package holds:
#   /usr/bin/brickwall
#   /lib/systemd/system/brickwall.service     (packaging/brickwall.service)
#   /etc/brickwall/fw.yaml                    (a conffile: examples/live/fw.yaml, without
#                                              `live.user`: the unit starts it as its user)
#   /usr/share/doc/brickwall/                 (README, the example configs)
# and its maintainer scripts create the system user `brickwall` and enable the unit
# (not started: the config names interfaces to edit first). The helper cache is the
# unit's CacheDirectory (/var/cache/brickwall), made by systemd.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
out="${1:-$root/target/debian}"
version="$(sed -n 's/^version = "\(.*\)"/\1/p' "$root/Cargo.toml" | head -1)"
arch="$(dpkg --print-architecture)"
bin="${BRICKWALL_BIN:-}"
if [ -z "$bin" ]; then
    (cd "$root" && cargo build --release --locked -p brickwall-core --bin brickwall)
    bin="${CARGO_TARGET_DIR:-$root/target}/release/brickwall"
fi
[ -x "$bin" ] || { echo "build-deb: no binary at $bin" >&2; exit 1; }

stage="$(mktemp -d)"
trap 'rm -rf "$stage"' EXIT
pkg="$stage/brickwall"
install -d "$pkg/DEBIAN" "$pkg/usr/bin" "$pkg/lib/systemd/system" "$pkg/etc/brickwall" \
    "$pkg/usr/share/doc/brickwall/examples"
install -m 0755 "$bin" "$pkg/usr/bin/brickwall"
install -m 0644 "$root/packaging/brickwall.service" "$pkg/lib/systemd/system/brickwall.service"
sed '/^  user: /d' "$root/examples/live/fw.yaml" > "$pkg/etc/brickwall/fw.yaml"
chmod 0640 "$pkg/etc/brickwall/fw.yaml"
install -m 0644 "$root/README.md" "$pkg/usr/share/doc/brickwall/README.md"
install -m 0644 "$root/examples/live/fw.yaml" "$root/examples/live/router.yaml" \
    "$pkg/usr/share/doc/brickwall/examples/"
echo /etc/brickwall/fw.yaml > "$pkg/DEBIAN/conffiles"
size="$(du -sk --exclude=DEBIAN "$pkg" | cut -f1)"
cat > "$pkg/DEBIAN/control" <<CONTROL
Package: brickwall
Version: $version
Architecture: $arch
Maintainer: brickwall developers <brickwall@example.invalid>
Installed-Size: $size
Depends: libc6
Recommends: ethtool
Section: net
Priority: optional
Description: userspace Netfilter and connection tracking engine
 brickwall re-implements Linux's Netfilter hooks and nf_conntrack in userspace,
 with WebAssembly helpers (FTP, IRC, TFTP, PPTP, SANE, Amanda, SNMP, SIP), NAT,
 a stateful filter, conntrack-tools' commands (brickwall ct) and a dashboard
 (brickwall top). The systemd unit runs it as a bridge or router between the
 interfaces its config names, as its own user with CAP_NET_RAW and CAP_NET_ADMIN.
CONTROL
cat > "$pkg/DEBIAN/postinst" <<'POSTINST'
#!/bin/sh
set -e
if [ "$1" = configure ]; then
    if ! getent passwd brickwall >/dev/null; then
        adduser --system --group --no-create-home --home /var/lib/brickwall brickwall
    fi
    chgrp brickwall /etc/brickwall/fw.yaml
    if [ -d /run/systemd/system ]; then
        systemctl daemon-reload || true
        systemctl enable brickwall.service || true
    fi
fi
POSTINST
cat > "$pkg/DEBIAN/prerm" <<'PRERM'
#!/bin/sh
set -e
if [ -d /run/systemd/system ] && [ "$1" = remove ]; then
    systemctl disable --now brickwall.service || true
fi
PRERM
cat > "$pkg/DEBIAN/postrm" <<'POSTRM'
#!/bin/sh
set -e
if [ -d /run/systemd/system ]; then
    systemctl daemon-reload || true
fi
if [ "$1" = purge ]; then
    rm -rf /var/cache/brickwall /var/lib/brickwall
fi
POSTRM
chmod 0755 "$pkg/DEBIAN/postinst" "$pkg/DEBIAN/prerm" "$pkg/DEBIAN/postrm"
mkdir -p "$out"
deb="$out/brickwall_${version}_${arch}.deb"
# BRICKWALL_DEB_FAST=1: gzip at its fastest instead of xz (tests, with a debug binary).
compress=(-Zxz)
[ "${BRICKWALL_DEB_FAST:-}" = 1 ] && compress=(-Zgzip -z1)
dpkg-deb --root-owner-group "${compress[@]}" --build "$pkg" "$deb" >/dev/null
echo "$deb"
