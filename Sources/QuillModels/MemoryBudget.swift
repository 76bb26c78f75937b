import Foundation
import QuillNN
import QuillNumerics
import QuillOptim
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// How much memory this process may allocate: the least of physical memory, the address-space and data-segment
/// limits (`RLIMIT_AS`, `RLIMIT_DATA`, less what the process already maps) and the cgroup's memory limit.
///
/// Training and loading estimate what they need (`MemoryEstimate`) and ask `check` before allocating, so a model
/// that cannot fit is refused with the estimate and what to lower instead of aborting in the allocator.
public struct MemoryBudget: Equatable, Sendable {
    /// One limit: the bytes still available under it, and how to name it in a message.
    public struct Limit: Equatable, Sendable {
        public var bytes: UInt64
        public var name: String
        /// What was set aside under the limit before `bytes`, for the message (OpenBLAS's buffers).
        public var setAside: String = ""
        public init(bytes: UInt64, name: String, setAside: String = "") {
            self.bytes = bytes; self.name = name; self.setAside = setAside
        }
    }

    /// Every known limit; an empty list means none is known (nothing is refused).
    public var limits: [Limit]

    public init(limits: [Limit]) { self.limits = limits }

    /// Builds a budget from raw readings, each nil when unknown or unlimited.
    /// - physical: physical memory in bytes.
    /// - addressSpace, data: the soft `RLIMIT_AS` / `RLIMIT_DATA` in bytes; `addressSpaceInUse` / `dataInUse` are
    ///   subtracted (what the process maps already counts against them).
    /// - cgroupMax: the contents of cgroup memory-limit files (v2 `memory.max`, where "max" means none, or v1
    ///   `memory.limit_in_bytes`, where a huge value means none).
    /// - blasBuffers: address space OpenBLAS will reserve at its first product (a buffer per thread), subtracted from
    ///   the address-space and data limits: when it cannot, OpenBLAS retries for ever instead of failing.
    public static func from(physical: UInt64?, addressSpace: UInt64?, addressSpaceInUse: UInt64 = 0,
                            data: UInt64?, dataInUse: UInt64 = 0, cgroupMax: [String] = [],
                            blasBuffers: UInt64 = 0) -> MemoryBudget {
        var limits: [Limit] = []
        if let p = physical, p > 0 { limits.append(Limit(bytes: p, name: "physical memory")) }
        let after = blasBuffers > 0
            ? " after OpenBLAS's \(MemoryEstimate.size(Double(blasBuffers))) of buffers (OPENBLAS_NUM_THREADS=1 needs fewer)"
            : ""
        if let a = addressSpace {
            let used = addressSpaceInUse + blasBuffers
            limits.append(Limit(bytes: a > used ? a - used : 0, name: "address-space limit (ulimit -v)", setAside: after))
        }
        if let d = data {
            let used = dataInUse + blasBuffers
            limits.append(Limit(bytes: d > used ? d - used : 0, name: "data-segment limit (ulimit -d)", setAside: after))
        }
        for text in cgroupMax {
            let t = text.trimmingCharacters(in: .whitespacesAndNewlines)
            // cgroup v1 writes "no limit" as a page-rounded Int64.max.
            if let v = UInt64(t), v < (1 << 62) { limits.append(Limit(bytes: v, name: "cgroup memory limit")) }
        }
        return MemoryBudget(limits: limits)
    }

