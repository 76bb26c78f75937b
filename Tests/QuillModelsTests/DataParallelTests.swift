import Foundation
import QuillData
import QuillModels
import QuillNN
import QuillNumerics
import XCTest
@testable import QuillModels
import QuillTestSupport

/// Data-parallel training: the sharding and gradient scaling as numbers (no MPI), then whole runs under Open MPI's
/// `mpirun` on 1 and 2 ranks (loopback), which skip when `mpirun` is absent.
final class DataParallelTests: XCTestCase {
    // MARK: - Without MPI

    func testBlocksCoverTheBatchOnceInOrder() {
        for count in [0, 1, 5, 6, 7, 32] {
            for size in 1...4 {
                let blocks = (0..<size).map { Shard(rank: $0, size: size).block(of: count) }
                XCTAssertEqual(blocks.first?.lowerBound, 0)
                XCTAssertEqual(blocks.last?.upperBound, count)
                for (a, b) in zip(blocks, blocks.dropFirst()) { XCTAssertEqual(a.upperBound, b.lowerBound) }
                let sizes = blocks.map(\.count)
                XCTAssertLessThanOrEqual(sizes.max()! - sizes.min()!, 1, "count \(count) over \(size) ranks: \(sizes)")
            }
        }
        XCTAssertEqual(Shard(rank: 1, size: 2).block(of: 8), 4..<8)
        XCTAssertNil(Shard(rank: 0, size: 4).batchProblem(32))
        XCTAssertEqual(Shard(rank: 0, size: 3).batchProblem(32),
                       "--batch 32 is not divisible by the 3 ranks of the MPI job; give a --batch that is a multiple of 3, or start a number of ranks that divides 32")
    }

    func testTheProcessAloneIsTheSingleWorld() throws {
        let world = try DataParallel.world()
        XCTAssertEqual(world.rank, 0)
        XCTAssertEqual(world.size, 1)
        XCTAssertNotEqual(DataParallel.hash("a"), DataParallel.hash("b"))
        XCTAssertEqual(DataParallel.hash(""), 0xcbf2_9ce4_8422_2325)
    }

    /// The char model's gradient of a batch equals the sum of its shards' gradients, each averaged over the whole
    /// batch's characters (`lossRows`).
    func testCharShardGradientsSumToTheBatchGradient() {
        var rng = SeededGenerator(seed: 4)
        let model = CharModel<Float>(config: CharModelConfig(layers: 2, hidden: 8, vocabularySize: 6), rng: &rng)
        let T = 5, B = 4
        let inputs = (0..<(T * B)).map { Int32(($0 * 7 + 3) % 6) }, targets = (0..<(T * B)).map { Int32(($0 * 5 + 1) % 6) }
        let whole = model.makeWorkspace(steps: T, batch: B)
        var unused = SeededGenerator(seed: 0)
        model.parameters.zeroGradients()
        let loss = model.trainStep(inputs: inputs, targets: targets, whole, dropout: 0, rng: &unused)
        let reference = model.parameters.map(\.grad.array)

        model.parameters.zeroGradients()
        var shardLoss = 0.0
        for rank in 0..<2 {
            let block = Shard(rank: rank, size: 2).block(of: B), b = block.count
            var x = [Int32](), y = [Int32]()
            for t in 0..<T { for j in block { x.append(inputs[t * B + j]); y.append(targets[t * B + j]) } }
            XCTAssertEqual(x.count, T * b)
            shardLoss += model.trainStep(inputs: x, targets: y, model.makeWorkspace(steps: T, batch: b), dropout: 0,
                                         rng: &unused, lossRows: T * B)
        }
        XCTAssertEqual(shardLoss, loss, accuracy: 1e-4)
        assertClose(model.parameters, reference, "char")
    }

