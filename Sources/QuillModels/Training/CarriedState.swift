import QuillIO
import QuillNN

extension StackWorkspace where T == Float {
    /// The state the next step starts from, per layer: `state.rnn.N.h` and (LSTM) `state.rnn.N.c`, each (B, H).
    func carriedStateEntries() -> [(String, SafeTensors.Entry)] {
        var entries: [(String, SafeTensors.Entry)] = []
        for (n, lws) in layers.enumerated() {
            let st = lws.initialState()
            entries.append(("state.rnn.\(n).h", SafeTensors.Entry(shape: st.h.shape, values: st.h.array)))
            if let c = st.c { entries.append(("state.rnn.\(n).c", SafeTensors.Entry(shape: c.shape, values: c.array))) }
        }
        return entries
    }

    /// Restores the carried state saved by `carriedStateEntries`, checking presence, size and finiteness.
    func restoreCarriedState(from file: SafeTensors.File, path: String) throws {
        for (n, lws) in layers.enumerated() {
            let count = lws.batch * lws.hidden
            guard let h = file.tensors["state.rnn.\(n).h"], h.values.count == count else {
                throw CheckpointError.corrupt(path, "carried state of layer \(n) missing or of the wrong size")
            }
            let cs = file.tensors["state.rnn.\(n).c"]
            if lws.c != nil {
                guard let cs, cs.values.count == count else {
                    throw CheckpointError.corrupt(path, "carried cell state of layer \(n) missing or of the wrong size")
                }
            }
            guard h.values.allSatisfy(\.isFinite), cs?.values.allSatisfy(\.isFinite) ?? true else {
                throw CheckpointError.corrupt(path, "carried state of layer \(n) holds NaN or Inf")
            }
            for i in 0..<count { lws.h[i] = h.values[i] }
            if let c = lws.c, let cs { for i in 0..<count { c[i] = cs.values[i] } }
        }
    }
}