    /// The limits this process runs under now.
    public static func current() -> MemoryBudget {
        let pages = sysconf(Int32(_SC_PHYS_PAGES)), pageSize = sysconf(Int32(_SC_PAGESIZE))
        let physical: UInt64? = pages > 0 && pageSize > 0 ? UInt64(pages) * UInt64(pageSize) : nil
        func rlimitValue(_ resource: Int32) -> UInt64? {
            var r = rlimit()
            #if canImport(Glibc)
            guard getrlimit(__rlimit_resource_t(UInt32(resource)), &r) == 0 else { return nil }
            #else
            guard getrlimit(resource, &r) == 0 else { return nil }
            #endif
            return r.rlim_cur == rlim_t.max ? nil : UInt64(r.rlim_cur)
        }
        #if canImport(Glibc)
        let asLimit = rlimitValue(Int32(RLIMIT_AS.rawValue)), dataLimit = rlimitValue(Int32(RLIMIT_DATA.rawValue))
        #else
        let asLimit = rlimitValue(RLIMIT_AS), dataLimit = rlimitValue(RLIMIT_DATA)
        #endif
        // /proc/self/statm: total program size and data + stack, in pages.
        var vsize: UInt64 = 0, dataSize: UInt64 = 0
        if let statm = try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8) {
            let f = statm.split(separator: " ").compactMap { UInt64($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
            if f.count >= 6, pageSize > 0 { vsize = f[0] * UInt64(pageSize); dataSize = f[5] * UInt64(pageSize) }
        }
        // OpenBLAS reserves a 128 MiB buffer (BUFFER_SIZE on x86-64) per thread at its first product.
        let blas = UInt64(max(BLASInfo.threads, 1)) * (128 << 20)
        return from(physical: physical, addressSpace: asLimit, addressSpaceInUse: vsize, data: dataLimit,
                    dataInUse: dataSize, cgroupMax: cgroupLimitTexts(), blasBuffers: blas)
    }

    /// The memory-limit files of this process's cgroup (v2 and v1), read where present.
    static func cgroupLimitTexts() -> [String] {
        var files = ["/sys/fs/cgroup/memory.max"]
        if let text = try? String(contentsOfFile: "/proc/self/cgroup", encoding: .utf8) {
            for line in text.split(separator: "\n") {
                let parts = line.split(separator: ":", maxSplits: 2, omittingEmptySubsequences: false)
                guard parts.count == 3, !parts[2].contains("..") else { continue }
                let path = String(parts[2])
                if parts[0] == "0" && parts[1].isEmpty {
                    files.append("/sys/fs/cgroup\(path)/memory.max")
                } else if parts[1].split(separator: ",").contains("memory") {
                    files.append("/sys/fs/cgroup/memory\(path)/memory.limit_in_bytes")
                }
            }
        }
        files.append("/sys/fs/cgroup/memory/memory.limit_in_bytes")
        return Set(files).sorted().compactMap { try? String(contentsOfFile: $0, encoding: .utf8) }
    }

    /// The tightest limit, or nil when none is known.
    public var tightest: Limit? { limits.min { $0.bytes < $1.bytes } }

    /// Throws `MemoryBudgetError` when the estimate exceeds the tightest limit.
    public func check(_ estimate: MemoryEstimate) throws {
        if let t = tightest, estimate.bytes > Double(t.bytes) { throw MemoryBudgetError(estimate: estimate, limit: t) }
    }
}

/// An estimate that does not fit: one line with the estimate, the limit and what to lower.
public struct MemoryBudgetError: Error, CustomStringConvertible, Equatable {
    public let estimate: MemoryEstimate
    public let limit: MemoryBudget.Limit

    public var description: String {
        let parts = estimate.parts.filter { $0.bytes >= 0.05 * 1_073_741_824 }
            .map { "\($0.name) \(MemoryEstimate.size($0.bytes))" }.joined(separator: ", ")
        return "\(estimate.what) needs about \(MemoryEstimate.size(estimate.bytes)) of memory"
            + (parts.isEmpty ? "" : " (\(parts))")
            + ", more than the \(MemoryEstimate.size(Double(limit.bytes))) that the \(limit.name) allows\(limit.setAside); \(estimate.advice)"
    }
}

/// What a task will allocate, by part, in bytes.
public struct MemoryEstimate: Equatable, Sendable {
    public struct Part: Equatable, Sendable {
        public var name: String
        public var bytes: Double
    }
    /// The task, as the message names it ("char train").
    public var what: String
    public var parts: [Part]
    /// What the user can lower, for the message.
    public var advice: String

