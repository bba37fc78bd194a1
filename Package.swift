// swift-tools-version:5.10
import PackageDescription

/// Hot loops need real SIMD: SwiftPM targets plain x86-64 (SSE2) by default, which turns
/// SIMD FMAs into libm calls. Haswell (AVX2 + FMA) is the portable floor; see docs/machine.md.
let fastMath: [SwiftSetting] = [
    .unsafeFlags(["-Ounchecked", "-target-cpu", "haswell", "-enforce-exclusivity=unchecked"],
                 .when(configuration: .release)),
    .unsafeFlags(["-target-cpu", "haswell"], .when(configuration: .debug)),
]

let package = Package(
    name: "a2ats-eval",
    products: [
        .executable(name: "a2ats-eval", targets: ["a2ats-eval"]),
        // For the libFuzzer driver in Fuzz/ (a package of its own, built with sanitizers by scripts/fuzz.sh).
        .library(name: "A2ATSFuzzTargets", targets: ["A2ATSFuzzTargets"]),
    ],
    targets: [
        // System libraries.
        .systemLibrary(name: "COpenBLAS", pkgConfig: "openblas", providers: [.apt(["libopenblas-dev"])]),
        .systemLibrary(name: "CJSONC", pkgConfig: "json-c", providers: [.apt(["libjson-c-dev"])]),
        // Header-only C (AVX2 intrinsics), compiled by the toolchain's clang.
        .systemLibrary(name: "CKernels"),

        // Library modules; arrows point one way:
        // Support → Tensor → Model → Methods → Tasks → Scoring → Reports → Harness → CLI.
        .target(name: "A2ATSSupport", dependencies: ["CJSONC"]),
        .target(name: "A2ATSBuildInfo", plugins: ["BuildInfoPlugin"]),
        .plugin(name: "BuildInfoPlugin", capability: .buildTool()),
        .plugin(name: "ModelRegistryPlugin", capability: .buildTool()),
        .target(name: "A2ATSTensor", dependencies: ["COpenBLAS", "CKernels", "A2ATSSupport"], swiftSettings: fastMath),
        .target(name: "A2ATSModel", dependencies: ["A2ATSTensor", "A2ATSSupport"], swiftSettings: fastMath,
                plugins: ["ModelRegistryPlugin"]),
        .target(name: "A2ATSMethods", dependencies: ["A2ATSModel", "A2ATSTensor", "A2ATSSupport"], swiftSettings: fastMath),
        .target(name: "A2ATSTasks", dependencies: ["A2ATSModel", "A2ATSSupport"],
                resources: [.copy("Data")]),
        .target(name: "A2ATSScoring", dependencies: ["A2ATSSupport"]),
        .target(name: "A2ATSReports", dependencies: ["A2ATSScoring", "A2ATSSupport"]),
        .target(name: "A2ATSHarness",
                dependencies: ["A2ATSModel", "A2ATSMethods", "A2ATSTasks", "A2ATSScoring", "A2ATSReports", "A2ATSSupport",
                               "A2ATSBuildInfo"],
                swiftSettings: fastMath),
        .executableTarget(name: "a2ats-eval", dependencies: ["A2ATSHarness"]),
        // Every file parser behind one fuzz-target interface (docs/reliability.md).
        .target(name: "A2ATSFuzzTargets",
                dependencies: ["A2ATSHarness", "A2ATSReports", "A2ATSMethods", "A2ATSTasks", "A2ATSModel", "A2ATSSupport"]),
        .executableTarget(name: "a2ats-bench", dependencies: ["A2ATSHarness"], path: "Benchmarks/a2ats-bench",
                          swiftSettings: fastMath),
        .executableTarget(name: "engine-bench", dependencies: ["A2ATSHarness"], path: "Benchmarks/engine-bench", swiftSettings: fastMath),
        .executableTarget(name: "checkpoint-bench", dependencies: ["A2ATSModel"], path: "Benchmarks/checkpoint-bench",
                          swiftSettings: fastMath),
        .executableTarget(name: "store-bench", dependencies: ["A2ATSHarness"], path: "Benchmarks/store-bench", swiftSettings: fastMath),

        // Tests mirror the modules; fixtures live in Tests/Fixtures.
        .testTarget(name: "A2ATSSupportTests", dependencies: ["A2ATSSupport"]),
        .testTarget(name: "A2ATSTensorTests", dependencies: ["A2ATSTensor"]),
        .testTarget(name: "A2ATSModelTests", dependencies: ["A2ATSModel"]),
        .testTarget(name: "A2ATSMethodsTests", dependencies: ["A2ATSMethods", "A2ATSModel"]),
        .testTarget(name: "A2ATSTasksTests", dependencies: ["A2ATSTasks"]),
        .testTarget(name: "A2ATSScoringTests", dependencies: ["A2ATSScoring"]),
        .testTarget(name: "A2ATSReportsTests", dependencies: ["A2ATSReports"]),
        .testTarget(name: "A2ATSHarnessTests", dependencies: ["A2ATSHarness"]),
        .testTarget(name: "A2ATSFuzzTargetsTests", dependencies: ["A2ATSFuzzTargets"]),
    ]
)
