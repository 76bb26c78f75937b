import Foundation
import QuillNumerics

/// Synthetic lines of handwriting from the single-stroke Hershey script fonts, for the characters IAM-OnDB has too
/// few of to learn (it has 4 lines with X, 7 with Z, 1 with `&`, 43 with the digit 8): not real handwriting, but pen
/// trajectories with the letter height, point spacing and stroke structure of the real data they are mixed with.
///
/// A line is laid out glyph by glyph (letters that meet are joined into one stroke, as the script fonts are drawn to
/// join), given a random slant, slope, width and letter size, bent by smooth random displacements, then resampled along
/// its strokes at the point spacing of a real line and scaled to that line's letter height (`StrokeGeometry.letterHeight`),
/// so its offsets have the statistics of the data, points `spacingFactor` farther apart (the tests measure them).
public enum SyntheticLines {
    /// What a synthetic line imitates: one real line's letter height and its median distance between consecutive
    /// points of a stroke, in the data's raw units.
    public struct Target: Sendable, Equatable {
        public var letterHeight: Double
        public var pointSpacing: Double

        public init(letterHeight: Double, pointSpacing: Double) {
            self.letterHeight = letterHeight
            self.pointSpacing = pointSpacing
        }

        /// The target of each usable sample (a letter height and a spacing above zero): the distribution synthetic
        /// lines draw from.
        public static func measure(_ samples: [HandwritingSample]) -> [Target] {
            samples.compactMap { s in
                var d = [Double]()
                d.reserveCapacity(s.pointCount)
                for r in s.strokeRanges where r.count > 1 {
                    for i in r.dropFirst() { d.append(hypot(s.x[i] - s.x[i - 1], s.y[i] - s.y[i - 1])) }
                }
                guard !d.isEmpty else { return nil }
                d.sort()
                let h = StrokeGeometry.letterHeight(s), spacing = d[d.count / 2]
                return h > 0 && spacing > 0 && h.isFinite && spacing.isFinite ? Target(letterHeight: h, pointSpacing: spacing) : nil
            }
        }
    }

    /// How much farther apart a synthetic line's points are than its target's. At the same letter height and width
    /// per character, the script fonts' letters run longer paths than IAM-OnDB's writers (measured on 2,000 lines:
    /// 29.6 points a character at the real spacing against 21.4 in the real lines); 1.2 splits the difference
    /// between matching the offsets' length and matching the points per character (the window's pace).
    public static let spacingFactor = 1.2

    /// Why `text` cannot be written in `font`, or nil: the characters it lacks.
    public static func problem(_ text: String, font: HersheyFont) -> String? {
        let missing = Set(text.filter { $0 != " " && font.glyphs[$0] == nil })
        return missing.isEmpty ? nil
            : "font '\(font.id)' has no glyph for \(missing.sorted().map { TextPreparation.shown($0) }.joined(separator: ", "))"
    }

