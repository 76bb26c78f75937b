import Foundation
import QuillData
import QuillModels
import QuillRender

/// Whose hand a page is written in.
public enum Hand: Equatable, Sendable {
    /// The model's style named "default" when it has one (`HandwritingStyle.defaultName`), else the page's own hand
    /// (`ownHand`): what `quill write` does without a style or prime.
    case modelDefault
    /// No prime: line 1 is written unprimed and lines 2…n are primed with its strokes (`quill write --own-hand`; the
    /// API's style "none").
    case ownHand
    /// A style shipped with the model (`quill write --style NAME`), by name.
    case style(String)
    /// Priming material made elsewhere (a prepared sample, the user's InkML).
    case prime(Prime)
}

/// What a page of handwriting is written with: the text and how it is broken into lines, the hand, how lines are
/// sampled, and how the page is laid out. Defaults are `quill write`'s.
public struct PageRequest: Sendable {
    /// The text as given; `HandwritingWriter.prepare` breaks it into lines.
    public var text: String
    /// Lines longer than this many characters are wrapped at word boundaries (`quill write --wrap`).
    public var wrap = 60
    /// Also break lines at the two characters `\n` (text typed on a command line).
    public var literalNewlines = false
    public var hand = Hand.modelDefault
    /// Graves's bias, the step cap and the finishing steps; `record` keeps φ and π of every point.
    public var options = WriteOptions()
    /// Tries per line when a line breaks down (`PageWriter.maxTries`).
    public var tries = PageWriter.defaultMaxTries
    /// Tries drawn of every line, the one with the most evidence for its text kept (`PageWriter.candidates`).
    public var candidates = 1
    /// Lines longer than this many characters are written in pieces (`PageWriter.pieceCharacters`; 0: whole).
    public var pieceCharacters = PageWriter.defaultPieceCharacters
    public var seed: UInt64 = 1
    /// Height of one line of writing on the page, in points (`quill write --line-height`).
    public var lineHeight = 60.0
    /// The pen: its width (points) sets the page's border as well as the ink.
    public var style = StrokeStyle(width: 2)
    /// PNG pixels per point (`--dpi` / 72); only pictures use it.
    public var pixelScale = 150.0 / 72

    public init(text: String) { self.text = text }
}

/// A page written and laid out: its lines as prepared, the network's output, and the strokes in page points.
public struct WrittenPageResult: Sendable {
    public var prepared: PreparedText
    public var page: WrittenPage
    /// The page's layout options (line height, pen, shared line band), as `placed` was laid out with.
    public var options: PageOptions
    /// Each line's strokes in page coordinates: points (1/72 inch), y down from the top-left corner.
    public var placed: PlacedPage

    /// Each line's strokes as the network wrote them, in its own coordinates (y down); a paragraph gap has none.
    /// `StrokeRenderer.renderPage(lines: strokes, to: path, options: options)` draws the page to PNG, SVG or PDF.
    public var strokes: [[Stroke]] { page.lines.map { $0?.strokes ?? [] } }
}

/// A hand that cannot be used: an unknown style, or one whose text the model cannot write.
public struct HandError: Error, CustomStringConvertible, Equatable {
    public let description: String
    /// Whether the style is not one of the model's (as against a style file that is unusable).
    public let isUnknownStyle: Bool
}

/// Text to handwriting on a page: the pipeline `quill write` and `quill serve` share, so both give the same strokes
/// for the same text, options and seed. Text is prepared for the model's alphabet (`TextPreparation.prepare`), the
/// hand is resolved to a prime (a style, or none), the lines are written in that hand (`PageWriter`), and the page
/// is laid out in points (`StrokeRenderer.place`, lines sharing one band so they share a baseline).
///
/// The writer holds a loaded model and is read-only: several threads may write pages with one writer at once (each
/// page samples in a workspace of its own).
public final class HandwritingWriter: @unchecked Sendable {
    public let sampler: HandwritingSampler
    public let loaded: HandwritingCheckpoint.Loaded
    /// The model's directory (or file): where its styles are found.
    public let modelDirectory: String

    public init(loaded: HandwritingCheckpoint.Loaded, directory: String) {
        self.loaded = loaded
        modelDirectory = directory
        sampler = HandwritingSampler(model: loaded.model, alphabet: loaded.alphabet, stats: loaded.stats)
    }

    /// The synthesis model that ships with Quill: `models/synthesis` in the source tree this module was built from
    /// (a clone, or the checkout SwiftPM makes of Quill for a package that depends on it), with its styles. The path
    /// is fixed when the module is built, and `QUILL_MODEL_DIR` (the `quill` command's setting) is not read: a program
    /// run away from that tree loads its model with `HandwritingCheckpoint.load` and `init(loaded:directory:)`.
    public static var bundledModelDirectory: String {
        // This file is Sources/QuillWriting/HandwritingWriter.swift.
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("models").appendingPathComponent("synthesis").path
    }

