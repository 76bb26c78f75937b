extension QuillGEMM {
    /// Runs `body` with `precision` set to `p` for the large Float products, and sets it back afterwards (also when
    /// `body` throws). Training runs each step's forward and backward pass inside this with the run's precision;
    /// validation, sampling and everything else stay in fp32. Call it from one thread.
    public static func withPrecision<R>(_ p: Precision, _ body: () throws -> R) rethrows -> R {
        let saved = precision
        precision = p
        defer { precision = saved }
        return try body()
    }
}

/// Saved as its raw value ("fp32", "bf16") in a run's options (`quill.train-options`).
extension QuillGEMM.Precision: Codable {}
