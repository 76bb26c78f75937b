import Foundation
import QuillIO

/// Appends JSON lines to metrics.jsonl, one whole object per call (`QuillIO.AppendFile`: a failed write, a full disk
/// say, throws `FileSystemError` and leaves no half line). Keys are sorted; NaN and ±inf are written as null.
final class MetricsWriter {
    let file: AppendFile

    /// Opens `path` for appending; `truncate` starts it afresh (a new run).
    init(path: String, truncate: Bool) throws {
        file = try AppendFile(path: path, truncate: truncate)
    }

    func append(_ object: [String: Any]) throws {
        var clean = object
        for (k, v) in object { if let d = v as? Double, !d.isFinite { clean[k] = NSNull() } }
        var data = try JSONSerialization.data(withJSONObject: clean, options: [.sortedKeys])
        data.append(0x0a)
        try file.append(data)
    }
}
