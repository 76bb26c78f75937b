import QuillData
import QuillRender

/// Small conversions between the data module and the commands.
enum QuillDataBridge {
    /// Raw offsets of an InkML file (the first sample), with end-of-stroke flags.
    static func inkmlOffsets(_ path: String) throws -> (dx: [Double], dy: [Double], eos: [Bool]) {
        let off = try withoutSkipAdvice { try InkMLImporter.load(path: path) }.offsets()
        return (off.dx, off.dy, off.eos.map { $0 != 0 })
    }
}

/// Strokes of the data and the models (tuples) as the renderer's points.
func drawable(_ strokes: [[(x: Double, y: Double)]]) -> [Stroke] { strokes.map { $0.map { Point($0.x, $0.y) } } }

/// Runs a reader for a command that has no `--skip-invalid`: its errors lose the advice to pass it.
func withoutSkipAdvice<T>(_ body: () throws -> T) throws -> T {
    do { return try body() } catch let error as DatasetError { throw CLIError(error.withoutSkipAdvice) }
}
