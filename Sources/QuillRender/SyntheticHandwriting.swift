import Foundation
import QuillData

/// Seeded cursive-like lines of handwriting, for benchmarks and tests; not real handwriting.
///
/// Letters are loops of a prolate trochoid (x advances while the pen circles), with random heights for ascenders
/// and descenders, a forward slant, pen lifts inside words, and dots and bars as short strokes. A line has about
/// 600 points in about 25 strokes, like an IAM-OnDB text line.
public enum SyntheticHandwriting {
    /// One line of strokes (y down, x-height about 1 unit) from `seed`; the same seed gives the same line.
    public static func line(seed: UInt64, words: Int = 8) -> [Stroke] {
        var rng = SplitMix64(seed: seed)
        var strokes: [Stroke] = []
        var x = 0.0
        for _ in 0..<max(1, words) {
            let letters = 3 + Int(rng.next() % 5)
            var current: Stroke = []
            for l in 0..<letters {
                let tall = rng.uniform() < 0.2, deep = !tall && rng.uniform() < 0.12
                let height = tall ? 2.1 + 0.3 * rng.uniform() : 0.9 + 0.2 * rng.uniform()
                let width = 0.55 + 0.25 * rng.uniform()
                let radius = width * (0.2 + 0.1 * rng.uniform())
                // Loops (e, l) circle forwards; arches (n, m) bulge backwards on the way up.
                let loop: Double = rng.uniform() < 0.55 ? 1 : -1
                let n = 12 + Int(rng.next() % 6)
                for i in 0..<n {
                    let t = Double(i) / Double(n)
                    let angle = 2 * Double.pi * t
                    var y = -height * (1 - cos(angle)) / 2
                    if deep && t > 0.5 { y = -y * 0.9 }  // a descender swings below the baseline
                    let px = x + width * t + loop * radius * sin(angle)
                    current.append(slanted(Point(px, y), jitter: 0.015, &rng))
                }
                x += width
                // A pen lift inside a word now and then, and a dot or bar above some letters.
                if l < letters - 1, rng.uniform() < 0.3 {
                    strokes.append(current)
                    current = []
                }
                if rng.uniform() < 0.12 {
                    let dx = x - width / 2, dy = -1.5 - 0.3 * rng.uniform()
                    strokes.append([slanted(Point(dx, dy), jitter: 0, &rng),
                                    slanted(Point(dx + 0.04, dy + 0.03), jitter: 0, &rng)])
                }
            }
            current.append(slanted(Point(x + 0.15, -0.1), jitter: 0.01, &rng))
            strokes.append(current)
            x += 0.6 + 0.3 * rng.uniform()
        }
        return strokes
    }

    private static func slanted(_ p: Point, jitter: Double, _ rng: inout SplitMix64) -> Point {
        Point(p.x - 0.3 * p.y + jitter * (rng.uniform() - 0.5), p.y + jitter * (rng.uniform() - 0.5))
    }
}

/// A small seeded generator (SplitMix64) so QuillRender needs no numerics module for its synthetic data.
struct SplitMix64 {
    private var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// A uniform value in [0, 1).
    mutating func uniform() -> Double { Double(next() >> 11) * 0x1p-53 }
}

/// Times rendering many handwriting lines to PNG files.
public enum RenderBenchmark {
    /// What one benchmark run measured.
    public struct Result: Sendable, CustomStringConvertible {
        public var lines: Int
        public var points: Int
        public var strokes: Int
        /// Seconds spent laying out, drawing, encoding and writing the files (line generation excluded).
        public var seconds: Double
        public var bytes: Int

        public var linesPerSecond: Double { seconds > 0 ? Double(lines) / seconds : 0 }

        public var description: String {
            String(format: "rendered %d lines (%d points, %d strokes) to PNG in %.3f s: %.1f lines/s, %.2f ms/line, "
                   + "%.1f KiB/line", lines, points, strokes, seconds, linesPerSecond,
                   1000 * seconds / Double(max(1, lines)), Double(bytes) / 1024 / Double(max(1, lines)))
        }
    }

    /// Renders `lines` synthetic lines (seeds 1…N) to `directory/line-NNNN.png` and measures the time.
    public static func run(lines: Int, directory: String, options: PageOptions = PageOptions()) throws -> Result {
        guard lines > 0 else { throw RenderError.invalidArgument(what: "bench", detail: "--lines must be ≥ 1") }
        let data = (1...lines).map { SyntheticHandwriting.line(seed: UInt64($0)) }
        let points = data.reduce(0) { $0 + $1.reduce(0) { $0 + $1.count } }
        let strokes = data.reduce(0) { $0 + $1.count }
        let start = DispatchTime.now().uptimeNanoseconds
        var bytes = 0
        for (i, line) in data.enumerated() {
            let path = (directory as NSString).appendingPathComponent(String(format: "line-%04d.png", i + 1))
            try StrokeRenderer.renderPage(lines: [line], to: path, options: options)
            bytes += ((try? FileManager.default.attributesOfItem(atPath: path)[.size]) as? Int) ?? 0
        }
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        return Result(lines: lines, points: points, strokes: strokes, seconds: seconds, bytes: bytes)
    }
}
