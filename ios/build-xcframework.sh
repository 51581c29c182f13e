#!/usr/bin/env bash
# Builds ios/build/PacenoteFFI.xcframework from the workspace's `pacenote-bindings` crate for
# iPhone (aarch64-apple-ios) and the simulator (aarch64-apple-ios-sim + x86_64-apple-ios, one
# fat library). Needs macOS with Xcode and rustup. Run from anywhere.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/.." && pwd)"
cd "$root"

targets=(aarch64-apple-ios aarch64-apple-ios-sim x86_64-apple-ios)
for target in "${targets[@]}"; do
    rustup target add "$target"
    # Release profile: LTO, opt-level "s", debuginfo stripped (uniffi's metadata is not needed
    # in the shipped library: the Swift is generated from a host debug build).
    cargo build --release --locked -p pacenote-bindings --target "$target"
done

build="$here/build"
rm -rf "$build"
mkdir -p "$build/headers" "$build/sim"
cp "$here/Generated/PacenoteFFI.h" "$build/headers/"
cp "$here/Generated/PacenoteFFI.modulemap" "$build/headers/module.modulemap"
lipo -create \
    "target/aarch64-apple-ios-sim/release/libpacenote_ffi.a" \
    "target/x86_64-apple-ios/release/libpacenote_ffi.a" \
    -output "$build/sim/libpacenote_ffi.a"
xcodebuild -create-xcframework \
    -library "target/aarch64-apple-ios/release/libpacenote_ffi.a" -headers "$build/headers" \
    -library "$build/sim/libpacenote_ffi.a" -headers "$build/headers" \
    -output "$build/PacenoteFFI.xcframework"
echo "built $build/PacenoteFFI.xcframework"
