import ArgumentParser
import Foundation
import QuillData
import QuillIO
import QuillModels
import QuillNumerics
import QuillRender
import QuillWriting

/// `quill write "TEXT"`: text to handwriting with the synthesis network.
public struct WriteCommand: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "write",
        abstract: "Write text as handwriting: an image, the strokes or a pen-plotter program, by the output's extension.",
        discussion: """
        The text comes as an argument, from standard input (-) or from a UTF-8 file (--input). Lines break at each \
        newline (CR LF and CR too; a literal \\n in an argument counts) and wrap at --wrap characters; blank lines \
        become paragraph gaps. All lines of a page are sampled together, in one hand: every line is primed with \
        --style, --prime-from or --prime-inkml, or else with the model's style named "default" when it has one \
        (the bundled model's is its neat hand); with --own-hand, or a model without a default style, lines 2…n \
        are primed with line 1's strokes. Every line is levelled and scaled to the page's letter height.

        A line ends when its writing ends: after the window has moved past the last character (Graves's rule, \
        φ(t, U+1) above every φ(t, u)), the pen finishes its stroke and may add strokes back over the last letters \
        (t-crosses, i-dots), for at most --finish-steps steps (default \(WriteOptions().finishingSteps); the data \
        average 11.4 steps a character); a stroke that starts right of the ink, or any new stroke after a final \
        full stop or comma, ends the line, so nothing of a next word follows it. A line that breaks down (the window runs back, skips \
        or stalls, leaves the last letter after under 5 steps, the line never ends, or its ink leaves the line) is written again with a seed derived from \
        --seed, up to --tries tries; the lines written again are reported on standard error. A line longer than \
        --piece-chars characters (default \(PageWriter.defaultPieceCharacters)) is written in pieces cut at spaces, \
        each in the page's hand, checked on its own and joined one word gap apart: the bundled model learned from \
        lines of 29 characters on average, and writes long lines more legibly this way.

        Characters outside the model's alphabet are replaced where a plain equivalent exists (é→e, “→", —→-) and \
        the replacements are reported; any others are an error.

        The output's extension chooses what is written: an image (.png, .svg, .pdf); the strokes in page \
        coordinates, points (1/72 inch) with y down (.inkml, which --prime-inkml and `data import inkml` read back; \
        .json, per line its text and [x, y] points; .npy, an N×3 float32 array of Graves's offsets dx, dy, end of \
        stroke); or a pen-plotter program in millimetres (.gcode, .hpgl), its strokes ordered nearest-first when that \
        travels less with the pen up than the sampled order (both distances are printed).

        The same text, options and --seed give the same image (a PDF the same bytes when SOURCE_DATE_EPOCH is set).
        """)

    @Argument(help: "The text to write; - reads it from standard input.") var text: String?
    @Option(help: "Read the text from this UTF-8 file (- for standard input) instead.") var input: String?
    @Option(help: ArgumentHelp("Write the lines of this JSON job file (- for standard input), each with its own "
            + "style, bias, color and width: {\"lines\": [{\"text\": \"Dear Ada,\", \"style\": \"neat\", \"bias\": 1.5, "
            + "\"color\": \"navy\", \"width\": 2}, …]}; what a line leaves out, the job's own keys or these options give.",
            valueName: "file")) var job: String?
    @OptionGroup var sampling: SamplingOptions<WritingDefaults>
    @Option(name: .shortAndLong, help: ArgumentHelp(WriteOutput.help)) var output: String?
    @Option(help: "Wrap lines longer than this many characters (10…500); a longer word is cut at its own hyphens, else hyphenated between letters.") var wrap: Int = 60
    @Option(name: .customLong("max-chars"), help: "Refuse texts longer than this (1…100000).") var maxChars: Int = 1000
    @OptionGroup var lines: LineWritingOptions
    @Option(help: "A style shipped with the model (see --list-styles; default: the model's style named default); none for no style, as --own-hand.")
    var style: String?
    @Flag(name: .customLong("list-styles"), help: "List the model's styles and exit.") var listStyles = false
    @Flag(name: .customLong("own-hand"),
          help: "Without a style or prime, write lines 2…n in line 1's hand instead of the model's default style.")
    var ownHand = false
    @Option(name: .customLong("prime-from"), help: "Prime with a sample of a prepared dataset (with --id).") var primeFrom: String?
    @Option(help: "The id of the priming sample in --prime-from.") var id: String?
    @Option(name: .customLong("prime-inkml"), help: "Prime with your own handwriting: an InkML file.") var primeInkml: String?
    @Option(name: .customLong("prime-text"), help: "The text of the --prime-inkml strokes (when the file has none).")
    var primeText: String?
    @Option(name: .customLong("line-height"), help: ArgumentHelp("Height of one line of writing, "
            + "in points (5…2000).")) var lineHeight: Double = 60
    @OptionGroup var pen: PenOptions<PagePen>
    @OptionGroup(title: "Sheets of paper") var sheets: PaperArguments
    @OptionGroup(title: "Animation (.gif, or .svg with --animate)") var animation: AnimationArguments
    @OptionGroup(title: "Pen plotters (.gcode, .hpgl)") var plotter: PlotterArguments

    /// The most points a --prime-inkml file may hold: IAM-OnDB's longest lines have about 4,000 as recorded (2,000 at the
    /// bundled model's decimation), and every line of a page is primed with all of them.
    static let maximumPrimePoints = 6000

    public init() {}

    public func validate() throws {
        try refuseEmptyOutput("output", output)
        if !listStyles {
            guard let output else { throw ValidationError("give the output with -o FILE (.png, .svg, .pdf, .gif, .inkml, .json, .npy, .gcode or .hpgl)") }
            // First of the output's checks, so that `--input notes.txt -o notes.txt` is told it names the input.
            // --input may be a pipe (/dev/fd/N): TextPreparation.read handles it and names a directory.
            let files = [("--prime-from", primeFrom), ("--prime-inkml", primeInkml)]
            let streams = [("--input", input), ("--job", job)]
            try sampling.refuseInputs(files, streams: streams, output: output)
            try refuseOutputInStyles(output, model: try sampling.directory())
            if sheets.page != nil {
                try refuseNumberedPagesOverInputs(files + streams + [("the --model file", try sampling.file())], output: output)
            }
            try WriteOutput.check(output)
            try plotter.check(output: output)
            _ = try animation.options(output: output)
            if plotter.plotterSVG && animation.animate { throw ValidationError("choose --plotter-svg or --animate, not both") }
            try refuseInkOptionsThatDoNotApply(output)
            if let setup = try sheets.setup(), let m = setup.problem(lineHeight: lineHeight) {
                throw ValidationError("--page \(sheets.page ?? ""): \(m)")
            }
            if text == nil && input == nil && job == nil {
                // A text that begins with '-' ("-5 degrees") is read as options and never reaches the argument.
                throw ValidationError("give the text to write, - for standard input, --input FILE or --job FILE (a text that begins with '-' goes after --: quill write -o out.png -- \"-5 degrees\")")
            }
            if [text != nil, input != nil, job != nil].filter({ $0 }).count > 1 {
                throw ValidationError("give the text as an argument, with --input or with --job, only one of them")
            }
        }
        try OptionRange.check("wrap", wrap, 10...500)
        try OptionRange.check("max-chars", maxChars, 1...Self.maxCharsLimit)
        if [style != nil, primeFrom != nil, primeInkml != nil, ownHand].filter({ $0 }).count > 1 {
            throw ValidationError("choose one of --style, --prime-from, --prime-inkml and --own-hand")
        }
        if let style, style.isEmpty || !style.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" }) {
            throw ValidationError("a style name uses letters, digits, - and _ only (see --list-styles)")
        }
        if primeText != nil && primeInkml == nil { throw ValidationError("--prime-text goes with --prime-inkml") }
        if (primeFrom == nil) != (id == nil) { throw ValidationError("--prime-from and --id go together") }
        try OptionRange.check("line-height", lineHeight, 5...2000)
    }

    /// The most --max-chars takes.
    static let maxCharsLimit = 100_000

    /// What to do about a text of `count` characters over --max-chars: raise it while that is allowed, else split.
    static func maxCharsFix(_ count: Int) -> String {
        count <= maxCharsLimit ? "raise it with --max-chars \(count) (a 1,000-character page took 12 s on two cores, 2 s with --candidates 1)"
            : "one run writes at most \(maxCharsLimit) characters; split the text into parts"
    }

    /// --dpi only makes pixels (.png, .gif); colour, pen kind and smoothing only pictures, not stroke exports or
    /// plotter programs.
    func refuseInkOptionsThatDoNotApply(_ output: String) throws {
        let ext = (output as NSString).pathExtension.lowercased()
        if pen.dpi != PenOptions<PagePen>.defaultDPI && !["png", "gif"].contains(ext) {
            throw ValidationError("--dpi applies to .png and .gif output, not .\(ext)")
        }
        let drawsInk = StrokeFormat.forPath(output) == nil && !plotter.plotterSVG
        if !drawsInk && (pen.color != PenOptions<PagePen>.defaultColor || pen.pen != .constant || pen.noSmooth) {
            throw ValidationError("--color, --pen and --no-smooth draw pictures; they do not apply to \(plotter.plotterSVG ? "--plotter-svg" : ".\(ext)") output")
        }
    }

    public func run() throws {
        let dir = try sampling.directory()
        if listStyles {
            let names = HandwritingStyle.names(model: dir)
            print(names.isEmpty ? "the model in \(dir) has no styles" : names.joined(separator: "\n"))
            return
        }
        let output = self.output ?? ""
        let writer = try sampling.writer()
        let prepared: PreparedText, page: WrittenPage, options: PageOptions
        if let job {
            (prepared, page, options) = try writeJob(job, writer: writer, output: output)
        } else {
            let raw = try readText(output: output)
            prepared = try writer.prepare(raw, wrap: wrap, literalNewlines: input == nil && text != "-")
            reportReplacements(prepared.replacements)
            try checkPageSize(prepared.lines, output: output)
            let request = pageRequest(raw, hand: try hand(writer))
            let prime = try writer.prime(for: request.hand)
            do {
                var pageWriter = writer.pageWriter(request)
                let bar = WorkProgress()
                pageWriter.progress = { bar.update($0, $1, unit: "lines") }
                defer { bar.finish() }
                page = try pageWriter.write(prepared.lines, seed: request.seed, prime: prime)
            } catch let e as NonFiniteOutputError {
                throw e.naming(try sampling.file())
            }
            options = HandwritingWriter.pageOptions(lineHeight: request.lineHeight, style: request.style,
                                                    pixelScale: request.pixelScale, letterHeight: page.letterHeight)
        }
        for r in page.resampled {
            let what = r.firstProblems.map(\.description).joined(separator: "; ")
            let outcome = r.remaining.isEmpty ? "\(r.tries) tries"
                : "still broken after \(r.tries) tries (\(r.remaining.map(\.description).joined(separator: "; "))); kept the best"
            let piece = r.pieceCount > 1 ? ", piece \(r.piece + 1) of \(r.pieceCount)" : ""
            note("resampled line \(r.line + 1)\(piece) (\(what)): \(outcome)")
        }
        for (i, g) in page.generated.enumerated() where g?.finished == false && !page.resampled.contains(where: { $0.line == i }) {
            note("line \(i + 1) reached the step cap before the window passed its end")
        }
        let strokes = page.lines.map { $0?.strokes ?? [] }
        let n = page.lines.compactMap { $0 }.count
        let setup = try sheets.setup()
        // Lines have their midline at y = 0 and are scaled to the page's letter height: the baseline is half of it
        // lower (y down).
        let pages = try setup.map {
            try StrokeRenderer.placePages(lines: strokes, options: options, paper: $0, baseline: page.letterHeight / 2,
                                          what: output)
        } ?? [HandwritingWriter.place(page, options: options, what: output)]
        var files: [String] = [], travel = 0.0, sampledTravel = 0.0
        func texts(_ placed: PlacedPage) -> [String?] {
            Array(prepared.lines[placed.firstLine..<(placed.firstLine + placed.lines.count)])
        }
        if plotter.plotterSVG {
            files = try StrokeRenderer.writeEachPage(count: pages.count, output: output) { k, file in
                try AtomicOutput.write(Data(StrokeExport.plotterSVG(pages[k], texts: texts(pages[k]), style: options.style).utf8), to: file)
            }
        } else if let animated = try animation.options(output: output) {
            files = try StrokeRenderer.writeEachPage(count: pages.count, output: output) { k, file in
                if WriteOutput.isGIF(output) {
                    try StrokeAnimation.gif(pages[k], style: options.style, options: animated, pixelScale: pen.pixelScale, to: file)
                } else {
                    try AtomicOutput.write(Data(StrokeAnimation.svg(pages[k], style: options.style, options: animated).utf8), to: file)
                }
            }
        } else if let format = StrokeFormat.forPath(output) {
            files = try StrokeRenderer.writeEachPage(count: pages.count, output: output) { k, file in
                let report = try StrokeExport.write(pages[k], texts: texts(pages[k]), format: format, to: file, plotter: plotter.options)
                travel += report.penUpTravel?.written ?? 0
                sampledTravel += report.penUpTravel?.sampled ?? 0
            }
        } else if let setup {
            files = try StrokeRenderer.renderPages(pages, to: output, options: options, paper: setup)
        } else {
            _ = try StrokeRenderer.renderPage(lines: strokes, to: output, options: options)
            files = [output]
        }
        if files.count > 1 || setup != nil, case let stale = StrokeRenderer.stalePages(output, after: files.count), !stale.isEmpty {
            note("\(stale.map { TextPreparation.shown(text: ($0 as NSString).lastPathComponent) }.joined(separator: ", ")) "
                 + "\(stale.count == 1 ? "is a page" : "are pages") of an earlier, longer page set, left as \(stale.count == 1 ? "it was" : "they were")")
        }
        let sheetsNote = setup == nil ? "" : ", \(pages.count) page\(pages.count == 1 ? "" : "s")"
        let travelNote = StrokeFormat.forPath(output)?.isPlotter == true
            ? String(format: "; pen-up travel %.0f mm (%.0f mm in the sampled order)", travel, sampledTravel) : ""
        print("wrote \(files.map { TextPreparation.shown(text: $0) }.joined(separator: ", ")) (\(n) \(n == 1 ? "line" : "lines")\(sheetsNote)\(travelNote))")
    }

    /// Reads, checks and writes the --job file as one page: its lines, the page, and the layout with each line's pen.
    func writeJob(_ path: String, writer: HandwritingWriter, output: String) throws -> (PreparedText, WrittenPage, PageOptions) {
        let name = path == "-" ? "standard input" : TextPreparation.shown(text: path)
        let parsed: PageJob
        do {
            parsed = try PageJob.parse(Data(try TextPreparation.read(path: path).utf8), what: name)
        } catch let e as TextError {
            throw CLIError(e.description, status: e.isUnreadableFile ? .noInput : .dataError)
        } catch let e as JobError {
            throw CLIError(e.description, status: .dataError)
        }
        if parsed.setsInk {
            let ext = (output as NSString).pathExtension.lowercased()
            if StrokeFormat.forPath(output) != nil || plotter.plotterSVG || WriteOutput.isGIF(output) || animation.animate {
                throw CLIError("\(name): a job's colours and widths are drawn in .png, .svg and .pdf pages; "
                               + "they do not apply to \(plotter.plotterSVG ? "--plotter-svg" : animation.animate ? "--animate" : ".\(ext)") output",
                               status: .usage)
            }
        }
        let characters = parsed.lines.map { $0.text.trimmingCharacters(in: .whitespacesAndNewlines).count }.reduce(0, +)
        if characters == 0 {
            throw CLIError("\(name): every line of the job is blank; give some text to write", status: .dataError)
        }
        if characters > maxChars {
            throw CLIError("\(name): the job's lines have \(characters) characters, more than --max-chars \(maxChars); \(Self.maxCharsFix(characters))", status: .usage)
        }
        let prepared: PreparedJob
        do {
            prepared = try writer.prepare(job: parsed, wrap: wrap)
        } catch let e as JobError {
            throw CLIError("\(name): \(e.description)", status: .dataError)
        }
        reportReplacements(prepared.text.replacements)
        try checkPageSize(prepared.text.lines, output: output)
        let request = pageRequest("", hand: try hand(writer))
        let result: WrittenPageResult
        do {
            let bar = WorkProgress()
            defer { bar.finish() }
            result = try writer.write(prepared, from: parsed, request: request) { bar.update($0, $1, unit: "lines") }
        } catch let e as JobError {
            throw CLIError("\(name): \(e.description)", status: .dataError)
        } catch let e as NonFiniteOutputError {
            throw e.naming(try sampling.file())
        }
        return (result.prepared, result.page, result.options)
    }

    /// The text as given: the argument, standard input for "-", or the --input file; checked against --max-chars.
    func readText(output: String) throws -> String {
        let raw: String
        if let input {
            raw = try TextPreparation.read(path: input)
        } else if text == "-" {
            raw = try TextPreparation.read(path: "-")
        } else {
            raw = text ?? ""
        }
        let normal = TextPreparation.normalisingLineBreaks(raw)
        if normal.allSatisfy({ $0.isWhitespace }) {
            let source = input.map { TextPreparation.shown(text: $0) + " is empty" }
                ?? (text == "-" ? "standard input is empty" : "the text is empty")
            // Zero-width spaces, joiners and byte-order marks are dropped (TextPreparation.dropped).
            let invisible = raw.allSatisfy(\.isWhitespace) ? "" : " once its invisible characters (zero-width spaces, joiners, byte-order marks) are dropped"
            throw CLIError("\(source)\(invisible); give something to write")
        }
        let count = normal.trimmingCharacters(in: .whitespacesAndNewlines).count
        if count > maxChars {
            throw CLIError("the text has \(count) characters, more than --max-chars \(maxChars); \(Self.maxCharsFix(count))", status: .usage)
        }
        return raw
    }

    /// Refuses, before any sampling, a page the renderer would refuse afterwards: taller, or (by a low estimate of
    /// a handwritten character's width, `PageOptions.estimatedSize`) wider than a canvas can be.
    func checkPageSize(_ lines: [String?], output: String) throws {
        var page = PageOptions()
        page.lineHeight = lineHeight
        page.style.width = pen.penWidth
        let longest = lines.map { $0?.count ?? 0 }.max() ?? 0
        let size = page.estimatedSize(lines: lines.count, longestLine: longest)
        // Strokes have no canvas to outgrow; a GIF's frames are rasters like a PNG.
        guard let format = WriteOutput.isGIF(output) ? .png : try? OutputFormat.forPath(output) else { return }
        let png = format == .png
        if let sheet = try sheets.setup()?.size {
            // Text flows onto further sheets; only a sheet itself can be too large, as a PNG.
            if png, max(sheet.width, sheet.height) * pen.pixelScale > Canvas.maximumSide(for: .png) {
                throw CLIError(String(format: "--page %@ at --dpi %@ would be %.0f pixels on its longer side, more than a PNG can take (32767); lower --dpi, or write .svg or .pdf", sheets.page ?? "", OptionRange.shown(pen.dpi), max(sheet.width, sheet.height) * pen.pixelScale), status: .usage)
            }
            return
        }
        // A PNG's limit is in pixels: --dpi / 72 of them a point.
        let limit = png ? Canvas.maximumSide(for: .png) / pen.pixelScale : Canvas.maximumSide(for: .pdf)
        if size.height > limit || size.width > limit {
            let what = size.height > limit
                ? String(format: "%.0f points tall (%d %@ at --line-height %@)", size.height, lines.count,
                         lines.count == 1 ? "line" : "lines", OptionRange.shown(lineHeight))
                : String(format: "at least %.0f points wide (%d characters at --line-height %@)", size.width, longest,
                         OptionRange.shown(lineHeight))
            throw CLIError("\(TextPreparation.shown(text: output)): the page would be \(what), more than the \(Int(limit)) points a \(png ? "PNG " : "")page can take\(png ? " at --dpi \(OptionRange.shown(pen.dpi))" : ""); lower --line-height or --wrap, split the text\(png ? ", lower --dpi, or write .svg or .pdf" : "")", status: .usage)
        }
    }

    /// The page request these flags describe (the text as given; `HandwritingWriter` prepares it).
    func pageRequest(_ raw: String, hand: Hand) -> PageRequest {
        var request = PageRequest(text: raw)
        request.wrap = wrap
        request.literalNewlines = input == nil && text != "-"
        request.hand = hand
        request.options = WriteOptions(bias: sampling.bias, stepsPerCharacter: lines.stepsPerChar,
                                       finishingSteps: lines.finishSteps)
        request.tries = lines.tries
        request.candidates = lines.candidates
        request.pieceCharacters = lines.pieceChars
        request.seed = sampling.seed
        request.lineHeight = lineHeight
        request.style = pen.style()
        request.pixelScale = pen.pixelScale
        return request
    }

    /// The hand the flags ask for: --style, a prime from --prime-from or --prime-inkml, --own-hand, or the model's
    /// default.
    func hand(_ writer: HandwritingWriter) throws -> Hand {
        if let style { return style == HandwritingStyle.noStyleName ? .ownHand : .style(style) }
        let loaded = writer.loaded
        if let primeFrom, let id {
            let ds = try PreparedFormat.load(path: primeFrom)
            guard let s = ds.samples.first(where: { $0.id == id }) else {
                throw CLIError("\(primeFrom): no sample with id '\(id)'")
            }
            guard let t = s.text, !t.isEmpty else { throw CLIError("\(primeFrom): sample '\(id)' has no transcription to prime with") }
            return .prime(Prime(raw: ds.rawOffsets(s), text: try checkedLine(t, sampler: writer.sampler), stats: loaded.stats,
                                rescale: false))
        }
        if let primeInkml {
            let sample = try withoutSkipAdvice { try InkMLImporter.load(path: primeInkml) }
            guard let t = primeText ?? sample.text, !t.isEmpty else {
                throw CLIError("\(primeInkml): the file carries no transcription; say what it says with --prime-text")
            }
            if primeText == nil, case let lines = t.split(whereSeparator: \.isNewline), lines.count > 1 {
                throw CLIError("\(primeInkml): the file holds \(lines.count) lines of writing; prime with one line (write it alone, or export a single line)")
            }
            guard sample.pointCount <= Self.maximumPrimePoints else {
                throw CLIError("\(primeInkml): \(sample.pointCount) points is more than a prime takes (\(Self.maximumPrimePoints), a long line of handwriting); prime with one line")
            }
            // A transcription the model cannot write is the file's, or --prime-text's: say which, and the way out.
            let text: String
            do { text = try checkedLine(t, sampler: writer.sampler) } catch let e as TextError {
                throw CLIError(primeText != nil ? "--prime-text: \(e.description)"
                               : "\(primeInkml): its transcription: \(e.description); or say what the strokes show in characters the model knows with --prime-text")
            }
            return .prime(Prime(raw: sample.offsets(), text: text, stats: loaded.stats, rescale: true))
        }
        return ownHand ? .ownHand : .modelDefault
    }
}
