import XCTest
@testable import QuillData

final class AlphabetSplitTests: XCTestCase {
    func testFrequencyPolicyKeepsCommonCharactersAndMapsRareOnesToUnknown() {
        let texts = ["aaab", "abz", "ba"]  // a: 5, b: 3, z: 1
        let alphabet = Alphabet.build(texts: texts, policy: .frequency(minCount: 2))
        XCTAssertEqual(alphabet.symbols, ["\u{FFFD}", "a", "b"])
        XCTAssertEqual(alphabet.encode("abzq"), [1, 2, 0, 0])
        XCTAssertEqual(alphabet.decode([1, 2, 0, 99]), "ab\u{FFFD}\u{FFFD}")
    }

    func testGravesPolicyHas57Classes() {
        let alphabet = Alphabet.build(texts: [], policy: .graves)
        XCTAssertEqual(alphabet.count, 57)
        XCTAssertEqual(alphabet.decode(alphabet.encode("Mr. Foot's 3 cats!")), "Mr. Foot's \u{FFFD} cats\u{FFFD}")
    }

    func testAlphabetCodableRoundTrip() throws {
        let a = Alphabet.build(texts: ["hello world"], policy: .frequency(minCount: 1))
        let b = try JSONDecoder().decode(Alphabet.self, from: JSONEncoder().encode(a))
        XCTAssertEqual(a, b)
        XCTAssertEqual(b.encode("hold"), a.encode("hold"))
    }

    func testSeededSplitIsDeterministicAndSized() {
        let a = Preparer.seededSplit(count: 100, validationFraction: 0.1, seed: 7)
        XCTAssertEqual(a, Preparer.seededSplit(count: 100, validationFraction: 0.1, seed: 7))
        XCTAssertNotEqual(a, Preparer.seededSplit(count: 100, validationFraction: 0.1, seed: 8))
        XCTAssertEqual(a.filter { $0 == .validation }.count, 10)
        XCTAssertEqual(Preparer.seededSplit(count: 0, validationFraction: 0.1, seed: 1), [])
    }

    func testSourceSplitWinsUnderAuto() throws {
        var a = HandwritingSample(id: "a", strokes: [[Point(0, 0)]])
        a.split = .validation
        let b = HandwritingSample(id: "b", strokes: [[Point(0, 0)]])
        let (splits, used) = try Preparer.assignSplits([a, b], PreprocessOptions())
        XCTAssertEqual(splits, [.validation, .unassigned])
        XCTAssertEqual(used, "source")
        var o = PreprocessOptions()
        o.split = .source
        assertDatasetError(["carry no split"]) { _ = try Preparer.assignSplits([b], o) }
    }

    func testRepeatedSampleIDsAreNoted() {
        let samples = ["a", "b", "a", "c", "a"].map { HandwritingSample(id: $0, strokes: [[Point(0, 0)]]) }
        XCTAssertEqual(ImportPipeline.duplicateIDNote(samples),
                       "1 sample id occurs more than once (such as 'a'): `data show --id` draws the first, and a split list names all of them")
        XCTAssertNil(ImportPipeline.duplicateIDNote(Array(samples.prefix(2))))
    }

    func testSplitListsAssignByFileNameStem() throws {
        let dir = try TempDir()
        let train = try dir.write("train.txt", "lineStrokes/a01/a01-000/a-01.xml\r\nb\r\n")
        let valid = try dir.write("valid.txt", "lineStrokes/a01/a01-000/c.xml\n\n")
        var r = ImportResult(samples: ["a-01", "b", "c", "d"].map { HandwritingSample(id: $0, strokes: [[Point(0, 0)]]) })
        try SplitLists.apply(train: train, validation: valid, to: &r)
        XCTAssertEqual(r.samples.map(\.split), [.train, .train, .validation, .unassigned])
        XCTAssertEqual(r.notes, ["1 of the 4 samples are in neither list (such as 'd'): unassigned, neither trained on nor validated"])
        // A list that names none of the samples leaves its split empty: noted.
        var noValid = ImportResult(samples: ["a-01", "b"].map { HandwritingSample(id: $0, strokes: [[Point(0, 0)]]) })
        try SplitLists.apply(train: train, validation: valid, to: &noValid)
        XCTAssertEqual(noValid.notes, ["\(valid) names none of the samples: the validation split is empty"])
        // Lists that name none of the samples (another dataset's, or empty) are refused.
        let empty = try dir.write("empty.txt", "")
        var none = ImportResult(samples: ["x", "y"].map { HandwritingSample(id: $0, strokes: [[Point(0, 0)]]) })
        assertDatasetError(["names any of the 2 samples", "'x'"]) { try SplitLists.apply(train: empty, validation: valid, to: &none) }
        let clash = try dir.write("clash.txt", "b\n")
        assertDatasetError(["b is in both"]) { try SplitLists.apply(train: train, validation: clash, to: &r) }
    }
}
