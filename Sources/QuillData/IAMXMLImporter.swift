import Foundation

/// Reads IAM-OnDB as distributed: `lineStrokes/…/<form>-<NN>.xml` plus `ascii/…/<form>.txt`.
///
/// Inputs may be the dataset root (holding `lineStrokes/` and `ascii/`), the `lineStrokes/` tree, any folder
/// inside it, or single XML files. The transcription of `lineStrokes/<rest>/<form>-<NN>.xml` is the NN-th
/// non-blank line after `CSR:` in `ascii/<rest>/<form>.txt` (the `ascii` folder beside `lineStrokes`, or
/// `asciiRoot/<rest>/<form>.txt` when given; a `<form>.txt` beside the XML file also works).
/// A form whose CSR section has fewer lines than XML files gives those lines no text (reported as a note).
/// A missing transcription file is an error.
public enum IAMXMLImporter {
    public static func load(inputs: [String], asciiRoot: String?, skipInvalid: Bool,
                            into result: inout ImportResult) throws {
        var inputs = inputs
        // A dataset root holding lineStrokes/ stands for its lineStrokes/ tree.
        inputs = inputs.map { input in
            let strokes = (input as NSString).appendingPathComponent("lineStrokes")
            var isDir: ObjCBool = false
            return FileManager.default.fileExists(atPath: strokes, isDirectory: &isDir) && isDir.boolValue
                ? strokes : input
        }
        var transcriptions = [String: [String]]()
        for path in try Importer.files(in: inputs, extensions: ["xml"]) {
            try result.attempt(skipInvalid: skipInvalid) { r in
                let name = ((path as NSString).lastPathComponent as NSString).deletingPathExtension
                guard let dash = name.lastIndex(of: "-"), let lineNumber = Int(name[name.index(after: dash)...]),
                      lineNumber >= 1 else {
                    throw DatasetError.malformedXML(SourcePosition(file: path),
                                                    "file name is not <form>-<NN>.xml, so its text line is unknown")
                }
                let form = String(name[..<dash])
                let asciiPath = try transcriptionPath(for: path, form: form, asciiRoot: asciiRoot)
                let lines: [String]
                if let cached = transcriptions[asciiPath] {
                    lines = cached
                } else {
                    lines = try csrLines(of: asciiPath)
                    transcriptions[asciiPath] = lines
                }
                var sample = try parseStrokes(file: path)
                sample.id = name
                if lineNumber <= lines.count {
                    sample.text = lines[lineNumber - 1]
                } else {
                    r.notes.append("\(path): \(asciiPath) has only \(lines.count) CSR line(s), so line "
                        + "\(lineNumber) has no transcription")
                }
                try r.add(sample, skipInvalid: false)
            }
        }
    }

    /// Finds the ascii file for a line XML, or throws `missingTranscription` naming where it looked.
    static func transcriptionPath(for xmlPath: String, form: String, asciiRoot: String?) throws -> String {
        let fm = FileManager.default
        var components = (xmlPath as NSString).pathComponents
        components.removeLast()  // the file name
        var candidates = [String]()
        if let k = components.lastIndex(of: "lineStrokes") {
            let rest = Array(components[(k + 1)...])
            let asciiBase = asciiRoot.map { [$0] } ?? (Array(components[..<k]) + ["ascii"])
            candidates.append(NSString.path(withComponents: asciiBase + rest + ["\(form).txt"]))
        } else if let asciiRoot {
            // No lineStrokes/ in the path: use the last two folders (aNN/aNN-NNN) under the ascii root.
            candidates.append(NSString.path(withComponents: [asciiRoot] + components.suffix(2) + ["\(form).txt"]))
        }
        candidates.append(NSString.path(withComponents: components + ["\(form).txt"]))
        for c in candidates where fm.fileExists(atPath: c) { return c }
        throw DatasetError.missingTranscription(SourcePosition(file: xmlPath), expected: candidates[0])
    }

    /// The transcription lines of a form: the non-blank lines after `CSR:`, CRLF or LF.
    static func csrLines(of path: String) throws -> [String] {
        let data = try readFile(path)
        let text = String(decoding: data, as: UTF8.self)
        return try csrLines(text: text, file: path)
    }

    /// The non-blank lines after the `CSR:` line of an IAM-OnDB ascii file (line N belongs to XML file N).
    public static func csrLines(text: String, file: String) throws -> [String] {
        let lines = text.split(omittingEmptySubsequences: false, whereSeparator: { $0 == "\n" || $0 == "\r\n" || $0 == "\r" })
        guard let csr = lines.firstIndex(where: { $0.trimmingCharacters(in: .whitespaces) == "CSR:" }) else {
            throw DatasetError.malformedXML(SourcePosition(file: file),
                                            "no 'CSR:' line, so this is not an IAM-OnDB ascii transcription file")
        }
        return lines[(csr + 1)...].map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
    }

    /// Reads `WhiteboardCaptureSession/StrokeSet/Stroke/Point` (x, y, time) from one line file.
    static func parseStrokes(file: String) throws -> HandwritingSample {
        let root = try XMLElementNode.parse(file: file)
        guard let set = root.descendants(named: "StrokeSet").first else {
            throw DatasetError.malformedXML(SourcePosition(file: file, line: root.line),
                                            "no <StrokeSet> element (expected WhiteboardCaptureSession/StrokeSet/Stroke/Point)")
        }
        var x = [Double](), y = [Double](), t = [Double](), ends = [Int]()
        var allTimed = true
        for (k, stroke) in set.children(named: "Stroke").enumerated() {
            let points = stroke.children(named: "Point")
            guard !points.isEmpty else {
                throw DatasetError.emptyStroke(SourcePosition(file: file, line: stroke.line), stroke: k)
            }
            for p in points {
                guard let xs = p.attributes["x"], let px = DecimalText.double(xs), let ys = p.attributes["y"],
                      let py = DecimalText.double(ys)
                else {
                    throw DatasetError.badCoordinate(SourcePosition(file: file, line: p.line),
                                                     "<Point> needs decimal x and y attributes, found "
                                                     + "x=\(p.attributes["x"] ?? "nil") y=\(p.attributes["y"] ?? "nil")")
                }
                x.append(px)
                y.append(py)
                if let ts = p.attributes["time"] {
                    guard let pt = DecimalText.double(ts) else {
                        throw DatasetError.badCoordinate(SourcePosition(file: file, line: p.line),
                                                         "<Point> has time=\(ts), not a decimal number")
                    }
                    t.append(pt)
                } else {
                    allTimed = false
                }
            }
            ends.append(x.count)
        }
        guard !ends.isEmpty else {
            throw DatasetError.emptyStroke(SourcePosition(file: file, line: set.line), stroke: 0)
        }
        return HandwritingSample(id: file, source: file, x: x, y: y, time: allTimed ? t : nil, strokeEnds: ends)
    }
}
