// swift-tools-version:6.0
import PackageDescription

// Module stack (dependencies run one way, top to bottom):
//   CBLAS, CCairo, CGIF    system-library shims (module maps only)
//   CQuillMPI              C: Open MPI loaded at run time (dlopen) when started by mpirun/srun
//   CQuillKernels          C: fused, threaded LSTM/GRU/RNN steps with packed weights, the soft window, and a packed
//                          SGEMM (AVX-512, and AVX2 twins of the steps and window, chosen at run time; portable
//                          fallbacks)
//   QuillIO                files written completely or not at all, plain-worded file-system errors (Foundation only)
//   QuillTensorBoard       TensorBoard event files: TFRecord framing, CRC-32C, the few Event/Summary protobuf messages
//   QuillNumerics          tensors, BLAS dispatch (OpenBLAS, or Quill's SGEMM for large Float products), vectorised
//                          kernels, seeded RNG
//   QuillNN                layers with forward/backward pairs (Linear, Embedding, LSTM/GRU/RNN, losses)
//   QuillOptim             Adam, RMSProp (Graves), SGD, clipping, schedules
//   QuillData              stroke data model, importers, preprocessing, prepared format
//   QuillRender            Cairo canvas, stroke layout, heatmaps, line plots (points and strokes are QuillData's)
//   QuillModels            char LM, handwriting models, checkpoints, training loops
//   QuillWriting           text to a placed page of handwriting: the pipeline `quill write` and `quill serve` share
//   QuillServer            `quill serve`: the web page and HTTP API on Hummingbird 2 (no numerical module imports it)
//   QuillCLI / quill       the command-line tool
// Release builds drop runtime checks in numeric loops and, on x86-64, target AVX2 + FMA (every x86 CPU since 2015)
// so elementwise kernels vectorise; Swift's default x86-64 baseline is SSE2. Cross-module optimisation lets the
// command-line tool specialise the generic layers (Tensor<T>, RecurrentLayer<T>, …) for Float all the way down:
// without it, code in one module called from generic code in another runs unspecialised, through witness tables
// (measured: the soft window's loops ran about 10× slower that way). After changing a class's stored
// properties, rebuild release from clean (`rm -rf .build/release`): incremental builds can keep stale inlined code.
#if arch(x86_64)
let cpuFlags = ["-target-cpu", "haswell"]
#else
let cpuFlags: [String] = []
#endif
let release: [SwiftSetting] = [.unsafeFlags(["-Ounchecked", "-cross-module-optimization"] + cpuFlags, .when(configuration: .release))]

// SwiftPM refuses a dependency resolved by version whose products' targets carry unsafe flags, so the library targets
// (and the C kernels' `-O2` for debug builds) get them only where SwiftPM allows them: when Quill is built as the root
// package, or as a local (path) or edited dependency. A dependency resolved by version or branch is a working copy
// in a `checkouts` folder (`.build/checkouts/<name>`, or Xcode's `SourcePackages/checkouts/<name>`); there, and
// whenever QUILL_PORTABLE_LIBRARIES is set to 1, the libraries build with SwiftPM's plain settings. There the
// public generic entry points' exported Float specialisations stand in for cross-module optimisation: measured with
// Tools/dependency-bench/run.sh (issue 18 item 11), training runs at 0.97–0.99× and batch-1 sampling at 0.93–0.95×
// the speed with the flags (0.43–0.51× and 0.19–0.40× before those specialisations), so the flags stay wherever
// they are allowed.
let portableLibraries = Context.packageDirectory.split(separator: "/").contains("checkouts")
    || Context.environment["QUILL_PORTABLE_LIBRARIES"] == "1"
let library: [SwiftSetting] = portableLibraries ? [] : release
let kernelsC: [CSetting] = portableLibraries ? [] : [.unsafeFlags(["-O2"])]

// MARK: - Public API: the `quill` tool and the QuillModels library; QuillData, QuillRender and QuillWriting, also library
// products, are in the stack below

let publicAPI: [Target] = [
    .executableTarget(name: "quill", dependencies: ["QuillCLI"], swiftSettings: release),
    .target(name: "QuillModels", dependencies: ["QuillIO", "QuillNumerics", "QuillNN", "QuillOptim", "QuillData", "QuillTensorBoard", "CQuillMPI"], swiftSettings: library),
]

