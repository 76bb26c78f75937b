import QuillData
import QuillNN
import QuillNumerics
import QuillTestSupport
import XCTest
@testable import QuillModels

/// The Phased LSTM (`--cell phased-lstm`, issue 15 item 3) as a char model: its time gate in the checkpoint, the
/// streams' times carried across windows and through a resume, the overfitting test every new cell passes, and
/// sampling in every mode.
final class PhasedLSTMTests: XCTestCase {
    static let text = "the time gate opens each unit for a fraction r_on of its period tau_j, from its shift s_j; "
        + "when closed, the unit keeps its cell and hidden state just as they were, so a memory can outlast many steps.\n"

    func testTimeGateRoundTripsThroughTheCheckpoint() throws {
        let dir = TempDir(); defer { dir.cleanup() }
        var rng = SeededGenerator(seed: 4)
        let config = CharModelConfig(cell: .phasedLSTM, layers: 2, hidden: 6, embedding: 4, vocabularySize: 5)
        XCTAssertNil(config.validate())
        let model = CharModel<Float>(config: config, rng: &rng)
        XCTAssertEqual(model.parameters.map(\.name).filter { $0.hasSuffix(".time") || $0.hasSuffix(".period") },
                       ["rnn.0.period", "rnn.0.time", "rnn.1.period", "rnn.1.time"])
        XCTAssertEqual(model.parameters.map(\.value.shape), config.parameterShapes.map(\.shape))
        XCTAssertEqual(model.parameters.map(\.trainable), config.parameterShapes.map(\.trainable))
        // Invariant: a Phased LSTM layer has its periods and time gate.
        let layer = model.stack!.layers[0], logPeriod = layer.periods!.value, gate = layer.timeGate!.value
        XCTAssertFalse(layer.periods!.trainable, "periods are fixed unless --learn-periods")
        // τ within the initial range, s within a period, r_on at its initial value.
        for j in 0..<6 {
            let tau = Double.exp(Double(logPeriod[j]))
            XCTAssertTrue(TimeGate.periodRange.contains(tau), "τ = \(tau)")
            XCTAssertTrue((0...tau).contains(Double(gate[j])))
            XCTAssertEqual(1 / (1 + Double.exp(-Double(gate[6 + j]))), TimeGate.initialOpenRatio, accuracy: 1e-6)
        }
        var learning = config
        learning.learnPeriods = true
        XCTAssertTrue(CharModel<Float>(config: learning, rng: &rng).stack!.layers[1].periods!.trainable)
        let path = dir.path("phased.safetensors")
        try CharCheckpoint.save(model, alphabet: Alphabet(text: "abcde"), to: path)
        let loaded = try CharCheckpoint.load(path)
        XCTAssertEqual(loaded.model.config, config)
        let w1 = model.makeWorkspace(steps: 9, batch: 1), w2 = loaded.model.makeWorkspace(steps: 9, batch: 1)
        let inputs: [Int32] = [1, 2, 0, 3, 4, 4, 1, 0, 2], targets: [Int32] = [2, 0, 3, 4, 4, 1, 0, 2, 3]
        XCTAssertEqual(model.evaluate(inputs: inputs, targets: targets, w1),
                       loaded.model.evaluate(inputs: inputs, targets: targets, w2))
        XCTAssertEqual(w1.logits.array, w2.logits.array)
    }

    /// Any finite τ and s give a gate in [0, 1]: the phase is the fractional part of (t − s)/τ, and τ is clamped to
    /// 10⁻³…10⁹ steps.
    func testGateStaysInRangeForExtremeParameters() {
        for (rho, s) in [(-200.0, 3.0), (1000, 3), (2, 1e30), (2, -1e30), (-6.9, 1e12), (0, 0)] {
            for t in [0.0, 1, 7, 1e6, 2.8e14] {
                let g = TimeGate.value(time: t, logPeriod: rho, shift: s, openLogit: 0)
                XCTAssertTrue((0...1).contains(g.k), "k = \(g.k) at ρ \(rho), s \(s), t \(t)")
                XCTAssertTrue(g.dLogPeriod.isFinite && g.dShift.isFinite && g.dOpenLogit.isFinite)
            }
        }
    }

