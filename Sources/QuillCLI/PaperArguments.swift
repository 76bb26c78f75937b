import ArgumentParser
import QuillRender

/// `write --page`: sheets of paper instead of a page sized to the ink.
struct PaperArguments: ParsableArguments {
    @Option(help: ArgumentHelp("Write on sheets of paper: a4, a5, a3, letter, legal, or WIDTHxHEIGHT with mm, cm, in or "
                               + "pt (150x100mm). Text that does not fit flows onto further sheets: pages of one PDF, "
                               + "or numbered PNG and SVG files (NAME-1.png, …).", valueName: "size"))
    var page: String?
    @Option(help: ArgumentHelp("Blank border on every side of a sheet, with a unit (mm by default). (default: 20mm)",
                               valueName: "length"))
    var margin: String?
    @Option(help: "Where lines sit between the margins (with --page).") var align: PaperSetup.Alignment?
    @Option(name: .customLong("line-spacing"),
            help: "Distance between lines on a sheet, in line heights (1…10; with --page). (default: 1.25)")
    var lineSpacing: Double?
    @Option(help: ArgumentHelp("Paper: none, ruled (a line under each line of writing) or squared (5 mm; with --page).",
                               valueName: "ruling"))
    var paper: PaperSetup.Ruling?

    /// The sheet these flags describe, or nil without --page; checks every value.
    func setup() throws -> PaperSetup? {
        guard let page else {
            if margin != nil || align != nil || lineSpacing != nil || paper != nil {
                throw ValidationError("--margin, --align, --line-spacing and --paper go with --page")
            }
            return nil
        }
        guard let size = PaperSetup.size(named: page) else {
            throw ValidationError("--page \(page): use a4, a5, a3, letter, legal or WIDTHxHEIGHT with mm, cm, in or pt (such as 150x100mm), each side 1 mm … 5 m")
        }
        var setup = PaperSetup(size: size)
        if let margin {
            guard let m = PaperSetup.length(margin), m >= 0 else {
                throw ValidationError("--margin \(margin): give a length such as 15mm, 2cm, 0.5in or 36pt, not negative")
            }
            setup.margin = m
        }
        if let lineSpacing {
            try OptionRange.check("line-spacing", lineSpacing, 1...10)
            setup.lineSpacing = lineSpacing
        }
        setup.alignment = align ?? setup.alignment
        setup.ruling = paper ?? setup.ruling
        return setup
    }
}

extension PaperSetup.Alignment: ExpressibleByArgument {}
extension PaperSetup.Ruling: ExpressibleByArgument {}