// MARK: - Implementation details: the modules under the products, in the order of the stack above

let implementation: [Target] = [
    .target(name: "QuillIO"),
    // TensorBoard event files (TFRecord framing, CRC-32C, the few protocol-buffer messages, written by hand).
    .target(name: "QuillTensorBoard", dependencies: ["QuillIO"], swiftSettings: library),
    .target(name: "QuillNumerics", dependencies: [
        .target(name: "CBLAS", condition: .when(platforms: [.linux])),
        "CQuillKernels",
        .product(name: "RealModule", package: "swift-numerics"),
    ], swiftSettings: library),
    .target(name: "QuillNN", dependencies: ["QuillNumerics", "CQuillKernels"], swiftSettings: library),
    .target(name: "QuillOptim", dependencies: ["QuillNumerics"], swiftSettings: library),
    .target(name: "QuillData", dependencies: ["QuillIO", "QuillNumerics"], swiftSettings: library),
    .target(name: "QuillRender", dependencies: ["QuillIO", "QuillData", "CCairo", "CGIF"], swiftSettings: library),
    .target(name: "QuillWriting", dependencies: ["QuillIO", "QuillData", "QuillModels", "QuillRender"], swiftSettings: library),
    // The page is compiled into the binary as bytes (`PackageResources.index_html`): `quill serve` needs no files
    // beside it but the model.
    .target(name: "QuillServer", dependencies: [
        "QuillIO", "QuillData", "QuillModels", "QuillRender", "QuillWriting",
        .product(name: "Hummingbird", package: "hummingbird"),
        .product(name: "HummingbirdCore", package: "hummingbird"),
        .product(name: "NIOCore", package: "swift-nio"),
        .product(name: "NIOHTTP1", package: "swift-nio"),
        .product(name: "Logging", package: "swift-log"),
    ], resources: [.embedInCode("Page/index.html")], swiftSettings: release),
    .target(name: "QuillCLI", dependencies: [
        "QuillIO", "QuillNumerics", "QuillNN", "QuillOptim", "QuillData", "QuillRender", "QuillModels", "QuillWriting",
        "QuillServer",
        .product(name: "ArgumentParser", package: "swift-argument-parser"),
    ], swiftSettings: release),
]

// MARK: - C shims: system libraries (module maps only) and the C kernels

let shims: [Target] = [
    .systemLibrary(name: "CBLAS", pkgConfig: "openblas",
                   providers: [.apt(["libopenblas-dev"])]),
    .systemLibrary(name: "CCairo", pkgConfig: "cairo",
                   providers: [.apt(["libcairo2-dev", "libpng-dev"]), .brew(["cairo"])]),
    .systemLibrary(name: "CGIF", providers: [.apt(["libgif-dev"]), .brew(["giflib"])]),
    // The fused recurrent step kernels and the SGEMM (AVX-512, chosen at run time): always optimised, also in debug builds.
    .target(name: "CQuillKernels", cSettings: kernelsC,
            linkerSettings: [.linkedLibrary("pthread", .when(platforms: [.linux]))]),
    // Open MPI for data-parallel training, loaded at run time with dlopen only under mpirun/srun: no build dependency.
    .target(name: "CQuillMPI", linkerSettings: [.linkedLibrary("dl", .when(platforms: [.linux]))]),
]

// MARK: - Tests: one bundle per module, plus the shared test-support module. Each lists every module its files
// import (QuillCLITests' PackageGraphTests checks it).

