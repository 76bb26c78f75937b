import Foundation
import QuillData
import QuillIO

/// Training text for a char model: one or more UTF-8 files, concatenated, with its vocabulary and a fingerprint
/// that lets `--resume` notice the data changed.
public struct CharCorpus {
    public let text: String
    public let paths: [String]
    public let fingerprint: String

    /// Loads and validates the files: each must exist, be non-empty and be valid UTF-8 without NUL bytes.
    public init(paths: [String]) throws {
        var text = ""
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        var bytes = 0
        for p in paths {
            guard FileManager.default.fileExists(atPath: p) else { throw CharModelError.dataMissing(p) }
            let data: Data
            do {
                data = try InputFile.read(p, maxBytes: 1 << 32, tooLargeHint: "split it into several --data files")
            } catch let error as FileSystemError {
                throw CharModelError.invalidOption(error.description)
            }
            guard !data.isEmpty else { throw CharModelError.dataEmpty(p) }
            guard let s = String(data: data, encoding: .utf8) else {
                throw CharModelError.dataNotUTF8(p, offset: CharCorpus.firstInvalidUTF8(data),
                                                 hint: TextPreparation.conversionHint(for: data))
            }
            if let first = data.firstIndex(of: 0) {
                throw CharModelError.dataHasNUL(p, count: data.reduce(0) { $0 + ($1 == 0 ? 1 : 0) },
                                                offset: first - data.startIndex,
                                                hint: TextPreparation.notTextHint(for: data)
                                                    ?? "a binary file? give a plain-text file")
            }
            for b in data { hash = (hash ^ UInt64(b)) &* 0x100_0000_01b3 }
            bytes += data.count
            text += s
        }
        self.text = text
        self.paths = paths
        fingerprint = String(format: "fnv1a64:%016llx:%d", hash, bytes)
    }

    /// The byte offset of the first invalid UTF-8 sequence (for the error message).
    static func firstInvalidUTF8(_ data: Data) -> Int {
        var i = 0
        let b = [UInt8](data)
        while i < b.count {
            let c = b[i]
            let n: Int
            if c < 0x80 { n = 1 } else if c >> 5 == 0x6 { n = 2 } else if c >> 4 == 0xE { n = 3 } else if c >> 3 == 0x1E { n = 4 } else { return i }
            if i + n > b.count { return i }
            for k in 1..<n where b[i + k] >> 6 != 0x2 { return i }
            i += n
        }
        return max(0, b.count - 1)
    }
}

/// Contiguous streams for truncated BPTT: the training tokens are cut into B streams of length L, and window k reads
/// positions [pos, pos + T] of every stream (inputs and next-character targets). State carries from one window to
/// the next; at the end of an epoch the position and the state start over.
public struct StreamBatcher {
    public let batch: Int
    public let steps: Int
    public let streamLength: Int

    public init(tokenCount: Int, batch: Int, steps: Int) {
        self.batch = batch
        self.steps = steps
        streamLength = tokenCount / max(batch, 1)
    }

    /// Whether a window fits: each stream needs T + 1 tokens.
    public var fits: Bool { streamLength >= steps + 1 }

    /// Windows per epoch.
    public var windowsPerEpoch: Int { (streamLength - 1) / steps }

    /// Fills time-major (T, B) inputs and targets for the window at `position`.
    public func fill(_ tokens: [Int32], position: Int, inputs: inout [Int32], targets: inout [Int32]) {
        for t in 0..<steps {
            for b in 0..<batch {
                let i = b * streamLength + position + t
                inputs[t * batch + b] = tokens[i]
                targets[t * batch + b] = tokens[i + 1]
            }
        }
    }

    /// The next window's position, and whether it starts a new epoch.
    public func advance(_ position: Int) -> (position: Int, newEpoch: Bool) {
        let next = position + steps
        return next + steps + 1 > streamLength ? (0, true) : (next, false)
    }
}
