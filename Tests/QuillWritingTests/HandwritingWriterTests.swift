import Foundation
import QuillData
import QuillModels
import QuillNN
import QuillNumerics
import QuillRender
import QuillTestSupport
import QuillWriting
import XCTest

/// The pipeline `quill write` and `quill serve` share, on a small untrained model the tests make.
final class HandwritingWriterTests: XCTestCase {
    /// An untrained synthesis model over a small alphabet in `dir/model`, with a style named `styleName` when given.
    static func makeWriter(_ dir: TempDir, styleName: String? = nil) throws -> HandwritingWriter {
        var rng = SeededGenerator(seed: 1)
        let alphabet = try Alphabet(storedSymbols: ["\u{FFFD}", " ", "a", "b", "c", "e", "h", "l", "o", "t", "w", "r", "d"])
        let model = HandwritingModel<Float>(config: HandwritingConfig(kind: .synthesis, layers: 2, hidden: 8,
                                                                       mixture: MixtureDensity(components: 2),
                                                                       alphabetSize: alphabet.count), rng: &rng)
        let out = dir.path("model")
        try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
        let stats = OffsetStatistics(meanDx: 0, meanDy: 0, stdDx: 10, stdDy: 10)
        try HandwritingCheckpoint.save(model, alphabet: alphabet, stats: stats, to: out + "/model.safetensors")
        let loaded = try HandwritingCheckpoint.load(out + "/model.safetensors", expecting: .synthesis)
        let writer = HandwritingWriter(loaded: loaded, directory: out)
        if let styleName {
            var line = writer.sampler.write(["abc"], options: WriteOptions(stepsPerCharacter: 10), seed: 3)[0]
            line.eos[line.eos.count - 1] = true
            try HandwritingStyle(name: styleName, prime: line.prime(text: "abc"), source: "test").save(model: out)
        }
        return writer
    }

    func request(_ text: String, hand: Hand = .modelDefault, record: Bool = false) -> PageRequest {
        var r = PageRequest(text: text)
        r.hand = hand
        r.options = WriteOptions(bias: 1, stepsPerCharacter: 8, finishingSteps: 5, record: record)
        r.tries = 2
        r.seed = 7
        return r
    }

    func testHandsResolveToPrimes() throws {
        let dir = TempDir(); defer { dir.cleanup() }
        let plain = try Self.makeWriter(dir)
        XCTAssertNil(try plain.prime(for: .modelDefault), "no default style: the page's own hand")
        XCTAssertNil(try plain.prime(for: .ownHand))
        XCTAssertThrowsError(try plain.prime(for: .style("neat"))) { error in
            XCTAssertEqual((error as? HandError)?.isUnknownStyle, true)
            XCTAssertTrue("\(error)".contains("unknown style 'neat'") && "\(error)".contains("no styles"), "\(error)")
        }
        let styled = TempDir(); defer { styled.cleanup() }
        let writer = try Self.makeWriter(styled, styleName: HandwritingStyle.defaultName)
        XCTAssertEqual(writer.styles, ["default"])
        let prime = try XCTUnwrap(try writer.prime(for: .modelDefault))
        XCTAssertEqual(prime.text, "abc")
        XCTAssertEqual(try writer.prime(for: .style("default")), prime)
        XCTAssertNil(try writer.prime(for: .ownHand), "own hand ignores the default style")
        XCTAssertThrowsError(try writer.prime(for: .style("../default"))) { XCTAssertEqual(($0 as? HandError)?.isUnknownStyle, true) }
    }

    /// A page comes back laid out: one placed line per prepared line, blank lines blank, every sampled point placed,
    /// and φ and π recorded per point when asked.
    func testWritesAndPlacesAPage() throws {
        let dir = TempDir(); defer { dir.cleanup() }
        let writer = try Self.makeWriter(dir)
        let result = try writer.write(request("abc\n\nhello world", record: true))
        XCTAssertEqual(result.prepared.lines, ["abc", nil, "hello world"])
        XCTAssertEqual(result.placed.lines.count, 3)
        XCTAssertTrue(result.placed.lines[1].isEmpty)
        for i in [0, 2] {
            let generated = try XCTUnwrap(result.page.generated[i])
            XCTAssertEqual(result.placed.lines[i].map(\.count).reduce(0, +), generated.dx.count, "line \(i)")
            XCTAssertEqual(generated.pi.count, generated.dx.count)
            XCTAssertEqual(generated.pi.first?.count, 2, "one weight per mixture component")
            XCTAssertEqual(generated.pi.first?.reduce(0, +) ?? 0, 1, accuracy: 1e-9)
            XCTAssertEqual(generated.phi.count, generated.dx.count)
        }
        XCTAssertTrue(result.options.sharedLineBand)
        // The same request gives the same page.
        XCTAssertEqual(try writer.write(request("abc\n\nhello world", record: true)).placed, result.placed)
    }