let tests: [Target] = [
    .target(name: "QuillTestSupport", dependencies: ["QuillNumerics"], path: "Tests/QuillTestSupport"),
    .testTarget(name: "QuillIOTests", dependencies: ["QuillIO", "QuillTestSupport"]),
    .testTarget(name: "QuillTensorBoardTests", dependencies: ["QuillTensorBoard", "QuillTestSupport"]),
    .testTarget(name: "QuillNumericsTests", dependencies: ["QuillNumerics", "CQuillKernels", "QuillTestSupport"]),
    .testTarget(name: "QuillNNTests", dependencies: ["QuillNumerics", "QuillNN", "CQuillKernels", "QuillTestSupport"]),
    .testTarget(name: "QuillOptimTests", dependencies: ["QuillNumerics", "QuillOptim", "QuillTestSupport"]),
    .testTarget(name: "QuillDataTests", dependencies: ["QuillData", "QuillNumerics", "QuillTestSupport"]),
    .testTarget(name: "QuillRenderTests", dependencies: ["QuillIO", "QuillData", "QuillRender", "QuillTestSupport"],
                exclude: ["PageSnapshots"]),
    .testTarget(name: "QuillModelsTests", dependencies: [
        "QuillIO", "QuillNumerics", "QuillNN", "QuillOptim", "QuillData", "QuillModels", "QuillTestSupport",
    ]),
    .testTarget(name: "QuillWritingTests", dependencies: [
        "QuillData", "QuillModels", "QuillNN", "QuillNumerics", "QuillRender", "QuillWriting", "QuillTestSupport",
    ]),
    // HTTP tests through Hummingbird's router test client (no port is opened), and a few on a loopback port where a
    // socket is the point (idle connections, HTTP/1.0, the connection limit).
    .testTarget(name: "QuillServerTests", dependencies: [
        "QuillData", "QuillModels", "QuillNN", "QuillNumerics", "QuillRender", "QuillWriting", "QuillServer", "QuillCLI",
        "QuillTestSupport",
        .product(name: "Hummingbird", package: "hummingbird"),
        .product(name: "HummingbirdTesting", package: "hummingbird"),
        .product(name: "NIOCore", package: "swift-nio"),
        .product(name: "NIOEmbedded", package: "swift-nio"),
        .product(name: "Logging", package: "swift-log"),
    ]),
    .testTarget(name: "QuillFuzzTests", dependencies: ["QuillFuzzing", "QuillTestSupport"]),
    .testTarget(name: "QuillCLITests", dependencies: [
        "QuillIO", "QuillNumerics", "QuillNN", "QuillData", "QuillRender", "QuillModels", "QuillCLI", "QuillTensorBoard",
        "QuillTestSupport",
        .product(name: "ArgumentParser", package: "swift-argument-parser"),
    ], exclude: ["HelpSnapshots"]),
]

// MARK: - Fuzzing: one fuzz executable per reader of untrusted files (`make fuzz` builds them with libFuzzer; a plain
// build replays inputs given as arguments). The readers' logic is in Fuzz/QuillFuzzing, which `QuillFuzzTests` also runs.

let fuzzTargets = ["fuzz-json-lines", "fuzz-iam-xml", "fuzz-inkml", "fuzz-quickdraw", "fuzz-prepared", "fuzz-safetensors", "fuzz-style", "fuzz-ngram"]
let fuzzing: [Target] = [
    .target(name: "QuillFuzzing", dependencies: ["QuillData", "QuillModels"], path: "Fuzz/QuillFuzzing"),
] + fuzzTargets.map { .executableTarget(name: $0, dependencies: ["QuillFuzzing"], path: "Fuzz/\($0)") }

let package = Package(
    name: "Quill",
    // macOS 14: Hummingbird 2's APIs are available from it on.
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "quill", targets: ["quill"]),
        // The libraries a Swift program uses: see the README's "Quill as a library". Where Quill is a dependency
        // resolved by version their targets carry no unsafe flags (`portableLibraries`; PackageGraphTests checks).
        .library(name: "QuillData", targets: ["QuillData"]),
        .library(name: "QuillRender", targets: ["QuillRender"]),
        .library(name: "QuillModels", targets: ["QuillModels"]),
        .library(name: "QuillWriting", targets: ["QuillWriting"]),
    ] + fuzzTargets.map { .executable(name: $0, targets: [$0]) },
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-numerics", from: "1.0.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        // Hummingbird's own transport; QuillServer watches each connection's pipeline (`ConnectionWatch`).
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.81.0"),
        // Hummingbird's logger; QuillServerTests makes request contexts of its own with it.
        .package(url: "https://github.com/apple/swift-log.git", from: "1.6.0"),
        // `swift package generate-documentation` (`make docs`): the libraries' DocC documentation.
        .package(url: "https://github.com/swiftlang/swift-docc-plugin", from: "1.5.0"),
    ],
    targets: publicAPI + implementation + shims + tests + fuzzing,
    swiftLanguageModes: [.v5]
)