    /// A writer over the bundled synthesis model (`bundledModelDirectory`), loaded within the process's memory limits.
    /// - Throws: `CheckpointError` when the model is missing or unreadable (the message names the file),
    ///   `MemoryBudgetError` when it does not fit.
    public static func bundled() throws -> HandwritingWriter {
        let directory = bundledModelDirectory
        let file = (directory as NSString).appendingPathComponent("model.safetensors")
        let loaded = try HandwritingCheckpoint.load(file, expecting: .synthesis, budget: MemoryBudget.current())
        return HandwritingWriter(loaded: loaded, directory: directory)
    }

    /// The names of the styles shipped with the model, sorted.
    public var styles: [String] { HandwritingStyle.names(model: modelDirectory) }

    /// `text` as the page's lines (nil: a paragraph gap), with the replacements made (`TextPreparation.prepare`).
    /// - Throws: `TextError` naming the characters the alphabet lacks, or when there is nothing to write.
    public func prepare(_ text: String, wrap: Int, literalNewlines: Bool = false) throws -> PreparedText {
        try TextPreparation.prepare(text, wrap: wrap, literalNewlines: literalNewlines, alphabet: loaded.alphabet)
    }

    /// The prime of `hand`: nil for the page's own hand.
    /// - Throws: `HandError` for a style the model does not have, or whose text has characters the model does not
    ///   know; what `HandwritingStyle.load` throws for a style file that cannot be read.
    public func prime(for hand: Hand) throws -> Prime? {
        switch hand {
        case .ownHand: return nil
        case let .prime(prime): return prime
        case let .style(name): return try styledPrime(name)
        case .modelDefault:
            return styles.contains(HandwritingStyle.defaultName) ? try styledPrime(HandwritingStyle.defaultName) : nil
        }
    }

    /// A shipped style's prime. Only names among `styles` reach the file system.
    func styledPrime(_ name: String) throws -> Prime {
        let known = styles
        guard known.contains(name) else {
            throw HandError(description: "unknown style '\(TextPreparation.shown(text: String(name.prefix(100))))'; the model has "
                            + (known.isEmpty ? "no styles" : "styles: " + known.joined(separator: ", ")),
                            isUnknownStyle: true)
        }
        let style = try HandwritingStyle.load(name: name, model: modelDirectory)
        let unknown = Set(style.text.filter { !loaded.alphabet.knows($0) })
        guard unknown.isEmpty else {
            let file = HandwritingStyle.directory(model: modelDirectory).appendingPathComponent("\(name).json").path
            throw HandError(description: "\(file): the style's text has characters the model does not know "
                            + "(\(unknown.sorted().map(TextPreparation.shown).joined(separator: ", "))); "
                            + "make the style again with `quill style add \(name) --force`", isUnknownStyle: false)
        }
        return style.prime
    }

    /// A page writer over the model for `request`'s sampling options and tries.
    public func pageWriter(_ request: PageRequest) -> PageWriter {
        var writer = PageWriter(sampler: sampler, options: request.options)
        writer.maxTries = request.tries
        writer.candidates = request.candidates
        writer.pieceCharacters = request.pieceCharacters
        return writer
    }

    /// The layout options of a written page: `lineHeight` slots, the pen `style`, lines sharing one band that
    /// covers at least the small letters' (half the page's `letterHeight`, `WrittenPage.letterHeight`, either
    /// side of the midline; 0: the ink alone), so a page of punctuation keeps the size of letters.
    public static func pageOptions(lineHeight: Double, style: StrokeStyle, pixelScale: Double,
                                   letterHeight: Double = 0) -> PageOptions {
        var options = PageOptions()
        options.lineHeight = lineHeight
        options.style = style
        options.pixelScale = pixelScale
        // Lines have their midline at y = 0 and are scaled to the page's letter height: one band gives them one
        // baseline.
        options.sharedLineBand = true
        if letterHeight.isFinite && letterHeight > 0 { options.minimumBand = -letterHeight / 2...letterHeight / 2 }
        return options
    }

    /// Lays a written page out on one sheet sized to its lines: each line's strokes in page points.
    /// - Throws: `RenderError` for a page without ink; `what` names it.
    public static func place(_ page: WrittenPage, options: PageOptions, what: String) throws -> PlacedPage {
        try StrokeRenderer.place(lines: page.lines.map { $0?.strokes ?? [] }, options: options, what: what)
    }

    /// Writes `request` from text to placed strokes: prepare, prime, write, lay out. `observer` is told the first
    /// try's points and may stop sampling (`PageWriter.observer`).
    /// - Throws: `TextError`, `HandError`, `NonFiniteOutputError`, `SamplingStopped`, `RenderError`.
    public func write(_ request: PageRequest, observer: SamplingObserver? = nil) throws -> WrittenPageResult {
        let prepared = try prepare(request.text, wrap: request.wrap, literalNewlines: request.literalNewlines)
        let prime = try prime(for: request.hand)
        var writer = pageWriter(request)
        writer.observer = observer
        let page = try writer.write(prepared.lines, seed: request.seed, prime: prime)
        let options = Self.pageOptions(lineHeight: request.lineHeight, style: request.style,
                                       pixelScale: request.pixelScale, letterHeight: page.letterHeight)
        return WrittenPageResult(prepared: prepared, page: page, options: options,
                                 placed: try Self.place(page, options: options, what: "the page"))
    }
}
