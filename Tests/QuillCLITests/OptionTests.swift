import ArgumentParser
import Foundation
import QuillData
import QuillModels
import QuillTestSupport
import XCTest
@testable import QuillCLI

/// Every numeric option of every command is range-checked, takes a negative value after a space, and every command
/// that writes refuses to write over its inputs.
final class OptionTests: XCTestCase {
    /// The first line `quill` would print for `args`, parsed (and validated) but not run.
    func parseError(_ args: [String]) -> String {
        do {
            _ = try Quill.parseCommand(args)
            return "no error"
        } catch {
            return Quill.errorLine(for: error)
        }
    }

    /// A numeric option: the arguments that reach its check, a value below and one above its range, and whether it
    /// is a floating-point option (then NaN and infinity are tried too).
    struct Numeric {
        let base: [String], name: String, below: String, above: String, float: Bool, negativeInRange: Bool
        init(_ base: [String], _ name: String, _ below: String, _ above: String, float: Bool = false,
             negativeInRange: Bool = false) {
            self.base = base; self.name = name; self.below = below; self.above = above; self.float = float
            self.negativeInRange = negativeInRange
        }
        /// "command subcommand --name".
        var key: String { (OptionTests.commandPath(base) + ["--" + name]).joined(separator: " ") }
    }

    /// The subcommand names at the start of `arguments`.
    static func commandPath(_ arguments: [String]) -> [String] {
        var node = OptionTree.root, path = [String]()
        for word in arguments {
            guard let sub = node?.subcommands[word] else { break }
            path.append(word)
            node = sub
        }
        return path
    }

    static let out = NSTemporaryDirectory() + "quill-never-created"

