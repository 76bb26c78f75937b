import Dispatch
import Foundation
import QuillNumerics

/// The pieces of a recurrent step timed apart (`quill bench kernels`): LSTM-shaped GEMMs, one layer's step of each
/// cell kind (LSTM, GRU, RNN, RNN-ReLU) forward and backward on the fused and the portable path, and the pointwise
/// kernels.
public struct KernelBenchmark {
    /// Batch rows, hidden units, and calls per measurement.
    public var batch: Int, hidden: Int, repetitions: Int

    public init(batch: Int, hidden: Int, repetitions: Int) {
        self.batch = batch; self.hidden = hidden; self.repetitions = repetitions
    }

    /// The first size out of range; nil when it can run.
    public func validate() -> String? {
        BenchLimits.problem([("batch", batch, 1...4096), ("hidden", hidden, 1...4096), ("reps", repetitions, 1...100_000)])
    }

    /// One timed kernel.
    public struct Timing: Equatable, Sendable {
        /// What was timed, with its shape.
        public var name: String
        /// Seconds per call (mean over the repetitions, after one untimed call).
        public var seconds: Double
        /// FLOPs per call for the products (2 a multiply-add); nil for the pointwise kernels.
        public var flops: Double?
        /// Elements per call for the pointwise kernels, counted in `unit`s ("unit": hidden units, "element").
        public var elements: Int
        public var unit: String
        /// Threads it ran on, for the fused steps (a small layer's run on fewer than the bench's); nil for the
        /// bench's threads.
        public var threads: Int? = nil
        /// Whether its operands were rounded to bfloat16 (`QuillGEMM.multiplyBF16`): VDPBF16PS does two multiply-adds
        /// per lane where an FMA does one, so such a product can run above the fp32 FMA peak on a quiet machine.
        public var bf16 = false

        /// Whether this fp32 product ran above `peakGFLOPS`, which only a peak measured while the host was busy
        /// allows; false for bf16 products (they may pass an fp32 peak) and for the pointwise kernels.
        public func exceedsFP32Peak(_ peakGFLOPS: Double) -> Bool {
            guard let flops, !bf16, seconds > 0 else { return false }
            return flops / seconds / 1e9 > peakGFLOPS
        }
    }

