import ArgumentParser
import Foundation
import QuillNN
import QuillNumerics

/// `quill bench kernels`: the pieces of a recurrent step, timed apart (GEMM shapes and fused pointwise maths).
public struct BenchKernels: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "kernels", abstract: "Time LSTM-shaped GEMMs and the fused pointwise kernels.")

    @Option(help: "Batch rows (1…4096).") var batch: Int = 50
    @Option(help: "Hidden units (1…4096).") var hidden: Int = 512
    @Option(help: "Repetitions per measurement (1…100000).") var reps: Int = 200
    @OptionGroup var output: BenchOutputOptions
    @OptionGroup var peakOptions: BenchPeakOptions

    public init() {}

    public func validate() throws {
        try OptionRange.check("batch", batch, 1...4096)
        try OptionRange.check("hidden", hidden, 1...4096)
        try OptionRange.check("reps", reps, 1...100_000)
    }

    func time(_ body: () -> Void) -> Double {
        body()
        let t0 = DispatchTime.now().uptimeNanoseconds
        for _ in 0..<reps { body() }
        return Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9 / Double(reps)
    }

    public func run() throws { report().emit(json: output.json) }

    /// Times each kernel; the figures go under `kernels` (name, seconds and GFLOP/s or ns per element).
    func report() -> BenchReport {
        var r = BenchReport(bench: "kernels")
        var rows = [[String: Any]]()
        let B = batch, H = hidden, G = 4 * H
        var rng = SeededGenerator(seed: 1)
        func rand(_ n: Int) -> Tensor<Float> {
            let t = Tensor<Float>([n]); for i in 0..<n { t[i] = Float(rng.normal()) * 0.5 }; return t
        }
        let h = rand(B * H), w = rand(H * G), g = rand(B * G), big = rand(2500 * H), bigG = rand(2500 * G)
        let out = rand(H * G)
        r.blas()
        let peak = BenchMachine.peak(seconds: peakOptions.peakSeconds)
        r.peak(peak)
        func flopRate(_ name: String, _ flops: Double, _ s: Double) {
            let rate = flops / s / 1e9
            let share = peak.map { String(format: "  %3.0f%% of peak", 100 * $0.fraction(of: rate)) } ?? ""
            r.line(BenchReport.column(name) + String(format: "%8.1f µs  %6.1f GFLOP/s", s * 1e6, rate) + share)
            rows.append(["name": name, "seconds": s, "gflops": rate])
        }
        func perElement(_ name: String, _ s: Double, _ elements: Int, unit: String) {
            r.line(BenchReport.column(name) + String(format: "%8.2f ns/", s * 1e9 / Double(elements)) + unit)
            rows.append(["name": name, "seconds": s, "nanoseconds_per_\(unit)": s * 1e9 / Double(elements)])
        }
        flopRate("h·Wh        (\(B)×\(H))·(\(H)×\(G))", 2.0 * Double(B * H * G), time {
            matmul(m: B, n: G, k: H, a: h.ptr, lda: H, b: w.ptr, ldb: G, beta: 1, c: g.ptr, ldc: G) })
        flopRate("dG·Whᵀ      (\(B)×\(G))·(\(G)×\(H))", 2.0 * Double(B * H * G), time {
            matmul(transB: true, m: B, n: H, k: G, a: g.ptr, lda: G, b: w.ptr, ldb: G, c: h.ptr, ldc: H) })
        flopRate("X·Wx        (2500×\(H))·(\(H)×\(G))", 2.0 * 2500 * Double(H * G), time {
            matmul(m: 2500, n: G, k: H, a: big.ptr, lda: H, b: w.ptr, ldb: G, c: bigG.ptr, ldc: G) })
        flopRate("Xᵀ·dG       (\(H)×2500)·(2500×\(G))", 2.0 * 2500 * Double(H * G), time {
            matmul(transA: true, m: H, n: G, k: 2500, a: big.ptr, lda: H, b: bigG.ptr, ldb: G, beta: 1, c: out.ptr, ldc: G) })
        flopRate("dG·Wxᵀ      (2500×\(G))·(\(G)×\(H))", 2.0 * 2500 * Double(H * G), time {
            matmul(transB: true, m: 2500, n: H, k: G, a: bigG.ptr, lda: G, b: w.ptr, ldb: G, c: big.ptr, ldc: H) })
        // One LSTM layer's per-step work (product + gate maths) over 50 steps, through the layer's own API: the
        // fused kernels (packed weights, both cores) against the portable path (OpenBLAS + CellKernels).
        let steps = 50
        let layer = RecurrentLayer<Float>(kind: .lstm, inputSize: 1, hiddenSize: H, name: "bench", rng: &rng)
        let ws = RecurrentWorkspace(layer: layer, steps: steps, batch: B)
        for i in 0..<ws.pre.count { ws.pre[i] = Float(rng.normal()) * 0.5 }
        let stepFlops = 2.0 * Double(B * H * G)
        for fused in [true, false] where fused == false || FusedKernels.available {
            FusedKernels.enabled = fused
            let name = fused ? "fused, \(FusedKernels.threads(hidden: H)) threads" : "portable"
            let f = time {
                layer.beginForward(ws, steps: steps)
                for t in 0..<steps { layer.step(t, ws) }
            } / Double(steps)
            flopRate("LSTM step forward, \(name)", stepFlops, f)
            let b = time {
                layer.beginBackward(ws)
                for t in stride(from: steps - 1, through: 0, by: -1) { layer.backwardStep(t, ws, dhExternal: nil) }
            } / Double(steps)
            flopRate("LSTM step backward, \(name)", stepFlops, b)
        }
        FusedKernels.enabled = true
        if let one = FMAPeak.measure(threads: 1, seconds: peakOptions.peakSeconds) {
            r.line(BenchReport.column("FMA peak measured, 1 thread") + String(format: "%8.1f GFLOP/s", one.gflops))
            r.set("peak_gflops_one_thread", one.gflops)
        }
        if let peak { r.line(peak.description) }
        let c0 = rand(B * H), c1 = rand(B * H), tc = rand(B * H), hh = rand(B * H), dc = rand(B * H)
        let gates = rand(B * G), dG = rand(B * G)
        let fwd = time {
            CellKernels.lstmForward(gates: gates.ptr, cPrev: c0.ptr, c: c1.ptr, tanhC: tc.ptr, h: hh.ptr, batch: B, hidden: H)
        }
        perElement("LSTM pointwise forward", fwd, B * H, unit: "unit")
        let bwd = time {
            CellKernels.lstmBackward(gates: gates.ptr, cPrev: c0.ptr, tanhC: tc.ptr, dh: hh.ptr, dc: dc.ptr, dGates: dG.ptr, batch: B, hidden: H)
        }
        perElement("LSTM pointwise backward", bwd, B * H, unit: "unit")
        let rowT = time { for b in 0..<B { Kernels.sigmoidInPlace(gates.ptr + b * G, count: G) } }
        perElement("sigmoid by rows of 4H", rowT, B * G, unit: "element")
        let n = B * G
        let tanhT = time { Kernels.tanh(gates.ptr, into: dG.ptr, count: n) }
        perElement("fast tanh (vector)", tanhT, n, unit: "element")
        let expT = time { Kernels.exp(gates.ptr, into: dG.ptr, count: n) }
        perElement("fast exp (vector)", expT, n, unit: "element")
        let libmT = time { for i in 0..<n { dG[i] = Foundation.tanhf(gates[i]) } }
        perElement("glibc tanhf", libmT, n, unit: "element")
        r.set("kernels", rows)
        return r
    }
}
