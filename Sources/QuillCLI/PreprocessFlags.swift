import ArgumentParser
import QuillData

extension PreprocessOptions.YAxis: ExpressibleByArgument {}
extension PreprocessOptions.SplitPolicy: ExpressibleByArgument {}

/// The preprocessing flags of `data import`; defaults are `PreprocessOptions`'.
struct PreprocessFlags: ParsableArguments {
    static let defaults = PreprocessOptions()
    /// The default alphabet policy (`AlphabetPolicy.default`) as --alphabet and --min-count spell it.
    static var defaultAlphabet: (name: String, minCount: Int) {
        switch AlphabetPolicy.default {
        case let .frequency(minCount): ("frequency", minCount)
        case .graves: ("graves", 1)
        }
    }

    @Option(name: .customLong("y-axis"), help: "Orientation of y in the prepared file: down (as the sources) or up.")
    var yAxis = PreprocessFlags.defaults.yAxis

    @Option(name: .customLong("outlier-threshold"),
            help: "Drop in-stroke points farther than this (source units, more than 0, at most 1e9) from the previous point; off by default.")
    var outlierThreshold: Double?

    @Option(name: .customLong("smooth-window"), help: "Savitzky-Golay window per stroke (odd, 3…1001); off by default.")
    var smoothWindow: Int?

    @Option(name: .customLong("smooth-order"), help: "Savitzky-Golay polynomial order (0…20, less than the window).")
    var smoothOrder = PreprocessFlags.defaults.smoothingOrder

    @Flag(name: .customLong("slant"), help: "Correct the slant so near-vertical strokes become vertical.")
    var slant = false

    @Option(name: .customLong("decimate"), help: "Keep every k-th point of each stroke plus its ends (1…1000).")
    var decimate: Int?

    @Option(name: .customLong("max-points"), help: "Truncate samples to this many points (2…10000000).")
    var maxPoints: Int?

    @Flag(name: .customLong("no-normalise"), help: "Store raw offsets instead of zero-mean, unit-variance ones.")
    var noNormalise = false

    @Option(name: .customLong("alphabet"),
            help: "Alphabet policy: frequency (characters seen at least --min-count times) or graves (57 classes).")
    var alphabet = PreprocessFlags.defaultAlphabet.name

    @Option(name: .customLong("min-count"), help: "Minimum count for a character to enter a frequency alphabet (1…1000000000).")
    var minCount = PreprocessFlags.defaultAlphabet.minCount

    @Option(name: .customLong("split"), help: "auto (the source's split if any, else seeded), source or seeded.")
    var split = PreprocessFlags.defaults.split

    @Option(name: .customLong("valid-fraction"),
            help: ArgumentHelp("Validation fraction of a seeded split, at least 0 and less than 1 (default: \(PreprocessFlags.defaults.validationFraction)).",
                               valueName: "valid-fraction"))
    var validFraction: Double?

    @Option(name: .customLong("seed"), help: "Seed of a seeded split (0…18446744073709551615; default: \(PreprocessFlags.defaults.seed)).")
    var seed: UInt64?

    /// Every numeric option's range.
    func validate() throws {
        try OptionRange.check("outlier-threshold", outlierThreshold, 0...1e9, aboveLower: true)
        try OptionRange.check("smooth-window", smoothWindow, 3...1001)
        if let w = smoothWindow, w % 2 == 0 { throw ValidationError("--smooth-window must be odd, got \(w)") }
        try OptionRange.check("smooth-order", smoothOrder, 0...20)
        if let w = smoothWindow, smoothOrder >= w {
            throw ValidationError("--smooth-order must be less than --smooth-window (\(w)), got \(smoothOrder)")
        }
        try OptionRange.check("decimate", decimate, 1...1000)
        try OptionRange.check("max-points", maxPoints, 2...10_000_000)
        try OptionRange.check("min-count", minCount, 1...1_000_000_000)
        try OptionRange.check("valid-fraction", validFraction, 0...1, belowUpper: true)
    }

    /// The library options these flags describe.
    func options() throws -> PreprocessOptions {
        var o = PreprocessOptions()
        o.yAxis = yAxis
        o.outlierThreshold = outlierThreshold
        o.smoothingWindow = smoothWindow
        o.smoothingOrder = smoothOrder
        o.slantCorrection = slant
        o.decimation = decimate
        o.maxPoints = maxPoints
        o.normalise = !noNormalise
        switch alphabet.lowercased() {
        case "frequency": o.alphabet = .frequency(minCount: minCount)
        case "graves": o.alphabet = .graves
        default: throw CLIError("--alphabet \(alphabet): use frequency or graves", status: .usage)
        }
        o.split = split
        o.validationFraction = validFraction ?? PreprocessFlags.defaults.validationFraction
        o.seed = seed ?? PreprocessFlags.defaults.seed
        try o.validate()
        return o
    }
}