    public var bytes: Double { parts.reduce(0) { $0 + $1.bytes } }

    /// A training estimate as a forward pass without an optimiser needs it (evaluation, gradient flow): the same
    /// weights, activations and inputs, without the gradient and optimiser state and the checkpoint copies.
    public func withoutTraining(what: String, advice: String) -> MemoryEstimate {
        MemoryEstimate(what: what, parts: parts.filter { !["gradients and optimiser state", "checkpoint copies"].contains($0.name) },
                       advice: advice)
    }

    static func gib(_ b: Double) -> String { String(format: "%.1f", b / 1_073_741_824) }

    /// A size for a message: GiB with one decimal from 1 GiB up, else whole MiB.
    static func size(_ b: Double) -> String {
        b >= 1_073_741_824 ? gib(b) + " GiB" : String(format: "%.0f MiB", max(b, 0) / 1_048_576)
    }

    /// Optimiser state tensors per trainable parameter.
    static func optimizerSlots(_ kind: OptimizerKind) -> Double {
        switch kind {
        case .adam, .rmsprop: return 2
        case .gravesRMSProp: return 3
        case .sgd: return 1
        // Hessian-free: its previous step, and CG's vectors in Double (x, r, d, A·d, b, the kept iterates: about 13).
        case .hf: return 14
        }
    }

    /// Floats of one recurrent layer's activations per (time step × batch row) while training: pre-activations
    /// and their gradient (2G), GRU's hidden-side gates (2G), h, c and tanh c (3H), the dropout mask and output
    /// (2H), and the layer's assembled input and its gradient (2 × input width, layers after the first). An MRNN's
    /// pre-activations carry its F factors (G = H + F) and it keeps three (T, B, F) factor buffers; a Phased LSTM
    /// keeps k, c̃ and h̃ (3H); a layer-normalised one its normalised products, their gradient and cell (3G + H) and
    /// three 1/σ.
    /// Floats per (step, batch row) a `ConvolutionStackWorkspace` holds: n-NN, each layer's kept input and h, and two
    /// gradient buffers; TCN, per block its kept inputs (gate, skip, residual), r, a (2H), tanh and σ parts and z,
    /// then the skip sum, its relu and the gradient buffers (8H). The carried history is left out (it is per stream).
    static func convolutionActivations(_ architecture: ConvolutionArchitecture, hidden H: Double, input E: Double,
                                       layers L: Double) -> Double {
        switch architecture {
        case .nnn: return E + (L - 1) * H + L * H + 2 * H
        case .tcn: return E + L * 9 * H + 8 * H
        }
    }

    static func layerActivations(kind: CellKind, hidden H: Double, input: Double, first: Bool,
                                 factors F: Double = 0, layerNorm: Bool = false) -> Double {
        let G = kind == .mrnn ? H + F : Double(kind.gateCount) * H
        return 2 * G + (kind == .gru ? 2 * G : 0) + (layerNorm ? 3 * G + H + 3 : 0) + (kind == .mrnn ? 3 * F : 0) + (kind == .phasedLSTM ? 3 * H : 0)
            + (kind.hasCell ? 3 * H : H) + 2 * H + (first ? 0 : 2 * input)
    }

