import ArgumentParser

/// `quill bench …`: throughput benchmarks against the PyTorch baselines.
public struct BenchCommand: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Measure training and sampling throughput (build with -c release).",
        subcommands: [BenchRenderCommand.self]
    )
    public init() {}
}