    /// One line of `text` in `font` imitating `target`, drawn with `rng`. Coordinates in raw units, y down, the line
    /// starting near x = 0 on the baseline y ≈ 0. `shear`, when given, is the slant (x moves `shear` units per unit
    /// of height above the baseline) in place of a random one; the random draws are the same either way.
    /// - Precondition: `problem(text, font:)` is nil and `text` has a character other than space.
    ///
    /// `heightOf`, when given, is the text whose letter height (in this font, drawn like `text`) scales the line, in
    /// place of `text` itself: a phrase of digits or capitals alone has no small letters to measure.
    public static func line(_ text: String, font: HersheyFont, target: Target, shear fixedShear: Double? = nil,
                            heightOf reference: String? = nil, rng: inout SeededGenerator) -> [Stroke] {
        // Layout in font units: glyphs side by side; a glyph that starts where the previous ended continues its stroke.
        var strokes = [Stroke]()
        var x = 0.0
        var joinable = false
        for c in text {
            guard c != " ", let g = font.glyphs[c] else {
                x += 9 + 3 * rng.uniform()
                joinable = false
                continue
            }
            let scale = 0.94 + 0.12 * rng.uniform(), dy = 0.6 * rng.normal()
            let placed = g.strokes.map { s in s.map { Point(x: x + $0.x * scale, y: 22 + ($0.y - 22) * scale + dy) } }
            for (k, s) in placed.enumerated() {
                if k == 0, joinable, let end = strokes.last?.last, let start = s.first,
                   hypot(end.x - start.x, end.y - start.y) < 2.5 {
                    strokes[strokes.count - 1] += s.dropFirst()
                } else {
                    strokes.append(s)
                }
            }
            x += g.advance * scale + 1.2 * rng.uniform() - 0.2
            joinable = true
        }
        // The line's hand: slant (shear about the baseline), slope, width.
        let drawnShear = 0.12 * rng.normal(), angle = 0.025 * rng.normal(), widen = 0.9 + 0.25 * rng.uniform()
        let shear = fixedShear ?? drawnShear
        let (ca, sa) = (cos(angle), sin(angle))
        // Smooth displacements: a few sinusoids along x, amplitude a few percent of a letter.
        let waves = (0..<3).map { _ in (k: 0.05 + 0.25 * rng.uniform(), phase: 2 * Double.pi * rng.uniform(),
                                        ax: 0.35 * rng.normal(), ay: 0.35 * rng.normal()) }
        strokes = strokes.map { s in
            s.map { p in
                var q = Point(x: (p.x - shear * (p.y - 22)) * widen, y: p.y - 22)
                for w in waves {
                    let v = sin(w.k * p.x + w.phase)
                    q.x += w.ax * v
                    q.y += w.ay * v
                }
                return Point(x: ca * q.x - sa * q.y, y: sa * q.x + ca * q.y)
            }
        }
        // Scale to the target's letter height, measured on a dense resampling (letterHeight reads point quantiles).
        let h = reference.map { referenceHeight($0, font: font) }
            ?? StrokeGeometry.letterHeight(HandwritingSample(id: "", strokes: strokes.map { resample($0, spacing: 0.5) }))
        let sigma = h > 0 ? target.letterHeight / h : target.letterHeight / 9
        let spacing = spacingFactor * target.pointSpacing / sigma * (0.9 + 0.2 * rng.uniform())
        return strokes.map { s in
            resample(s, spacing: spacing).map { p in
                // Sensor noise: a tenth of the spacing.
                Point(x: (p.x + 0.1 * spacing * rng.normal()) * sigma, y: (p.y + 0.1 * spacing * rng.normal()) * sigma)
            }
        }
    }

    /// The letter height of `text` laid out plainly in `font` (font units, no slant, size jitter or bending).
    static func referenceHeight(_ text: String, font: HersheyFont) -> Double {
        var strokes = [Stroke]()
        var x = 0.0
        for c in text {
            guard c != " ", let g = font.glyphs[c] else { x += 10; continue }
            strokes += g.strokes.map { s in resample(s.map { Point(x: x + $0.x, y: $0.y) }, spacing: 0.5) }
            x += g.advance
        }
        return StrokeGeometry.letterHeight(HandwritingSample(id: "", strokes: strokes))
    }

    /// Points every `spacing` along a polyline (its first and last points kept); a polyline shorter than the
    /// spacing keeps its ends (one point when they coincide).
    public static func resample(_ s: Stroke, spacing: Double) -> Stroke {
        guard let first = s.first, spacing > 0 else { return s }
        var out = [first]
        var carried = 0.0  // distance along the polyline since the last output point
        for (a, b) in zip(s, s.dropFirst()) {
            let len = hypot(b.x - a.x, b.y - a.y)
            guard len > 0 else { continue }
            var t = spacing - carried
            while t <= len {
                out.append(Point(x: a.x + (b.x - a.x) * t / len, y: a.y + (b.y - a.y) * t / len))
                t += spacing
            }
            carried = len - (t - spacing)
        }
        if let last = s.last, let end = out.last, hypot(last.x - end.x, last.y - end.y) > 0.25 * spacing { out.append(last) }
        return out
    }
}

