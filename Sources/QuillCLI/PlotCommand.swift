import ArgumentParser

/// `quill plot …`: figures drawn with Cairo.
public struct PlotCommand: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "plot",
        abstract: "Draw figures: loss curves, attention windows, mixture densities, histograms over training.",
        subcommands: [PlotLossCommand.self, PlotWindowCommand.self, PlotDensityCommand.self, PlotHistogramsCommand.self]
    )
    public init() {}
}