    static let numeric: [Numeric] = {
        let char = ["char", "train", "--data", "x.txt", "--out", out]
        let pred = ["train", "prediction", "--data", "x.qds", "--out", out]
        let synth = ["train", "synthesis", "--data", "x.qds", "--out", out]
        var table = [Numeric]()
        for base in [char, pred, synth] {
            table += [
                Numeric(base, "lr", "0", "1001", float: true), Numeric(base, "lr-decay", "0", "1.5", float: true),
                Numeric(base, "lr-decay-every", "0", "1000001"), Numeric(base, "clip", "-0.1", "1e7", float: true),
                Numeric(base, "steps", "0", "100000001"), Numeric(base, "minutes", "0", "1e7", float: true),
                Numeric(base, "eval-every", "0", "1000001"), Numeric(base, "lr-decay-start", "-1", "100000001"),
                Numeric(base, "weight-noise", "0", "1.5", float: true), Numeric(base, "histogram-every", "-1", "1000001"),
            ]
        }
        table += [
            Numeric(char, "layers", "0", "33"), Numeric(char, "hidden", "0", "16385"),
            Numeric(char, "embedding", "-1", "16385"), Numeric(char, "dropout", "-0.1", "1", float: true),
            Numeric(char, "forget-bias", "-10.5", "11", float: true, negativeInRange: true),
            Numeric(char + ["--cell", "mrnn"], "factors", "0", "16385"),
            Numeric(char + ["--cell", "nnn"], "context", "0", "257"),
            Numeric(char + ["--optimizer", "hf", "--cell", "rnn"], "cg-iterations", "0", "10001"),
            Numeric(char + ["--optimizer", "hf", "--cell", "rnn"], "damping", "0", "1e7", float: true),
            Numeric(char + ["--optimizer", "hf", "--cell", "rnn"], "structural-damping", "-0.5", "1e7", float: true),
            Numeric(char + ["--optimizer", "hf", "--cell", "rnn"], "curvature-fraction", "0", "1.5", float: true),
            Numeric(char, "batch", "0", "10001"), Numeric(char, "seq", "0", "10001"),
            Numeric(char, "clip-value", "0", "1e7", float: true),
            Numeric(char, "val-fraction", "-0.1", "0.6", float: true), Numeric(char, "sample-length", "-1", "100001"),
            Numeric(char, "sample-temperature", "0", "101", float: true),
        ]
        let typo = ["char", "typo", "--model", "m", "--text", "x.txt", "-o", out + ".png"]
        table += [
            Numeric(typo + ["--length", "5"], "at", "-1", "10000001"), Numeric(typo + ["--at", "3"], "length", "0", "100001"),
            Numeric(["char", "saturation", "--model", "m", "--text", "x.txt", "-o", out + ".png"], "max-chars", "0", "10000001"),
        ]
        let cells = ["char", "cells", "--model", "m", "--text", "x.txt", "-o", out + ".png"]
        table += [
            Numeric(cells, "max-chars", "0", "1000001"), Numeric(cells, "layer", "0", "33"),
            Numeric(cells, "unit", "-1", "16384"), Numeric(cells, "top", "0", "51"), Numeric(cells, "show", "0", "20001"),
            Numeric(cells, "columns", "9", "1001"),
        ]
        let similarity = ["char", "similarity", "--model", "a", "--model", "b", "--model", "c", "--text", "x.txt",
                          "-o", out + ".png"]
        table += [
            Numeric(similarity, "max-chars", "3", "5001"), Numeric(similarity, "layer", "0", "33"),
            Numeric(similarity, "perplexity", "0.5", "5001", float: true), Numeric(similarity, "iterations", "299", "10001"),
        ]
        let task = ["task", "palindrome", "--length", "5"]
        table += [
            Numeric(["task", "palindrome"], "length", "1", "10001"), Numeric(task, "steps", "0", "100000001"),
            Numeric(task, "layers", "0", "33"), Numeric(task, "hidden", "0", "16385"), Numeric(task, "batch", "0", "100001"),
            Numeric(task, "lr", "0", "1001", float: true), Numeric(task, "clip", "0", "1e7", float: true),
            Numeric(task, "eval-every", "0", "1000001"), Numeric(task, "eval-sequences", "0", "100001"),
            Numeric(task, "histogram-every", "-1", "1000001"),
        ]
        let flow = ["char", "gradient-flow", "-o", out + ".png"]
        table += [
            Numeric(flow, "length", "1", "10001"), Numeric(flow, "layers", "0", "33"), Numeric(flow, "hidden", "0", "16385"),
            Numeric(flow, "batch", "0", "10001"),
        ]
        let gate = ["char", "time-gate", "-o", out + ".png", "--period", "6", "--r-on", "0.2"]
        table += [
            Numeric(gate, "length", "0", "10001"), Numeric(["char", "time-gate", "-o", out + ".png", "--model", "m"], "layer", "0", "33"),
            Numeric(["char", "time-gate", "-o", out + ".png", "--r-on", "0.2"], "period", "0.0009", "1e7", float: true),
            Numeric(gate, "shift", "-1e7", "1e7", float: true, negativeInRange: true),
            Numeric(["char", "time-gate", "-o", out + ".png", "--period", "6"], "r-on", "0", "1", float: true),
        ]
        let sweep = ["char", "sweep", "--data", "x.txt", "--out", out, "--steps", "5"]
        table += [
            Numeric(sweep, "layers", "0", "33"), Numeric(sweep, "hidden", "0", "16385"),
            Numeric(["char", "sweep", "--data", "x.txt", "--out", out, "--minutes", "1"], "steps", "0", "100000001"),
            Numeric(["char", "sweep", "--data", "x.txt", "--out", out], "minutes", "0", "1e7", float: true),
            Numeric(sweep, "batch", "0", "10001"), Numeric(sweep, "seq", "0", "10001"),
            Numeric(sweep, "lr", "0", "1001", float: true), Numeric(sweep, "embedding", "-1", "16385"),
            Numeric(sweep, "dropout", "-0.1", "1", float: true), Numeric(sweep, "eval-every", "0", "1000001"),
            Numeric(sweep, "val-fraction", "-0.1", "0.6", float: true), Numeric(sweep, "histogram-every", "-1", "1000001"),
        ]
        for base in [pred, synth] {
            table += [
                Numeric(base, "layers", "0", "17"), Numeric(base, "hidden", "0", "8193"), Numeric(base, "mixtures", "0", "1001"),
                Numeric(base, "batch", "0", "4097"), Numeric(base, "output-clip", "-1", "1e7", float: true),
                Numeric(base, "lstm-clip", "-1", "1e7", float: true), Numeric(base, "val-samples", "-1", "1000001"),
                Numeric(base, "max-points", "2", "100001"),
            ]
        }
        table.append(Numeric(synth, "window", "0", "101"))
        let charSample = ["char", "sample", "--model", "m"]
        table += [Numeric(charSample, "length", "0", "1000001"), Numeric(charSample, "temperature", "0", "101", float: true),
                  Numeric(charSample, "beam", "0", "257")]
        let charEval = ["char", "eval", "--model", "m", "--data", "x.txt"]
        table += [Numeric(charEval, "val-fraction", "0", "1", float: true),
                  Numeric(charEval + ["--dynamic"], "lr", "0", "10.5", float: true), Numeric(charEval, "window", "0", "100001"),
                  Numeric(charEval, "streams", "0", "1025")]
        let ngram = ["ngram", "train", "--data", "x.txt", "--out", out]
        table += [Numeric(ngram, "order", "0", "65"),
                  Numeric(ngram + ["--order", "2", "--smoothing", "add-k"], "k", "0", "101", float: true),
                  Numeric(ngram + ["--order", "2"], "val-fraction", "-0.1", "0.6", float: true)]
        let ngramSample = ["ngram", "sample", "--model", "m"]
        table += [Numeric(ngramSample, "length", "0", "1000001"), Numeric(ngramSample, "temperature", "0", "101", float: true)]
        table.append(Numeric(["ngram", "eval", "--model", "m", "--data", "x.txt"], "val-fraction", "0", "1", float: true))
        let write = ["write", "hi", "-o", "x.png"]
        table += [
            Numeric(write, "bias", "-0.5", "21", float: true), Numeric(write, "wrap", "9", "501"),
            Numeric(write, "max-chars", "0", "100001"), Numeric(write, "steps-per-char", "4", "201"),
            Numeric(write, "finish-steps", "-1", "101"), Numeric(write, "tries", "0", "21"),
            Numeric(write, "piece-chars", "-1", "501"), Numeric(write, "candidates", "0", "17"),
            Numeric(write, "line-height", "4", "2001", float: true), Numeric(write, "pen-width", "0", "51", float: true),
            Numeric(write, "dpi", "17", "1201", float: true),
            Numeric(write + ["--page", "a4"], "line-spacing", "0.5", "11", float: true),
            Numeric(["write", "hi", "-o", "x.gif"], "fps", "0.5", "101", float: true),
            Numeric(["write", "hi", "-o", "x.gif"], "duration", "0.05", "3601", float: true),
            Numeric(["write", "hi", "-o", "x.gcode"], "feed-rate", "0.5", "100001", float: true),
        ]
        let sample = ["sample", "--model", "m", "-o", "x.png"]
        table += [Numeric(sample, "length", "0", "20001"), Numeric(sample, "bias", "-1", "21", float: true)]
        let density = ["plot", "density", "--model", "m", "-o", "x.png"]
        table += [Numeric(density, "length", "9", "5001"), Numeric(density, "bias", "-1", "21", float: true)]
        table.append(Numeric(["plot", "window", "hi", "-o", "x.png"], "bias", "-1", "21", float: true))
        let loss = ["plot", "loss", "run", "-o", "x.png"]
        table += [Numeric(loss, "width", "199", "10001", float: true), Numeric(loss, "height", "149", "10001", float: true)]
        let ridges = ["plot", "histograms", "run", "-o", "x.png"]
        table += [Numeric(ridges, "width", "199", "10001", float: true), Numeric(ridges, "height", "149", "10001", float: true)]
        table.append(Numeric(["style", "add", "s", "--text", "hi"], "bias", "-1", "21", float: true))
        let styleShow = ["style", "show", "neat", "-o", "x.png"]
        table += [Numeric(styleShow, "height", "9", "2001", float: true), Numeric(styleShow, "pen-width", "0", "51", float: true),
                  Numeric(styleShow, "dpi", "17", "1201", float: true)]
        table.append(Numeric(["eval", "--model", "m", "--data", "x.qds"], "batch", "0", "65"))
        let show = ["data", "show", "x.qds", "-o", "x.png"]
        table += [Numeric(show, "index", "-1", "2147483648"), Numeric(show + ["--index", "0"], "height", "9", "2001", float: true),
                  Numeric(show + ["--index", "0"], "pen-width", "0", "51", float: true),
                  Numeric(show + ["--index", "0"], "dpi", "17", "1201", float: true)]
        let imp = ["data", "import", "iam-jsonl", "x.jsonl", "--out", "x.qds"]
        table += [
            Numeric(imp, "outlier-threshold", "0", "2e9", float: true), Numeric(imp, "smooth-window", "1", "1003"),
            Numeric(imp, "smooth-order", "-1", "21"), Numeric(imp, "decimate", "0", "1001"),
            Numeric(imp, "max-points", "1", "10000001"), Numeric(imp, "min-count", "0", "1000000001"),
            Numeric(imp, "valid-fraction", "-0.1", "1", float: true),
            Numeric(imp + ["--hershey", "h.json"], "synthetic-lines", "-1", "100001"),
            Numeric(imp + ["--hershey", "h.json"], "mixed-lines", "-1", "100001"),
            Numeric(imp + ["--hershey", "h.json"], "all-caps-share", "-0.1", "1.5", float: true),
            Numeric(imp + ["--hershey", "h.json"], "speech-share", "-0.1", "1.5", float: true),
        ]
        let bc = ["bench", "char"]
        table += [Numeric(bc, "iterations", "0", "10001"), Numeric(bc, "layers", "0", "33"), Numeric(bc, "hidden", "0", "8193"),
                  Numeric(bc, "batch", "0", "4097"), Numeric(bc, "seq", "0", "4097"), Numeric(bc, "embedding", "-1", "8193")]
        let bh = ["bench", "handwriting"]
        table += [Numeric(bh, "iterations", "0", "1001"), Numeric(bh, "batch", "0", "513"), Numeric(bh, "steps", "1", "10001"),
                  Numeric(bh, "text-length", "0", "1001"), Numeric(bh, "alphabet", "1", "1001")]
        table += [Numeric(["bench", "sampling"], "steps", "19", "100001"), Numeric(["bench", "sampling"], "reps", "0", "1001")]
        let bk = ["bench", "kernels"]
        table += [Numeric(bk, "batch", "0", "4097"), Numeric(bk, "hidden", "0", "4097"), Numeric(bk, "reps", "0", "100001")]
        table.append(Numeric(["bench", "import"], "repeat", "0", "101"))
        table += [Numeric(["bench", "peak"], "seconds", "0.001", "11", float: true), Numeric(["bench", "peak"], "threads", "0", "257")]
        for bench in [bc, bh, ["bench", "sampling"], bk] { table.append(Numeric(bench, "peak-seconds", "0.001", "11", float: true)) }
        let serve = ["serve"]
        table += [Numeric(serve, "port", "-1", "65536"), Numeric(serve, "workers", "0", "257"),
                  Numeric(serve, "queue", "-1", "100001"), Numeric(serve, "max-chars", "0", "100001"),
                  Numeric(serve, "max-body", "1023", "67108865"), Numeric(serve, "max-render-body", "1023", "67108865"), Numeric(serve, "timeout", "0.05", "3601", float: true),
                  Numeric(serve, "idle-timeout", "0.05", "7201", float: true),
                  Numeric(serve, "max-connections", "0", "100001")]
        table += [Numeric(["bench", "render"], "lines", "0", "1000001"),
                  Numeric(["bench", "render"], "line-height", "3", "1001", float: true)]
        return table
    }()

