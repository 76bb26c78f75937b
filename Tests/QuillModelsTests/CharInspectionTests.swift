import Foundation
import QuillData
import QuillNN
import QuillNumerics
import XCTest
@testable import QuillModels

/// The inspection path of issue 16 (`quill char typo`, `quill char saturation`): activations as the plain forward pass
/// computes them, the typo distance, the saturation fractions and the refusals.
final class CharInspectionTests: XCTestCase {
    func model(_ cell: CellKind = .lstm, layers: Int = 2) -> (CharModel<Float>, Alphabet) {
        let alphabet = Alphabet(text: "abcdefgh ")
        var rng = SeededGenerator(seed: 4)
        return (CharModel<Float>(config: CharModelConfig(cell: cell, layers: layers, hidden: 6, vocabularySize: alphabet.count),
                                 rng: &rng), alphabet)
    }

    let text = String(repeating: "abc def gha bed ", count: 12)

    func testTracedStatesAreThoseOfOnePlainForwardPass() {
        let (m, alphabet) = model()
        let tokens = alphabet.encode(text)
        // One forward pass over the whole text, batch 1.
        let ws = m.makeWorkspace(steps: tokens.count, batch: 1)
        ws.resetState()
        var rng = SeededGenerator(seed: 0)
        m.forward(tokens, ws, dropout: 0, rng: &rng)
        var checked = 0
        // Traced in chunks of 7 steps with the state carried: the same h, c and gates at every step.
        CharInspection.trace(m, rows: [tokens], chunk: 7) { t, step in
            let lws = ws.stack!.layers[step.layer]
            let h = Array(step.h(0)), expected = Array(UnsafeBufferPointer(start: lws.hStep(t + 1), count: 6))
            for (a, b) in zip(h, expected) { XCTAssertEqual(a, b, accuracy: 1e-6) }
            let c = Array(step.c(0)!), ce = Array(UnsafeBufferPointer(start: lws.c!.ptr + (t + 1) * 6, count: 6))
            for (a, b) in zip(c, ce) { XCTAssertEqual(a, b, accuracy: 1e-6) }
            let g = Array(step.gates(0)), ge = Array(UnsafeBufferPointer(start: lws.pre.ptr + t * 24, count: 24))
            for (a, b) in zip(g, ge) { XCTAssertEqual(a, b, accuracy: 1e-6) }
            checked += 1
        }
        XCTAssertEqual(checked, 2 * tokens.count)
    }

    func testTheTypoDistanceIsZeroBeforeTheTypoAndNotAfter() throws {
        for cell in [CellKind.lstm, .gru, .rnn] {
            let (m, alphabet) = model(cell)
            let d = try CharInspection.typoDistances(m, alphabet: alphabet, text: text, position: 40, replacement: "h")
            XCTAssertEqual(d.count, 2)
            for layer in d {
                XCTAssertEqual(Array(layer[..<40]), [Double](repeating: 0, count: 40), "\(cell)")
                XCTAssertTrue(layer[40...].prefix(3).allSatisfy { $0 > 0 }, "\(cell): \(layer[40...].prefix(3))")
            }
        }
        let (m, alphabet) = model()
        XCTAssertThrowsError(try CharInspection.typoDistances(m, alphabet: alphabet, text: text, position: text.count,
                                                              replacement: "h")) {
            XCTAssertTrue("\($0)".contains("outside the text"), "\($0)")
        }
        XCTAssertThrowsError(try CharInspection.typoDistances(m, alphabet: alphabet, text: text, position: 0, replacement: "a")) {
            XCTAssertTrue("\($0)".contains("already at position 0"), "\($0)")
        }
        XCTAssertThrowsError(try CharInspection.typoDistances(m, alphabet: alphabet, text: "ab☃", position: 0, replacement: "c")) {
            XCTAssertTrue("\($0)".contains("'☃'"), "\($0)")
        }
    }

    func testSaturationFractionsCountTheGatesBeyondTheThresholds() throws {
        let (m, alphabet) = model(.lstm, layers: 1)
        // Force the forget gate open (bias +20) and the output gate shut (bias −20): every step saturates them.
        let b = m.stack!.layers[0].bias.value
        for j in 0..<6 { b[6 + j] = 20; b[18 + j] = -20 }
        let s = try CharInspection.saturation(m, alphabet: alphabet, text: text)
        XCTAssertEqual(s.map(\.gate), ["input", "forget", "output"])
        XCTAssertEqual(s[1].right, [Double](repeating: 1, count: 6))
        XCTAssertEqual(s[1].left, [Double](repeating: 0, count: 6))
        XCTAssertEqual(s[2].left, [Double](repeating: 1, count: 6))
        for e in s { for (l, r) in zip(e.left, e.right) { XCTAssertTrue(l >= 0 && r >= 0 && l + r <= 1) } }
        XCTAssertEqual(try CharInspection.saturation(model(.gru).0, alphabet: alphabet, text: text).map(\.gate),
                       ["reset", "update", "reset", "update"])
        XCTAssertThrowsError(try CharInspection.saturation(model(.rnn).0, alphabet: alphabet, text: text)) {
            XCTAssertTrue("\($0)".contains("has no gates"), "\($0)")
        }
    }
}

