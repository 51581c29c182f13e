// swift-tools-version:5.9
// Pacenote for iOS: the generated Swift API (Sources/Pacenote/Pacenote.swift, committed and
// checked fresh by `cargo xtask test`), thin glue (PackVoice, CoachVoice, URLSessionTransport,
// BackgroundSync) and the Rust library as an
// XCFramework built by build-xcframework.sh. Not compiled on the Linux CI machines.
import PackageDescription

let package = Package(
    name: "Pacenote",
    platforms: [.iOS(.v15)],
    products: [
        .library(name: "Pacenote", targets: ["Pacenote"]),
    ],
    targets: [
        // Built by ./build-xcframework.sh (static libraries + PacenoteFFI.h + module map).
        .binaryTarget(name: "PacenoteFFI", path: "build/PacenoteFFI.xcframework"),
        .target(
            name: "Pacenote",
            dependencies: ["PacenoteFFI"],
            path: "Sources/Pacenote",
            linkerSettings: [.linkedFramework("AVFoundation")]
        ),
        .testTarget(name: "PacenoteTests", dependencies: ["Pacenote"], path: "Tests/PacenoteTests"),
    ]
)