    /// Training a char model, in bytes of float32:
    ///
    ///     4 × [ P_all + (1 + s) · P               weights (with a one-hot table), gradients, s optimiser slots
    ///           + 3 · Σ_layers H · G              W_hᵀ and the fused kernels' packed W_h, W_hᵀ
    ///           + T · B · (Σ_layers a_n + H + 2E + 2V + O)   activations (see `layerActivations`), the stack's
    ///                                              gradient, embeddings, logits and their gradient, output grads
    ///           + 2 · (P_all + s · P) ]           a checkpoint's copies while it is written
    ///     + 9 · characters                         the text, its tokens and the train/validation split
    ///
    /// with P trainable parameters, G = gates × H, T = --seq, B = --batch, E the embedding width (V one-hot),
    /// O the stack's output width, s = 2 for Adam and RMSProp, 3 for Graves's RMSProp, 1 for SGD.
    public static func charTraining(_ config: CharModelConfig, batch: Int, seq: Int, optimizer: OptimizerKind,
                                    characters: Int) -> MemoryEstimate {
        let shapes = config.parameterShapes
        let all = shapes.reduce(0.0) { $0 + $1.count }, trainable = shapes.filter(\.trainable).reduce(0.0) { $0 + $1.count }
        let s = optimizerSlots(optimizer)
        let H = Double(config.hidden), V = Double(config.vocabularySize)
        let E = config.embedding > 0 ? Double(config.embedding) : V
        let G = Double(config.cell.gateCount) * H
        let L = Double(config.layers)
        var perRow = 0.0
        if let architecture = config.convolutionArchitecture {
            perRow += convolutionActivations(architecture, hidden: H, input: E, layers: L)
        } else {
            for n in 0..<config.layers {
                let input = n == 0 ? E : H + (config.skipConnections ? E : 0)
                perRow += layerActivations(kind: config.cell, hidden: H, input: input, first: n == 0,
                                           factors: Double(config.factorCount), layerNorm: config.normalizesLayers)
            }
        }
        let O = config.skipConnections ? L * H : H
        perRow += H + 2 * E + 2 * V + O + (config.skipConnections ? O : 0)
        let rows = Double(batch) * Double(seq)
        return MemoryEstimate(what: "char train", parts: [
            Part(name: "weights", bytes: 4 * (all + 3 * L * H * G)),
            Part(name: "gradients and optimiser state", bytes: 4 * (1 + s) * trainable),
            Part(name: "activations", bytes: 4 * rows * perRow),
            Part(name: "carried convolution state", bytes: 4 * Double(batch) * config.convolutionStatePerStream),
            Part(name: "checkpoint copies", bytes: 8 * (all + s * trainable)),
            Part(name: "text", bytes: 9 * Double(characters)),
        ], advice: "lower --hidden, --layers, --batch or --seq (or --embedding)")
    }

    /// Training a memory task (`MemoryTaskTraining`), in bytes of float32: the stack's weights with W_hᵀ and packed
    /// copies and (1 + s) gradient and optimiser slots, and the activations of the training batch and of the held-out
    /// set, each `steps · rows · (Σ_layers a_n + 2H)` plus the batch's inputs.
    public static func memoryTask(_ options: MemoryTaskOptions) -> MemoryEstimate {
        let H = Double(options.hidden), G = Double(options.cell.gateCount) * H, L = Double(options.layers)
        let I = Double(options.task.inputWidth)
        let F = options.cell == .mrnn ? options.hidden : 0
        var P = (H + 1) * Double(options.task.outputWidth)
        var perRow = 2 * H + I
        for n in 0..<options.layers {
            P += ParameterShape.recurrentLayer("", kind: options.cell, input: n == 0 ? options.task.inputWidth : options.hidden,
                                               hidden: options.hidden, peepholes: false, factors: F)
                .reduce(0.0) { $0 + $1.count }
            perRow += layerActivations(kind: options.cell, hidden: H, input: n == 0 ? I : H, first: n == 0,
                                       factors: Double(F))
        }
        let steps = Double(options.task.steps(length: options.length))
        let rows = Double(options.batch) + Double(options.evalSequences)
        return MemoryEstimate(what: "quill task", parts: [
            Part(name: "weights", bytes: 4 * (P + 3 * L * H * G)),
            Part(name: "gradients and optimiser state", bytes: 4 * (1 + optimizerSlots(options.optimizer.kind)) * P),
            Part(name: "activations", bytes: 4 * steps * rows * perRow),
        ], advice: "lower --hidden, --layers, --batch, --eval-sequences or --length")
    }