    /// `strokes` is each line's strokes as the network wrote them, a paragraph gap empty: what
    /// `StrokeRenderer.renderPage` takes (the README's library example).
    func testStrokesAreTheWrittenLinesWithGapsEmpty() throws {
        let dir = TempDir(); defer { dir.cleanup() }
        let result = try Self.makeWriter(dir).write(request("abc\n\nhello world"))
        XCTAssertEqual(result.strokes.count, 3)
        XCTAssertTrue(result.strokes[1].isEmpty)
        XCTAssertEqual(result.strokes[0], try XCTUnwrap(result.page.lines[0]).strokes)
        XCTAssertEqual(result.strokes.map { $0.map(\.count).reduce(0, +) }, result.placed.lines.map { $0.map(\.count).reduce(0, +) })
    }

    /// The bundled model is the source tree's `models/synthesis`, and `bundled()` loads it as a synthesis model.
    func testBundledWriterLoadsTheShippedSynthesisModel() throws {
        let dir = HandwritingWriter.bundledModelDirectory
        XCTAssertTrue(dir.hasSuffix("/models/synthesis"), dir)
        guard FileManager.default.fileExists(atPath: dir + "/model.safetensors") else {
            return XCTFail("no bundled model at \(dir)/model.safetensors")
        }
        let writer = try HandwritingWriter.bundled()
        XCTAssertEqual(writer.loaded.model.config.kind, .synthesis)
        XCTAssertEqual(writer.modelDirectory, dir)
        XCTAssertTrue(writer.styles.contains(HandwritingStyle.defaultName), "\(writer.styles)")
    }

    /// An observer sees the first try's points as sampled (recording does not change them), and stopping throws.
    func testObserverSeesPointsAndCanStop() throws {
        let dir = TempDir(); defer { dir.cleanup() }
        let writer = try Self.makeWriter(dir)
        let plain = try writer.write(request("hello", record: false))
        var seen: [KeptPoint] = []
        let watched = try writer.write(request("hello", record: true), observer: SamplingObserver(point: { seen.append($0) }))
        XCTAssertEqual(watched.placed, plain.placed, "observing and recording leave the strokes as they are")
        let generated = try XCTUnwrap(plain.page.generated[0])
        if plain.page.resampled.isEmpty {
            XCTAssertEqual(seen.map(\.dx), generated.dx)
            XCTAssertEqual(seen.map(\.dy), generated.dy)
        }
        XCTAssertTrue(seen.allSatisfy { $0.line == 0 && $0.phi.count == 5 && $0.pi.count == 2 })
        var asked = 0
        XCTAssertThrowsError(try writer.write(request("hello"), observer: SamplingObserver(shouldStop: {
            asked += 1
            return asked > 3
        }))) { XCTAssertTrue($0 is SamplingStopped, "\($0)") }
        XCTAssertEqual(asked, 4, "asked before every step until it said stop")
        // With a style, it is asked while the prime is read too.
        let styled = TempDir(); defer { styled.cleanup() }
        let primed = try Self.makeWriter(styled, styleName: "default")
        let rows = try XCTUnwrap(try primed.prime(for: .modelDefault)).rows.count
        asked = 0
        XCTAssertThrowsError(try primed.write(request("hello"), observer: SamplingObserver(shouldStop: {
            asked += 1
            return asked > 1
        }))) { XCTAssertTrue($0 is SamplingStopped, "\($0)") }
        XCTAssertEqual(asked, 2)
        XCTAssertGreaterThan(rows, 2, "stopped inside the prime")
    }
}
