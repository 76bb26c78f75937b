import Foundation

/// Reads one W3C InkML file as one sample.
///
/// Every `<trace>` (inside trace groups or not) becomes a stroke, in document order. The channel order comes from
/// `<traceFormat>` (`<channel name=…>`) or `<channelList>` (`<channelDef name=…>`), defaulting to X Y; a T
/// channel becomes the point times. The transcription is the root-level `<annotation type="truth">`; when the file
/// has none, a UNIPEN `.upx` file of the same name beside it (as in ADAB) supplies `<alternate value=…>` and the
/// writer. Difference-encoded values (`'`, `"`, `!` prefixes) are rejected with a clear error.
///
/// InkML's X grows to the right and Y downwards; a `<channel name="X|Y" orientation="-ve">` runs the other way,
/// so its values are negated to give the y-down sample every importer returns.
public enum InkMLImporter {
    /// Reads and validates one InkML file: the one entry point for every command that reads InkML
    /// (`data import inkml`, `write --prime-inkml`, `style add --inkml`), so all apply the same checks.
    ///
    /// - Returns: one sample, y pointing down, coordinates in the file's units, validated with
    ///   `HandwritingSample.validate` (finite coordinates within `HandwritingSample.coordinateLimit`, no empty stroke).
    /// - Throws: `DatasetError.malformedXML` (not well formed, nested deeper than 256 elements, no X/Y channels,
    ///   a bad orientation), `.badCoordinate`, `.emptyStroke`, `.io`.
    public static func load(path: String) throws -> HandwritingSample {
        let sample = try parse(path: path)
        try sample.validate(at: SourcePosition(file: path))
        return sample
    }

    static func parse(path: String) throws -> HandwritingSample {
        let root = try XMLElementNode.parse(file: path)
        guard root.localName == "ink" else {
            throw DatasetError.malformedXML(SourcePosition(file: path, line: root.line),
                                            "root element is <\(root.name)>, expected <ink>")
        }
        var channels = root.descendants(named: "channel").compactMap { $0.attributes["name"]?.uppercased() }
        if channels.isEmpty {
            channels = root.descendants(named: "channelDef").compactMap { $0.attributes["name"]?.uppercased() }
        }
        if channels.isEmpty { channels = ["X", "Y"] }
        guard let xi = channels.firstIndex(of: "X"), let yi = channels.firstIndex(of: "Y") else {
            throw DatasetError.malformedXML(SourcePosition(file: path),
                                            "the trace format has no X and Y channels (found \(channels))")
        }
        let ti = channels.firstIndex(of: "T")
        func sign(_ name: String) throws -> Double {
            guard let channel = root.descendants(named: "channel").first(where: { $0.attributes["name"]?.uppercased() == name }),
                  let orientation = channel.attributes["orientation"] else { return 1 }
            switch orientation.trimmingCharacters(in: .whitespaces) {
            case "+ve": return 1
            case "-ve": return -1
            default:
                throw DatasetError.malformedXML(SourcePosition(file: path, line: channel.line),
                                                "channel \(name) has orientation '\(orientation)', expected +ve or -ve")
            }
        }
        let sx = try sign("X"), sy = try sign("Y")

        var x = [Double](), y = [Double](), t = [Double](), ends = [Int]()
        let traces = root.descendants(named: "trace")
        guard !traces.isEmpty else {
            throw DatasetError.missingField(SourcePosition(file: path, line: root.line), "<trace> (the file has no strokes)")
        }
        for (k, trace) in traces.enumerated() {
            let pos = SourcePosition(file: path, line: trace.line)
            let points = trace.text.split(separator: ",")
                .map { $0.split(whereSeparator: { $0 == " " || $0 == "\n" || $0 == "\r\n" || $0 == "\r" || $0 == "\t" }) }
                .filter { !$0.isEmpty }
            guard !points.isEmpty else { throw DatasetError.emptyStroke(pos, stroke: k) }
            for (j, values) in points.enumerated() {
                guard values.count >= max(xi, yi) + 1 else {
                    throw DatasetError.badCoordinate(pos, "trace \(k), point \(j): \(values.count) value(s), "
                                                     + "expected \(channels.count) (\(channels.joined(separator: " ")))")
                }
                func number(_ i: Int) throws -> Double {
                    let s = values[i]
                    if let first = s.first, first == "'" || first == "\"" || first == "!" {
                        throw DatasetError.badCoordinate(pos, "trace \(k), point \(j): difference-encoded value '\(s)' "
                                                         + "is not supported; export absolute coordinates")
                    }
                    guard let v = DecimalText.double(s) else {
                        throw DatasetError.badCoordinate(pos, "trace \(k), point \(j): '\(s)' is not a number")
                    }
                    return v
                }
                x.append(sx * (try number(xi)))
                y.append(sy * (try number(yi)))
                if let ti, values.count > ti { t.append(try number(ti)) }
            }
            ends.append(x.count)
        }
        var text = root.children(named: "annotation").first { $0.attributes["type"] == "truth" }?.text
            .trimmingCharacters(in: .whitespacesAndNewlines)
        var writer = root.children(named: "annotation").first { $0.attributes["type"] == "writer" }?.text
            .trimmingCharacters(in: .whitespacesAndNewlines)
        if text == nil {
            let upx = (path as NSString).deletingPathExtension + ".upx"
            if FileManager.default.fileExists(atPath: upx) {
                let u = try XMLElementNode.parse(file: upx)
                text = u.descendants(named: "alternate").first?.attributes["value"]?
                    .trimmingCharacters(in: .whitespacesAndNewlines)
                writer = writer ?? u.descendants(named: "hLevel").first?.attributes["writerRef"]
            }
        }
        let id = ((path as NSString).lastPathComponent as NSString).deletingPathExtension
        return HandwritingSample(id: id, source: path, writer: writer, text: text, x: x, y: y,
                                 time: t.count == x.count ? t : nil, strokeEnds: ends)
    }
}
