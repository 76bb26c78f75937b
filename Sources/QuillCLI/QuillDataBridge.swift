import QuillData

/// Small conversions between the data module and the commands.
enum QuillDataBridge {
    /// Raw offsets of an InkML file (the first sample), with end-of-stroke flags.
    static func inkmlOffsets(_ path: String) throws -> OffsetSequence {
        try withoutSkipAdvice { try InkMLImporter.load(path: path) }.offsets()
    }
}

/// Runs a reader for a command that has no `--skip-invalid`: its errors lose the advice to pass it.
func withoutSkipAdvice<T>(_ body: () throws -> T) throws -> T {
    do { return try body() } catch let error as DatasetError {
        if case .io = error { throw CLIError(error.withoutSkipAdvice, status: .noInput) }
        throw CLIError(error.withoutSkipAdvice)
    }
}
