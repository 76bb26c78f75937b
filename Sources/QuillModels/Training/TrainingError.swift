import QuillData

/// Why a training run refused to start or stopped, each message naming the option, directory or step and the fix.
public enum TrainingError: Error, CustomStringConvertible, Equatable {
    /// An option, or the data it names, makes no sense for the run.
    case invalidOption(String)
    /// A file an option names is not there (`--init-from DIR` without a model in it).
    case missingInput(String)
    /// `--resume` with data other than the run was trained on.
    case resumeMismatch(String)
    /// A new run over a directory that holds a resume point.
    case outputExists(String)
    /// The loss or the gradient norm became NaN or infinite. `checkpoint`: the step of the last good checkpoint in
    /// `dir`, or nil when the run wrote none.
    case nonFinite(step: Int, what: String, dir: String, checkpoint: Int?)
    /// The loss rose far above its best (`DivergenceRule`).
    case diverged(step: Int, why: String, dir: String, checkpoint: Int?)

    /// The message with any invisible or control character (from a file's name) shown by code point.
    public var description: String { TextPreparation.shown(text: message) }

    var message: String {
        switch self {
        case .invalidOption(let m), .resumeMismatch(let m), .missingInput(let m):
            return m
        case .outputExists(let d):
            return "\(d) already holds a trained model; continue it with --resume, or pass --force to start over (it will be overwritten)"
        case .nonFinite(let step, let what, let dir, let checkpoint):
            return "\(what) became NaN or infinite at step \(step); training stopped and \(Self.kept(dir, checkpoint)). Try a lower --lr or a tighter --clip"
        case .diverged(let step, let why, let dir, let checkpoint):
            return "training diverged at step \(step): \(why); training stopped and \(Self.kept(dir, checkpoint)). Try a lower --lr or a tighter --clip"
        }
    }

    /// What a stopped run left behind.
    private static func kept(_ dir: String, _ step: Int?) -> String {
        guard let step else { return "no checkpoint was written before it, so \(dir) holds no model from this run" }
        return "the last good checkpoint in \(dir) (step \(step)) is intact"
    }
}