    /// The synthesis model's gradient of a batch equals the sum of its shards' gradients, each averaged over the
    /// whole batch's sequences (`sequencesInBatch`), with output clipping on.
    func testSynthesisShardGradientsSumToTheBatchGradient() {
        var rng = SeededGenerator(seed: 9)
        let config = HandwritingConfig(kind: .synthesis, layers: 2, hidden: 6, mixture: MixtureDensity(components: 2),
                                       windowComponents: 2)
        var c = config; c.alphabetSize = 3
        let model = HandwritingModel<Float>(config: c, rng: &rng)
        let samples = TinyHandwriting.dataset().samples
        let batch = [0, 1, 2, 3, 4, 5]
        let steps = samples.map(\.count).max()!, text = samples.map(\.characters.count).max()!
        let whole = model.makeWorkspace(steps: steps, batch: batch.count, maxTextLength: text)
        StrokeBatches.fill(whole, samples: samples, indices: batch)
        model.parameters.zeroGradients()
        let loss = model.trainStep(whole, outputClip: 0.05).total
        let reference = model.parameters.map(\.grad.array)

        model.parameters.zeroGradients()
        var shardLoss = 0.0
        for rank in 0..<2 {
            let mine = Array(batch[Shard(rank: rank, size: 2).block(of: batch.count)])
            let ws = model.makeWorkspace(steps: steps, batch: mine.count, maxTextLength: text)
            StrokeBatches.fill(ws, samples: samples, indices: mine)
            shardLoss += model.trainStep(ws, outputClip: 0.05, sequencesInBatch: batch.count).total
        }
        XCTAssertEqual(shardLoss, loss, accuracy: 1e-3)
        assertClose(model.parameters, reference, "synthesis")
    }

    // MARK: - Buckets and the validation split, without MPI

    /// Records the groups a backward pass reports, by their parameters' names.
    final class Reports {
        var groups: [[String]] = []
        var progressCalls = 0
        var hooks: GradientHooks<Float> {
            GradientHooks(ready: { self.groups.append($0.map(\.name)) }, progress: { self.progressCalls += 1 })
        }
    }

    /// Every model's backward pass reports its `gradientGroups` in their order, and they hold each parameter once.
    func testBackwardReportsEveryGradientGroupOnceInOrder() {
        var rng = SeededGenerator(seed: 5)
        var unused = SeededGenerator(seed: 0)
        let T = 4, B = 2
        let inputs = (0..<(T * B)).map { Int32($0 % 5) }, targets = (0..<(T * B)).map { Int32(($0 + 2) % 5) }
        for (cell, embedding, skip) in [(CellKind.lstm, 8, false), (.gru, 0, true), (.rnn, 4, true)] {
            let model = CharModel<Float>(config: CharModelConfig(cell: cell, layers: 3, hidden: 6, embedding: embedding,
                                                                 skipConnections: skip, vocabularySize: 5), rng: &rng)
            let reports = Reports()
            _ = model.trainStep(inputs: inputs, targets: targets, model.makeWorkspace(steps: T, batch: B), dropout: 0,
                                rng: &unused, hooks: reports.hooks)
            XCTAssertEqual(reports.groups, model.gradientGroups.map { $0.map(\.name) }, "\(cell)")
            XCTAssertEqual(reports.groups.first, ["output.w", "output.b"], "\(cell): the output layer first")
            XCTAssertEqual(reports.groups.last, ["embedding.table"], "\(cell): the embedding last")
            XCTAssertEqual(reports.groups.joined().sorted(), model.parameters.map(\.name).sorted(), "\(cell): each parameter once")
        }
        let samples = TinyHandwriting.dataset().samples
        for kind in [HandwritingKind.synthesis, .prediction] {
            var config = HandwritingConfig(kind: kind, layers: 3, hidden: 5, mixture: MixtureDensity(components: 2),
                                           windowComponents: 2)
            config.alphabetSize = kind == .synthesis ? 3 : 0
            let model = HandwritingModel<Float>(config: config, rng: &rng)
            let steps = samples.map(\.count).max()!, text = samples.map(\.characters.count).max()!
            let ws = model.makeWorkspace(steps: steps, batch: 3, maxTextLength: text)
            StrokeBatches.fill(ws, samples: samples, indices: [0, 1, 2])
            let reports = Reports()
            _ = model.trainStep(ws, outputClip: 100, hooks: reports.hooks)
            XCTAssertEqual(reports.groups, model.gradientGroups.map { $0.map(\.name) }, "\(kind)")
            XCTAssertEqual(reports.groups.count, 1 + 3)
            let last = reports.groups.last ?? []
            XCTAssertTrue(last.allSatisfy { $0.hasPrefix("lstm.0.") || $0.hasPrefix("window.") }, "\(kind): \(last)")
            XCTAssertEqual(last.contains("window.w"), kind == .synthesis, "\(kind): \(last)")
            XCTAssertEqual(reports.groups.joined().sorted(), model.parameters.map(\.name).sorted(), "\(kind): each parameter once")
            // Layer 1 with a window runs step by step and lets the communication progress at every step.
            XCTAssertEqual(reports.progressCalls, kind == .synthesis ? ws.activeSteps : 0, "\(kind)")
        }
    }