    /// Loading (and sampling from) a char model: the file's tensors and the model's (2 P_all), W_hᵀ and the packed
    /// copies (3 Σ H·G), and a one-row workspace, in float32.
    public static func charModel(_ config: CharModelConfig, what: String = "loading the char model") -> MemoryEstimate {
        let all = config.parameterShapes.reduce(0.0) { $0 + $1.count }
        let H = Double(config.hidden), G = Double(config.cell.gateCount) * H
        return MemoryEstimate(what: what, parts: [
            Part(name: "weights", bytes: 4 * (2 * all + 3 * Double(config.layers) * H * G)),
            Part(name: "carried convolution state", bytes: 4 * config.convolutionStatePerStream),
        ], advice: "use a smaller model, or run where more memory is available")
    }

    /// Sampling `streams` streams at once (beam search's beams) from a loaded char model, in float32: each stream's
    /// one-step activations and logits, and a tcn or nnn model's carried state per stream.
    public static func charSampling(_ config: CharModelConfig, streams: Int) -> MemoryEstimate {
        let H = Double(config.hidden), V = Double(config.vocabularySize), L = Double(config.layers)
        let perStream = config.convolutionStatePerStream + 16 * L * H + 4 * V
        return MemoryEstimate(what: "sampling \(streams) stream\(streams == 1 ? "" : "s")", parts: [
            Part(name: "state and activations", bytes: 4 * Double(streams) * perStream),
        ], advice: "use fewer --beam beams, or a model with smaller --dilations or --hidden")
    }

    /// Training a handwriting network, in bytes of float32:
    ///
    ///     4 × [ (1 + 1 + s) · P + 3 · N · 4H²       weights, gradients, s optimiser slots, W_hᵀ and packed copies
    ///           + T · B · (7 + Σ_layers a_n + 3NH + 2(1 + 6M) + 2V + 9K + U + 1)
    ///                                              inputs/targets/mask, LSTM activations, the output layer's input
    ///                                              and gradients, mixture outputs and gradients, the soft window
    ///           + 2 · (1 + s) · P ]                a checkpoint's copies while it is written
    ///
    /// with T the longest training sequence (points − 1, at most --max-points − 1), B = --batch, N layers of H
    /// units, M mixture components, and for synthesis V symbols, K window Gaussians and U the longest text.
    public static func handwritingTraining(_ config: HandwritingConfig, batch: Int, steps: Int, maxTextLength: Int,
                                           optimizer: OptimizerKind) -> MemoryEstimate {
        let P = config.parameterShapes.reduce(0.0) { $0 + $1.count }
        let s = optimizerSlots(optimizer)
        let H = Double(config.hidden), N = Double(config.layers)
        let synthesis = config.kind == .synthesis
        let V = synthesis ? Double(config.alphabetSize) : 0
        var perRow = 7.0
        for n in 0..<config.layers {
            perRow += layerActivations(kind: .lstm, hidden: H, input: n == 0 ? 3 + V : 3 + H + V, first: n == 0 && !synthesis)
        }
        perRow += 3 * N * H + 2 * Double(config.mixture.outputSize)
        if synthesis { perRow += 2 * V + 9 * Double(config.windowComponents) + Double(maxTextLength) + 1 }
        let rows = Double(batch) * Double(steps)
        return MemoryEstimate(what: "train \(config.kind.rawValue)", parts: [
            Part(name: "weights", bytes: 4 * (P + 3 * N * 4 * H * H)),
            Part(name: "gradients and optimiser state", bytes: 4 * (1 + s) * P),
            Part(name: "activations", bytes: 4 * rows * perRow),
            Part(name: "checkpoint copies", bytes: 8 * (1 + s) * P),
        ], advice: "lower --hidden, --layers, --batch or --max-points")
    }