    /// The products (GEMMs of a 50-step window of `batch` rows and `hidden` units, and one layer's steps per cell kind),
    /// each repeated `repetitions` times: the per-step products on the path `matmul` picks, the three products over
    /// 2,500 rows on Quill's GEMM (where the CPU runs it), on OpenBLAS, and in bf16 on Quill's GEMM (where the CPU
    /// has AVX512-BF16; `bf16Skipped` says why not). Leaves the fused kernels enabled and `QuillGEMM.path` as it
    /// found it.
    public func products() -> [Timing] {
        let B = batch, H = hidden, G = 4 * H
        var rng = SeededGenerator(seed: 1)
        let h = Self.random(B * H, &rng), w = Self.random(H * G, &rng), g = Self.random(B * G, &rng)
        let big = Self.random(2500 * H, &rng), bigG = Self.random(2500 * G, &rng), out = Self.random(H * G, &rng)
        var rows = [Timing]()
        func product(_ name: String, _ flops: Double, bf16: Bool = false, _ body: () -> Void) {
            rows.append(Timing(name: name, seconds: Self.time(repetitions, body), flops: flops, elements: 0, unit: "",
                               bf16: bf16))
        }
        product("h·Wh        (\(B)×\(H))·(\(H)×\(G))", 2.0 * Double(B * H * G)) {
            matmul(m: B, n: G, k: H, a: h.ptr, lda: H, b: w.ptr, ldb: G, beta: 1, c: g.ptr, ldc: G) }
        product("dG·Whᵀ      (\(B)×\(G))·(\(G)×\(H))", 2.0 * Double(B * H * G)) {
            matmul(transB: true, m: B, n: H, k: G, a: g.ptr, lda: G, b: w.ptr, ldb: G, c: h.ptr, ldc: H) }
        // The products over a 50-step window (2,500 rows at batch 50), each on both paths that `matmul` chooses
        // between: Quill's GEMM (where this CPU runs it) and OpenBLAS.
        let saved = QuillGEMM.path
        let paths: [(QuillGEMM.Path, String)] = (QuillGEMM.available ? [(.quill, "Quill GEMM")] : [])
            + [(.openBLAS, "OpenBLAS")]
        let large = 2.0 * 2500 * Double(H * G)
        for (path, label) in paths {
            QuillGEMM.path = path
            product("X·Wx        (2500×\(H))·(\(H)×\(G)), \(label)", large) {
                matmul(m: 2500, n: G, k: H, a: big.ptr, lda: H, b: w.ptr, ldb: G, c: bigG.ptr, ldc: G) }
            product("Xᵀ·dG       (\(H)×2500)·(2500×\(G)), \(label)", large) {
                matmul(transA: true, m: H, n: G, k: 2500, a: big.ptr, lda: H, b: bigG.ptr, ldb: G, beta: 1, c: out.ptr,
                       ldc: G) }
            product("dG·Wxᵀ      (2500×\(G))·(\(G)×\(H)), \(label)", large) {
                matmul(transB: true, m: 2500, n: H, k: G, a: bigG.ptr, lda: G, b: w.ptr, ldb: G, c: big.ptr, ldc: H) }
        }
        QuillGEMM.path = saved
        // The same three products in bf16 (operands rounded to bfloat16, fp32 sums; the opt-in precision), called
        // directly: `matmul` takes them only for shapes `isLarge` accepts.
        if Self.bf16Skipped == nil {
            let label = "Quill GEMM bf16"
            product("X·Wx        (2500×\(H))·(\(H)×\(G)), \(label)", large, bf16: true) {
                QuillGEMM.multiplyBF16(m: 2500, n: G, k: H, a: big.ptr, lda: H, b: w.ptr, ldb: G, c: bigG.ptr, ldc: G) }
            product("Xᵀ·dG       (\(H)×2500)·(2500×\(G)), \(label)", large, bf16: true) {
                QuillGEMM.multiplyBF16(transA: true, m: H, n: G, k: 2500, a: big.ptr, lda: H, b: bigG.ptr, ldb: G,
                                       beta: 1, c: out.ptr, ldc: G) }
            product("dG·Wxᵀ      (2500×\(G))·(\(G)×\(H)), \(label)", large, bf16: true) {
                QuillGEMM.multiplyBF16(transB: true, m: 2500, n: H, k: G, a: bigG.ptr, lda: G, b: w.ptr, ldb: G,
                                       c: big.ptr, ldc: H) }
        }
        for kind in CellKind.allCases where kind.hasFusedKernels { rows += stepTimings(kind) }
        return rows
    }

    /// Why `products()` has no bf16 rows on this CPU, as one line; nil where it has them.
    public static var bf16Skipped: String? {
        QuillGEMM.bf16Available ? nil
            : "bf16 products skipped: this CPU has no AVX512-BF16 (or no AVX-512, or QUILL_KERNELS caps the kernels below it)"
    }