    /// Streams' times beyond 2²⁴ steps survive the resume point exactly, and a checkpoint whose periods are outside
    /// 10⁻³…10⁹ steps is refused when loaded.
    func testLongTimesRoundTripAndBadPeriodsAreRefused() throws {
        let dir = TempDir(); defer { dir.cleanup() }
        var rng = SeededGenerator(seed: 8)
        let config = CharModelConfig(cell: .phasedLSTM, layers: 2, hidden: 3, embedding: 2, vocabularySize: 4)
        let model = CharModel<Float>(config: config, rng: &rng)
        let ws = model.makeWorkspace(steps: 2, batch: 2)
        for l in ws.stack!.layers {
            var s = l.initialState()
            s.time = [(1 << 40) + 12_345, 16_777_217]
            l.setInitialState(s)
        }
        let entries = ws.stack!.carriedStateEntries(rows: 0..<2, batch: 2) { _ in }
        try SafeTensors.write(entries, metadata: [:], to: dir.path("state.safetensors"))
        let back = model.makeWorkspace(steps: 2, batch: 2)
        try back.stack!.restoreCarriedState(from: SafeTensors.read(dir.path("state.safetensors")), path: "state",
                                           rows: 0..<2, batch: 2)
        XCTAssertEqual(back.stack!.layers.map(\.time), [[(1 << 40) + 12_345, 16_777_217], [(1 << 40) + 12_345, 16_777_217]])

        // Invariant: a Phased LSTM layer has its periods.
        model.stack!.layers[1].periods!.value[2] = Float(Double.log(5e9))
        let path = dir.path("bad.safetensors")
        try CharCheckpoint.save(model, alphabet: Alphabet(text: "abcd"), to: path)
        XCTAssertThrowsError(try CharCheckpoint.load(path)) { e in
            XCTAssertTrue("\(e)".contains("rnn.1.period holds values outside"), "\(e)")
        }
    }

    /// Periods clamped to their bounds stay inside them in Float (Float(ln 10⁻³) and Float(ln 10⁹) lie just outside
    /// ln 10⁻³…ln 10⁹), so a run that drives them there saves checkpoints that load; and a checkpoint saved before
    /// the clamp rounded inward, holding those Float bounds, loads too.
    func testPeriodsClampedToTheirBoundsStillLoad() throws {
        let dir = TempDir(); defer { dir.cleanup() }
        var rng = SeededGenerator(seed: 8)
        let config = CharModelConfig(cell: .phasedLSTM, layers: 1, hidden: 3, embedding: 2, vocabularySize: 4,
                                     learnPeriods: true)
        let model = CharModel<Float>(config: config, rng: &rng)
        // Invariant: a Phased LSTM layer has its periods, with bounds.
        let periods = model.stack!.layers[0].periods!, bounds = periods.valueBounds!
        XCTAssertLessThan(Double(Float(bounds.lowerBound)), bounds.lowerBound, "the premise: Float rounds ln 10⁻³ down")
        XCTAssertGreaterThan(Double(Float(bounds.upperBound)), bounds.upperBound, "and ln 10⁹ up")
        periods.value[0] = -1000
        periods.value[1] = 1000
        periods.clampToBounds()
        XCTAssertTrue(bounds.contains(Double(periods.value[0])) && bounds.contains(Double(periods.value[1])),
                      "\(periods.value[0]) \(periods.value[1])")
        XCTAssertEqual(periods.value[0], Float(bounds.lowerBound).nextUp)
        let clamped = dir.path("clamped.safetensors")
        try CharCheckpoint.save(model, alphabet: Alphabet(text: "abcd"), to: clamped)
        XCTAssertEqual(try CharCheckpoint.load(clamped).model.stack!.layers[0].periods!.value[1], periods.value[1])
        periods.value[0] = Float(bounds.lowerBound)
        periods.value[1] = Float(bounds.upperBound)
        let older = dir.path("older.safetensors")
        try CharCheckpoint.save(model, alphabet: Alphabet(text: "abcd"), to: older)
        XCTAssertEqual(try CharCheckpoint.load(older).model.stack!.layers[0].periods!.value[0], Float(bounds.lowerBound))
    }