/// Seeded lines of text rich in what IAM-OnDB lacks (digits in dates, prices, times and phone-like numbers;
/// capitals, all-caps words, X and Z; the symbols `. , ; : ! ? ' " - ( ) / & + @ = # % [ ]`), built around
/// words of the real training transcriptions.
public enum SyntheticText {
    /// Names and words with X and Z, which IAM-OnDB almost never has.
    static let xzWords = ["Xavier", "Zurich", "Zoe", "Xerxes", "Zanzibar", "Xenia", "Zeus", "Zebra", "Xylophone",
                          "Zagreb", "Zeno", "XYZ", "Zone", "Zero", "Zinc", "Zoo", "Xmas", "Zambia", "Zola", "Xander"]
    static let months = ["January", "February", "March", "April", "May", "June", "July", "August", "September",
                         "October", "November", "December"]

    /// `count` lines of 20…60 characters, drawn with `seed` from the templates below and `words` (real words:
    /// letters only, capitalised ones kept as they are).
    /// - Precondition: `words` is not empty.
    /// - Parameter allCapsShare: the share of phrases (0…1) that are all-caps (`allCapsPhrase`), the rest drawn
    ///   from the usual mix, which has its own all-caps words (one phrase in ten); nil keeps the usual mix and
    ///   draws exactly as before the option existed, so an import without it gives the same bytes.
    /// - Parameter speechShare: the share of phrases (0…1) that are quoted speech (`speechPhrase`); with
    ///   `allCapsShare`, the two shares add up to at most 1. nil, with `allCapsShare` nil too, draws exactly as
    ///   before either option existed.
    public static func lines(count: Int, words: [String], seed: UInt64, allCapsShare: Double? = nil,
                             speechShare: Double? = nil) -> [String] {
        var rng = SeededGenerator(seed: seed)
        return (0..<count).map { _ in line(words: words, rng: &rng, allCapsShare: allCapsShare, speechShare: speechShare) }
    }

    static func pick<T>(_ a: [T], _ rng: inout SeededGenerator) -> T { a[Int(rng.next() % UInt64(a.count))] }

    static func number(_ digits: Int, _ rng: inout SeededGenerator) -> String {
        (0..<digits).map { _ in String(rng.next() % 10) }.joined()
    }

    /// One phrase with digits, capitals or symbols; with `allCapsShare`, that share of phrases is
    /// `allCapsPhrase`, and with `speechShare`, that share `speechPhrase` (at the cost of one more draw from
    /// `rng` per phrase when either is given).
    static func phrase(words: [String], rng: inout SeededGenerator, allCapsShare: Double? = nil,
                       speechShare: Double? = nil) -> String {
        if allCapsShare != nil || speechShare != nil {
            let u = rng.uniform(), caps = allCapsShare ?? 0
            if u < caps { return allCapsPhrase(words: words, rng: &rng) }
            if u < caps + (speechShare ?? 0) { return speechPhrase(words: words, rng: &rng) }
        }
        func w() -> String { pick(words, &rng) }
        func n(_ k: Int) -> String { number(k, &rng) }
        switch rng.next() % 20 {
        case 0: return "\(1 + rng.next() % 28) \(pick(months, &rng)) \(1700 + rng.next() % 330)"
        case 1: return "\(n(2))/\(n(2))/\(n(4))"
        case 2: return "\(1 + rng.next() % 12):\(n(2))"
        case 3: return "\(n(3))-\(n(4))"
        case 4: return "(\(n(3))) \(n(3)) \(n(4))"
        case 5: return "\(n(1 + Int(rng.next() % 3))).\(n(2))"
        case 6: return "\(n(1 + Int(rng.next() % 2)))%"
        case 7: return "No. \(n(1 + Int(rng.next() % 4)))"
        case 8: return "#\(n(1 + Int(rng.next() % 3)))"
        case 9: return w().uppercased()
        case 10: return "\(w().uppercased()) \(w().uppercased())"
        case 11: return pick(xzWords, &rng)
        case 12: return "\(w().capitalized) & \(w().capitalized)"
        case 13: return "\(n(1)) + \(n(1)) = \(n(2))"
        case 14: return "\(w().lowercased())@\(w().lowercased())"
        case 15: return "[\(w())]"
        case 16: return "\"\(w()) \(w())\""
        case 17: return "\(w())/\(w())"
        case 18: return "(\(w()) \(n(2)))"
        default: return "\(w().capitalized)'s \(w()); \(w())!"
        }
    }

