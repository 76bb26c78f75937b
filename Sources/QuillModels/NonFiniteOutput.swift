import QuillData
/// A model computed NaN or infinity from finite inputs: its checkpoint is broken or has diverged. Thrown instead of
/// printing or drawing a meaningless result.
public struct NonFiniteOutputError: Error, CustomStringConvertible, Equatable {
    /// The checkpoint, when the thrower knows it.
    public var model: String?

    public init(model: String? = nil) { self.model = model }

    /// The same error naming `path`.
    public func naming(_ path: String) -> NonFiniteOutputError { NonFiniteOutputError(model: path) }

    public var description: String {
        let what = model.map { TextPreparation.shown(text: $0) + ": the model" } ?? "the model"
        return "\(what) produced non-finite values (NaN or infinity): the checkpoint is broken or diverged; "
            + "use another checkpoint or retrain"
    }
}
