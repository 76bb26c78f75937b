import QuillNN
import QuillNumerics
import QuillOptim
import XCTest
@testable import QuillModels

/// The workloads `quill bench` times, their FLOP counts, and the text parts `quill char eval` scores.
final class BenchmarkTests: XCTestCase {
    /// One LSTM layer of 3 units on a one-hot vocabulary of 5: 2·(5 + 3)·12 for the layer and 2·3·5 for the output.
    func testCharModelFLOPsByHand() {
        var rng = SeededGenerator(seed: 1)
        let model = CharModel<Float>(config: CharModelConfig(layers: 1, hidden: 3, embedding: 0, vocabularySize: 5),
                                     rng: &rng)
        let expected: Double = 2 * 8 * 12 + 2 * 3 * 5
        XCTAssertEqual(model.forwardFLOPsPerCharacter, expected)
    }

    /// Prediction, 1 layer of 2 units, 1 component (7 outputs): 2·3·8 + 2·2·8 for the layer, 2·2·7 for the head;
    /// synthesis adds the window's 3K parameters from h¹ and its sum over U characters.
    func testHandwritingModelFLOPsByHand() {
        var rng = SeededGenerator(seed: 1)
        let mixture = MixtureDensity(components: 1)
        let prediction = HandwritingModel<Float>(config: HandwritingConfig(kind: .prediction, layers: 1, hidden: 2,
                                                                           mixture: mixture), rng: &rng)
        let expected: Double = 2 * 3 * 8 + 2 * 2 * 8 + 2 * 2 * 7
        XCTAssertEqual(prediction.forwardFLOPsPerStep(textLength: 9), expected)
        let synthesis = HandwritingModel<Float>(config: HandwritingConfig(kind: .synthesis, layers: 1, hidden: 2,
                                                                          mixture: mixture, windowComponents: 1,
                                                                          alphabetSize: 4), rng: &rng)
        let layer: Double = 2 * Double(synthesis.stack.layers[0].inputSize) * 8 + 2 * 2 * 8
        let head: Double = 2 * 2 * 7, window: Double = 2 * 2 * 3 + 4 * 5
        XCTAssertEqual(synthesis.forwardFLOPsPerStep(textLength: 5), layer + head + window)
    }

    func testWorkloadsRunAndCountTheirWork() {
        let char = CharTrainingBenchmark(config: CharModelConfig(layers: 1, hidden: 4, vocabularySize: 7), batch: 2,
                                         seq: 3, iterations: 2)
        XCTAssertNil(char.validate())
        let charResult = char.run()
        XCTAssertEqual(charResult.times.count, 2)
        XCTAssertEqual(charResult.units, 6)
        XCTAssertGreaterThan(charResult.flopsPerUnit, 0)
        // --profile: each phase of a char step is timed, the recurrent layers' time counted as fused steps or
        // products, and the shares add up to the whole.
        let charProfile = PhaseProfile()
        let profiled = CharTrainingBenchmark(config: CharModelConfig(layers: 2, hidden: 4, vocabularySize: 7),
                                             batch: 2, seq: 3, iterations: 2, profile: charProfile)
        XCTAssertEqual(profiled.run().times.count, 2)
        for phase in ["embedding", "forward layer 1", "forward layers 2…N", "forward output", "softmax loss + gradient",
                      "backward output", "backward layers N…2", "backward layer 1", "gradient clip", "optimiser"] {
            XCTAssertTrue(charProfile.names.contains(phase), "\(phase) missing from \(charProfile.names)")
        }
        XCTAssertEqual(charProfile.summary(repetitions: 2).reduce(0) { $0 + $1.share }, 1, accuracy: 1e-9)
        XCTAssertGreaterThan(charProfile.productSeconds + charProfile.recurrentStepSeconds, 0)
        XCTAssertFalse(ProductClock.enabled, "the clock is off after a profiled run")
        let small = HandwritingConfig(kind: .synthesis, layers: 1, hidden: 4, mixture: MixtureDensity(components: 2),
                                      windowComponents: 2, alphabetSize: 5)
        let profile = PhaseProfile()
        let training = HandwritingTrainingBenchmark(config: small, batch: 2, steps: 3, textLength: 2, iterations: 1,
                                                    profile: profile)
        XCTAssertNil(training.validate())
        XCTAssertEqual(training.run().units, 6)
        XCTAssertTrue(profile.names.contains("optimiser"), "\(profile.names)")
        for kind in [HandwritingKind.prediction, .synthesis] {
            var config = small
            config.kind = kind
            config.alphabetSize = 80
            let sampling = SamplingBenchmark(config: config, steps: 40, repetitions: 1).run()
            XCTAssertEqual(sampling.units, 40)
            XCTAssertTrue(sampling.times.best.isFinite && sampling.times.best >= 0)
        }
    }

    /// Sizes out of range are refused with the flag's name, as are workloads too large for memory.
    func testWorkloadLimits() {
        XCTAssertEqual(CharTrainingBenchmark(config: CharModelConfig(layers: 40, vocabularySize: 65), batch: 1, seq: 1,
                                             iterations: 1).validate(), "--layers must be between 1 and 32, got 40")
        XCTAssertEqual(CharTrainingBenchmark(config: CharModelConfig(layers: 32, hidden: 8192, vocabularySize: 65),
                                             batch: 4096, seq: 4096, iterations: 1).validate()?.contains("GB of activations"), true)
        let synthesis = HandwritingConfig(kind: .synthesis, alphabetSize: 80)
        XCTAssertEqual(HandwritingTrainingBenchmark(config: synthesis, batch: 512, steps: 1000, textLength: 1,
                                                    iterations: 1).validate()?.hasPrefix("--batch × --steps"), true)
        XCTAssertEqual(SamplingBenchmark(config: synthesis, steps: 10, repetitions: 1).validate(),
                       "--steps must be between 20 and 100000, got 10")
    }

    /// `char eval --part` splits the text where training does.
    func testCharTextPartsSplitWhereTrainingDoes() {
        let tokens = (0..<10).map { Int32($0) }
        XCTAssertEqual(CharTextPart.val.of(tokens, valFraction: 0.25), [7, 8, 9])
        XCTAssertEqual(CharTextPart.train.of(tokens, valFraction: 0.25), Array(0..<7).map { Int32($0) })
        XCTAssertEqual(CharTextPart.all.of(tokens, valFraction: 0.25), tokens)
        XCTAssertEqual(CharTrainOptions.validationStart(count: 10, valFraction: 0), 10)
    }

    /// A new run's defaults are the options' own: what `quill char train` and `quill train` show and use.
    func testDefaultsOfANewRun() {
        XCTAssertEqual(CharTrainOptions.defaults.optimizer,
                       OptimizerConfig(kind: .adam, learningRate: CharTrainOptions.defaultLearningRate(for: .adam)))
        XCTAssertEqual(CharTrainOptions.defaultLearningRate(for: .sgd), 0.1)
        XCTAssertEqual(HandwritingTrainOptions.defaults.lrSchedule.initial, 1e-3)
        XCTAssertEqual(HandwritingTrainOptions.defaultLearningRate(for: .gravesRMSProp), 1e-4)
    }
}