    /// An all-caps phrase: one word upper-cased (half the time), two (three in ten) or an initialism of two to
    /// four capitals, any of A–Z and repeats allowed ("XYZ", "BBC", "QEE"), two in ten.
    static func allCapsPhrase(words: [String], rng: inout SeededGenerator) -> String {
        switch rng.next() % 10 {
        case 0..<5: return pick(words, &rng).uppercased()
        case 5..<8: return "\(pick(words, &rng).uppercased()) \(pick(words, &rng).uppercased())"
        default:
            let letters = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZ")
            return String((0..<(2 + Int(rng.next() % 3))).map { _ in pick(letters, &rng) })
        }
    }

    /// Words that open speech in novels, for the capital W that IAM-OnDB's writers rarely give.
    static let speechOpeners = ["Well", "When", "What", "Why", "Who", "Where", "Which", "While", "With", "We",
                                "Was", "Would", "Will", "Were", "Watson", "Wait", "Words", "Why not", "Yes", "No"]
    static let speechTags = ["said I", "said he", "said she", "he said", "she cried", "I answered", "said Holmes",
                             "he asked", "I said", "she said"]

    /// A phrase of quoted speech as novels print it, in double or single quotes or single quotes inside double
    /// ones: an opening word (half the time one of `speechOpeners`, most of them with a capital W), a real word or
    /// two, punctuation inside the closing quote, and half the time a speech tag ("'Well,' said I", "\"'What
    /// now?'", "\"Why?\" he asked").
    static func speechPhrase(words: [String], rng: inout SeededGenerator) -> String {
        let opener = rng.uniform() < 0.5 ? pick(speechOpeners, &rng) : pick(words, &rng).capitalized
        var body = opener
        for _ in 0..<Int(rng.next() % 3) { body += " " + pick(words, &rng).lowercased() }
        body += pick([",", ",", "?", "!", ".", ""], &rng)
        let (open, close): (String, String)
        switch rng.next() % 6 {
        case 0, 1, 2: (open, close) = ("\"", "\"")
        case 3, 4: (open, close) = ("'", "'")
        default: (open, close) = rng.uniform() < 0.5 ? ("\"'", "'") : ("'", "'\"")
        }
        var text = open + body + close
        if rng.uniform() < 0.5 { text += " " + pick(speechTags, &rng) + pick([".", ",", ";", ""], &rng) }
        return text
    }

    static func line(words: [String], rng: inout SeededGenerator, allCapsShare: Double? = nil,
                     speechShare: Double? = nil) -> String {
        let target = 20 + Int(rng.next() % 41)
        var parts = [String]()
        var length = 0
        while length < target {
            let part = rng.uniform() < 0.45 ? phrase(words: words, rng: &rng, allCapsShare: allCapsShare,
                                                     speechShare: speechShare)
                                            : pick(words, &rng)
            if length + part.count + 1 > 60 && length >= 20 { break }
            if part.count > 60 { continue }
            parts.append(part)
            length += part.count + (parts.count > 1 ? 1 : 0)
        }
        var text = parts.joined(separator: " ")
        if rng.uniform() < 0.5 { text += pick([".", "?", "!", ":", ",", ";"], &rng) }
        return String(text.prefix(60))
    }
}

/// Real lines with synthetic phrases around them (`quill data import … --mixed-lines N --hershey FILE`): a real
/// training line keeps its strokes, and a phrase of digits, capitals or symbols (`SyntheticText.phrase`) written in
/// a Hershey script font is set before it, after it, or both, at the real line's letter height, point spacing, slant
/// and midline, one word gap away. Whole synthetic lines teach the glyphs in the fonts' own hand; these teach them
/// inside a real writer's line, where the network otherwise has never seen a digit and scribbles.
public enum MixedLines {
    /// Where the phrases go.
    public enum Placement: CaseIterable, Sendable { case before, after, both }

