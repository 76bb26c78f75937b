import ArgumentParser

/// `quill bench …`: throughput benchmarks. Each reports absolute figures and the fraction of the FMA peak measured on
/// this machine during the run; `make bench-compare` runs them beside the PyTorch scripts for ratios.
public struct BenchCommand: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Measure training and sampling throughput (build with -c release).",
        discussion: "Figures are absolute (chars/s, sample-steps/s, GFLOP/s) and fractions of the FMA peak measured at "
            + "run time. For ratios against PyTorch on the same machine, run `make bench-compare`.",
        subcommands: [BenchChar.self, BenchHandwriting.self, BenchSampling.self, BenchKernels.self, BenchPeak.self, BenchImportCommand.self,
                      BenchRenderCommand.self]
    )
    public init() {}
}
