import ArgumentParser
import Foundation
import QuillData

/// `quill bench import`: time importing the IAM-OnDB JSON-lines file, writing and reloading the prepared file.
public struct BenchImportCommand: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "import",
        abstract: "Time import + prepare + write of IAM-OnDB JSON lines, and loading the result (use -c release)."
    )

    @Option(name: .customLong("data"), help: "The IAM-OnDB JSON-lines file.")
    var data = "../shared/datasets/iam_ondb_lines/iam_ondb_lines.jsonl"

    @Option(name: .customLong("repeat"), help: "Runs (1…100); the best time is reported.")
    var repeats = 3

    @Option(name: .customLong("baseline"), help: "Seconds Python's json module needs to parse the file (more than 0, at most 1000000).")
    var baseline = 6.0

    public init() {}

    public func validate() throws {
        try OptionRange.check("repeat", repeats, 1...100)
        try OptionRange.check("baseline", baseline, 0...1_000_000, aboveLower: true)
        try refuseNonFiles([("--data", data)])
    }

    public func run() throws {
        guard FileManager.default.fileExists(atPath: data) else {
            throw CLIError("\(data): no such file. Pass --data PATH to iam_ondb_lines.jsonl.")
        }
        let out = NSTemporaryDirectory() + "quill-bench-\(ProcessInfo.processInfo.processIdentifier).qds"
        defer { try? FileManager.default.removeItem(atPath: out) }
        var best: ImportPipeline.Report?
        var bestLoad = Double.infinity
        for _ in 0..<repeats {
            let r = try ImportPipeline.run(format: .iamJSONL, inputs: [data], output: out, options: PreprocessOptions())
            if best.map({ r.totalSeconds < $0.totalSeconds }) ?? true { best = r }
            let t0 = Date()
            _ = try PreparedFormat.load(path: out)
            bestLoad = min(bestLoad, Date().timeIntervalSince(t0))
        }
        guard let r = best else { return }
        let points = Double(r.dataset.samples.reduce(0) { $0 + $1.count })
        let mb = Double(r.inputBytes) / 1e6
        print(String(format: "input: %@ (%.1f MB, %d samples, %.0f points)", data, mb, r.dataset.samples.count, points))
        print(String(format: "parse   %.3f s  (%.0f MB/s, %.1f M points/s)", r.parseSeconds, mb / r.parseSeconds,
                     points / r.parseSeconds / 1e6))
        print(String(format: "prepare %.3f s", r.prepareSeconds))
        print(String(format: "write   %.3f s  (%.1f MB)", r.writeSeconds, Double(r.outputBytes) / 1e6))
        print(String(format: "total   %.3f s  (%.0f MB/s, %.1f M points/s): %.1fx faster than Python's json parse (%.1f s)",
                     r.totalSeconds, mb / r.totalSeconds, points / r.totalSeconds / 1e6, baseline / r.totalSeconds,
                     baseline))
        print(String(format: "load prepared file: %.3f s (best of %d)", bestLoad, repeats))
    }
}
