import ArgumentParser
import QuillModels
import QuillNN
import QuillNumerics
import QuillWriting

/// What differs between the commands that sample a handwriting model: the kind of network they sample, and the
/// bias they sample with when `--bias` is not given.
protocol SamplingDefaults {
    /// The kind of the default model, and of the model the command loads.
    static var kind: HandwritingKind { get }
    /// The default `--bias`.
    static var bias: Double { get }
}

/// Writing text with the synthesis network (`write`, `plot window`, `style add`; `serve` too): `WriteOptions`' bias, 1.
enum WritingDefaults: SamplingDefaults {
    static let kind = HandwritingKind.synthesis
    static var bias: Double { WriteOptions().bias }
}

/// The prediction network's own distribution (`sample`, `plot density`).
enum PredictionDefaults: SamplingDefaults {
    static let kind = HandwritingKind.prediction
    static let bias = 0.0
}

/// The flags of every command that samples a handwriting model: which model (`--model`, with the default model
/// of `Defaults.kind` when left out), Graves's sampling bias and the seed.
struct SamplingOptions<Defaults: SamplingDefaults>: ParsableArguments {
    @Option(help: DefaultModel.help(Defaults.kind)) var model: String?
    @Option(help: "Sampling bias b (Graves eqs. 60–61), 0…20: 0 samples the model's own distribution, 1 or more writes neatly.")
    var bias: Double = Defaults.bias
    @Option(help: "Random seed (0…18446744073709551615): the same input, options and seed give the same output.")
    var seed: UInt64 = 1

    func validate() throws { try OptionRange.check("bias", bias, 0...20) }

    /// The model's directory (or file): `--model`, else the default model of `Defaults.kind`.
    /// - Throws: `CLIError` when `--model` is left out and there is no default model.
    func directory() throws -> String { try DefaultModel.path(model, Defaults.kind) }

    /// The checkpoint file the model's directory names.
    func file() throws -> String { modelFile(try directory()) }

    /// Refuses a model or one of `inputs` that is not a regular file, and an `output` that is the model or one of
    /// `inputs` or `streams` (inputs that may be pipes, such as /dev/fd/N); `fix` says what to do then.
    func refuseInputs(_ inputs: [(what: String, path: String?)] = [], streams: [(what: String, path: String?)] = [],
                      output: String, fix: String = "choose another output path") throws {
        let files = inputs + [("the --model file", try file())]
        try refuseNonFiles(files)
        try refuseOverwriting(inputs: streams + files, output: output, fix: fix)
    }

    /// The model loaded (of `Defaults.kind`) with its directory, for writing pages (`quill write`, `quill serve`).
    func writer() throws -> HandwritingWriter {
        HandwritingWriter(loaded: try HandwritingCheckpoint.load(try file(), expecting: Defaults.kind),
                          directory: try directory())
    }

    /// The model loaded (of `Defaults.kind`) and a sampler over it.
    func sampler() throws -> (loaded: HandwritingCheckpoint.Loaded, sampler: HandwritingSampler) {
        let loaded = try HandwritingCheckpoint.load(try file(), expecting: Defaults.kind)
        return (loaded, HandwritingSampler(model: loaded.model, alphabet: loaded.alphabet, stats: loaded.stats))
    }
}

extension SamplingOptions where Defaults == PredictionDefaults {
    /// `length` pen steps sampled from the prediction network with these flags, and the mixture that predicted each
    /// point (`HandwritingSampler.sample`).
    /// - Throws: `NonFiniteOutputError` naming the model when the sample is not finite, and what loading throws.
    func predictionSample(length: Int) throws
        -> (loaded: HandwritingCheckpoint.Loaded, line: GeneratedLine, parameters: [MixtureDensity.Parameters]) {
        let (loaded, sampler) = try sampler()
        var rng = SeededGenerator(seed: seed)
        let (line, parameters) = sampler.sample(steps: length, bias: bias, rng: &rng)
        guard line.isFinite else { throw NonFiniteOutputError(model: try file()) }
        return (loaded, line, parameters)
    }
}