    /// Commands with a seed (any UInt64).
    static let seeds: [[String]] = [
        ["char", "train", "--data", "x.txt", "--out", out], ["train", "prediction", "--data", "x.qds", "--out", out],
        ["char", "sample", "--model", "m"], ["ngram", "sample", "--model", "m"], ["write", "hi", "-o", "x.png"], ["sample", "--model", "m", "-o", "x.png"],
        ["plot", "density", "--model", "m", "-o", "x.png"], ["plot", "window", "hi", "-o", "x.png"],
        ["style", "add", "s", "--text", "hi"], ["data", "import", "iam-jsonl", "x.jsonl", "--out", "x.qds"],
        ["task", "palindrome", "--length", "5"], ["char", "gradient-flow", "-o", out + ".png"],
    ]

    func testEveryNumericOptionIsRangeChecked() {
        for n in Self.numeric {
            var values = [n.below, n.above]
            if n.float { values += ["nan", "inf", "-inf"] }
            for v in values {
                let e = parseError(n.base + ["--\(n.name)=\(v)"])
                XCTAssertTrue(e.contains("--\(n.name) must be"), "\(n.key) \(v): \(e)")
            }
            // Values far beyond the range (past Int for integers) name the option too.
            let e = parseError(n.base + ["--\(n.name)", n.float ? "-1e300" : "-99999999999999999999"])
            XCTAssertTrue(e.contains("--\(n.name)") && !e.contains("Missing value"), "\(n.key): \(e)")
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: Self.out))
    }

    /// `--name -1` (a space, not `=`) reaches the option's own check: never "Missing value".
    func testNegativeNumbersAfterASpace() {
        for n in Self.numeric {
            for v in ["-1", "-0.5", "-1e3", "-.5"] + (n.float ? ["-inf", "-nan"] : []) {
                let e = parseError(n.base + ["--\(n.name)", v])
                XCTAssertFalse(e.contains("Missing value"), "\(n.key) \(v): \(e)")
                // -1 is outside every numeric option's range but a bias's; a fraction is not an integer.
                if n.negativeInRange { continue }
                XCTAssertTrue(e.contains("--\(n.name)") || e == "no error", "\(n.key) \(v): \(e)")
            }
        }
        for base in Self.seeds {
            let e = parseError(base + ["--seed", "-1"])
            XCTAssertTrue(e.contains("'-1' is invalid for '--seed"), "\(base): \(e)")
            XCTAssertFalse(parseError(base + ["--seed", "18446744073709551615"]).contains("--seed"), "\(base)")
        }
    }

    func testJoiningNegativeValues() {
        let j = Quill.joiningNegativeValues
        XCTAssertEqual(j(["sample", "--bias", "-1", "--length", "-.5"]), ["sample", "--bias=-1", "--length=-.5"])
        for v in ["-0.5", "-1e3", "-1E+3", "-2.", "-inf", "-Infinity", "-nan"] {
            XCTAssertEqual(j(["write", "hi", "--bias", v]), ["write", "hi", "--bias=\(v)"], v)
        }
        // Flags, short names, non-numbers, unknown options and anything after -- are left as they are.
        XCTAssertEqual(j(["write", "--own-hand", "-1"]), ["write", "--own-hand", "-1"])
        XCTAssertEqual(j(["write", "-o", "-1"]), ["write", "-o", "-1"])
        XCTAssertEqual(j(["write", "--bias", "-x"]), ["write", "--bias", "-x"])
        // A value that starts like a number is joined, so the option's own check names what is wrong with it.
        XCTAssertEqual(j(["write", "--bias", "-1x"]), ["write", "--bias=-1x"])
        XCTAssertEqual(j(["write", "hi", "--page", "-100x100mm"]), ["write", "hi", "--page=-100x100mm"])
        XCTAssertEqual(j(["write", "hi", "--margin", "-.5in"]), ["write", "hi", "--margin=-.5in"])
        XCTAssertEqual(j(["write", "--nope", "-1"]), ["write", "--nope", "-1"])
        XCTAssertEqual(j(["write", "--", "--bias", "-1"]), ["write", "--", "--bias", "-1"])
        // Options are those of the command named: --embedding belongs to char train, not to sample.
        XCTAssertEqual(j(["char", "train", "--embedding", "-1"]), ["char", "train", "--embedding=-1"])
        XCTAssertEqual(j(["sample", "--embedding", "-1"]), ["sample", "--embedding", "-1"])
        // Any value-taking option, string ones too: a prime text "-1" is text.
        XCTAssertEqual(j(["char", "sample", "--prime", "-1"]), ["char", "sample", "--prime=-1"])
    }

    /// Every option of every command is either in the numeric table, a seed, or known not to be a number: a new
    /// numeric option must be added to the table (and given a range).
    func testEveryOptionIsAccountedFor() throws {
        let notNumbers: Set<String> = [
            "data", "out", "model", "output", "cell", "optimizer", "part", "prime", "id", "input", "style", "prime-from",
            "prime-inkml", "prime-text", "title", "x", "network", "keep", "y-axis", "split", "ascii", "train-list",
            "valid-list", "text", "inkml", "seed", "color", "pen", "plotter", "pen-down", "pen-up", "origin",
            "page", "margin", "align", "paper", "precision", "smoothing", "hershey", "hershey-fonts", "synthetic-seed", "init-from", "init",
            "sample-prime", "labels", "typo", "host", "cors", "job", "value", "lengths", "tensorboard", "parameter",
            "units", "dilations",
        ]
        let covered = Set(Self.numeric.map(\.key))
        var seen = 0
        func walk(_ path: [String], _ tree: OptionTree) {
            for name in tree.valueOptions {
                seen += 1
                let key = (path + ["--" + name]).joined(separator: " ")
                if path == ["data", "import"] && name == "alphabet" { continue }  // frequency or graves
                XCTAssertTrue(covered.contains(key) || notNumbers.contains(name), "\(key) is not in the table")
            }
            for (name, sub) in tree.subcommands { walk(path + [name], sub) }
        }
        let root = try XCTUnwrap(OptionTree.root)
        walk([], root)
        XCTAssertGreaterThan(seen, 100)
        // And every table entry names a real option of its command.
        for n in Self.numeric {
            var node: OptionTree? = root
            for word in Self.commandPath(n.base) { node = node?.subcommands[word] }
            XCTAssertTrue(node?.valueOptions.contains(n.name) == true, n.key)
        }
    }

    /// In-range values that once divided by zero or let the learning rate grow are refused before any work.
    func testLearningRateScheduleOptions() {
        let base = ["char", "train", "--data", "x.txt", "--out", Self.out, "--steps", "5"]
        XCTAssertTrue(parseError(base + ["--lr-decay-every", "0"]).contains("--lr-decay-every must be between 1 and 1000000, got 0"))
        XCTAssertTrue(parseError(base + ["--lr-decay-every", "-5"]).contains("--lr-decay-every must be between 1 and 1000000, got -5"))
        XCTAssertTrue(parseError(base + ["--lr-decay", "2"]).contains("--lr-decay must be a number more than 0 and at most 1"))
        XCTAssertTrue(parseError(base + ["--lr", "nan"]).contains("--lr must be a number more than 0 and at most 1000, got nan"))
        for kind in ["prediction", "synthesis"] {
            let hw = ["train", kind, "--data", "x.qds", "--out", Self.out, "--steps", "5"]
            XCTAssertTrue(parseError(hw + ["--lr-decay-every", "0"]).contains("--lr-decay-every must be"))
            XCTAssertTrue(parseError(hw + ["--lr-decay", "1.01"]).contains("--lr-decay must be"))
        }
    }

    // MARK: - Outputs that are inputs

    func testDataImportRefusesItsInput() throws {
        let dir = TempDir(); defer { dir.cleanup() }
        let input = dir.path("in.jsonl")
        let content = "{\"id\": \"a\"}\n"
        try content.write(toFile: input, atomically: true, encoding: .utf8)
        try FileManager.default.createSymbolicLink(atPath: dir.path("link.qds"), withDestinationPath: input)
        for out in [input, dir.path("./in.jsonl"), dir.path("link.qds")] {
            let e = errorText(["data", "import", "iam-jsonl", input, "--out", out])
            XCTAssertTrue(e.hasPrefix("quill: error: ") && e.contains("is also an input (an input of the import); choose another output path"), e)
        }
        // An output inside an input directory, with an extension the import reads there.
        let e = errorText(["data", "import", "iam-jsonl", dir.path(""), "--out", dir.path("sub/new.jsonl")])
        XCTAssertTrue(e.contains("in the input directory"), e)
        for (flag, list) in [("--train-list", "train.txt"), ("--valid-list", "valid.txt")] {
            try "a\n".write(toFile: dir.path(list), atomically: true, encoding: .utf8)
            let args = ["data", "import", "iam-jsonl", input, "--train-list", dir.path("train.txt"),
                        "--valid-list", dir.path("valid.txt"), "--out", dir.path(list)]
            XCTAssertTrue(errorText(args).contains("is also an input (\(flag))"), flag)
        }
        XCTAssertEqual(try String(contentsOfFile: input, encoding: .utf8), content)
    }

    /// The import's summary says where the split came from and how many samples each side holds.
    func testDataImportSaysWhereItsSplitCameFrom() throws {
        let dir = TempDir(); defer { dir.cleanup() }
        let points = (0..<40).map { "[4,\($0 % 10 < 5 ? 3 : -3),\($0 == 39 ? 1 : 0)]" }.joined(separator: ",")
        try ["a", "b", "c"].map { "{\"id\":\"\($0)\",\"split_graves\":\"train\",\"text\":\"some words\",\"origin\":[0,0],\"points\":[\(points)]}\n" }
            .joined().write(toFile: dir.path("in.jsonl"), atomically: true, encoding: .utf8)
        try "a\nb\n".write(toFile: dir.path("train.txt"), atomically: true, encoding: .utf8)
        try "c\n".write(toFile: dir.path("valid.txt"), atomically: true, encoding: .utf8)
        let base = ["data", "import", "iam-jsonl", dir.path("in.jsonl")]
        let lists = try runQuill(base + ["--train-list", dir.path("train.txt"), "--valid-list", dir.path("valid.txt"), "--out", dir.path("l.qds")])
        XCTAssertEqual(lists.status, 0, lists.err)
        XCTAssertTrue(lists.out.contains("split from --train-list and --valid-list: 2 training, 1 validation\n"), lists.out)
        let source = try runQuill(base + ["--out", dir.path("s.qds")])
        XCTAssertTrue(source.out.contains("split from the source: 3 training, 0 validation\n"), source.out)
        // Options of a split that is not drawn are refused, or noted where only the data decides.
        let listArgs = ["--train-list", dir.path("train.txt"), "--valid-list", dir.path("valid.txt")]
        let refusals = [(listArgs + ["--split", "seeded"], "--train-list and --valid-list give the split; --split seeded would replace it"),
                        (listArgs + ["--valid-fraction", "0.5"], "--valid-fraction shapes a seeded split, which --train-list and --valid-list replace"),
                        (["--split", "source", "--seed", "7", "--valid-fraction", "0.2"], "--valid-fraction and --seed shape a seeded split, which --split source does not draw")]
        for (args, message) in refusals {
            let r = try runQuill(base + args + ["--out", dir.path("r.qds")])
            XCTAssertEqual(r.status, 64, r.err)
            XCTAssertTrue(r.err.contains(message), r.err)
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir.path("r.qds")))
        let unused = try runQuill(base + ["--seed", "7", "--out", dir.path("u.qds")])
        XCTAssertTrue(unused.out.contains("note: --seed was not used: these samples carry their source's split"), unused.out)
        let empty = try runQuill(base + ["--split", "seeded", "--valid-fraction", "0.9", "--out", dir.path("e.qds")])
        XCTAssertTrue(empty.out.contains("seeded: 0 training, 3 validation\nnote: no sample is in the training split"), empty.out)
    }

    func testHersheyFontsAreAListOfIdsInTheFontFile() throws {
        let dir = TempDir(); defer { dir.cleanup() }
        let points = (0..<40).map { "[4,\($0 % 10 < 5 ? 3 : -3),\($0 == 39 ? 1 : 0)]" }.joined(separator: ",")
        try "{\"id\":\"a\",\"split_graves\":\"train\",\"text\":\"some words\",\"origin\":[0,0],\"points\":[\(points)]}\n"
            .write(toFile: dir.path("in.jsonl"), atomically: true, encoding: .utf8)
        try "{\"futural\": {\"chars\": []}}".write(toFile: dir.path("h.json"), atomically: true, encoding: .utf8)
        let base = ["data", "import", "iam-jsonl", dir.path("in.jsonl"), "--out", dir.path("o.qds"), "--mixed-lines", "5"]
        let h = ["--hershey", dir.path("h.json")]
        let hint = " (see 'quill data import --help')"
        // A usage error is one line: the message, then the help to read.
        let firstLine = { (args: [String]) -> String in
            let e = self.errorText(args)
            XCTAssertFalse(e.contains("\n"), e)
            return e.hasSuffix(hint) ? String(e.dropLast(hint.count)) : e
        }
        XCTAssertEqual(firstLine(base + ["--hershey-fonts", "cursive"]), "quill: error: --mixed-lines needs the font file: --hershey FILE")
        XCTAssertEqual(firstLine(["data", "import", "iam-jsonl", dir.path("in.jsonl"), "--out", dir.path("o.qds"),
                                  "--hershey-fonts", "cursive"]), "quill: error: --hershey-fonts goes with --hershey FILE")
        XCTAssertEqual(firstLine(["data", "import", "iam-jsonl", dir.path("in.jsonl"), "--out", dir.path("o.qds"),
                                  "--all-caps-share", "0.3"]), "quill: error: --all-caps-share goes with --hershey FILE")
        XCTAssertEqual(firstLine(["data", "import", "iam-jsonl", dir.path("in.jsonl"), "--out", dir.path("o.qds"),
                                  "--speech-share", "0.3"]), "quill: error: --speech-share goes with --hershey FILE")
        XCTAssertEqual(firstLine(base + h + ["--all-caps-share", "0.6", "--speech-share", "0.5"]),
                       "quill: error: --all-caps-share and --speech-share add up to more than 1; they are shares of the same phrases")
        for bad in ["", "cursive,", "cursive,,futural", " , "] {
            XCTAssertEqual(firstLine(base + h + ["--hershey-fonts", bad]),
                           "quill: error: --hershey-fonts: a comma-separated list of font ids, such as cursive,futural", bad)
        }
        XCTAssertEqual(firstLine(base + h + ["--hershey-fonts", "futural, futural"]), "quill: error: --hershey-fonts: a font is named twice")
        XCTAssertEqual(errorText(base + h + ["--hershey-fonts", "futural,cursive"]),
                       "quill: error: \(dir.path("h.json")): no font 'cursive'; it has futural")
        // Only the single-stroke Latin fonts: the file's others draw other scripts at ASCII's code points.
        for other in ["japanese", "greek", "markers", "timesr", String(repeating: "x", count: 5000)] {
            let e = firstLine(base + h + ["--hershey-fonts", "cursive, \(other)"])
            XCTAssertTrue(e.hasPrefix("quill: error: --hershey-fonts: '") && e.hasSuffix("' is not a single-stroke Latin font; use scripts, cursive, futural"), e)
            XCTAssertLessThan(e.count, 200)
        }
        XCTAssertEqual(firstLine(base + ["--hershey", "", "--hershey-fonts", "cursive"]), "quill: error: --hershey: an empty path; name the font file")
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir.path("o.qds")))
    }

    /// `serve --idle-timeout` must stay above --timeout (a stalled body gets its 408 before the idle close); without
    /// it the idle timeout is 60 s, or twice --timeout when that is more.
    func testServeIdleTimeoutStaysAboveTheTimeout() throws {
        let e = parseError(["serve", "--idle-timeout", "1", "--timeout", "5"])
        XCTAssertTrue(e.hasPrefix("quill: error: --idle-timeout 1 must be above --timeout 5: a connection is closed after --idle-timeout, and a request whose body stalls should get its 408 first"), e)
        let long = try XCTUnwrap(try Quill.parseAsRoot(["serve", "--timeout", "120"]) as? ServeCommand)
        XCTAssertEqual(long.settings.idleTimeout, 240)
        let plain = try XCTUnwrap(try Quill.parseAsRoot(["serve"]) as? ServeCommand)
        XCTAssertEqual(plain.settings.idleTimeout, 60)
        XCTAssertEqual(parseError(["serve", "--idle-timeout", "6", "--timeout", "5"]), "no error")
        // The longest --timeout keeps a default idle timeout in range, and one above it may be given.
        XCTAssertEqual(parseError(["serve", "--timeout", "3600"]), "no error")
        XCTAssertEqual(parseError(["serve", "--timeout", "3600", "--idle-timeout", "3700"]), "no error")
    }

    /// A sample named by an id the file lacks is a usage error (64), as an index out of range is.
    func testDataShowOfAnUnknownSampleIsAUsageError() throws {
        let dir = TempDir(); defer { dir.cleanup() }
        let stats = OffsetStatistics(meanDx: 0, meanDy: 0, stdDx: 1, stdDy: 1)
        let sample = PreparedSample(id: "l0", writer: nil, text: "ab", characters: [1, 2], split: .train, originX: 0, originY: 0,
                                    dx: [1, 2, 3], dy: [0, 1, 0], eos: [0, 0, 1])
        try PreparedFormat.write(PreparedDataset(header: PreparedHeader(format: .iamJSONL, options: PreprocessOptions(), stats: stats,
                                                                        measuredStats: stats,
                                                                        alphabet: Alphabet(policy: .frequency(minCount: 1), symbols: ["\u{FFFD}", "a", "b"]),
                                                                        splitUsed: "source"), samples: [sample]), to: dir.path("d.qds"))
        let r = try runQuill(["data", "show", dir.path("d.qds"), "--id", "nope", "-o", dir.path("a.png")])
        XCTAssertEqual(r.status, 64, r.err)
        XCTAssertTrue(r.err.contains("no sample with id 'nope'"), r.err)
        XCTAssertEqual(try runQuill(["data", "show", dir.path("d.qds"), "--index", "999", "-o", dir.path("a.png")]).status, 64)
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir.path("a.png")))
    }

    func testDataShowAndPlotLossRefuseTheirInput() throws {
        let dir = TempDir(); defer { dir.cleanup() }
        try "x".write(toFile: dir.path("d.qds"), atomically: true, encoding: .utf8)
        try FileManager.default.linkItem(atPath: dir.path("d.qds"), toPath: dir.path("d.png"))
        XCTAssertTrue(errorText(["data", "show", dir.path("d.qds"), "--index", "0", "-o", dir.path("d.png")])
            .contains("d.png: is also an input (the dataset file)"))
        try "{}\n".write(toFile: dir.path("metrics.jsonl"), atomically: true, encoding: .utf8)
        try FileManager.default.createSymbolicLink(atPath: dir.path("loss.svg"), withDestinationPath: dir.path("metrics.jsonl"))
        XCTAssertTrue(errorText(["plot", "loss", dir.path(""), "-o", dir.path("loss.svg")])
            .contains("loss.svg: is also an input (the metrics log)"))
        XCTAssertEqual(try String(contentsOfFile: dir.path("metrics.jsonl"), encoding: .utf8), "{}\n")
    }

    /// A training run never writes or (with --force) deletes its own data, and --out must be a directory.
    func testTrainingOutputDirectoryNeverTouchesItsData() throws {
        let dir = TempDir(); defer { dir.cleanup() }
        let run = dir.path("run")
        try FileManager.default.createDirectory(atPath: run, withIntermediateDirectories: true)
        let content = String(repeating: "some text to learn. ", count: 40)
        for file in ["model.safetensors", "last.safetensors", "metrics.jsonl"] {
            try content.write(toFile: run + "/" + file, atomically: true, encoding: .utf8)
            let e = errorText(["char", "train", "--data", run + "/" + file, "--out", run, "--steps", "1", "--force"])
            XCTAssertTrue(e.contains("\(file): is also an input (--data); the run writes (and --force deletes) \(file)"), e)
            for kind in ["prediction", "synthesis"] {
                let e = errorText(["train", kind, "--data", run + "/" + file, "--out", run, "--steps", "1", "--force"])
                XCTAssertTrue(e.contains("is also an input (--data)"), e)
            }
            XCTAssertEqual(try String(contentsOfFile: run + "/" + file, encoding: .utf8), content)
        }
        // A hard link to the data under a name the run writes.
        let text = dir.path("text.txt")
        try content.write(toFile: text, atomically: true, encoding: .utf8)
        let other = dir.path("other")
        try FileManager.default.createDirectory(atPath: other, withIntermediateDirectories: true)
        try FileManager.default.linkItem(atPath: text, toPath: other + "/metrics.jsonl")
        XCTAssertTrue(errorText(["char", "train", "--data", text, "--out", other, "--steps", "1", "--force"])
            .contains("is also an input"))
        XCTAssertEqual(try String(contentsOfFile: text, encoding: .utf8), content)
        // Data beside the run's files is fine; --out naming a file is not.
        XCTAssertTrue(errorText(["char", "train", "--data", text, "--out", text, "--steps", "1"])
            .contains("text.txt: is a file, not a directory"))
    }

    // MARK: - Inputs that are not files

    func testDirectoriesAndDevicesAsInputFiles() throws {
        let dir = TempDir(); defer { dir.cleanup() }
        let d = dir.path("")
        for (args, what) in [
            (["char", "train", "--data", d, "--out", dir.path("run"), "--steps", "1"], "--data"),
            (["char", "eval", "--model", dir.path("m.safetensors"), "--data", "/dev/null"], "--data"),
            (["char", "sample", "--model", "/dev/null"], "--model"),
            (["train", "prediction", "--data", "/dev/null", "--out", dir.path("run"), "--steps", "1"], "--data"),
            (["eval", "--model", dir.path("m.safetensors"), "--data", d], "--data"),
            (["data", "stats", d], "the dataset file"),
            (["data", "show", "/dev/null", "--index", "0", "-o", dir.path("x.png")], "the dataset file"),
            (["write", "hi", "--prime-from", d, "--id", "a", "-o", dir.path("x.png")], "--prime-from"),
            (["data", "import", "iam-jsonl", "/dev/null", "--out", dir.path("x.qds")], "an input of the import"),
        ] {
            let e = errorText(args)
            XCTAssertTrue(e.hasPrefix("quill: error: ") && (e.contains("is a directory, not a file (\(what))")
                          || e.contains("is a device, not a regular file (\(what))")), "\(args): \(e)")
        }
        XCTAssertTrue(errorText(["write", "--input", d, "-o", dir.path("x.png")]).contains("is a directory"))
    }

    /// Foundation's file errors become one plain line naming the path.
    func testFileSystemErrorsAreOneLine() {
        let cases: [(Error, String)] = [
            (CocoaError(.fileNoSuchFile, userInfo: [NSFilePathErrorKey: "/x/y"]), "/x/y: no such file or directory"),
            (CocoaError(.fileWriteOutOfSpace, userInfo: [NSFilePathErrorKey: "/x/y"]), "/x/y: no space left"),
            (CocoaError(.fileWriteFileExists, userInfo: [NSFilePathErrorKey: "/x/y"]), "/x/y: it already exists"),
            (CocoaError(.fileWriteNoPermission, userInfo: [NSFilePathErrorKey: "/x/y"]), "/x/y: permission denied"),
            (NSError(domain: NSPOSIXErrorDomain, code: Int(EISDIR), userInfo: [NSFilePathErrorKey: "/x"]), "/x: it is a directory"),
            (CocoaError(.fileReadUnknown, userInfo: [NSFilePathErrorKey: NSTemporaryDirectory()]), "is a directory"),
            (CocoaError(.fileReadUnknown), "a file: the file could not be read or written"),
        ]
        for (error, expected) in cases {
            let line = Quill.errorLine(for: error)
            XCTAssertTrue(line.hasPrefix("quill: error: ") && line.contains(expected), line)
            XCTAssertFalse(line.contains("Domain") || line.contains("Code="), line)
        }
    }

    /// A usage error is one line, like every other error: ArgumentParser's message, then the help to read; no usage
    /// lines (and --help itself still prints in full, see HelpSnapshotTests).
    func testAUsageErrorIsOneLineNamingTheHelpToRead() {
        XCTAssertEqual(parseError(["write", "hello", "--bias"]),
                       "quill: error: Missing value for '--bias <bias>' (see 'quill write --help')")
        XCTAssertEqual(parseError(["write", "hello", "-o", "x.png", "--no-such-option"]),
                       "quill: error: Unknown option '--no-such-option' (see 'quill write --help')")
        // --text is what people guess for the text; the nearest option by spelling (--seed) is no help.
        XCTAssertEqual(parseError(["write", "--text", "hello", "-o", "x.png"]),
                       "quill: error: quill write takes its text as an argument, not --text: quill write \"Hello\" -o hello.png (or - to read standard input, or --input FILE; see 'quill write --help')")
        XCTAssertTrue(parseError(["plot", "window", "--text", "hello", "-o", "x.png"]).contains("quill plot window takes its text as an argument, not --text"))
        // A text that begins with '-' is read as options; the error says to put it after --.
        XCTAssertTrue(parseError(["write", "-5 degrees", "-o", "x.png"]).contains("goes after --"))
    }

    /// A mistyped command is told as such, with the nearest command, rather than as an unknown option after it.
    func testAMistypedCommandIsToldWithTheNearestOne() {
        XCTAssertEqual(parseError(["wirte", "hi", "-o", "x.png"]),
                       "quill: error: 'wirte' is not a command of 'quill' (did you mean 'write'?); see 'quill --help' for its commands")
        XCTAssertEqual(parseError(["train", "synthesys", "--data", "x.qds"]),
                       "quill: error: 'synthesys' is not a command of 'quill train' (did you mean 'synthesis'?); see 'quill train --help' for its commands")
        XCTAssertEqual(parseError(["no-such-command"]),
                       "quill: error: 'no-such-command' is not a command of 'quill'; see 'quill --help' for its commands")
        // Words that are not commands where a command takes text stay text; `help` stays ArgumentParser's.
        XCTAssertEqual(parseError(["write", "wirte", "--bias", "nan"]).contains("not a command"), false)
        XCTAssertEqual(parseError(["help", "write"]), "no error")
        XCTAssertEqual(Quill.editDistance("wirte", "write"), 1)
        XCTAssertEqual(Quill.editDistance("", "abc"), 3)
        XCTAssertEqual(Quill.editDistance("abc", ""), 3)
        XCTAssertEqual(Quill.editDistance("kitten", "sitting"), 3)
    }

    /// `-o DIR` is told it names a directory, not an unknown output format.
    func testADirectoryOutputIsToldSo() {
        let dir = TempDir(); defer { dir.cleanup() }
        XCTAssertEqual(parseError(["write", "hi", "-o", dir.url.path]),
                       "quill: error: \(dir.url.path): is a directory; give a file in it, such as \(dir.path("line.png")) (see 'quill write --help')")
        // --list-styles writes nothing, so an output that is a directory is not judged (scripts pass text and -o).
        XCTAssertEqual(parseError(["write", "hi", "--list-styles", "-o", dir.url.path]), "no error")
    }

    /// `--input notes.txt -o notes.txt` is told that the output is its input, before the output's format is judged.
    func testWriteToItsOwnInputIsToldSo() throws {
        let dir = TempDir(); defer { dir.cleanup() }
        try "hello".write(toFile: dir.path("notes.txt"), atomically: true, encoding: .utf8)
        XCTAssertEqual(parseError(["write", "--input", dir.path("notes.txt"), "-o", dir.path("notes.txt")]),
                       "quill: error: \(dir.path("notes.txt")): is also an input (--input); choose another output path")
        XCTAssertEqual(try String(contentsOfFile: dir.path("notes.txt"), encoding: .utf8), "hello")
    }
}