    /// Buckets copy every gradient out and back in order: in a world of one rank (where the sum is the identity)
    /// the gradients after `finish` are those of the step without buckets, whether the backward pass reported the
    /// groups, reported them out of order, or ran not at all.
    func testBucketsReturnEveryGradientInItsPlace() {
        var rng = SeededGenerator(seed: 6)
        let model = CharModel<Float>(config: CharModelConfig(layers: 2, hidden: 7, vocabularySize: 6), rng: &rng)
        let T = 5, B = 3
        let inputs = (0..<(T * B)).map { Int32(($0 * 7 + 3) % 6) }, targets = (0..<(T * B)).map { Int32(($0 * 5 + 1) % 6) }
        var unused = SeededGenerator(seed: 0)
        let ws = model.makeWorkspace(steps: T, batch: B)
        model.parameters.zeroGradients()
        _ = model.trainStep(inputs: inputs, targets: targets, ws, dropout: 0, rng: &unused)
        let reference = model.parameters.map(\.grad.array)
        let trainable = model.parameters.filter(\.trainable)
        let buckets = GradientBuckets(groups: model.gradientGroups, parameters: trainable, world: .single)
        XCTAssertEqual(buckets.bucketSizes.reduce(0, +), trainable.scalarCount())
        XCTAssertEqual(buckets.bucketSizes.count, model.gradientGroups.count)
        for _ in 0..<2 {  // twice: the buckets reset after each step
            model.parameters.zeroGradients()
            ws.resetState()
            _ = model.trainStep(inputs: inputs, targets: targets, ws, dropout: 0, rng: &unused, hooks: buckets.hooks)
            // Scribble over the gradients after they were reported: finish must write back what was copied.
            for p in trainable { p.grad.ptr.update(repeating: 99, count: p.count) }
            _ = buckets.finish()
            XCTAssertEqual(model.parameters.map(\.grad.array), reference)
        }
        // Reported out of order, and not at all: the sums start in order at finish, from the gradients then.
        model.parameters.zeroGradients()
        ws.resetState()
        _ = model.trainStep(inputs: inputs, targets: targets, ws, dropout: 0, rng: &unused)
        buckets.ready(model.gradientGroups[2])
        _ = buckets.finish()
        XCTAssertEqual(model.parameters.map(\.grad.array), reference)
    }

    func testBucketsSettingReadsTheEnvironment() throws {
        XCTAssertTrue(try DataParallel.bucketsSetting([:]))
        XCTAssertTrue(try DataParallel.bucketsSetting(["QUILL_MPI_BUCKETS": "on"]))
        XCTAssertFalse(try DataParallel.bucketsSetting(["QUILL_MPI_BUCKETS": "off"]))
        XCTAssertFalse(try DataParallel.bucketsSetting(["QUILL_MPI_BUCKETS": "0"]))
        XCTAssertThrowsError(try DataParallel.bucketsSetting(["QUILL_MPI_BUCKETS": "maybe"])) {
            XCTAssertEqual("\($0)".contains("QUILL_MPI_BUCKETS must be on or off, got \"maybe\""), true, "\($0)")
        }
    }

