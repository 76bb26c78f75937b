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
            if let hint = TextPreparation.encodedTextHint(forValidUTF8: data) {
                throw CharModelError.dataEncoded(p, hint: hint)
            }
            // A byte-order mark alone decodes to nothing.
            guard !s.isEmpty else { throw CharModelError.dataEmpty(p) }
            try CharCorpus.checkMostlyText(s, path: p)
            for b in data { hash = (hash ^ UInt64(b)) &* 0x100_0000_01b3 }
            bytes += data.count
            text += s
        }
        self.text = text
        self.paths = paths
        fingerprint = String(format: "fnv1a64:%016llx:%d", hash, bytes)
    }

    /// Refuses text of which more than half the characters are control characters other than tab, line feed and
    /// carriage return (C0, DEL, C1): valid UTF-8, but a binary file, not something to learn language from.
    static func checkMostlyText(_ s: String, path: String) throws {
        var controls = 0, total = 0
        var first: Unicode.Scalar?
        for u in s.unicodeScalars {
            total += 1
            let v = u.value
            if (v < 0x20 && v != 0x09 && v != 0x0A && v != 0x0D) || (0x7F...0x9F).contains(v) {
                controls += 1
                if first == nil { first = u }
            }
        }
        if let first, controls * 2 > total {
            throw CharModelError.dataNotText(path, controls: controls, characters: total, first: first)
        }
    }

    /// The byte offset of the first invalid UTF-8 sequence (for the error message): a byte that cannot start a
    /// sequence (80–BF, C0, C1, F5–FF), a missing continuation byte, an overlong form (E0 80–9F, F0 80–8F), a
    /// surrogate (ED A0–BF) or a code point above U+10FFFF (F4 90–BF), as the Unicode standard's table 3-7 has it.
    static func firstInvalidUTF8(_ data: Data) -> Int {
        let b = [UInt8](data)
        var i = 0
        while i < b.count {
            let c = b[i]
            let n: Int
            var low: UInt8 = 0x80, high: UInt8 = 0xBF   // the second byte's range
            switch c {
            case 0x00...0x7F: n = 1
            case 0xC2...0xDF: n = 2
            case 0xE0: n = 3; low = 0xA0
            case 0xED: n = 3; high = 0x9F
            case 0xE1...0xEF: n = 3
            case 0xF0: n = 4; low = 0x90
            case 0xF4: n = 4; high = 0x8F
            case 0xF1...0xF3: n = 4
            default: return i
            }
            if n > 1 {
                guard i + 1 < b.count, (low...high).contains(b[i + 1]) else { return i }
                for k in 2..<n where i + k >= b.count || b[i + k] >> 6 != 0x2 { return i }
            }
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