    /// The gap between a phrase and the real line, in letter heights (IAM-OnDB's word gaps are about one).
    public static let gap = 1.0

    /// The text whose letter height in the font sets a phrase's size: words with a capital and digits, like the
    /// whole synthetic lines, so digits and capitals stand as tall beside the real line's small letters as they do
    /// in those lines (whose own text sets their size).
    public static let heightReference = "Meet me at 7:45 on 12 March by the old mill"

    /// Whether `line` can set phrases around `real`: it has a letter height and a point spacing, and its fitted
    /// line slopes less than `StrokeGeometry.maxLevellingDegrees`.
    public static func usable(_ real: HandwritingSample) -> Bool { measured(real) != nil }

    /// What `line` needs of `real`, measured once: its target and fitted line; nil when it is not usable.
    static func measured(_ real: HandwritingSample)
        -> (target: SyntheticLines.Target, fit: (slope: Double, intercept: Double))? {
        guard real.pointCount > 1, let target = SyntheticLines.Target.measure([real]).first else { return nil }
        let fit = StrokeGeometry.fittedLine(real)
        guard fit.slope.isFinite, fit.intercept.isFinite,
              abs(atan(fit.slope)) <= StrokeGeometry.maxLevellingDegrees * .pi / 180 else { return nil }
        return (target, fit)
    }

    /// `real` with `before` and/or `after` written in `font` around it, or nil when `real` is not `usable`. The
    /// phrases' baselines follow the real line's fitted line, their midlines its midline; the text joins the parts
    /// with single spaces.
    /// - Precondition: the phrases are writable in `font` (`SyntheticLines.problem` is nil) and `real` has a text.
    public static func line(_ real: HandwritingSample, before: String?, after: String?, font: HersheyFont,
                            rng: inout SeededGenerator) -> (strokes: [Stroke], text: String)? {
        guard let (target, fit) = measured(real), let minX = real.x.min(), let maxX = real.x.max() else { return nil }
        // The real midline relative to the fitted line (the fit runs through the letters' middle, not exactly).
        let offsets = (0..<real.pointCount).map { real.y[$0] - fit.intercept - fit.slope * real.x[$0] }.sorted()
        let midOffset = offsets[offsets.count / 2]
        // The writer's slant, in the fonts' sign: a right-leaning hand moves x up as y goes down.
        let shear = max(-0.6, min(0.6, -StrokeGeometry.estimateSlant(real)))
        let space = gap * target.letterHeight
        func phrase(_ text: String, rightEdge: Double?, leftEdge: Double?) -> [Stroke] {
            let drawn = SyntheticLines.line(text, font: font, target: target, shear: shear, heightOf: heightReference,
                                            rng: &rng).filter { !$0.isEmpty }
            let sample = HandwritingSample(id: "", strokes: drawn)
            guard let dMin = sample.x.min(), let dMax = sample.x.max() else { return [] }
            let dx = leftEdge.map { $0 - dMin } ?? ((rightEdge ?? 0) - dMax)
            let xMid = (dMin + dMax) / 2 + dx
            // A phrase is short and about level: its midline is its points' median y.
            let dy = fit.intercept + fit.slope * xMid + midOffset - StrokeGeometry.band(ofLevel: sample).midline
            return drawn.map { $0.map { Point(x: $0.x + dx, y: $0.y + dy) } }
        }
        var strokes = [Stroke]()
        var parts = [String]()
        if let before, before.contains(where: { $0 != " " }) {
            strokes += phrase(before, rightEdge: minX - space, leftEdge: nil)
            parts.append(before)
        }
        strokes += real.strokes
        parts.append(real.text ?? "")
        if let after, after.contains(where: { $0 != " " }) {
            strokes += phrase(after, rightEdge: nil, leftEdge: maxX + space)
            parts.append(after)
        }
        return (strokes, parts.joined(separator: " "))
    }
}