    /// The char validation split over ranks: the ranks' blocks of streams sum to the whole's characters, correct
    /// predictions and loss.
    func testCharValidationBlocksSumToTheWhole() {
        var rng = SeededGenerator(seed: 8)
        let model = CharModel<Float>(config: CharModelConfig(layers: 2, hidden: 8, vocabularySize: 6), rng: &rng)
        let tokens: [Int32] = (0..<1500).map { (i: Int) -> Int32 in Int32((i * i + 3 * i) % 6) }
        let whole = CharEvaluation.evaluate(model, tokens: tokens, steps: 16)
        XCTAssertGreaterThan(whole.characters, 0)
        for size in [2, 3, 7, 40] {
            let parts: [CharEvaluation] = (0..<size).map { (rank: Int) -> CharEvaluation in
                CharEvaluation.evaluate(model, tokens: tokens, steps: 16, streams: Shard(rank: rank, size: size))
            }
            XCTAssertEqual(parts.map(\.characters).reduce(0, +), whole.characters, "\(size) ranks")
            XCTAssertEqual(parts.map(\.correct).reduce(0, +), whole.correct, "\(size) ranks")
            XCTAssertEqual(parts.map(\.nats).reduce(0, +), whole.nats, accuracy: 1e-6 * abs(whole.nats), "\(size) ranks")
            if size > 1 { XCTAssertLessThan(parts[0].characters, whole.characters) }
        }
    }

    /// The handwriting validation split over ranks: the ranks' blocks of lines sum to the whole's scores.
    func testHandwritingValidationBlocksSumToTheWhole() {
        var rng = SeededGenerator(seed: 10)
        var config = HandwritingConfig(kind: .synthesis, layers: 2, hidden: 5, mixture: MixtureDensity(components: 2),
                                       windowComponents: 2)
        config.alphabetSize = 3
        let model = HandwritingModel<Float>(config: config, rng: &rng)
        let samples = TinyHandwriting.dataset().samples
        let whole = HandwritingEvaluation.evaluate(model, samples: samples, batch: 4)
        for size in [2, 3] {
            let parts: [HandwritingScores] = (0..<size).map { (rank: Int) -> HandwritingScores in
                let block = Shard(rank: rank, size: size).block(of: samples.count)
                return HandwritingEvaluation.evaluate(model, samples: Array(samples[block]), batch: 4)
            }
            XCTAssertEqual(parts.map(\.points).reduce(0, +), whole.points)
            XCTAssertEqual(parts.map(\.sequences).reduce(0, +), whole.sequences)
            XCTAssertEqual(parts.map(\.nats).reduce(0, +), whole.nats, accuracy: 1e-4 * abs(whole.nats))
        }
    }

    func assertClose(_ parameters: [Parameter<Float>], _ reference: [[Float]], _ what: String) {
        var worst = (0.0 as Float, "", 0)
        for (p, r) in zip(parameters, reference) {
            for (i, (a, b)) in zip(p.grad.array, r).enumerated() where abs(a - b) > worst.0 { worst = (abs(a - b), p.name, i) }
        }
        XCTAssertLessThan(worst.0, 1e-5, "\(what): gradient \(worst.1)[\(worst.2)] differs by \(worst.0)")
        XCTAssertGreaterThan(reference.joined().map { abs($0) }.max() ?? 0, 0, "\(what): the reference gradient is zero")
    }

    // MARK: - Under mpirun

    static let quill: URL = {
        var dir = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        if dir.pathExtension == "xctest" { dir = dir.deletingLastPathComponent() }
        return dir.appendingPathComponent("quill")
    }()

    /// Open MPI's launcher, or nil.
    static let mpirun: String? = {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
        return path.split(separator: ":").map { "\($0)/mpirun" }.first { FileManager.default.isExecutableFile(atPath: $0) }
    }()

    func requireMPI() throws {
        guard Self.mpirun != nil else {
            throw XCTSkip("mpirun not found: install Open MPI (apt-get install openmpi-bin libopenmpi-dev, or `make test`, which installs them) to run the MPI tests")
        }
        guard FileManager.default.isExecutableFile(atPath: Self.quill.path) else {
            throw XCTSkip("no quill executable beside the tests at \(Self.quill.path): build with `swift build --build-tests`")
        }
    }

