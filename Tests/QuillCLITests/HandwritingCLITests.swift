import ArgumentParser
import Foundation
import QuillData
import QuillModels
import QuillNN
import QuillNumerics
import QuillTestSupport
import XCTest
@testable import QuillCLI

/// `quill write`, `sample`, `plot window`, `style` on small models the tests make.
final class HandwritingCLITests: XCTestCase {
    /// An untrained synthesis model over a small alphabet, in `dir/model`.
    func makeModel(_ dir: TempDir, kind: HandwritingKind = .synthesis) throws -> String {
        var rng = SeededGenerator(seed: 1)
        let alphabet = try Alphabet(storedSymbols: ["\u{FFFD}", " ", "a", "b", "c", "e", "h", "l", "o", "t", "w", "r", "d", "\""])
        let model = HandwritingModel<Float>(config: HandwritingConfig(kind: kind, layers: 2, hidden: 8,
                                                                       mixture: MixtureDensity(components: 2),
                                                                       alphabetSize: alphabet.count), rng: &rng)
        let out = dir.path("model-\(kind.rawValue)")
        try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
        try HandwritingCheckpoint.save(model, alphabet: alphabet, stats: OffsetStatistics(meanDx: 0, meanDy: 0, stdDx: 10, stdDy: 10),
                                       to: out + "/model.safetensors")
        return out
    }

    func testWriteProducesImagesInEveryFormat() throws {
        let dir = TempDir(); defer { dir.cleanup() }
        let model = try makeModel(dir)
        for ext in ["png", "svg", "pdf"] {
            let out = dir.path("hello.\(ext)")
            XCTAssertEqual(errorText(["write", "hello world\nabc", "--model", model, "-o", out, "--steps-per-char", "8"]), "no error")
            XCTAssertGreaterThan((try? FileManager.default.attributesOfItem(atPath: out)[.size] as? Int) ?? 0, 100)
        }
        XCTAssertEqual(errorText(["plot", "window", "hello", "--model", model, "-o", dir.path("phi.png")]), "no error")
        // Substitution of a curly quote and a diacritic is reported, not an error.
        XCTAssertEqual(errorText(["write", "“héllo”", "--model", model, "-o", dir.path("q.png"), "--steps-per-char", "5"]), "no error")
    }

