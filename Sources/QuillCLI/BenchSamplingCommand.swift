import ArgumentParser
import QuillModels
import QuillNN

/// `quill bench sampling`: batch-1 sampling speed (../shared/bench/pytorch/bench_c_sampling.py).
public struct BenchSampling: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "sampling",
        abstract: "Batch-1 sampling: 3×400 LSTM stack with the mixture head and mixture sampling.",
        discussion: "The synthesis network writes a text of a's long enough that the step cap (20 steps a character), "
            + "not the stopping rule, ends the line at --steps.")

    @Option(help: "prediction or synthesis.") var network: HandwritingKind = .prediction
    @Option(help: "Steps to sample (20…100000).") var steps: Int = 700
    @Option(help: "Repetitions (1…1000; the median is reported).") var reps: Int = 5
    @OptionGroup var measure: BenchMeasureOptions

    /// The alphabet of the synthesis network: IAM-OnDB's, about 80 characters.
    static let alphabet = 80

    public init() {}

    public func validate() throws { if let m = workload.validate() { throw ValidationError(m) } }

    var workload: SamplingBenchmark {
        SamplingBenchmark(config: HandwritingConfig(kind: network, alphabetSize: Self.alphabet), steps: steps, repetitions: reps)
    }

    public func run() throws { report().emit(json: measure.json) }

    /// Samples for the repetitions asked and measures.
    func report() -> BenchReport {
        let result = workload.run()
        let times = result.times
        let perStep = times.median / Double(steps), bestPerStep = times.best / Double(steps)
        var r = BenchReport(bench: "sampling")
        r.line("\(network.rawValue) sampling, batch 1, 3×400, M = 20, \(steps) steps")
        r.blas()
        r.line(String(format: "%.3f ms/step (best %.3f, n=%d) → %.0f steps/s; a 1,000-step line takes %.2f s",
                      perStep * 1e3, bestPerStep * 1e3, times.count, 1 / perStep, perStep * 1000))
        r.set("network", network.rawValue)
        r.set("steps", steps)
        r.set("repetitions", times.count)
        r.set("median_seconds_per_step", perStep)
        r.set("best_seconds_per_step", bestPerStep)
        r.set("steps_per_second", 1 / perStep)
        r.throughput(gflops: result.flopsPerUnit / perStep / 1e9, flopsPerUnit: result.flopsPerUnit, unit: "step",
                     peak: measure.peak())
        // Batch 1 reads every weight once a step: the measured read bandwidth for a buffer of the weights' size bounds
        // the step from below.
        if let bytes = result.weightBytesPerUnit {
            let rate = Double(bytes) / perStep / 1e9
            r.set("weight_bytes_per_step", bytes)
            r.set("weight_read_gbs", rate)
            if let bandwidth = ReadBandwidth.measure(threads: BenchMachine.threads(), bytes: bytes, seconds: measure.peakSeconds) {
                r.set("read_bandwidth_gbs", bandwidth.gigabytesPerSecond)
                r.set("read_bandwidth_fraction", rate / bandwidth.gigabytesPerSecond)
                r.line(String(format: "weights read per step: %.1f MB → %.1f GB/s = %.0f%% of the measured read bandwidth; floor %.3f ms/step",
                              Double(bytes) / 1e6, rate, 100 * rate / bandwidth.gigabytesPerSecond,
                              Double(bytes) / bandwidth.gigabytesPerSecond / 1e6))
                r.line(bandwidth.description)
            } else {
                r.line(String(format: "weights read per step: %.1f MB → %.1f GB/s; read bandwidth: not measured", Double(bytes) / 1e6, rate))
            }
        }
        return r
    }
}