/// Synthetic lines mixed into an import (`quill data import … --synthetic-lines N --hershey FILE`).
public struct SyntheticMix: Sendable, Equatable {
    /// The `hersheytext.json` file.
    public var fontFile: String
    /// How many synthetic lines to add to the training split.
    public var lines: Int
    /// How many real training lines to add again with synthetic phrases around them (`MixedLines`).
    public var mixedLines: Int
    public var seed: UInt64
    /// The fonts, used in turn.
    public var fonts: [String]
    /// The share of phrases (0…1) that are all-caps, in synthetic and mixed lines alike
    /// (`SyntheticText.allCapsPhrase`); nil: the usual mix, as imports made before the option.
    public var allCapsShare: Double?
    /// The share of phrases (0…1) that are quoted speech (`SyntheticText.speechPhrase`); with `allCapsShare`, at
    /// most 1 together; nil: none beyond the usual mix's quoted pairs of words.
    public var speechShare: Double?

    /// At most this many synthetic or mixed lines (10,000 take about 0.6 GB while importing).
    public static let maximumLines = 100_000

    public init(fontFile: String, lines: Int, mixedLines: Int = 0, seed: UInt64 = 1,
                fonts: [String] = HersheyFont.scriptFontIDs, allCapsShare: Double? = nil, speechShare: Double? = nil) {
        self.fontFile = fontFile
        self.lines = lines
        self.mixedLines = mixedLines
        self.seed = seed
        self.fonts = fonts
        self.allCapsShare = allCapsShare
        self.speechShare = speechShare
    }

    /// Adds the synthetic lines to `imported`, all in the training split, after the real samples; in the real
    /// transcriptions, IAM-OnDB's `#` (a word the transcriber could not read) becomes the unknown symbol, so the
    /// scribbles it stands for are not learnt as the glyph `#`. Real lines keep their split.
    /// - Throws: `DatasetError` when the font file or a font can't be read, or when the real data gives nothing to
    ///   imitate (no training line with a transcription, or none with letter-only words).
    public func apply(to imported: inout ImportResult) throws {
        guard lines > 0 || mixedLines > 0 else { return }
        if let allCapsShare, !(0...1).contains(allCapsShare) {
            throw DatasetError.invalidOption("the all-caps share is \(allCapsShare); it is a share, from 0 to 1")
        }
        if let speechShare, !(0...1).contains(speechShare) {
            throw DatasetError.invalidOption("the speech share is \(speechShare); it is a share, from 0 to 1")
        }
        if (allCapsShare ?? 0) + (speechShare ?? 0) > 1 {
            throw DatasetError.invalidOption("the all-caps share and the speech share add up to more than 1 "
                                             + "(\((allCapsShare ?? 0) + (speechShare ?? 0)))")
        }
        if let problem = HersheyFont.problem(withHandwritingFonts: self.fonts) {
            throw DatasetError.invalidOption("Hershey fonts: \(problem)")
        }
        let fonts = try self.fonts.map { try HersheyFont.load(path: fontFile, font: $0) }
        for f in fonts where !f.unusableCharacters.isEmpty {
            let bad = f.unusableCharacters
            throw DatasetError.invalidFont("\(fontFile): font '\(f.id)' has no usable glyph for \(bad.count) of the printable "
                                           + "ASCII characters (\(String(bad.prefix(20)))\(bad.count > 20 ? "…" : ""))")
        }
        for i in imported.samples.indices {
            if let t = imported.samples[i].text, t.contains("#") {
                imported.samples[i].text = t.replacingOccurrences(of: "#", with: String(Character(Alphabet.unknown)))
            }
        }
        guard imported.samples.contains(where: { $0.split != nil }) else {
            throw DatasetError.invalidOption("synthetic lines go into the training split of a dataset whose source splits it "
                                             + "(IAM-OnDB's split, or --train-list and --valid-list)")
        }
        let real = imported.samples.filter { $0.split == .train && !($0.text ?? "").isEmpty }
        let targets = SyntheticLines.Target.measure(real)
        var words = Set<String>()
        for s in real {
            for w in (s.text ?? "").split(separator: " ") where w.count >= 2 && w.allSatisfy({ $0.isASCII && $0.isLetter }) {
                words.insert(String(w))
            }
        }
        let what = lines > 0 ? (mixedLines > 0 ? "synthetic and mixed lines" : "synthetic lines") : "mixed lines"
        guard !real.isEmpty else {
            throw DatasetError.invalidOption("\(what) imitate the training lines, and the training split has none with a transcription")
        }
        guard !targets.isEmpty, !words.isEmpty else {
            throw DatasetError.invalidOption("\(what) imitate the training lines, and none has a transcription with words and usable strokes")
        }
        let wordList = words.sorted()
        try addMixed(to: &imported, real: real, words: wordList, fonts: fonts)
        guard lines > 0 else { return }
        let beforeWhole = imported.samples.count
        let texts = SyntheticText.lines(count: lines, words: wordList, seed: seed, allCapsShare: allCapsShare,
                                        speechShare: speechShare)
        var rng = SeededGenerator(seed: SeededGenerator.derivedSeed(seed, 1))
        for (i, text) in texts.enumerated() {
            let font = fonts[i % fonts.count]
            // Templates use the fonts' printable ASCII only; a word the font lacks a glyph for is left out.
            let writable = text.filter { $0 == " " || font.glyphs[$0] != nil }
            guard writable.contains(where: { $0 != " " }) else { continue }
            let target = targets[Int(rng.next() % UInt64(targets.count))]
            let strokes = SyntheticLines.line(writable, font: font, target: target, rng: &rng).filter { !$0.isEmpty }
            var sample = HandwritingSample(id: "hershey-\(font.id)-\(i + 1)", strokes: strokes, text: writable)
            sample.source = "hershey:\(font.id)"
            sample.writer = "hershey-\(font.id)"
            sample.split = .train
            imported.samples.append(sample)
        }
        imported.notes.append("added \(imported.samples.count - beforeWhole) synthetic lines from the Hershey fonts \(self.fonts.joined(separator: ", ")) "
                              + "to the training split")
    }
}