/// `quill char cells` (issue 16 item 1): per-unit values recorded through the inspection path, the text features and
/// the Pearson ranking.
final class CharCellsTests: XCTestCase {
    let text = String(repeating: "abc def gha bed \n", count: 9)

    /// Every value of every unit, for layers asked in reverse order, equals the plain forward pass's workspace.
    func testUnitValuesAreThoseOfOnePlainForwardPass() throws {
        for cell in [CellKind.lstm, .gru, .rnn] {
            let alphabet = Alphabet(text: "abcdefgh \n")
            var rng = SeededGenerator(seed: 9)
            let m = CharModel<Float>(config: CharModelConfig(cell: cell, layers: 2, hidden: 5, vocabularySize: alphabet.count),
                                     rng: &rng)
            let tokens = alphabet.encode(text)
            let ws = m.makeWorkspace(steps: tokens.count, batch: 1)
            ws.resetState()
            var frng = SeededGenerator(seed: 0)
            m.forward(tokens, ws, dropout: 0, rng: &frng)
            let H = 5, G = cell.gateCount * H
            for value in CharInspection.CellValue.available(for: cell) {
                let got = try CharInspection.unitValues(m, alphabet: alphabet, text: text, layers: [1, 0], value: value)
                XCTAssertEqual(got.count, 2)
                for (k, l) in [1, 0].enumerated() {
                    let lws = ws.stack!.layers[l]
                    for t in 0..<tokens.count {
                        for j in 0..<H {
                            let expected: Float
                            switch value {
                            case .cell: expected = lws.c!.ptr[(t + 1) * H + j]
                            case .hidden: expected = lws.hStep(t + 1)[j]
                            default:
                                let block = ["input": 0, "forget": 1, "output": 3, "reset": 0, "update": 1,
                                             "candidate": 2][value.rawValue]!
                                expected = lws.pre.ptr[t * G + block * H + j]
                            }
                            XCTAssertEqual(got[k][j][t], expected, accuracy: 1e-6, "\(cell) \(value) layer \(l) unit \(j) step \(t)")
                        }
                    }
                }
            }
        }
    }

    func testUnitsLayersAndValuesThatDontExistAreRefused() {
        let alphabet = Alphabet(text: "abcdefgh \n")
        var rng = SeededGenerator(seed: 9)
        let m = CharModel<Float>(config: CharModelConfig(cell: .gru, layers: 2, hidden: 5, vocabularySize: alphabet.count),
                                 rng: &rng)
        let c = m.config
        XCTAssertThrowsError(try CharInspection.checkUnit(c, layer: 2, unit: nil, value: .hidden)) {
            XCTAssertEqual("\($0)", "--layer 3 doesn't exist: the model has 2 layers (1…2)")
        }
        XCTAssertThrowsError(try CharInspection.checkUnit(c, layer: 0, unit: 5, value: .hidden)) {
            XCTAssertEqual("\($0)", "--unit 5 doesn't exist: each layer has 5 units (0…4)")
        }
        XCTAssertThrowsError(try CharInspection.checkUnit(c, layer: 0, unit: 4, value: .cell)) {
            XCTAssertTrue("\($0)".contains("a gru layer has no such value; choose hidden, reset, update, candidate"), "\($0)")
        }
        XCTAssertNoThrow(try CharInspection.checkUnit(c, layer: 1, unit: 4, value: .update))
        XCTAssertThrowsError(try CharInspection.unitValues(m, alphabet: alphabet, text: "ab☃", layers: [0], value: .hidden)) {
            XCTAssertTrue("\($0)".contains("'☃'"), "\($0)")
        }
        XCTAssertThrowsError(try CharInspection.unitValues(m, alphabet: alphabet, text: "", layers: [0], value: .hidden)) {
            XCTAssertTrue("\($0)".contains("empty"), "\($0)")
        }
    }

