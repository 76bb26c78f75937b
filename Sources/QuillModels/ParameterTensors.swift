import QuillNumerics

extension SafeTensors.File {
    /// Copies the tensors named like `params` (after `prefix`) into them, checking presence, shape and finiteness.
    /// Throws `CheckpointError.corrupt` naming `path` and the tensor.
    func restore(_ params: [Parameter<Float>], path: String, prefix: String = "") throws {
        for p in params {
            guard let e = tensors[prefix + p.name] else {
                throw CheckpointError.corrupt(path, "tensor '\(prefix + p.name)' is missing")
            }
            guard e.shape == p.shape else {
                throw CheckpointError.corrupt(path, "tensor '\(prefix + p.name)' has shape \(e.shape), expected \(p.shape)")
            }
            for (i, v) in e.values.enumerated() {
                guard v.isFinite else { throw CheckpointError.corrupt(path, "tensor '\(prefix + p.name)' holds NaN or Inf") }
                p.value[i] = v
            }
        }
    }
}