    /// Loading a handwriting model: the file's tensors and the model's (2P), W_hᵀ and the packed copies.
    public static func handwritingModel(_ config: HandwritingConfig,
                                        what: String = "loading the handwriting model") -> MemoryEstimate {
        let P = config.parameterShapes.reduce(0.0) { $0 + $1.count }
        let H = Double(config.hidden)
        return MemoryEstimate(what: what, parts: [
            Part(name: "weights", bytes: 4 * (2 * P + 3 * Double(config.layers) * 4 * H * H)),
        ], advice: "use a smaller model, or run where more memory is available")
    }
}

/// A parameter tensor's name and shape as a configuration implies it, computed without allocating.
public struct ParameterShape: Equatable, Sendable {
    public var name: String
    public var shape: [Int]
    public var trainable: Bool
    /// Elements, as a Double so that no configuration can overflow it.
    public var count: Double { shape.reduce(1.0) { $0 * Double($1) } }
}

extension ParameterShape {
    /// A recurrent layer's tensors (see `RecurrentLayer`): wx (input, G), wh (H, G), b (G), GRU's bh (G), peepholes
    /// (3H), a Phased LSTM's periods (H) and time gate (2H); an MRNN's with F factors wx (input, H + F), wh (H, F), b (H) and
    /// wf (F, H).
    static func recurrentLayer(_ name: String, kind: CellKind, input: Int, hidden H: Int, peepholes: Bool,
                               factors F: Int = 0, learnPeriods: Bool = false, layerNorm: Bool = false) -> [ParameterShape] {
        if kind == .mrnn {
            return [ParameterShape(name: "\(name).wx", shape: [input, H + F], trainable: true),
                    ParameterShape(name: "\(name).wh", shape: [H, F], trainable: true),
                    ParameterShape(name: "\(name).b", shape: [H], trainable: true),
                    ParameterShape(name: "\(name).wf", shape: [F, H], trainable: true)]
        }
        let G = kind.gateCount * H
        var out = [ParameterShape(name: "\(name).wx", shape: [input, G], trainable: true),
                   ParameterShape(name: "\(name).wh", shape: [H, G], trainable: true),
                   ParameterShape(name: "\(name).b", shape: [G], trainable: true)]
        if kind == .gru { out.append(ParameterShape(name: "\(name).bh", shape: [G], trainable: true)) }
        if kind == .lstm && peepholes { out.append(ParameterShape(name: "\(name).peep", shape: [3 * H], trainable: true)) }
        if layerNorm {
            out += [ParameterShape(name: "\(name).ln.gx", shape: [G], trainable: true),
                    ParameterShape(name: "\(name).ln.gh", shape: [G], trainable: true),
                    ParameterShape(name: "\(name).ln.gc", shape: [H], trainable: true),
                    ParameterShape(name: "\(name).ln.bc", shape: [H], trainable: true)]
        }
        if kind == .phasedLSTM {
            out += [ParameterShape(name: "\(name).period", shape: [H], trainable: learnPeriods),
                    ParameterShape(name: "\(name).time", shape: [2 * H], trainable: true)]
        }
        return out
    }

    /// Refuses a checkpoint whose tensors differ from what its config implies, before any model is built: a tensor
    /// missing or of another shape, or one the config does not have among the model's own (a tensor named like the
    /// model's, `rnn.0.period` in a file whose config says LSTM, means the config and the weights disagree). Tensors
    /// of other namespaces (optimiser state, carried state, weight noise) are the loader's callers' to read.
    static func verify(_ expected: [ParameterShape], in file: SafeTensors.File, path: String) throws {
        let names = Set(expected.map(\.name))
        let namespaces = Set(expected.map { $0.name.split(separator: ".").first.map(String.init) ?? $0.name })
        for name in file.tensors.keys.sorted() where !names.contains(name) {
            if let space = name.split(separator: ".").first.map(String.init), namespaces.contains(space) {
                throw CheckpointError.corrupt(path, "tensor '\(name)' is not part of the network quill.config describes (the config and the weights disagree)")
            }
        }
        for p in expected {
            guard let e = file.tensors[p.name] else {
                throw CheckpointError.corrupt(path, "tensor '\(p.name)' is missing")
            }
            guard e.shape == p.shape else {
                throw CheckpointError.corrupt(path, "tensor '\(p.name)' has shape \(e.shape) but quill.config implies \(p.shape)")
            }
        }
    }
}

extension CharModelConfig {
    /// Floats each stream of a tcn or nnn model carries between windows: every convolution's last (k − 1)·d inputs
    /// of its width (`ConvolutionWorkspace`); 0 for recurrent models. In Double, so no configuration overflows it.
    public var convolutionStatePerStream: Double {
        let E = Double(embedding > 0 ? embedding : vocabularySize), H = Double(hidden)
        switch convolutionArchitecture {
        case .nnn(let context): return Double(context - 1) * E
        case .tcn(let dilations): return dilations.reduce(0.0) { $0 + Double($1) } * H
        case nil: return 0
        }
    }