    /// The four features on a small text, worked out by hand.
    func testFeaturesOnASmallTextByHand() {
        let chars = Array("a \"b(c\"\n)d(e)\nf“g”")
        //              a  ␣  "  b  (  c  "  ↵  )  d  (  e  )  ↵  f  “  g  ”
        XCTAssertEqual(TextFeature.insideQuotes.values(chars),
                       [0, 0, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 0])
        XCTAssertEqual(TextFeature.insideParentheses.values(chars),
                       [0, 0, 0, 0, 1, 1, 1, 1, 0, 0, 1, 1, 0, 0, 0, 0, 0, 0])
        XCTAssertEqual(TextFeature.positionInLine.values(chars),
                       [0, 1, 2, 3, 4, 5, 6, 7, 0, 1, 2, 3, 4, 5, 0, 1, 2, 3])
        XCTAssertEqual(TextFeature.afterNewline.values(chars),
                       [0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 1, 0, 0, 0])
        // An unmatched ")" does not make depth negative: the "(" after it still opens.
        XCTAssertEqual(TextFeature.insideParentheses.values(Array("))(a")), [0, 0, 1, 1])
        XCTAssertEqual(TextFeature.afterNewline.values(Array("\n\na")), [0, 1, 1])
    }

    func testPearsonOnKnownValues() throws {
        // Means 2.5 and 5; centred sums Sxy = 11, Sxx = 5, Syy = 26.
        XCTAssertEqual(try XCTUnwrap(CharInspection.pearson([1, 2, 3, 4], [2, 4, 5, 9])), 11 / 130.0.squareRoot(),
                       accuracy: 1e-12)
        XCTAssertEqual(try XCTUnwrap(CharInspection.pearson([1, 2, 3, 4], [8, 6, 4, 2])), -1, accuracy: 1e-12)
        XCTAssertNil(CharInspection.pearson([1, 1, 1], [1, 2, 3]))
        XCTAssertNil(CharInspection.pearson([1, 2, 3], [0, 0, 0]))
        XCTAssertNil(CharInspection.pearson([1], [1]))
    }

    /// A unit forced to equal the quote indicator (scaled and shifted) ranks first with r = 1, ahead of a noisy
    /// negated copy, random units and a constant one.
    func testRankingPutsAUnitThatIsTheQuoteIndicatorFirst() {
        let chars = Array(String(repeating: "say \"hello there\" and (go) now\n", count: 8))
        let quotes = TextFeature.insideQuotes.values(chars)
        var rng = SeededGenerator(seed: 3)
        func noise() -> Float { Float(rng.next() % 1000) / 1000 - 0.5 }
        var layer0 = (0..<6).map { _ in chars.indices.map { _ in noise() } }
        var layer1 = (0..<6).map { _ in chars.indices.map { _ in noise() } }
        layer1[4] = quotes.map { Float($0) * 0.7 - 0.2 }
        layer0[2] = quotes.map { -Float($0) + 0.3 * noise() }
        layer0[5] = [Float](repeating: 0.25, count: chars.count)
        let ranked = CharInspection.rankUnits([layer0, layer1], layers: [0, 1], feature: quotes, top: 3)
        XCTAssertEqual(ranked.count, 3)
        XCTAssertEqual(ranked[0].layer, 1)
        XCTAssertEqual(ranked[0].unit, 4)
        XCTAssertEqual(ranked[0].r, 1, accuracy: 1e-9)
        XCTAssertEqual(ranked[1].layer, 0)
        XCTAssertEqual(ranked[1].unit, 2)
        XCTAssertLessThan(ranked[1].r, -0.8)
        XCTAssertGreaterThan(ranked[1].r, -1 + 1e-6)
        XCTAssertLessThan(abs(ranked[2].r), abs(ranked[1].r))
        // The constant unit is never ranked; a feature constant over the text ranks nothing.
        let all = CharInspection.rankUnits([layer0, layer1], layers: [0, 1], feature: quotes, top: 100)
        XCTAssertEqual(all.count, 11)
        XCTAssertFalse(all.contains { $0.layer == 0 && $0.unit == 5 })
        XCTAssertEqual(CharInspection.rankUnits([layer0], layers: [0], feature: [Double](repeating: 0, count: chars.count),
                                                top: 5), [])
        // The layer numbers reported are those given.
        XCTAssertEqual(CharInspection.rankUnits([layer1], layers: [7], feature: quotes, top: 1).first?.layer, 7)
        // The most variable units of a layer, largest standard deviation first.
        XCTAssertEqual(CharInspection.mostVariable([[0, 0, 0], [0, 2, 0], [0, 1, 0]], top: 2), [1, 2])
    }
}

