import Foundation
import QuillIO

/// A histogram as TensorBoard's `HistogramProto` holds it: bucket `i` counts the values in
/// (bucketLimits[i − 1], bucketLimits[i]], the first from `min`.
public struct HistogramSummary: Equatable, Sendable {
    public var min: Double
    public var max: Double
    /// Number of values, their sum and sum of squares.
    public var count: Double
    public var sum: Double
    public var sumOfSquares: Double
    /// Each bucket's right edge, ascending.
    public var bucketLimits: [Double]
    public var buckets: [Double]

    public init(min: Double, max: Double, count: Double, sum: Double, sumOfSquares: Double, bucketLimits: [Double],
                buckets: [Double]) {
        self.min = min
        self.max = max
        self.count = count
        self.sum = sum
        self.sumOfSquares = sumOfSquares
        self.bucketLimits = bucketLimits
        self.buckets = buckets
    }
}

/// One value of a TensorBoard `Summary`, under its tag.
public enum SummaryValue: Equatable, Sendable {
    /// A scalar (`simple_value`), drawn in TensorBoard's Scalars tab.
    case scalar(tag: String, value: Float)
    /// A histogram (`histo`), in the Histograms and Distributions tabs.
    case histogram(tag: String, HistogramSummary)
    /// Text (a string tensor with the text plugin's metadata), in the Text tab; TensorBoard renders it as Markdown.
    case text(tag: String, String)
    /// An encoded image (`Summary.Image`, PNG bytes), in the Images tab; width and height in pixels.
    case image(tag: String, png: Data, width: Int, height: Int)

    public var tag: String {
        switch self {
        case .scalar(let t, _), .histogram(let t, _), .text(let t, _), .image(let t, _, _, _): return t
        }
    }

    /// Field numbers of tensorflow/core/framework/summary.proto, tensor.proto and types.proto.
    enum Field {
        static let tag = 1, simpleValue = 2, image = 4, histo = 5, tensor = 8, metadata = 9
        static let pluginData = 1, pluginName = 1
        static let dtype = 1, tensorShape = 2, stringVal = 8, dtString: Int64 = 7
        static let imageHeight = 1, imageWidth = 2, imageColorspace = 3, imageEncoded = 4
        static let histoMin = 1, histoMax = 2, histoNum = 3, histoSum = 4, histoSumSquares = 5, bucketLimit = 6, bucket = 7
    }

    /// The `Summary.Value` message.
    func encode(_ w: inout ProtoWriter) {
        w.string(Field.tag, tag)
        switch self {
        case .scalar(_, let value):
            w.float(Field.simpleValue, value)
        case .histogram(_, let h):
            w.message(Field.histo) { m in
                m.double(Field.histoMin, h.min); m.double(Field.histoMax, h.max); m.double(Field.histoNum, h.count)
                m.double(Field.histoSum, h.sum); m.double(Field.histoSumSquares, h.sumOfSquares)
                m.packedDoubles(Field.bucketLimit, h.bucketLimits); m.packedDoubles(Field.bucket, h.buckets)
            }
        case .text(_, let text):
            w.message(Field.metadata) { m in m.message(Field.pluginData) { p in p.string(Field.pluginName, "text") } }
            // A scalar string tensor: DT_STRING, an empty shape, one string.
            w.message(Field.tensor) { t in
                t.int(Field.dtype, Field.dtString)
                t.message(Field.tensorShape) { _ in }
                t.string(Field.stringVal, text)
            }
        case .image(_, let png, let width, let height):
            w.message(Field.image) { m in
                m.int(Field.imageHeight, Int64(height)); m.int(Field.imageWidth, Int64(width))
                m.int(Field.imageColorspace, 4)  // RGBA
                m.bytes(Field.imageEncoded, png)
            }
        }
    }
}

/// Errors of `EventFileWriter`, naming the directory and what to do.
public enum TensorBoardError: Error, CustomStringConvertible, Equatable {
    case notADirectory(String)

    public var description: String {
        switch self {
        case .notADirectory(let path):
            return "--tensorboard \(path): is a file, not a directory; give a directory for the TensorBoard event files"
        }
    }
}

/// An event file TensorBoard reads (`events.out.tfevents.SECONDS.HOST.PID`): TFRecord-framed `Event` messages, the
/// first holding `file_version` "brain.Event:2", each later one a `Summary` at a step. Every event is appended whole
/// or not at all (`QuillIO.AppendFile`), so a killed run leaves a readable file.
///
/// Field numbers of tensorflow/core/util/event.proto: wall_time 1 (double, seconds since 1970), step 2,
/// file_version 3, summary 5.
public final class EventFileWriter {
    public let path: String
    private let file: AppendFile

    /// Creates `directory` (and its parents) when absent and a new event file in it, and writes the version event.
    /// Throws `TensorBoardError.notADirectory` when `directory` is a file, `FileSystemError` when it cannot write.
    public init(directory: String, now: Date = Date()) throws {
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: directory, isDirectory: &isDirectory), !isDirectory.boolValue {
            throw TensorBoardError.notADirectory(directory)
        }
        try FileSystemError.createDirectory(directory)
        let host = ProcessInfo.processInfo.hostName.filter { $0.isLetter || $0.isNumber || $0 == "-" || $0 == "." }
        let base = "events.out.tfevents.\(Int(now.timeIntervalSince1970)).\(host.isEmpty ? "quill" : host).\(getpid())"
        // Two writers started in one second by one process (a run resumed at once) get files of their own.
        var name = base, n = 1
        while FileManager.default.fileExists(atPath: (directory as NSString).appendingPathComponent(name)) {
            n += 1
            name = "\(base).\(n)"
        }
        path = (directory as NSString).appendingPathComponent(name)
        file = try AppendFile(path: path, truncate: true)
        var w = ProtoWriter()
        w.double(1, now.timeIntervalSince1970)
        w.string(3, "brain.Event:2")
        try file.append(TFRecord.frame(w.data))
    }

    /// Appends one event: a `Summary` of `values` at `step`. Throws `FileSystemError`; the file then ends where it
    /// ended before.
    public func write(step: Int, _ values: [SummaryValue], now: Date = Date()) throws {
        guard !values.isEmpty else { return }
        var w = ProtoWriter()
        w.double(1, now.timeIntervalSince1970)
        w.int(2, Int64(step))
        w.message(5) { summary in
            for v in values { summary.message(1) { v.encode(&$0) } }
        }
        try file.append(TFRecord.frame(w.data))
    }
}
