#!/usr/bin/env bash
# Build the shipped artefact: dist/aksctl (the `dist` profile of Cargo.toml: fat LTO, one codegen unit, stripped),
# statically linked against glibc (`-C target-feature=+crt-static` for x86_64-unknown-linux-gnu), and
# dist/aksctl.sha256 in `sha256sum` format (check it with `cd dist && sha256sum -c aksctl.sha256`).
#
# The binary needs no shared library at all (`ldd dist/aksctl`: "not a dynamic executable"). The one caveat of a
# static glibc: name lookups that go through NSS (getaddrinfo for a host name such as `localhost` or
# `management.azure.com`) load the NSS modules (libnss_files, libnss_dns) of the glibc found at run time, which
# must be the same release as the one it was linked with; IP literals (the emulator's 127.0.0.1) never resolve
# anything. See README.md, "Install".
#
# Usage: scripts/release.sh            (about 5 minutes on 2 cores; re-runs are incremental)
set -euo pipefail
cd "$(dirname "$0")/.."

target=x86_64-unknown-linux-gnu
source scripts/lib.sh
# --target keeps RUSTFLAGS away from build scripts and proc macros, which must stay dynamic.
RUSTFLAGS="${RUSTFLAGS:-} $RELEASE_RUSTFLAGS" \
  cargo build --locked --profile dist --target "$target" --bin aksctl
built="target/$target/dist/aksctl"

mkdir -p dist
cp "$built" dist/aksctl.tmp
mv -f dist/aksctl.tmp dist/aksctl
(cd dist && sha256sum aksctl > aksctl.sha256.tmp && mv -f aksctl.sha256.tmp aksctl.sha256)

# Refuse to ship what is not what this script says it is: static (`file`: "static-pie linked" or "statically
# linked"; `ldd`: "statically linked" or "not a dynamic executable") and stripped.
description=$(file -b dist/aksctl)
linkage=$(ldd dist/aksctl 2>&1 || true)
case "$description" in
  *static-pie\ linked*|*statically\ linked*) ;;
  *) echo "release.sh: dist/aksctl is not statically linked: $description" >&2; exit 1 ;;
esac
case "$linkage" in
  *statically\ linked*|*not\ a\ dynamic\ executable*) ;;
  *) echo "release.sh: ldd lists shared libraries for dist/aksctl:" >&2; echo "$linkage" >&2; exit 1 ;;
esac
case "$description" in
  *not\ stripped*) echo "release.sh: dist/aksctl is not stripped" >&2; exit 1 ;;
esac
echo "dist/aksctl: $description" >&2
echo "ldd: $linkage" >&2
cat dist/aksctl.sha256 >&2
