/// What a training run reports as it goes; the CLI draws it.
public enum TrainingEvent: Sendable {
    /// The run is about to take its first step. `parameters`: trainable scalars; `resumedAt`: the step of the
    /// resume point, nil for a new run.
    case started(parameters: Int, data: TrainingData, resumedAt: Int?)
    /// A remark about how the run was set up, for its reader, right after `started` (for example how `--init-from`
    /// carried a network to another alphabet).
    case note(String)
    /// A step was taken. `loss`: this step's training loss per unit (nats/char, nats/point); `rate`: units per
    /// second since the last metrics line; `elapsed`: seconds of the whole run; `eta`: seconds left, nil if unlimited.
    case progress(step: Int, totalSteps: Int?, loss: Double, rate: Double, elapsed: Double, eta: Double?)
    /// A validation. `score`: the loss the best model is chosen by (nats/char, nats/sequence); `perUnit`: the loss
    /// per unit (nats/char, nats/point); `sample`: text sampled from the model, empty when none.
    case validation(step: Int, score: Double, perUnit: Double, best: Bool, sample: String)
    /// The run stopped: `reason` in words, `best` the best validation score.
    case finished(step: Int, reason: String, best: Double?)
}

/// What a run trains on, for its first line.
public enum TrainingData: Sendable, Equatable {
    /// A char model: characters of training and validation text, and the vocabulary's size.
    case text(trainCharacters: Int, validationCharacters: Int, vocabulary: Int)
    /// A handwriting network: training sequences in `batches` batches, and validation sequences.
    case strokes(kind: HandwritingKind, trainSequences: Int, validationSequences: Int, batches: Int)
    /// A memory task: a fresh batch of `task` at `length` every step, scored on `heldOut` sequences.
    case generated(task: MemoryTask, length: Int, heldOut: Int)
}