    /// Every parameter tensor `CharModel` builds for this config, in checkpoint order. Call after `validate()`.
    public var parameterShapes: [ParameterShape] {
        let V = vocabularySize, E = embedding > 0 ? embedding : V
        var out = [ParameterShape(name: "embedding.table", shape: [V, E], trainable: embedding > 0)]
        if let architecture = convolutionArchitecture {
            func conv(_ name: String, _ input: Int, _ output: Int, kernel: Int) -> [ParameterShape] {
                [ParameterShape(name: "\(name).w", shape: [kernel * input, output], trainable: true),
                 ParameterShape(name: "\(name).b", shape: [output], trainable: true)]
            }
            switch architecture {
            case .nnn(let context):
                for n in 0..<layers { out += conv("conv.\(n)", n == 0 ? E : hidden, hidden, kernel: n == 0 ? context : 1) }
            case .tcn(let dilations):
                out += conv("conv.in", E, hidden, kernel: 1)
                for l in dilations.indices {
                    out += conv("conv.\(l).gate", hidden, 2 * hidden, kernel: 2)
                    out += conv("conv.\(l).skip", hidden, hidden, kernel: 1)
                    if l < dilations.count - 1 { out += conv("conv.\(l).res", hidden, hidden, kernel: 1) }
                }
            }
            return out + [ParameterShape(name: "output.w", shape: [hidden, V], trainable: true),
                          ParameterShape(name: "output.b", shape: [V], trainable: true)]
        }
        for n in 0..<layers {
            let input = n == 0 ? E : hidden + (skipConnections ? E : 0)
            out += ParameterShape.recurrentLayer("rnn.\(n)", kind: cell, input: input, hidden: hidden, peepholes: peepholes,
                                                 factors: factorCount, learnPeriods: learnsPeriods,
                                                 layerNorm: normalizesLayers)
        }
        let O = skipConnections ? layers * hidden : hidden
        out += [ParameterShape(name: "output.w", shape: [O, V], trainable: true),
                ParameterShape(name: "output.b", shape: [V], trainable: true)]
        return out
    }
}

extension HandwritingConfig {
    /// Every parameter tensor `HandwritingModel` builds for this config, in checkpoint order. Call after `validate()`.
    public var parameterShapes: [ParameterShape] {
        let H = hidden, V = kind == .synthesis ? alphabetSize : 0
        var out: [ParameterShape] = []
        for n in 0..<layers {
            out += ParameterShape.recurrentLayer("lstm.\(n)", kind: .lstm, input: n == 0 ? 3 + V : 3 + H + V, hidden: H,
                                                 peepholes: peepholes)
        }
        if kind == .synthesis {
            out += [ParameterShape(name: "window.w", shape: [H, 3 * windowComponents], trainable: true),
                    ParameterShape(name: "window.b", shape: [3 * windowComponents], trainable: true)]
        }
        out += [ParameterShape(name: "output.w", shape: [layers * H, mixture.outputSize], trainable: true),
                ParameterShape(name: "output.b", shape: [mixture.outputSize], trainable: true)]
        return out
    }
}
