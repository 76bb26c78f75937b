import Foundation
import QuillData
import QuillModels
import QuillRender
import QuillTestSupport
import QuillWriting
import XCTest

/// `quill write --job`: per-line style, bias, colour and width, on the small untrained model of
/// `HandwritingWriterTests`.
final class PageJobTests: XCTestCase {
    func parse(_ json: String) throws -> PageJob { try PageJob.parse(Data(json.utf8), what: "job.json") }

    func message(_ json: String) -> String {
        do {
            _ = try parse(json)
            return "parsed"
        } catch {
            return "\(error)"
        }
    }

    func testParsesLinesAndTheJobsOwnSettings() throws {
        let job = try parse("""
        {"bias": 0.5, "color": "navy", "lines": [
            {"text": "abc", "style": "neat", "bias": 2, "color": "#ff0000", "width": 3},
            {"text": ""},
            {"text": "cab", "style": "none"}]}
        """)
        XCTAssertEqual(job.lines.count, 3)
        XCTAssertEqual(job.settings.bias, 0.5)
        XCTAssertEqual(job.settings.color, Color(parsing: "navy"))
        XCTAssertEqual(job.lines[0].settings, PageJob.Settings(style: "neat", bias: 2, color: Color(parsing: "#ff0000"), width: 3))
        XCTAssertEqual(job.lines[1].text, "")
        XCTAssertEqual(job.lines[2].settings.style, PageJob.noStyle)
        XCTAssertTrue(job.setsInk)
        XCTAssertFalse(try parse(#"{"lines": [{"text": "a", "bias": 1}]}"#).setsInk)
    }

    func testRefusesABadJobNamingTheKey() {
        let cases: [(String, String)] = [
            ("", "the job is empty"),
            (" \n\t", "the job is empty"),
            ("{", "not valid JSON"),
            ("{\"lines\": [\n  {\"text\": \"a\"},,\n]}", "not valid JSON: invalid value at line 2, column 17"),
            // Strict JSON: a key given twice (the decoder kept one silently) and trailing commas (it accepted them).
            (#"{"lines": [{"text": "first", "text": "second"}]}"#, "the field 'lines[0].text' is given twice in one object"),
            ("{\"lines\": [{\"text\": \"a\"},\n ]}", "a comma before ']' in lines at line 1, column 25: JSON has no trailing commas"),
            (#"{"lines": [{"text": "a"}],}"#, "a comma before '}' at line 1, column 26"),
            ("[1, 2]", "a job is a JSON object"),
            (#"{"line": []}"#, "line is not a job key"),
            (#"{}"#, #"no "lines""#),
            (#"{"lines": {}}"#, "must be an array"),
            (#"{"lines": []}"#, "is empty"),
            (#"{"lines": ["abc"]}"#, "lines[0] must be an object"),
            (#"{"lines": [{"style": "neat"}]}"#, "lines[0] has no \"text\""),
            (#"{"lines": [{"text": 5}]}"#, "lines[0].text must be a string"),
            (#"{"lines": [{"text": "a", "colour": "red"}]}"#, "lines[0].colour is not a job key"),
            (#"{"lines": [{"text": "a", "bias": true}]}"#, "lines[0].bias must be a number"),
            (#"{"lines": [{"text": "a", "bias": "1"}]}"#, "lines[0].bias must be a number"),
            (#"{"lines": [{"text": "a", "bias": 21}]}"#, "lines[0].bias: 21.0 is outside 0…20"),
            (#"{"lines": [{"text": "a", "bias": -1}]}"#, "outside 0…20"),
            (#"{"lines": [{"text": "a", "width": 0}]}"#, "lines[0].width: 0.0 is outside"),
            (#"{"lines": [{"text": "a", "width": 51}]}"#, "lines[0].width"),
            (#"{"lines": [{"text": "a", "color": "blurple"}]}"#, "lines[0].color: blurple is not a colour"),
            (#"{"lines": [{"text": "a", "style": "../x"}]}"#, "lines[0].style: a style name uses"),
            (#"{"style": 3, "lines": [{"text": "a"}]}"#, "style must be a string"),
        ]
        for (json, expected) in cases {
            let m = message(json)
            XCTAssertTrue(m.hasPrefix("job.json: ") && m.contains(expected), "\(json): \(m)")
        }
        let many = "{\"lines\": [" + Array(repeating: #"{"text": "a"}"#, count: PageJob.maximumLines + 1).joined(separator: ",") + "]}"
        XCTAssertTrue(message(many).contains("more than a job takes"), message(many))
    }

    /// A short page's request at bias 1 and seed 7 (the job's lines replace its text).
    static func request(_ text: String, tries: Int) -> PageRequest {
        var request = PageRequest(text: text)
        request.options = WriteOptions(bias: 1, stepsPerCharacter: 8, finishingSteps: 5)
        request.tries = tries
        request.seed = 7
        return request
    }

    func testAJobOfOneSettingIsThePageWriteGives() throws {
        let dir = TempDir(); defer { dir.cleanup() }
        let writer = try HandwritingWriterTests.makeWriter(dir, styleName: HandwritingStyle.defaultName)
        let request = Self.request("abc\n\ncab\nbe", tries: 2)
        let page = try writer.write(request)
        let job = try parse(#"{"lines": [{"text": "abc"}, {"text": ""}, {"text": "cab"}, {"text": "be"}]}"#)
        let prepared = try writer.prepare(job: job, wrap: request.wrap)
        XCTAssertEqual(prepared.text.lines, ["abc", nil, "cab", "be"])
        XCTAssertEqual(prepared.jobLines, [0, 1, 2, 3])
        let written = try writer.write(prepared, from: job, request: request)
        XCTAssertEqual(written.placed, page.placed)
        XCTAssertNil(written.options.lineStyles, "one pen: no pens per line")
    }

    func testLinesTakeTheirOwnHandBiasAndPen() throws {
        let dir = TempDir(); defer { dir.cleanup() }
        let writer = try HandwritingWriterTests.makeWriter(dir, styleName: HandwritingStyle.defaultName)
        var request = Self.request("", tries: 1)
        request.style = StrokeStyle(width: 2, color: .ink)
        let job = try parse("""
        {"width": 4, "lines": [
            {"text": "abc"},
            {"text": "cab", "bias": 3, "color": "#ff0000"},
            {"text": "be", "style": "none", "width": 1}]}
        """)
        let written = try writer.write(try writer.prepare(job: job, wrap: 60), from: job, request: request)
        let styles = try XCTUnwrap(written.options.lineStyles)
        XCTAssertEqual(styles.map(\.width), [4, 4, 1], "a line's width, else the job's")
        XCTAssertEqual(styles.map(\.color), [.ink, Color(parsing: "#ff0000"), .ink])
        XCTAssertEqual(written.options.widestPen, 4)
        // Each line is sampled as a page of its group would sample it: the bias-3 line as the page of that line
        // alone at bias 3 (same place on the page, so the same generator), before scaling to the page's letters.
        var alone = request
        alone.options.bias = 3
        let single = try writer.pageWriter(alone).write([nil, "cab", nil], seed: 7, prime: try writer.prime(for: .modelDefault))
        XCTAssertEqual(written.page.generated[1]?.inputs, single.generated[1]?.inputs)
        // The unprimed line ("none") is not the default-style line it would be otherwise.
        let primed = try writer.pageWriter(request).write([nil, nil, "be"], seed: 7, prime: try writer.prime(for: .modelDefault))
        XCTAssertNotEqual(written.page.generated[2]?.inputs, primed.generated[2]?.inputs)
        // The SVG draws each line in its own colour and width.
        let svg = dir.path("job.svg")
        try StrokeRenderer.renderPage(lines: written.page.lines.map { $0?.strokes ?? [] }, to: svg, options: written.options)
        let text = try String(contentsOfFile: svg, encoding: .utf8)
        XCTAssertTrue(text.contains("stroke-width:4;") && text.contains("stroke-width:1;"), "widths per line")
        XCTAssertFalse(text.contains("stroke-width:2;"), "no line draws with the command line's pen width")
        XCTAssertTrue(text.contains("stroke:rgb(100%,0%,0%);"), "the red line is red")
    }

    func testAStyleTheModelLacksNamesTheJobLine() throws {
        let dir = TempDir(); defer { dir.cleanup() }
        let writer = try HandwritingWriterTests.makeWriter(dir)
        let job = try parse(#"{"lines": [{"text": "abc"}, {"text": "cab", "style": "neat"}]}"#)
        XCTAssertThrowsError(try writer.write(try writer.prepare(job: job, wrap: 60), from: job, request: PageRequest(text: ""))) {
            XCTAssertTrue("\($0)".hasPrefix("lines[1].style: unknown style 'neat'"), "\($0)")
        }
        let unknown = try parse(#"{"lines": [{"text": "abz"}]}"#)
        XCTAssertThrowsError(try writer.prepare(job: unknown, wrap: 60)) {
            XCTAssertTrue("\($0)".hasPrefix("lines[0].text: ") && "\($0)".contains("'z'"), "\($0)")
        }
    }
}