    /// Starts quill with `args` alone (`ranks` nil) or under mpirun on `ranks` ranks; `perRank` gives each rank its
    /// own working directory (one rank per entry).
    func start(_ args: [String], ranks: Int?, perRank: [String]? = nil, stderr: Pipe? = nil,
               environment: [String: String] = [:]) throws -> Process {
        let process = Process()
        if let ranks {
            process.executableURL = URL(fileURLWithPath: Self.mpirun!)
            var a = ["--allow-run-as-root", "--oversubscribe", "--mca", "btl", "self,tcp", "--mca", "btl_tcp_if_include", "lo"]
            // mpirun passes its environment to the ranks it starts on this machine.
            if let perRank {
                for (i, wdir) in perRank.enumerated() {
                    a += (i > 0 ? [":"] : []) + ["-np", "1", "-wdir", wdir, Self.quill.path] + args
                }
            } else {
                a += ["-np", "\(ranks)", Self.quill.path] + args
            }
            process.arguments = a
        } else {
            process.executableURL = Self.quill
            process.arguments = args
        }
        var env = ProcessInfo.processInfo.environment
        env["QUILL_THREADS"] = "1"
        env.merge(environment) { $1 }
        process.environment = env
        process.standardOutput = FileHandle.nullDevice
        process.standardError = stderr ?? FileHandle.nullDevice
        try process.run()
        return process
    }

    /// Runs quill to the end; returns its status and standard error.
    @discardableResult
    func run(_ args: [String], ranks: Int?, perRank: [String]? = nil,
             environment: [String: String] = [:]) throws -> (status: Int32, stderr: String) {
        let pipe = Pipe()
        let p = try start(args, ranks: ranks, perRank: perRank, stderr: pipe, environment: environment)
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return (p.terminationStatus, String(decoding: data, as: UTF8.self))
    }

    func char(_ dir: TempDir, out: String, steps: Int) -> [String] {
        ["char", "train", "--data", dir.path("tiny.txt"), "--out", dir.path(out), "--layers", "2", "--hidden", "16",
         "--batch", "4", "--seq", "8", "--steps", "\(steps)", "--eval-every", "5", "--sample-length", "0", "--seed", "3",
         // SGD: its step scales with the gradient, so a wrongly scaled sum would show (Adam's would not).
         "--optimizer", "sgd", "--lr", "0.5"]
    }

    func synthesis(_ dir: TempDir, out: String, steps: Int) -> [String] {
        ["train", "synthesis", "--data", dir.path("tiny.qds"), "--out", dir.path(out), "--layers", "2", "--hidden", "6",
         "--mixtures", "2", "--window", "2", "--batch", "2", "--steps", "\(steps)", "--eval-every", "3",
         "--output-clip", "100", "--seed", "7"]
    }

    func makeData(_ dir: TempDir) throws {
        try String(repeating: "the cat sat on the mat. a dog ran to the log.\n", count: 40)
            .write(toFile: dir.path("tiny.txt"), atomically: true, encoding: .utf8)
        try PreparedFormat.write(TinyHandwriting.dataset(), to: dir.path("tiny.qds"))
    }

    /// The largest absolute difference between the weights of two runs' last checkpoints.
    func maxWeightDifference(_ a: String, _ b: String) throws -> Float {
        let x = try SafeTensors.read(a + "/last.safetensors"), y = try SafeTensors.read(b + "/last.safetensors")
        let weights = x.tensors.keys.filter { !$0.hasPrefix("optim.") && !$0.hasPrefix("state.") }
        XCTAssertFalse(weights.isEmpty)
        var worst: Float = 0
        for name in weights {
            guard let u = x.tensors[name]?.values, let v = y.tensors[name]?.values, u.count == v.count else {
                XCTFail("\(name) missing or of another size in \(b)"); return .infinity
            }
            for (p, q) in zip(u, v) { worst = max(worst, abs(p - q)) }
        }
        return worst
    }