    /// One recurrent layer's per-step work (product + cell maths) over 50 steps of `batch` rows and `hidden` units,
    /// forward and backward, through the layer's own API: the fused kernels (packed weights, every kernel thread)
    /// against the portable path (OpenBLAS + CellKernels). Seconds per step; FLOPs those of the recurrent product,
    /// 2·B·H·gates·H. Leaves the fused kernels enabled.
    func stepTimings(_ kind: CellKind) -> [Timing] {
        let B = batch, H = hidden, steps = 50
        var rng = SeededGenerator(seed: 3)
        let layer = RecurrentLayer<Float>(kind: kind, inputSize: 1, hiddenSize: H, name: "bench", rng: &rng)
        let ws = RecurrentWorkspace(layer: layer, steps: steps, batch: B)
        for i in 0..<ws.pre.count { ws.pre[i] = Float(rng.normal()) * 0.5 }
        let flops = 2.0 * Double(B * H * layer.gateWidth)
        let label = kind.rawValue.uppercased()
        var rows = [Timing]()
        for fused in [true, false] where fused == false || FusedKernels.available {
            FusedKernels.enabled = fused
            let threads = FusedKernels.threads(hidden: H)
            let name = fused ? "fused \(FusedKernels.level), \(threads) thread\(threads == 1 ? "" : "s")" : "portable"
            let forward = Self.time(repetitions) {
                layer.beginForward(ws, steps: steps)
                for t in 0..<steps { layer.step(t, ws) }
            }
            let backward = Self.time(repetitions) {
                layer.beginBackward(ws)
                for t in stride(from: steps - 1, through: 0, by: -1) { layer.backwardStep(t, ws, dhExternal: nil) }
            }
            rows.append(Timing(name: "\(label) step forward, \(name)", seconds: forward / Double(steps), flops: flops,
                               elements: 0, unit: "", threads: fused ? threads : nil))
            rows.append(Timing(name: "\(label) step backward, \(name)", seconds: backward / Double(steps),
                               flops: flops, elements: 0, unit: "", threads: fused ? threads : nil))
        }
        FusedKernels.enabled = true
        return rows
    }

    /// The pointwise kernels on `batch` rows of `hidden` units (4 × `hidden` gates), each repeated `repetitions`
    /// times: the LSTM cell maths, the sigmoid by rows, the fast vector tanh and exp, and glibc's tanhf beside them.
    public func pointwise() -> [Timing] {
        let B = batch, H = hidden, G = 4 * H, n = B * G
        var rng = SeededGenerator(seed: 2)
        let c0 = Self.random(B * H, &rng), c1 = Self.random(B * H, &rng), tc = Self.random(B * H, &rng)
        let hh = Self.random(B * H, &rng), dc = Self.random(B * H, &rng)
        let gates = Self.random(B * G, &rng), dG = Self.random(B * G, &rng)
        var rows = [Timing]()
        func kernel(_ name: String, _ elements: Int, _ unit: String, _ body: () -> Void) {
            rows.append(Timing(name: name, seconds: Self.time(repetitions, body), flops: nil, elements: elements, unit: unit))
        }
        kernel("LSTM pointwise forward", B * H, "unit") {
            CellKernels.lstmForward(gates: gates.ptr, cPrev: c0.ptr, c: c1.ptr, tanhC: tc.ptr, h: hh.ptr, batch: B, hidden: H)
        }
        kernel("LSTM pointwise backward", B * H, "unit") {
            CellKernels.lstmBackward(gates: gates.ptr, cPrev: c0.ptr, tanhC: tc.ptr, dh: hh.ptr, dc: dc.ptr, dGates: dG.ptr,
                                     batch: B, hidden: H)
        }
        kernel("sigmoid by rows of 4H", n, "element") { for b in 0..<B { Kernels.sigmoidInPlace(gates.ptr + b * G, count: G) } }
        kernel("fast tanh (vector)", n, "element") { Kernels.tanh(gates.ptr, into: dG.ptr, count: n) }
        kernel("fast exp (vector)", n, "element") { Kernels.exp(gates.ptr, into: dG.ptr, count: n) }
        kernel("glibc tanhf", n, "element") { for i in 0..<n { dG[i] = Foundation.tanhf(gates[i]) } }
        return rows
    }

    /// Seconds per call of `body`, over `repetitions` calls after one untimed call.
    static func time(_ repetitions: Int, _ body: () -> Void) -> Double {
        body()
        let t0 = DispatchTime.now().uptimeNanoseconds
        for _ in 0..<repetitions { body() }
        return Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9 / Double(repetitions)
    }

    static func random(_ n: Int, _ rng: inout SeededGenerator) -> Tensor<Float> {
        let t = Tensor<Float>([n])
        for i in 0..<n { t[i] = Float(rng.normal()) * 0.5 }
        return t
    }
}