    /// --init-from a run of another kind of layer names the option that differs, not two unrelated tensors.
    func testInitFromAnotherLayerNamesTheOption() throws {
        let dir = TempDir(); defer { dir.cleanup() }
        try String(repeating: Self.text, count: 2).write(toFile: dir.path("t.txt"), atomically: true, encoding: .utf8)
        var o = CharTrainOptions(dataPaths: [dir.path("t.txt")], outDir: dir.path("phased"),
                                 model: CharModelConfig(cell: .phasedLSTM, layers: 1, hidden: 4, vocabularySize: 1))
        o.batch = 2; o.seq = 8; o.steps = 2; o.sampleLength = 0
        try TrainingRun(options: o, resume: false).run()
        var other = o
        other.outDir = dir.path("lstm")
        other.model.cell = .lstm
        other.initFrom = InitSource(dir: dir.path("phased"))
        XCTAssertThrowsError(try TrainingRun(options: other, resume: false).run()) { e in
            XCTAssertTrue("\(e)".contains("has --cell phased-lstm where this run has lstm"), "\(e)")
        }
    }

    func testPeepholesAndMisplacedPeriodsAreRefused() {
        let c = CharModelConfig(cell: .phasedLSTM, layers: 1, hidden: 4, vocabularySize: 3, peepholes: true)
        XCTAssertEqual(c.validate(), "--peepholes needs --cell lstm (only LSTM cells have peepholes)")
        let l = CharModelConfig(cell: .lstm, layers: 1, hidden: 4, vocabularySize: 3, learnPeriods: true)
        XCTAssertEqual(l.validate(), "--learn-periods needs --cell phased-lstm (only the Phased LSTM has periods)")
    }

    /// Windows carry each stream's time: two windows of 5 read as one of 10, and a third window after a reset reads
    /// as the first.
    func testTimeCarriesAcrossWindows() {
        var rng = SeededGenerator(seed: 6)
        let config = CharModelConfig(cell: .phasedLSTM, layers: 1, hidden: 5, embedding: 3, vocabularySize: 4)
        let model = CharModel<Float>(config: config, rng: &rng)
        let tokens: [Int32] = (0..<11).map { Int32($0 % 4) }
        let whole = model.makeWorkspace(steps: 10, batch: 1)
        _ = model.evaluate(inputs: Array(tokens[0..<10]), targets: Array(tokens[1...10]), whole)
        let half = model.makeWorkspace(steps: 5, batch: 1)
        _ = model.evaluate(inputs: Array(tokens[0..<5]), targets: Array(tokens[1...5]), half)
        let first = half.logits.array
        half.carryState()
        XCTAssertEqual(half.stack!.layers[0].time, [5])
        _ = model.evaluate(inputs: Array(tokens[5..<10]), targets: Array(tokens[6...10]), half)
        XCTAssertEqual(half.logits.array, Array(whole.logits.array[(5 * 4)...]))
        half.resetState()
        _ = model.evaluate(inputs: Array(tokens[0..<5]), targets: Array(tokens[1...5]), half)
        XCTAssertEqual(half.logits.array, first)
    }

    /// A run interrupted and resumed ends with exactly the weights of a straight run: the streams' times are part
    /// of the carried state in last.safetensors.
    func testResumeEqualsStraightRun() throws {
        let config = CharModelConfig(cell: .phasedLSTM, layers: 2, hidden: 8, embedding: 4, vocabularySize: 1)
        let names = try NewCellChecks.resumeEqualsStraight(config, text: String(repeating: Self.text, count: 3))
        XCTAssertTrue(names.contains("state.rnn.1.t"))
    }

    /// A 200-character text is learnt below 0.05 nats per character within 500 steps; then greedy, tempered,
    /// primed and beam samples all run, seeded ones repeat, and greedy sampling recites the text.
    func testOverfitsTwoHundredCharactersAndSamplesInEveryMode() throws {
        let sampler = try NewCellChecks.overfit(
            CharModelConfig(cell: .phasedLSTM, layers: 1, hidden: 64, vocabularySize: 1), text: Self.text)
        var rng = SeededGenerator(seed: 0)
        XCTAssertEqual(try sampler.sample(prime: "the time gate", length: 20, greedy: true, rng: &rng),
                       " opens each unit for")
        var r1 = SeededGenerator(seed: 9), r2 = SeededGenerator(seed: 9)
        let a = try sampler.sample(prime: "when closed,", length: 40, temperature: 0.7, rng: &r1)
        XCTAssertEqual(a, try sampler.sample(prime: "when closed,", length: 40, temperature: 0.7, rng: &r2))
        XCTAssertEqual(a.count, 40)
        // Primed from the text's start: the gate's phase depends on the steps read since the state was reset, so a
        // network that learnt one 200-character stream reads its middle from time 0 differently.
        XCTAssertEqual(try sampler.beam(prime: "the time", length: 11, width: 3), " gate opens")
    }
}