    /// The validation losses of a run's metrics.jsonl, in order.
    func validationLosses(_ dir: String) throws -> [Double] {
        try String(contentsOfFile: dir + "/metrics.jsonl", encoding: .utf8).split(separator: "\n")
            .compactMap { try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
            .filter { $0["kind"] as? String == "val" }.compactMap { $0["loss"] as? Double }
    }

    func assertSameRun(_ a: String, _ b: String, _ what: String) throws {
        let diff = try maxWeightDifference(a, b)
        XCTAssertLessThanOrEqual(diff, 1e-4, "\(what): weights differ by \(diff)")
        let (u, v) = (try validationLosses(a), try validationLosses(b))
        XCTAssertEqual(u.count, v.count, "\(what): validation counts")
        XCTAssertFalse(u.isEmpty)
        for (p, q) in zip(u, v) { XCTAssertEqual(p, q, accuracy: 1e-4, "\(what): validation curves \(u) and \(v)") }
    }

    func testCharOnTwoRanksGivesTheWeightsOfOne() throws {
        try requireMPI()
        let dir = TempDir(); defer { dir.cleanup() }
        try makeData(dir)
        XCTAssertEqual(try run(char(dir, out: "one", steps: 20), ranks: nil).status, 0)
        let two = try run(char(dir, out: "two", steps: 20), ranks: 2)
        XCTAssertEqual(two.status, 0, two.stderr)
        try assertSameRun(dir.path("one"), dir.path("two"), "char, 20 steps")
    }

    func testSynthesisOnTwoRanksGivesTheWeightsOfOne() throws {
        try requireMPI()
        let dir = TempDir(); defer { dir.cleanup() }
        try makeData(dir)
        XCTAssertEqual(try run(synthesis(dir, out: "one", steps: 6), ranks: nil).status, 0)
        let two = try run(synthesis(dir, out: "two", steps: 6), ranks: 2)
        XCTAssertEqual(two.status, 0, two.stderr)
        try assertSameRun(dir.path("one"), dir.path("two"), "synthesis, 6 steps")
    }

    /// Both ways of summing the gradients (buckets overlapping the backward pass, the default, and one call after
    /// it) give the weights of one rank; the metrics say which ran.
    func testBucketedAndOneCallSumsGiveTheWeightsOfOne() throws {
        try requireMPI()
        let dir = TempDir(); defer { dir.cleanup() }
        try makeData(dir)
        // A GRU stack with skips and a one-hot input: other groups than the LSTM default.
        let gru = ["--cell", "gru", "--skip", "--embedding", "0"]
        XCTAssertEqual(try run(char(dir, out: "one", steps: 20), ranks: nil).status, 0)
        XCTAssertEqual(try run(char(dir, out: "one-gru", steps: 20) + gru, ranks: nil).status, 0)
        XCTAssertEqual(try run(synthesis(dir, out: "one-hw", steps: 6), ranks: nil).status, 0)
        for mode in ["on", "off"] {
            let env = ["QUILL_MPI_BUCKETS": mode], name = mode == "on" ? "buckets" : "one call"
            for (args, reference, what) in [(char(dir, out: "c-\(mode)", steps: 20), "one", "char"),
                                            (char(dir, out: "g-\(mode)", steps: 20) + gru, "one-gru", "char gru"),
                                            (synthesis(dir, out: "s-\(mode)", steps: 6), "one-hw", "synthesis")] {
                let r = try run(args, ranks: 2, environment: env)
                XCTAssertEqual(r.status, 0, r.stderr)
                let out = args[args.firstIndex(of: "--out")! + 1]
                try assertSameRun(dir.path(reference), out, "\(what), \(name)")
                // Training lines come every 10 steps: the 6-step synthesis runs write none.
                guard what != "synthesis" else { continue }
                let modes = try String(contentsOfFile: out + "/metrics.jsonl", encoding: .utf8).split(separator: "\n")
                    .compactMap { try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
                    .compactMap { $0["gradient_sum"] as? String }
                XCTAssertFalse(modes.isEmpty, "\(what): no training line says how the gradients were summed")
                XCTAssertEqual(Set(modes), [name], what)
            }
        }
        let bad = try run(char(dir, out: "bad", steps: 2), ranks: 2, environment: ["QUILL_MPI_BUCKETS": "sometimes"])
        XCTAssertNotEqual(bad.status, 0)
        XCTAssertTrue(bad.stderr.contains("QUILL_MPI_BUCKETS must be on or off"), bad.stderr)
    }

    /// Validation split over 2 and 3 ranks (uneven blocks of 14 char streams) logs the validation of one rank.
    func testSplitValidationLogsTheLossOfOneRank() throws {
        try requireMPI()
        let dir = TempDir(); defer { dir.cleanup() }
        try makeData(dir)
        func args(_ out: String) -> [String] {
            var a = char(dir, out: out, steps: 6) + ["--val-fraction", "0.5"]
            a[a.firstIndex(of: "--batch")! + 1] = "6"
            a[a.firstIndex(of: "--eval-every")! + 1] = "3"
            return a
        }
        XCTAssertEqual(try run(args("one"), ranks: nil).status, 0)
        for ranks in [2, 3] {
            let r = try run(args("r\(ranks)"), ranks: ranks)
            XCTAssertEqual(r.status, 0, r.stderr)
            try assertSameRun(dir.path("one"), dir.path("r\(ranks)"), "\(ranks) ranks")
            let (u, v) = (try validationLosses(dir.path("one")), try validationLosses(dir.path("r\(ranks)")))
            XCTAssertEqual(u.count, 2)
            for (p, q) in zip(u, v) { XCTAssertEqual(p, q, accuracy: 1e-5, "\(ranks) ranks: \(u) and \(v)") }
        }
    }

    /// A run stopped on 2 ranks continues alone with plain quill (and one stopped alone continues on 2), to the
    /// weights of the run that never stopped.
    func testResumeOnAnotherRankCount() throws {
        try requireMPI()
        let dir = TempDir(); defer { dir.cleanup() }
        try makeData(dir)
        XCTAssertEqual(try run(char(dir, out: "straight", steps: 20), ranks: nil).status, 0)
        for (first, then, out) in [(2, nil, "two-then-one"), (nil, 2, "one-then-two")] as [(Int?, Int?, String)] {
            let a = try run(char(dir, out: out, steps: 10), ranks: first)
            XCTAssertEqual(a.status, 0, a.stderr)
            let b = try run(["char", "train", "--data", dir.path("tiny.txt"), "--out", dir.path(out), "--resume", "--steps", "20"], ranks: then)
            XCTAssertEqual(b.status, 0, b.stderr)
            try assertSameRun(dir.path("straight"), dir.path(out), out)
        }
    }

    /// The same options (`--data` relative, each rank in its own directory) over different files are refused.
    func testMismatchedDataOnOneRankIsRefused() throws {
        try requireMPI()
        let dir = TempDir(); defer { dir.cleanup() }
        try makeData(dir)
        let (a, b) = (dir.path("a"), dir.path("b"))
        for d in [a, b] { try FileManager.default.createDirectory(atPath: d, withIntermediateDirectories: true) }
        try String(repeating: "the cat sat on the mat. a dog ran to the log.\n", count: 40)
            .write(toFile: a + "/tiny.txt", atomically: true, encoding: .utf8)
        try String(repeating: "the cat sat on the mat. a dog ran to the fog.\n", count: 40)
            .write(toFile: b + "/tiny.txt", atomically: true, encoding: .utf8)
        let args = ["char", "train", "--data", "tiny.txt", "--out", dir.path("run"), "--layers", "1", "--hidden", "8",
                    "--batch", "2", "--seq", "8", "--steps", "5", "--sample-length", "0"]
        let r = try run(args, ranks: 2, perRank: [a, b])
        XCTAssertNotEqual(r.status, 0)
        XCTAssertTrue(r.stderr.contains("the options, data or resume point of rank 1 differ from rank 0's"), r.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir.path("run/last.safetensors")))
        // The same files on both: the job runs.
        try FileManager.default.removeItem(atPath: b + "/tiny.txt")
        try FileManager.default.copyItem(atPath: a + "/tiny.txt", toPath: b + "/tiny.txt")
        let same = try run(args, ranks: 2, perRank: [a, b])
        XCTAssertEqual(same.status, 0, same.stderr)
        // Resuming, each rank from its own copy of --out: copies of different resume points are refused.
        var own = args
        own[own.firstIndex(of: "--out")! + 1] = "own"
        for (d, steps) in [(a, "5"), (b, "3")] {
            var single = own
            single[single.firstIndex(of: "--steps")! + 1] = steps
            let r = try run(single, ranks: 1, perRank: [d])
            XCTAssertEqual(r.status, 0, r.stderr)
        }
        own[own.firstIndex(of: "--steps")! + 1] = "8"
        let resumed = try run(own + ["--resume"], ranks: 2, perRank: [a, b])
        XCTAssertNotEqual(resumed.status, 0)
        XCTAssertTrue(resumed.stderr.contains("resume point of rank 1 differ"), resumed.stderr)

        // Handwriting data with the same counts (all that the resume check compares) but one offset changed.
        var other = TinyHandwriting.dataset()
        other.samples[2].dx[3] += 0.5
        try PreparedFormat.write(TinyHandwriting.dataset(), to: a + "/tiny.qds")
        try PreparedFormat.write(other, to: b + "/tiny.qds")
        var hw = synthesis(dir, out: "hw", steps: 2)
        hw[hw.firstIndex(of: "--data")! + 1] = "tiny.qds"
        let r2 = try run(hw, ranks: 2, perRank: [a, b])
        XCTAssertNotEqual(r2.status, 0)
        XCTAssertTrue(r2.stderr.contains("the options, data or resume point of rank 1 differ from rank 0's"), r2.stderr)

        let odd = try run(["char", "train", "--data", dir.path("tiny.txt"), "--out", dir.path("odd"), "--batch", "3",
                           "--layers", "1", "--hidden", "8", "--steps", "2"], ranks: 2)
        XCTAssertNotEqual(odd.status, 0)
        XCTAssertTrue(odd.stderr.contains("--batch 3 is not divisible by the 2 ranks"), odd.stderr)
    }

    /// Killing one rank of a job stops the whole job (mpirun ends the others), leaving a resumable checkpoint.
    func testKillingOneRankStopsTheJob() throws {
        try requireMPI()
        #if !os(Linux)
        throw XCTSkip("finds the ranks through /proc (Linux only)")
        #endif
        let dir = TempDir(); defer { dir.cleanup() }
        try makeData(dir)
        var args = char(dir, out: "run", steps: 1_000_000)
        args[args.firstIndex(of: "--eval-every")! + 1] = "20"
        let job = try start(args, ranks: 2)
        defer { if job.isRunning { kill(job.processIdentifier, SIGKILL) } }
        // Wait (generously) for the first checkpoint, then kill one rank: a child of mpirun.
        XCTAssertTrue(waitFor(120) { FileManager.default.fileExists(atPath: dir.path("run/last.safetensors")) })
        let children = ((try? String(contentsOfFile: "/proc/\(job.processIdentifier)/task/\(job.processIdentifier)/children",
                                     encoding: .utf8)) ?? "").split(separator: " ").compactMap { Int32($0) }
        let ranks = children.filter {
            ((try? String(contentsOfFile: "/proc/\($0)/cmdline", encoding: .utf8)) ?? "").contains("quill")
        }
        XCTAssertEqual(ranks.count, 2, "the ranks among mpirun's children \(children)")
        guard let victim = ranks.last else { return }
        kill(victim, SIGKILL)
        XCTAssertTrue(waitFor(30) { !job.isRunning }, "the job still runs 30 s after one rank was killed")
        job.waitUntilExit()
        XCTAssertNotEqual(job.terminationStatus, 0)
        let resumed = try run(["char", "train", "--data", dir.path("tiny.txt"), "--out", dir.path("run"), "--resume",
                                "--minutes", "0.001"], ranks: nil)
        XCTAssertEqual(resumed.status, 0, resumed.stderr)
    }

    /// Polls `condition` every 0.1 s for up to `seconds`; true when it held.
    func waitFor(_ seconds: Double, _ condition: () -> Bool) -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if condition() { return true }
            usleep(100_000)
        }
        return condition()
    }
}