    /// The stroke exports and plotter programs by extension; the exported InkML primes a later line; plotter flags
    /// are refused for other outputs.
    func testWriteExportsStrokesAndPlotterPrograms() throws {
        let dir = TempDir(); defer { dir.cleanup() }
        let model = try makeModel(dir)
        for ext in ["inkml", "json", "npy", "gcode", "hpgl"] {
            let out = dir.path("hello.\(ext)")
            XCTAssertEqual(errorText(["write", "hello world\nabc", "--model", model, "-o", out, "--steps-per-char", "8"]
                                     + (ext == "gcode" ? ["--plotter", "marlin-z", "--feed-rate", "1200", "--origin", "top-left"] : [])),
                           "no error", ext)
            XCTAssertGreaterThan((try? FileManager.default.attributesOfItem(atPath: out)[.size] as? Int) ?? 0, 100, ext)
        }
        let gcode = try String(contentsOfFile: dir.path("hello.gcode"), encoding: .utf8)
        XCTAssertTrue(gcode.contains("G0 Z5") && gcode.contains("G1 F1200.000"), gcode)
        XCTAssertTrue(errorText(["write", "abc", "--prime-inkml", dir.path("hello.inkml"), "--model", model,
                                 "-o", dir.path("primed.png")]).contains("holds 2 lines of writing"))
        XCTAssertEqual(errorText(["write", "bca", "--model", model, "-o", dir.path("one.inkml"), "--steps-per-char", "8"]), "no error")
        XCTAssertEqual(errorText(["write", "abc", "--prime-inkml", dir.path("one.inkml"), "--model", model,
                                  "-o", dir.path("primed.png"), "--steps-per-char", "6"]), "no error")
        // A transcription the model cannot write is named as the file's, with --prime-text as the way out.
        let dollar = dir.path("dollar.inkml")
        try #"<ink><annotation type="truth">ab$</annotation><trace>0 0, 1 1, 2 0</trace></ink>"#.write(toFile: dollar, atomically: true, encoding: .utf8)
        let primeError = errorText(["write", "abc", "--prime-inkml", dollar, "--model", model, "-o", dir.path("d.png")])
        XCTAssertTrue(primeError.contains("dollar.inkml: its transcription:") && primeError.contains("--prime-text"), primeError)
        XCTAssertTrue(errorText(["write", "abc", "--prime-inkml", dollar, "--prime-text", "a$", "--model", model, "-o", dir.path("d.png")])
            .contains("--prime-text: "))
        XCTAssertTrue(errorText(["write", "abc", "--model", model, "-o", dir.path("p.png"), "--feed-rate", "900"])
            .contains("apply to .gcode and .hpgl output"))
        // Given is refused, whatever the value (the defaults too).
        for gcode in [["--feed-rate", "900"], ["--feed-rate", "3000"], ["--plotter", "grbl-servo"], ["--pen-down", "M3"], ["--pen-up", "M5"]] {
            let e = errorText(["write", "abc", "--model", model, "-o", dir.path("p.hpgl")] + gcode)
            XCTAssertTrue(e.contains("\(gcode[0]): G-code settings, for .gcode output; .hpgl takes --origin only"), e)
        }
        XCTAssertTrue(errorText(["write", "abc", "--model", model, "-o", dir.path("p.png"), "--origin", "bottom-left"])
            .contains("apply to .gcode and .hpgl output"))
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir.path("p.hpgl")))
        XCTAssertTrue(errorText(["write", "abc", "--model", model, "-o", dir.path("p.gcode"), "--feed-rate", "0"])
            .contains("between 1 and 100000"))
        XCTAssertTrue(errorText(["write", "abc", "--model", model, "-o", dir.path("p.gcode"), "--pen-up", " "])
            .contains("pen-up command is empty"))
        XCTAssertEqual(errorText(["write", "abc cab", "--model", model, "-o", dir.path("axi.svg"), "--plotter-svg",
                                  "--steps-per-char", "6"]), "no error")
        XCTAssertTrue(try String(contentsOfFile: dir.path("axi.svg"), encoding: .utf8).contains("id=\"line-1-word-1\""))
        XCTAssertTrue(errorText(["write", "abc", "--model", model, "-o", dir.path("p.png"), "--plotter-svg"]).contains("goes with .svg"))
    }

    /// --dpi scales a PNG's pixels; a fountain pen and a named or hex colour write; bad values are refused.
    func testInkAndResolution() throws {
        let dir = TempDir(); defer { dir.cleanup() }
        let model = try makeModel(dir)
        func pngWidth(_ path: String) throws -> Int {
            let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)).prefix(24))
            return bytes[16..<20].reduce(0) { $0 << 8 | Int($1) }
        }
        for (name, dpi) in [("a", "72"), ("b", "144")] {
            XCTAssertEqual(errorText(["write", "abc", "--model", model, "-o", dir.path("\(name).png"), "--dpi", dpi,
                                      "--steps-per-char", "6"]), "no error")
        }
        XCTAssertEqual(try pngWidth(dir.path("b.png")), 2 * (try pngWidth(dir.path("a.png"))), accuracy: 1)
        for color in ["navy", "#a52a2a"] {
            XCTAssertEqual(errorText(["write", "abc", "--model", model, "-o", dir.path("f.svg"), "--pen", "fountain",
                                      "--color", color, "--steps-per-char", "6"]), "no error", color)
        }
        XCTAssertTrue(errorText(["write", "abc", "--model", model, "-o", dir.path("x.png"), "--color", "blurple"])
            .contains("--color blurple: not a colour"))
        XCTAssertTrue(errorText(["write", "abc", "--model", model, "-o", dir.path("x.png"), "--dpi", "0"]).contains("--dpi"))
        XCTAssertTrue(errorText(["write", "abc", "--model", model, "-o", dir.path("x.png"), "--pen", "quill"]).contains("quill"))
    }

    /// --page writes on sheets (several PNGs when the text does not fit one); its options are checked.
    func testSheetsOfPaper() throws {
        let dir = TempDir(); defer { dir.cleanup() }
        let model = try makeModel(dir)
        XCTAssertEqual(errorText(["write", "abc\nbca\ncab", "--model", model, "-o", dir.path("s.png"), "--page", "60x25mm",
                                  "--margin", "5mm", "--line-height", "20", "--paper", "ruled", "--align", "center", "--line-spacing", "1.5",
                                  "--dpi", "72", "--steps-per-char", "6"]), "no error")
        let files = try FileManager.default.contentsOfDirectory(atPath: dir.path("")).filter { $0.hasPrefix("s-") }
        XCTAssertGreaterThanOrEqual(files.count, 2, "\(files)")
        XCTAssertEqual(errorText(["write", "abc", "--model", model, "-o", dir.path("s.pdf"), "--page", "a5",
                                  "--steps-per-char", "6"]), "no error")
        XCTAssertTrue(errorText(["write", "abc", "--model", model, "-o", dir.path("x.png"), "--margin", "5mm"])
            .contains("go with --page"))
        XCTAssertTrue(errorText(["write", "abc", "--model", model, "-o", dir.path("x.png"), "--page", "a4", "--margin", "200mm"])
            .contains("for writing"))
        XCTAssertTrue(errorText(["write", "abc", "--model", model, "-o", dir.path("x.png"), "--page", "b7"]).contains("--page b7"))
        XCTAssertTrue(errorText(["write", "abc", "--model", model, "-o", dir.path("x.png"), "--page", "a4", "--margin", "x"])
            .contains("--margin x"))
        XCTAssertTrue(errorText(["write", "abc", "--model", model, "-o", dir.path("x.png"), "--page", "5000x5000mm",
                                 "--dpi", "600"]).contains("more than a PNG can take"))
    }

    /// A GIF and an animated SVG are written; animation flags for other outputs are refused.
    func testAnimations() throws {
        let dir = TempDir(); defer { dir.cleanup() }
        let model = try makeModel(dir)
        XCTAssertEqual(errorText(["write", "abc", "--model", model, "-o", dir.path("a.gif"), "--fps", "5", "--dpi", "36",
                                  "--steps-per-char", "6"]), "no error")
        XCTAssertEqual(Array(try Data(contentsOf: URL(fileURLWithPath: dir.path("a.gif"))).prefix(6)), Array("GIF89a".utf8))
        XCTAssertEqual(errorText(["write", "abc", "--model", model, "-o", dir.path("a.svg"), "--animate", "--duration", "2",
                                  "--steps-per-char", "6"]), "no error")
        XCTAssertTrue(try String(contentsOfFile: dir.path("a.svg"), encoding: .utf8).contains("<animate "))
        XCTAssertTrue(errorText(["write", "abc", "--model", model, "-o", dir.path("x.png"), "--animate"]).contains("--animate goes with .svg"))
        XCTAssertTrue(errorText(["write", "abc", "--model", model, "-o", dir.path("x.svg"), "--fps", "10"]).contains("go with .gif"))
    }

    func testWriteBadInput() throws {
        let dir = TempDir(); defer { dir.cleanup() }
        let model = try makeModel(dir)
        let out = dir.path("x.png")
        XCTAssertTrue(errorText(["write", "   ", "--model", model, "-o", out]).contains("the text is empty"))
        XCTAssertTrue(errorText(["write", String(repeating: "a", count: 50), "--max-chars", "20", "--model", model, "-o", out])
            .contains("more than --max-chars 20"))
        XCTAssertTrue(errorText(["write", "hello ☃ zq", "--model", model, "-o", out]).contains("lacks '☃', 'z', 'q'"))
        XCTAssertTrue(errorText(["write", "hello", "--model", model, "-o", out, "--style", "nope"]).contains("unknown style 'nope'"))
        XCTAssertTrue(errorText(["write", "hello", "--model", dir.path("missing"), "-o", out]).contains("no such model file"))
        let prediction = try makeModel(dir, kind: .prediction)
        XCTAssertTrue(errorText(["write", "hello", "--model", prediction, "-o", out])
            .contains("handwriting-prediction model, but the command needs a handwriting-synthesis model"))
        try Data("garbage".utf8).write(to: URL(fileURLWithPath: dir.path("bad.safetensors")))
        XCTAssertTrue(errorText(["write", "hello", "--model", dir.path("bad.safetensors"), "-o", out]).contains("corrupt or truncated"))
        XCTAssertTrue(errorText(["write", "hello", "--model", model, "-o", dir.path("x.bmp")]).lowercased().contains("bmp"))
        XCTAssertFalse(FileManager.default.fileExists(atPath: out), "nothing half-written")
    }

    func testStylesAreSavedListedAndUsed() throws {
        let dir = TempDir(); defer { dir.cleanup() }
        let model = try makeModel(dir)
        // An untrained window drifts at s·e⁰ = 0.04 characters per step, so "the" finishes in about 100 steps.
        XCTAssertEqual(errorText(["style", "add", "neat", "--model", model, "--text", "the", "--seed", "2", "--bias", "3"]), "no error")
        XCTAssertEqual(HandwritingStyle.names(model: model), ["neat"])
        XCTAssertEqual(errorText(["write", "hello", "--model", model, "--style", "neat", "-o", dir.path("s.png"),
                                  "--steps-per-char", "6"]), "no error")
        XCTAssertEqual(errorText(["write", "--list-styles", "x", "--model", model, "-o", dir.path("unused.png")]), "no error")
        XCTAssertTrue(errorText(["style", "add", "bad name!", "--text", "a"]).contains("letters, digits"))
        // "none" means no style everywhere (--style none is --own-hand, as in a job and the API): not a name.
        XCTAssertTrue(errorText(["style", "add", "none", "--model", model, "--text", "the"]).contains("'none' is not a style name"))
        XCTAssertFalse(HandwritingStyle.isValidName("none"))
        XCTAssertEqual(errorText(["write", "hello", "--model", model, "--style", "none", "-o", dir.path("n.png"),
                                  "--steps-per-char", "6"]), "no error")
        // list, show and remove.
        XCTAssertEqual(errorText(["style", "list", "--model", model]), "no error")
        XCTAssertEqual(errorText(["style", "show", "neat", "--model", model, "-o", dir.path("neat.svg")]), "no error")
        XCTAssertTrue(try String(contentsOfFile: dir.path("neat.svg"), encoding: .utf8).contains("<path"))
        XCTAssertTrue(errorText(["style", "show", "nope", "--model", model, "-o", dir.path("n.png")]).contains("unknown style 'nope'"))
        XCTAssertEqual(errorText(["style", "add", "spare", "--model", model, "--text", "the", "--seed", "2", "--bias", "3"]), "no error")
        XCTAssertEqual(errorText(["style", "remove", "spare", "--model", model]), "no error")
        XCTAssertFalse(HandwritingStyle.names(model: model).contains("spare"))
        XCTAssertTrue(errorText(["style", "remove", "spare", "--model", model]).contains("unknown style 'spare'"))
        XCTAssertTrue(errorText(["style", "remove", "../x", "--model", model]).contains("unknown style"))
        // An existing style is replaced only with --force.
        XCTAssertTrue(errorText(["style", "add", "neat", "--model", model, "--text", "the", "--seed", "2", "--bias", "3"])
            .contains("add --force"))
        XCTAssertTrue(errorText(["style", "add", "x", "--model", model, "--text", "the", "--bias=-1"]).contains("--bias must be"))
        // Style names are names, not paths; the priming options exclude each other.
        XCTAssertTrue(errorText(["write", "hi", "--style", "../../x", "--model", model, "-o", dir.path("t.png")]).contains("letters, digits"))
        XCTAssertTrue(errorText(["write", "hi", "--style", "neat", "--own-hand", "--model", model, "-o", dir.path("t.png")])
            .contains("choose one of"))
        XCTAssertTrue(errorText(["write", "hi", "--prime-text", "x", "--model", model, "-o", dir.path("t.png")])
            .contains("goes with --prime-inkml"))
        // A model with a style named "default" primes every page with it; --own-hand does without.
        XCTAssertEqual(errorText(["style", "add", "default", "--model", model, "--text", "the", "--seed", "2", "--bias", "3"]), "no error")
        XCTAssertEqual(errorText(["write", "hello\nthere", "--model", model, "-o", dir.path("d.png"), "--steps-per-char", "6"]), "no error")
        XCTAssertEqual(errorText(["write", "hello\nthere", "--model", model, "-o", dir.path("o.png"), "--steps-per-char", "6",
                                  "--own-hand"]), "no error")
    }

    func testSampleAndDensityOnPredictionModel() throws {
        let dir = TempDir(); defer { dir.cleanup() }
        let model = try makeModel(dir, kind: .prediction)
        XCTAssertEqual(errorText(["sample", "--model", model, "-o", dir.path("s.png"), "--length", "50"]), "no error")
        XCTAssertEqual(errorText(["plot", "density", "--model", model, "-o", dir.path("d.png"), "--length", "40"]), "no error")
        XCTAssertTrue(errorText(["sample", "--model", try makeModel(dir), "-o", dir.path("s.png")]).contains("needs a handwriting-prediction"))
    }

    /// The model bundled in models/synthesis loads, writes, and its styles work (skips if none is bundled).
    func testBundledModelWrites() throws {
        let dir = DefaultModel.synthesis
        guard FileManager.default.fileExists(atPath: dir + "/model.safetensors") else {
            throw XCTSkip("no bundled model in \(dir)")
        }
        let tmp = TempDir(); defer { tmp.cleanup() }
        XCTAssertEqual(errorText(["write", "a bundled model", "-o", tmp.path("b.png"), "--seed", "1"]), "no error")
        for style in HandwritingStyle.names(model: dir) {
            XCTAssertEqual(errorText(["write", "in style", "--style", style, "-o", tmp.path("\(style).png")]), "no error", style)
        }
    }

    /// Text from a file (`--input`) and from standard input (`-`), with Windows line endings and a byte-order mark.
    func testTextFromFilesAndStandardInput() throws {
        let dir = TempDir(); defer { dir.cleanup() }
        let model = try makeModel(dir)
        let file = dir.path("text.txt")
        try Data("\u{FEFF}hello\r\n\r\nworld\r\n".utf8).write(to: URL(fileURLWithPath: file))
        XCTAssertEqual(errorText(["write", "--input", file, "--model", model, "-o", dir.path("f.png"), "--steps-per-char", "6"]),
                       "no error")
        let pngNamed = dir.path("text.png")
        try FileManager.default.copyItem(atPath: file, toPath: pngNamed)
        XCTAssertTrue(errorText(["write", "--input", pngNamed, "--model", model, "-o", pngNamed]).contains("is also an input (--input)"))
        XCTAssertEqual(FileManager.default.contents(atPath: pngNamed), Data("\u{FEFF}hello\r\n\r\nworld\r\n".utf8))
        XCTAssertTrue(errorText(["write", "--input", dir.path("missing.txt"), "--model", model, "-o", dir.path("m.png")])
            .contains("no such file"))
        XCTAssertTrue(errorText(["write", "abc", "--input", file, "--model", model, "-o", dir.path("m.png")]).contains("only one of them"))
        XCTAssertTrue(errorText(["write", "--model", model, "-o", dir.path("m.png")]).contains("--input FILE"))
        XCTAssertTrue(errorText(["write", "hello\u{07}", "--model", model, "-o", dir.path("m.png")]).contains("U+0007"))
        // A control character in a path is shown by code point, never sent to the terminal.
        let escape = errorText(["write", "hello", "--model", dir.path("m\u{1B}[31m"), "-o", dir.path("m.png")])
        XCTAssertTrue(escape.contains("U+001B") && !escape.contains("\u{1B}"), escape)
        let long = errorText(["write", String(repeating: "a ", count: 30), "--max-chars", "20", "--model", model, "-o", dir.path("m.png")])
        XCTAssertTrue(long.contains("raise it with --max-chars 59"), long)
        // Beyond what --max-chars takes, the advice is to split, not an option value that would be refused.
        let huge = errorText(["write", String(repeating: "ab ", count: 40_000), "--model", model, "-o", dir.path("m.png")])
        XCTAssertTrue(huge.contains("split the text") && !huge.contains("raise it"), String(huge.prefix(300)))

        // Standard input: point file descriptor 0 at the file for the call.
        let saved = dup(0)
        let fd = open(file, O_RDONLY)
        dup2(fd, 0)
        let result = errorText(["write", "-", "--model", model, "-o", dir.path("stdin.png"), "--steps-per-char", "6"])
        dup2(saved, 0)
        close(fd); close(saved)
        XCTAssertEqual(result, "no error")
        XCTAssertGreaterThan((try? FileManager.default.attributesOfItem(atPath: dir.path("stdin.png"))[.size] as? Int) ?? 0, 100)
    }

    /// Runs `args` with standard input read from a file holding `input`.
    func errorText(_ args: [String], stdin input: String, in dir: TempDir) throws -> String {
        let file = dir.path("stdin-\(UUID().uuidString).txt")
        try Data(input.utf8).write(to: URL(fileURLWithPath: file))
        let saved = dup(0), fd = open(file, O_RDONLY)
        dup2(fd, 0)
        defer { dup2(saved, 0); close(fd); close(saved) }
        return errorText(args)
    }

    /// A page too large for the canvas is refused before any line is sampled.
    func testPageTooLargeIsRefusedBeforeSampling() throws {
        let dir = TempDir(); defer { dir.cleanup() }
        let model = try makeModel(dir)
        let tall = errorText(["write", String(repeating: "a\n", count: 500), "--model", model, "-o", dir.path("t.png")])
        XCTAssertTrue(tall.contains("t.png: the page would be 38") && tall.contains("500 lines at --line-height 60")
                      && tall.contains("write .svg or .pdf"), tall)
        let wide = errorText(["write", String(repeating: "ab ", count: 100), "--wrap", "500", "--line-height", "2000",
                              "--model", model, "-o", dir.path("w.pdf")])
        XCTAssertTrue(wide.contains("points wide") && wide.contains("more than the 100000"), wide)
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir.path("t.png")))
    }

    /// `plot window -` reads its line from standard input, as `write -` does, and refuses several lines or none.
    func testPlotWindowReadsStandardInput() throws {
        let dir = TempDir(); defer { dir.cleanup() }
        let model = try makeModel(dir)
        let out = dir.path("phi.png")
        XCTAssertEqual(try errorText(["plot", "window", "-", "--model", model, "-o", out], stdin: "hello\n", in: dir), "no error")
        XCTAssertGreaterThan((try? FileManager.default.attributesOfItem(atPath: out)[.size] as? Int) ?? 0, 100)
        let two = try errorText(["plot", "window", "-", "--model", model, "-o", out], stdin: "hello\nworld\n", in: dir)
        XCTAssertTrue(two.hasPrefix("quill: error: standard input: plot window takes one line; the text has 2 lines"), two)
        let none = try errorText(["plot", "window", "-", "--model", model, "-o", out], stdin: " \n", in: dir)
        XCTAssertTrue(none.contains("standard input: the text is empty"), none)
        let long = try errorText(["plot", "window", "-", "--model", model, "-o", out],
                                 stdin: String(repeating: "a", count: 121), in: dir)
        XCTAssertTrue(long.contains("at most 120 characters"), long)
        // A line break in the argument, a newline or a literal \n (`quill write` breaks lines at both), is refused.
        for (text, found) in [("two\nlines", "U+000A"), ("two\\nlines", "a literal \\n"), ("two\rlines", "U+000D")] {
            let broken = errorText(["plot", "window", text, "--model", model, "-o", out])
            XCTAssertTrue(broken.contains("plot window takes one line; the text has a line break (\(found))"), broken)
        }
    }

    /// Outputs that name an input (the same path, a symbolic link or a hard link to it) are refused before
    /// anything is written, and the input is left as it was.
    func testOutputsThatAreInputsAreRefused() throws {
        let dir = TempDir(); defer { dir.cleanup() }
        let model = try makeModel(dir), prediction = try makeModel(dir, kind: .prediction)
        let text = dir.path("text.png")
        try "hello".write(toFile: text, atomically: true, encoding: .utf8)
        try FileManager.default.createSymbolicLink(atPath: dir.path("link.png"), withDestinationPath: text)
        try FileManager.default.linkItem(atPath: text, toPath: dir.path("hard.png"))
        let inkml = dir.path("ink.svg")
        try "<ink/>".write(toFile: inkml, atomically: true, encoding: .utf8)
        let modelFile = prediction + "/model.safetensors"
        let before = try Data(contentsOf: URL(fileURLWithPath: modelFile))
        for (args, what) in [
            (["write", "--input", text, "--model", model, "-o", dir.path("link.png")], "--input"),
            (["write", "--input", text, "--model", model, "-o", dir.path("hard.png")], "--input"),
            (["write", "hi", "--prime-inkml", inkml, "--model", model, "-o", inkml], "--prime-inkml"),
            (["write", "hi", "--prime-from", text, "--id", "a", "--model", model, "-o", dir.path("./hard.png")], "--prime-from"),
            (["sample", "--model", dir.path("m.png"), "-o", dir.path("m.png")], "the --model file"),
            (["plot", "density", "--model", dir.path("d/../m.png"), "-o", dir.path("m.png")], "the --model file"),
            (["plot", "window", "hi", "--model", dir.path("m.pdf"), "-o", dir.path("m.pdf")], "the --model file"),
            (["style", "add", "mine", "--text", "hi", "--model", model, "--inkml", model + "/styles/mine.json"], "--inkml"),
        ] {
            let e = errorText(args)
            XCTAssertTrue(e.hasPrefix("quill: error: ") && e.contains(": is also an input (\(what)); choose another"),
                          "\(args): \(e)")
        }
        XCTAssertEqual(try String(contentsOfFile: text, encoding: .utf8), "hello")
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: modelFile)), before)
        // A symbolic link to the model file itself, as the output of a command reading that model.
        try FileManager.default.createSymbolicLink(atPath: dir.path("model-link.png"), withDestinationPath: modelFile)
        XCTAssertTrue(errorText(["sample", "--model", modelFile, "-o", dir.path("model-link.png")]).contains("is also an input"))
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: modelFile)), before)
    }

    /// A page written into the model's styles (the files that prime it), or numbered onto an input (`--page` writes
    /// NAME-1.EXT, NAME-2.EXT, … as the text fills them), is refused, and the input is left as it was.
    func testOutputsThatWouldOverwriteStylesOrNumberedInputsAreRefused() throws {
        let dir = TempDir(); defer { dir.cleanup() }
        let model = try makeModel(dir)
        try FileManager.default.createDirectory(atPath: model + "/styles", withIntermediateDirectories: true)
        let style = model + "/styles/default.json"
        try "{}".write(toFile: style, atomically: true, encoding: .utf8)
        let inStyles = errorText(["write", "hi", "--model", model, "-o", style])
        XCTAssertTrue(inStyles.contains("is in the model's styles directory"), inStyles)
        XCTAssertTrue(errorText(["write", "hi", "--model", model, "-o", model + "/styles/new.png"]).contains("styles directory"))
        XCTAssertEqual(try String(contentsOfFile: style, encoding: .utf8), "{}")
        let input = dir.path("pp-2.png")
        try "hello".write(toFile: input, atomically: true, encoding: .utf8)
        let numbered = errorText(["write", "--input", input, "--page", "a6", "--model", model, "-o", dir.path("pp.png")])
        XCTAssertTrue(numbered.contains("pp.png: its page 2 would be") && numbered.contains("pp-2.png, an input (--input)"), numbered)
        XCTAssertEqual(try String(contentsOfFile: input, encoding: .utf8), "hello")
        // Names that are not numbered pages of the output pass this check.
        for other in ["pp-02.png", "pp-x.png", "pp-2.svg", "qq-2.png", "pp-0.png"] {
            try "hello".write(toFile: dir.path(other), atomically: true, encoding: .utf8)
            XCTAssertFalse(errorText(["write", "--input", dir.path(other), "--page", "a6", "--model", model, "-o", dir.path("pp.png")])
                .contains("would be"), other)
        }
    }

    /// The same text, options and seed give the same PNG bytes, for a multi-line page with and without a style.
    func testSameSeedSameBytes() throws {
        let modelDir = DefaultModel.synthesis
        guard FileManager.default.fileExists(atPath: modelDir + "/model.safetensors") else {
            throw XCTSkip("no bundled model in \(modelDir)")
        }
        let tmp = TempDir(); defer { tmp.cleanup() }
        let text = "A page of three lines,\nwritten twice\n\nwith one seed."
        for extra in [[], ["--style", HandwritingStyle.names(model: modelDir).first ?? "neat"]] {
            var bytes = [Data]()
            for run in 0..<2 {
                let out = tmp.path("page-\(run).png")
                XCTAssertEqual(errorText(["write", text, "-o", out, "--seed", "3"] + extra), "no error")
                bytes.append(try Data(contentsOf: URL(fileURLWithPath: out)))
            }
            XCTAssertEqual(bytes[0], bytes[1], "style \(extra)")
        }
    }

    /// `quill eval` on prepared data the test makes, and its refusals.
    func testEvalAndItsBadInput() throws {
        let dir = TempDir(); defer { dir.cleanup() }
        let model = try makeModel(dir), prediction = try makeModel(dir, kind: .prediction)
        // Lines of the model's alphabet, at the model's scale (std 10), half in Graves's validation part.
        func dataset(text: String, std: Double, split: DataSplit = .validation) -> PreparedDataset {
            let symbols = ["\u{FFFD}"] + Array(Set(text.map(String.init))).sorted()
            let chars = text.map { c in Int32(symbols.firstIndex(of: String(c))!) }
            let samples = (0..<4).map { i in
                PreparedSample(id: "l\(i)", writer: nil, text: text, characters: chars, split: i % 2 == 0 ? split : .train,
                               originX: 0, originY: 0, dx: (0..<30).map { Float(sin(Double($0 + i))) },
                               dy: (0..<30).map { Float(cos(Double($0 * i))) }, eos: (0..<30).map { $0 % 7 == 6 ? 1 : 0 })
            }
            let stats = OffsetStatistics(meanDx: 0, meanDy: 0, stdDx: std, stdDy: std)
            return PreparedDataset(header: PreparedHeader(format: .iamJSONL, options: PreprocessOptions(), stats: stats,
                                                          measuredStats: stats,
                                                          alphabet: Alphabet(policy: .frequency(minCount: 1),
                                                                             symbols: symbols.map { $0.unicodeScalars.first! }),
                                                          splitUsed: "source"), samples: samples)
        }
        let good = dir.path("good.qds"), scaled = dir.path("d1.qds"), zed = dir.path("z.qds"), noVal = dir.path("t.qds")
        try PreparedFormat.write(dataset(text: "hello world", std: 10), to: good)
        try PreparedFormat.write(dataset(text: "hello world", std: 20), to: scaled)
        try PreparedFormat.write(dataset(text: "hello zebra", std: 10), to: zed)
        try PreparedFormat.write(dataset(text: "hello", std: 10, split: .train), to: noVal)
        XCTAssertEqual(errorText(["eval", "--model", model, "--data", good]), "no error")
        XCTAssertEqual(errorText(["eval", "--model", prediction, "--data", good, "--part", "all", "--json"]), "no error")
        XCTAssertTrue(errorText(["eval", "--model", model, "--data", scaled]).contains("another scale"))
        XCTAssertTrue(errorText(["eval", "--model", model, "--data", zed]).contains("lacks 'z'"))
        XCTAssertTrue(errorText(["eval", "--model", model, "--data", noVal]).contains("no lines with text"))
        XCTAssertTrue(errorText(["eval", "--model", model, "--data", good, "--part", "test"]).contains("--part must be"))
        let charModel = dir.path("char.safetensors")
        var rng = SeededGenerator(seed: 1)
        try CharCheckpoint.save(CharModel<Float>(config: CharModelConfig(layers: 1, hidden: 2, vocabularySize: 2), rng: &rng),
                                alphabet: Alphabet(text: "ab"), to: charModel)
        XCTAssertTrue(errorText(["eval", "--model", charModel, "--data", good]).contains("char-lm"))
        try Data("garbage".utf8).write(to: URL(fileURLWithPath: dir.path("bad.safetensors")))
        XCTAssertTrue(errorText(["eval", "--model", dir.path("bad.safetensors"), "--data", good]).contains("corrupt or truncated"))
    }
}
