import QuillIO
import QuillNN

extension StackWorkspace where T == Float {
    /// The state the next step starts from, per layer: `state.rnn.N.h` and (LSTM) `state.rnn.N.c`, each (B, H) for
    /// the whole batch of `batch` streams. This workspace holds streams `rows` of them; `gather` sums a (B, H) buffer
    /// over the ranks of a data-parallel job (each rank fills its own rows, zeros elsewhere), and is called once per
    /// tensor on every rank.
    func carriedStateEntries(rows: Range<Int>, batch: Int, gather: (inout [Float]) -> Void) -> [(String, SafeTensors.Entry)] {
        var entries: [(String, SafeTensors.Entry)] = []
        func whole(_ local: [Float], hidden: Int) -> [Float] {
            guard rows.count != batch else { return local }
            var all = [Float](repeating: 0, count: batch * hidden)
            for i in 0..<local.count { all[rows.lowerBound * hidden + i] = local[i] }
            gather(&all)
            return all
        }
        for (n, lws) in layers.enumerated() {
            let st = lws.initialState()
            entries.append(("state.rnn.\(n).h", SafeTensors.Entry(shape: [batch, lws.hidden], values: whole(st.h.array, hidden: lws.hidden))))
            if let c = st.c {
                entries.append(("state.rnn.\(n).c", SafeTensors.Entry(shape: [batch, lws.hidden], values: whole(c.array, hidden: lws.hidden))))
            }
            if !st.time.isEmpty {
                // Steps since each stream's reset, as two whole float32 numbers each exact below 2^24: (t / 2^24,
                // t mod 2^24), for t up to 2^48.
                let split = st.time.flatMap { [Float($0 >> 24), Float($0 & 0xFF_FFFF)] }
                entries.append(("state.rnn.\(n).t", SafeTensors.Entry(shape: [batch, 2], values: whole(split, hidden: 2))))
            }
        }
        return entries
    }

    /// Restores rows `rows` of the state of `batch` streams saved by `carriedStateEntries`, checking presence, size
    /// and finiteness.
    func restoreCarriedState(from file: SafeTensors.File, path: String, rows: Range<Int>, batch: Int) throws {
        for (n, lws) in layers.enumerated() {
            let count = batch * lws.hidden
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
            let first = rows.lowerBound * lws.hidden
            for i in 0..<(lws.batch * lws.hidden) { lws.h[i] = h.values[first + i] }
            if let c = lws.c, let cs { for i in 0..<(lws.batch * lws.hidden) { c[i] = cs.values[first + i] } }
            if !lws.time.isEmpty {
                guard let ts = file.tensors["state.rnn.\(n).t"], ts.values.count == 2 * batch,
                      ts.values.allSatisfy({ $0 >= 0 && $0 < 16_777_216 && $0 == $0.rounded() }) else {
                    throw CheckpointError.corrupt(path, "carried time of layer \(n) missing, of the wrong size or not a step count")
                }
                var s = lws.initialState()
                s.time = (0..<lws.batch).map {
                    let i = 2 * (rows.lowerBound + $0)
                    return Int(ts.values[i]) << 24 + Int(ts.values[i + 1])
                }
                lws.setInitialState(s)
            }
        }
    }
}

extension ConvolutionStackWorkspace where T == Float {
    /// The state the next step starts from: `state.NAME.x` for the convolution NAME (`conv.0`, `conv.2.gate`), its
    /// last (k − 1)·d inputs per stream ((B, history·width), the oldest step first), for every convolution with a
    /// kernel wider than 1; rows, batch and gather as `StackWorkspace.carriedStateEntries`.
    func carriedStateEntries(rows: Range<Int>, batch: Int, gather: (inout [Float]) -> Void) -> [(String, SafeTensors.Entry)] {
        convolutions.filter { $0.history > 0 }.map { cws in
            let width = cws.stateWidth
            var values = cws.state()
            if rows.count != batch {
                var all = [Float](repeating: 0, count: batch * width)
                for i in 0..<values.count { all[rows.lowerBound * width + i] = values[i] }
                gather(&all)
                values = all
            }
            return ("state.\(cws.name).x", SafeTensors.Entry(shape: [batch, width], values: values))
        }
    }

    /// Restores rows `rows` of the state of `batch` streams saved by `carriedStateEntries`, checking presence, size,
    /// finiteness and magnitude (inputs of a trained network stay far below 10⁶).
    func restoreCarriedState(from file: SafeTensors.File, path: String, rows: Range<Int>, batch: Int) throws {
        for cws in convolutions where cws.history > 0 {
            let width = cws.stateWidth
            guard let x = file.tensors["state.\(cws.name).x"], x.values.count == batch * width else {
                throw CheckpointError.corrupt(path, "carried state of \(cws.name) missing or of the wrong size")
            }
            guard x.values.allSatisfy({ $0.isFinite && abs($0) <= 1e6 }) else {
                throw CheckpointError.corrupt(path, "carried state of \(cws.name) holds NaN, Inf or values beyond ±10⁶")
            }
            cws.setState(Array(x.values[(rows.lowerBound * width)..<(rows.upperBound * width)]))
        }
    }
}

extension CharWorkspace where T == Float {
    /// The carried state of the recurrent or convolution stack (`StackWorkspace.carriedStateEntries`,
    /// `ConvolutionStackWorkspace.carriedStateEntries`).
    func carriedStateEntries(rows: Range<Int>, batch: Int, gather: (inout [Float]) -> Void) -> [(String, SafeTensors.Entry)] {
        if let stack { return stack.carriedStateEntries(rows: rows, batch: batch, gather: gather) }
        return convolution?.carriedStateEntries(rows: rows, batch: batch, gather: gather) ?? []
    }

    /// Restores what `carriedStateEntries` saved.
    func restoreCarriedState(from file: SafeTensors.File, path: String, rows: Range<Int>, batch: Int) throws {
        if let stack { try stack.restoreCarriedState(from: file, path: path, rows: rows, batch: batch) }
        try convolution?.restoreCarriedState(from: file, path: path, rows: rows, batch: batch)
    }
}
