import ArgumentParser
import Foundation
import QuillData

/// `quill data import FORMAT INPUT… -o FILE`: import a dataset and write the prepared file.
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

    @Option(name: [.customShort("o"), .customLong("output"), .customLong("out")],
            help: "The prepared file to write (written atomically); --out is the same option.")
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

    @Option(name: .customLong("synthetic-lines"),
            help: ArgumentHelp("Add this many synthetic lines written in the Hershey script fonts (--hershey) to the "
                               + "training split: digits, capitals, X, Z and symbols that IAM-OnDB has too few of "
                               + "(0…\(SyntheticMix.maximumLines)).", valueName: "n"))
    var syntheticLines = 0

    @Option(name: .customLong("mixed-lines"),
            help: ArgumentHelp("Add this many real training lines again, each with a phrase of digits, capitals or "
                               + "symbols written in a Hershey script font (--hershey) before it, after it or both, in "
                               + "that writer's letter height, spacing and slant (0…\(SyntheticMix.maximumLines)).",
                               valueName: "n"))
    var mixedLines = 0

    @Option(help: "The Hershey fonts file (hersheytext.json) for --synthetic-lines and --mixed-lines.")
    var hershey: String?

    @Option(name: .customLong("hershey-fonts"),
            help: ArgumentHelp("The fonts that synthetic lines and phrases are written in, used in turn: one or more "
                               + "of \(HersheyFont.handwritingFontIDs.joined(separator: ", ")), comma-separated (default: "
                               + "\(HersheyFont.scriptFontIDs.joined(separator: ","))); futural (simplex roman) gives print "
                               + "capitals and digits.", valueName: "ids"))
    var hersheyFonts: String?

    @Option(name: .customLong("synthetic-seed"), help: "Seed of the synthetic lines' texts and shapes.")
    var syntheticSeed: UInt64 = 1

    @Option(name: .customLong("all-caps-share"),
            help: ArgumentHelp("The share of the phrases of --synthetic-lines and --mixed-lines that are all-caps: one "
                               + "or two words upper-cased, or an initialism such as XYZ (0…1; without it, the usual "
                               + "mix, in which one phrase in ten is all-caps).", valueName: "p"))
    var allCapsShare: Double?

    @Option(name: .customLong("speech-share"),
            help: ArgumentHelp("The share of the phrases of --synthetic-lines and --mixed-lines that are quoted speech: "
                               + "'Well,' said I / \"'What now?' / \"Why?\" he asked (openers with a capital W half "
                               + "the time; 0…1, at most 1 with --all-caps-share).", valueName: "p"))
    var speechShare: Double?

    @OptionGroup var preprocess: PreprocessFlags

    public func validate() throws {
        try refuseEmptyOutput("output", out)
        guard (trainList == nil) == (validList == nil) else {
            throw ValidationError("--train-list and --valid-list go together")
        }
        let seededOptions = [("--valid-fraction", preprocess.validFraction != nil), ("--seed", preprocess.seed != nil)]
            .filter(\.1).map(\.0)
        if trainList != nil && preprocess.split != .auto {
            throw ValidationError("--train-list and --valid-list give the split; --split \(preprocess.split.rawValue) would replace it: give one or the other")
        }
        if !seededOptions.isEmpty && (trainList != nil || preprocess.split == .source) {
            throw ValidationError("\(seededOptions.joined(separator: " and ")) \(seededOptions.count == 1 ? "shapes" : "shape") a seeded split, which \(trainList != nil ? "--train-list and --valid-list replace" : "--split source does not draw"): drop \(seededOptions.count == 1 ? "it" : "them"), or use --split seeded")
        }
        try refuseNonFiles(inputs.map { (what: "an input of the import", path: Optional($0)) }, directoriesAllowed: true)
        try refuseNonFiles([("--ascii", ascii)], directoriesAllowed: true)
        try refuseNonFiles([("--train-list", trainList), ("--valid-list", validList), ("--hershey", hershey)])
        try OptionRange.check("synthetic-lines", syntheticLines, 0...SyntheticMix.maximumLines)
        try OptionRange.check("mixed-lines", mixedLines, 0...SyntheticMix.maximumLines)
        try OptionRange.check("all-caps-share", allCapsShare, 0...1)
        try OptionRange.check("speech-share", speechShare, 0...1)
        if (allCapsShare ?? 0) + (speechShare ?? 0) > 1 {
            throw ValidationError("--all-caps-share and --speech-share add up to more than 1; they are shares of the same phrases")
        }
        if syntheticLines > 0 && hershey == nil { throw ValidationError("--synthetic-lines needs the font file: --hershey FILE") }
        if mixedLines > 0 && hershey == nil { throw ValidationError("--mixed-lines needs the font file: --hershey FILE") }
        if syntheticLines == 0 && mixedLines == 0 && hershey != nil {
            throw ValidationError("--hershey goes with --synthetic-lines N or --mixed-lines N (more than 0)")
        }
        if hershey?.isEmpty == true { throw ValidationError("--hershey: an empty path; name the font file") }
        if hersheyFonts != nil && hershey == nil { throw ValidationError("--hershey-fonts goes with --hershey FILE") }
        if allCapsShare != nil && hershey == nil { throw ValidationError("--all-caps-share goes with --hershey FILE") }
        if speechShare != nil && hershey == nil { throw ValidationError("--speech-share goes with --hershey FILE") }
        _ = try fontIDs()
        var extensions = (try? ImportFormat(name: format))?.fileExtensions ?? []
        if ascii != nil { extensions.insert("txt") }
        try refuseOverwriting(inputs: inputs.map { (what: "an input of the import", path: Optional($0)) }
                                + [("--ascii", ascii), ("--train-list", trainList), ("--valid-list", validList),
                                   ("--hershey", hershey)],
                              output: out, directoryExtensions: extensions)
    }

    public init() {}

    /// The font ids of `--hershey-fonts`, or the script fonts.
    func fontIDs() throws -> [String] {
        guard let hersheyFonts else { return HersheyFont.scriptFontIDs }
        let ids = hersheyFonts.split(separator: ",", omittingEmptySubsequences: false)
            .map { $0.trimmingCharacters(in: .whitespacesAndNewlines) }
        guard !ids.contains(where: \.isEmpty) else {
            throw ValidationError("--hershey-fonts: a comma-separated list of font ids, such as cursive,futural")
        }
        if let problem = HersheyFont.problem(withHandwritingFonts: ids) { throw ValidationError("--hershey-fonts: \(problem)") }
        return ids
    }

    public func run() throws {
        let fmt = try ImportFormat(name: format)
        let report = try ImportPipeline.run(format: fmt, inputs: inputs, output: out,
                                            options: try preprocess.options(), skipInvalid: skipInvalid,
                                            asciiRoot: ascii,
                                            splitLists: trainList.map { ($0, validList ?? "") },
                                            synthetic: hershey.map { SyntheticMix(fontFile: $0, lines: syntheticLines,
                                                                                  mixedLines: mixedLines,
                                                                                  seed: syntheticSeed,
                                                                                  fonts: try fontIDs(),
                                                                                  allCapsShare: allCapsShare,
                                                                                  speechShare: speechShare) })
        let ds = report.dataset
        let points = ds.samples.reduce(0) { $0 + $1.count }
        let training = ds.samples.filter { $0.split == .train }.count, validation = ds.samples.filter { $0.split == .validation }.count
        let splitFrom = trainList != nil ? "from --train-list and --valid-list" : ds.header.splitUsed == "source" ? "from the source" : "seeded"
        print("wrote \(TextPreparation.shown(text: out)): \(counted(ds.samples.count, "sample")), \(counted(points, "point")), alphabet \(counted(ds.alphabet.count, "symbol")), "
              + "split \(splitFrom): \(training) training, \(validation) validation"
              + (training + validation < ds.samples.count ? ", \(ds.samples.count - training - validation) in neither" : ""))
        let seededOptions = [("--valid-fraction", preprocess.validFraction != nil), ("--seed", preprocess.seed != nil)]
            .filter(\.1).map(\.0)
        if !seededOptions.isEmpty && ds.header.splitUsed == "source" {
            print("note: \(seededOptions.joined(separator: " and ")) \(seededOptions.count == 1 ? "was" : "were") not used: these samples carry their source's split (--split auto keeps it); --split seeded draws one")
        }
        let neither = ds.samples.count - training - validation
        if neither > 0 && trainList == nil && ds.header.splitUsed == "source" {
            print("note: \(counted(neither, "sample")) \(neither == 1 ? "carries" : "carry") no split in the source (or one it does not use): unassigned, neither trained on nor validated; --split seeded draws a split for all")
        }
        if training == 0 && trainList == nil {   // the lists say so themselves
            print("note: no sample is in the training split, so training on \(TextPreparation.shown(text: out)) is refused; \(ds.header.splitUsed == "seeded" ? "lower --valid-fraction" : "give the training lines a split")")
        }
        for note in report.imported.notes.prefix(10) { print("note: \(note)") }
        if report.imported.notes.count > 10 { print("note: … \(report.imported.notes.count - 10) more") }
        if skipInvalid { print(report.imported.skippedSummary()) }
    }
}
