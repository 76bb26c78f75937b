import QuillData

/// Small conversions between the data module and the commands.
enum QuillDataBridge {
    /// Raw offsets of an InkML file (the first sample), with end-of-stroke flags.
    static func inkmlOffsets(_ path: String) throws -> (dx: [Double], dy: [Double], eos: [Bool]) {
        let off = try InkMLImporter.load(path: path).offsets()
        return (off.dx, off.dy, off.eos.map { $0 != 0 })
    }
}
