import ArgumentParser
import QuillData

extension PreprocessOptions.YAxis: ExpressibleByArgument {}
extension PreprocessOptions.SplitPolicy: ExpressibleByArgument {}

/// The preprocessing flags, shared by `data import` and `bench import`.
struct PreprocessFlags: ParsableArguments {
    @Option(name: .customLong("y-axis"), help: "Orientation of y in the prepared file: down (as the sources) or up.")
    var yAxis: PreprocessOptions.YAxis = .down

    @Option(name: .customLong("outlier-threshold"),
            help: "Drop in-stroke points farther than this (source units) from the previous point; off by default.")
    var outlierThreshold: Double?

    @Option(name: .customLong("smooth-window"), help: "Savitzky-Golay window per stroke (odd, >= 3); off by default.")
    var smoothWindow: Int?

    @Option(name: .customLong("smooth-order"), help: "Savitzky-Golay polynomial order (< window).")
    var smoothOrder: Int = 3

    @Flag(name: .customLong("slant"), help: "Correct the slant so near-vertical strokes become vertical.")
    var slant = false

    @Option(name: .customLong("decimate"), help: "Keep every k-th point of each stroke plus its ends.")
    var decimate: Int?

    @Option(name: .customLong("max-points"), help: "Truncate samples to this many points.")
    var maxPoints: Int?

    @Flag(name: .customLong("no-normalise"), help: "Store raw offsets instead of zero-mean, unit-variance ones.")
    var noNormalise = false

    @Option(name: .customLong("alphabet"),
            help: "Alphabet policy: frequency (characters seen at least --min-count times) or graves (57 classes).")
    var alphabet: String = "frequency"

    @Option(name: .customLong("min-count"), help: "Minimum count for a character to enter a frequency alphabet.")
    var minCount: Int = 10

    @Option(name: .customLong("split"), help: "auto (the source's split if any, else seeded), source or seeded.")
    var split: PreprocessOptions.SplitPolicy = .auto

    @Option(name: .customLong("valid-fraction"), help: "Validation fraction of a seeded split.")
    var validFraction: Double = 0.1

    @Option(name: .customLong("seed"), help: "Seed of a seeded split.")
    var seed: UInt64 = 1

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
        default: throw CLIError("--alphabet \(alphabet): use frequency or graves")
        }
        o.split = split
        o.validationFraction = validFraction
        o.seed = seed
        try o.validate()
        return o
    }
}

/// `quill data import FORMAT INPUT… --out FILE`: import a dataset and write the prepared file.
public struct DataImportCommand: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "import",
        abstract: "Import handwriting data and write a prepared dataset file.",
        discussion: """
        Formats: iam-xml (IAM-OnDB root, lineStrokes/ tree or XML files; text from ascii/ beside lineStrokes/ \
        or --ascii), iam-jsonl (iam_ondb_lines.jsonl), inkml (files or folders of .inkml), quickdraw \
        (raw or simplified .ndjson). See datasets/README.md.
        """
    )

    @Argument(help: "Input format: iam-xml, iam-jsonl, inkml or quickdraw.")
    var format: String

    @Argument(help: "Input files or directories.")
    var inputs: [String]

    @Option(name: .customLong("out"), help: "The prepared file to write (written atomically).")
    var out: String

    @Flag(name: .customLong("skip-invalid"), help: "Skip bad samples and report them instead of stopping.")
    var skipInvalid = false

    @Option(name: .customLong("ascii"), help: "iam-xml: the ascii/ transcription tree, if not beside lineStrokes/.")
    var ascii: String?

    @Option(name: .customLong("train-list"),
            help: "A list of training sample ids or paths (e.g. rnnlib's training_set.txt); needs --valid-list.")
    var trainList: String?

    @Option(name: .customLong("valid-list"), help: "A list of validation sample ids or paths; needs --train-list.")
    var validList: String?

    @OptionGroup var preprocess: PreprocessFlags

    public func validate() throws {
        guard (trainList == nil) == (validList == nil) else {
            throw ValidationError("--train-list and --valid-list go together")
        }
    }

    public init() {}

    public func run() throws {
        let fmt = try ImportFormat(name: format)
        let report = try ImportPipeline.run(format: fmt, inputs: inputs, output: out,
                                            options: try preprocess.options(), skipInvalid: skipInvalid,
                                            asciiRoot: ascii,
                                            splitLists: trainList.map { ($0, validList ?? "") })
        let ds = report.dataset
        let points = ds.samples.reduce(0) { $0 + $1.count }
        print("wrote \(out): \(ds.samples.count) samples, \(points) points, alphabet \(ds.alphabet.count) symbols, "
              + "split \(ds.header.splitUsed)")
        for note in report.imported.notes.prefix(10) { print("note: \(note)") }
        if report.imported.notes.count > 10 { print("note: … \(report.imported.notes.count - 10) more") }
        if skipInvalid { print(report.imported.skippedSummary()) }
    }
}