extension SyntheticMix {
    /// Appends `mixedLines` real training lines (drawn with replacement, by a seed derived from `seed`, so the
    /// whole synthetic lines are the same with or without them) with phrases around them (`MixedLines`). Lines
    /// whose text has the unknown symbol are not used.
    func addMixed(to imported: inout ImportResult, real: [HandwritingSample], words: [String], fonts: [HersheyFont]) throws {
        guard mixedLines > 0 else { return }
        let clean = real.filter { !($0.text ?? "").unicodeScalars.contains(Alphabet.unknown) && MixedLines.usable($0) }
        guard !clean.isEmpty else {
            throw DatasetError.invalidOption("mixed lines need a training line with a transcription without IAM's # "
                                             + "and with strokes to measure (a letter height, a point spacing, a slope under "
                                             + "\(Int(StrokeGeometry.maxLevellingDegrees))°)")
        }
        var rng = SeededGenerator(seed: SeededGenerator.derivedSeed(seed, 2))
        var added = 0
        for i in 0..<mixedLines {
            let base = clean[Int(rng.next() % UInt64(clean.count))]
            let font = fonts[i % fonts.count]
            func writable() -> String {
                let p = SyntheticText.phrase(words: words, rng: &rng, allCapsShare: allCapsShare, speechShare: speechShare)
                return p.filter { $0 == " " || font.glyphs[$0] != nil }.trimmingCharacters(in: .whitespaces)
            }
            let placement = MixedLines.Placement.allCases[Int(rng.next() % 3)]
            let before = placement == .after ? nil : writable()
            let after = placement == .before ? nil : writable()
            guard let mixed = MixedLines.line(base, before: before, after: after, font: font, rng: &rng) else { continue }
            var sample = HandwritingSample(id: "mixed-\(font.id)-\(i + 1)-\(base.id)", strokes: mixed.strokes, text: mixed.text)
            sample.source = "mixed:\(font.id):\(base.id)"
            sample.writer = base.writer
            sample.split = .train
            imported.samples.append(sample)
            added += 1
        }
        imported.notes.append("added \(added) real training lines with phrases in the Hershey fonts \(fonts.map(\.id).joined(separator: ", ")) around them")
    }
}