/// Model similarity (`quill char similarity`): the probabilities are the plain forward pass's softmax, models with
/// different vocabularies compare symbol by symbol, and the maps have a point per model or character.
final class CharSimilarityTests: XCTestCase {
    func model(_ cell: CellKind, seed: UInt64, text: String = "abcdefgh ") -> CharSimilarity.Model {
        let alphabet = Alphabet(text: text)
        var rng = SeededGenerator(seed: seed)
        let m = CharModel<Float>(config: CharModelConfig(cell: cell, layers: 1, hidden: 8, vocabularySize: alphabet.count),
                                 rng: &rng)
        return CharSimilarity.Model(name: "\(cell.rawValue)-\(seed)", model: m, alphabet: alphabet)
    }

    let text = String(repeating: "abc def gha bed ", count: 4)

    func testProbabilitiesAreTheSoftmaxOfOnePlainForwardPass() throws {
        let m = model(.lstm, seed: 1)
        let rows = try CharSimilarity.probabilities(m.model, alphabet: m.alphabet, text: text)
        let tokens = m.alphabet.encode(text)
        let ws = m.model.makeWorkspace(steps: tokens.count, batch: 1)
        ws.resetState()
        var rng = SeededGenerator(seed: 0)
        m.model.forward(tokens, ws, dropout: 0, rng: &rng)
        let V = m.alphabet.count
        XCTAssertEqual(rows.count, tokens.count)
        for t in [0, 17, tokens.count - 1] {
            let z = (0..<V).map { Double(ws.logits.ptr[t * V + $0]) }
            let s = z.map { exp($0) }.reduce(0, +)
            for k in 0..<V { XCTAssertEqual(rows[t][k], exp(z[k]) / s, accuracy: 1e-6) }
            XCTAssertEqual(rows[t].reduce(0, +), 1, accuracy: 1e-12)
        }
    }

    func testVocabulariesAreAlignedBySymbol() throws {
        let a = model(.lstm, seed: 1), b = model(.gru, seed: 2, text: " hgfedcbaxyz")
        let v = try CharSimilarity.probabilityVectors([a, b], text: text)
        let union = 12   // a's 9 symbols, then x, y, z
        XCTAssertEqual(v[0].count, text.count * union)
        XCTAssertEqual(v[1].count, text.count * union)
        let pb = try CharSimilarity.probabilities(b.model, alphabet: b.alphabet, text: text)
        // b's probability of "a" sits in the union's slot of "a", wherever b's own vocabulary puts it.
        let slotA = a.alphabet.symbols.firstIndex(of: "a")!, ownA = b.alphabet.symbols.firstIndex(of: "a")!
        XCTAssertEqual(v[1][3 * union + slotA], pb[3][ownA])
        // a has no "x": 0 in its vector.
        XCTAssertEqual(v[0][3 * union + 9], 0)
        XCTAssertThrowsError(try CharSimilarity.probabilityVectors([a, b], text: "abc xyz")) {
            XCTAssertTrue("\($0)".contains("lstm-1") && "\($0)".contains("x"), "\($0)")
        }
    }

    func testMapsHaveAPointPerModelOrCharacter() throws {
        let models = [model(.lstm, seed: 1), model(.lstm, seed: 2), model(.gru, seed: 3), model(.rnn, seed: 4)]
        let map = try CharSimilarity.modelMap(models, text: text, options: TSNE.Options(perplexity: 1.5, iterations: 300))
        XCTAssertEqual(map.points.map(\.label), ["lstm-1", "lstm-2", "gru-3", "rnn-4"])
        XCTAssertEqual(map.points.map(\.category), ["lstm", "lstm", "gru", "rnn"])
        let states = try CharSimilarity.stateMap(models[0].model, alphabet: models[0].alphabet, text: text, layer: 0,
                                                 options: TSNE.Options(perplexity: 5, iterations: 300))
        XCTAssertEqual(states.points.count, text.count - 1)
        XCTAssertEqual(states.points[0].label, "b")
        XCTAssertEqual(states.points[2].category, "space")
        XCTAssertThrowsError(try CharSimilarity.stateMap(models[0].model, alphabet: models[0].alphabet, text: text, layer: 1,
                                                         options: TSNE.Options(perplexity: 5))) {
            XCTAssertTrue("\($0)".contains("has 1 layer"), "\($0)")
        }
        XCTAssertThrowsError(try CharSimilarity.modelMap(Array(models.prefix(3)), text: text, options: TSNE.Options(perplexity: 3))) {
            XCTAssertTrue($0 is TSNE.Failure, "\($0)")
        }
    }
}
