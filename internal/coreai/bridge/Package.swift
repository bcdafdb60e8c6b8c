// swift-tools-version:5.10
//
// The Core AI bridge as a Swift package: one command on a Mac with the
// macOS 27 SDK (Xcode 27 or its command-line tools) builds the library the
// Go side loads, from the repository root:
//
//   swift build -c release --package-path internal/coreai/bridge --product vlmrt_coreai
//
// giving internal/coreai/bridge/.build/release/libvlmrt_coreai.dylib (point
// $VLMRT_COREAI_BRIDGE at it, or put it next to the vlmrt executable), and
//
//   swift run -c release --package-path internal/coreai/bridge vlmrt-coreai-check [DECODER_DIR VISION_DIR]
//
// runs the bridge's self-check (check/main.swift) against the same code.
// `make apple-check` does both when the machine runs macOS 27.
//
// Swift 5 language mode: the bridge serializes its own concurrency (each C
// entry point blocks on a detached Task), which Swift 6's strict checking
// would reject without adding safety.
import PackageDescription

let package = Package(
    name: "VLMRTCoreAI",
    // The library links on macOS 14 and later; every entry point reports
    // VLMRT_COREAI_UNAVAILABLE below macOS 27, where Core AI is missing.
    platforms: [.macOS(.v14)],
    products: [
        // "vlmrt_coreai" → libvlmrt_coreai.dylib, the name internal/coreai
        // looks for (coreai.LibraryName).
        .library(name: "vlmrt_coreai", type: .dynamic, targets: ["VLMRTCoreAI"]),
        .executable(name: "vlmrt-coreai-check", targets: ["VLMRTCoreAICheck"]),
    ],
    targets: [
        .target(
            name: "VLMRTCoreAI",
            path: ".",
            exclude: ["check", "README.md", "vlmrt_coreai.h", "doc.go", "abi_test.go"],
            sources: ["VLMRTCoreAI.swift"]
        ),
        .executableTarget(
            name: "VLMRTCoreAICheck",
            dependencies: ["VLMRTCoreAI"],
            path: "check"
        ),
    ],
    swiftLanguageVersions: [.v5]
)
