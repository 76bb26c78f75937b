/// A dense, row-major block of scalars with a fixed shape, owned by reference.
///
/// Tensors are flat buffers in the llm.c style: layers read and write them through `ptr`, and document the meaning
/// of each axis in comments (`/// x: (T, B, inputSize)`). Copies are explicit (`clone()`).
public final class Tensor<T: QuillScalar> {
    public let shape: [Int]
    public let count: Int
    public let ptr: UnsafeMutablePointer<T>

    /// A tensor of the given shape filled with `value`.
    ///
    /// Shapes and values come from code, never straight from a file: readers check a stored tensor's shape and
    /// count against the configuration first, so the preconditions here are programmer invariants.
    @_specialize(exported: true, where T == Float)
    public init(_ shape: [Int], fill value: T = 0) {
        precondition(shape.allSatisfy { $0 >= 0 }, "negative dimension in \(shape)")
        self.shape = shape
        self.count = shape.reduce(1, *)
        self.ptr = .allocate(capacity: Swift.max(count, 1))
        ptr.initialize(repeating: value, count: Swift.max(count, 1))
    }

    /// A tensor holding `values`, whose count must match the shape.
    @_specialize(exported: true, where T == Float)
    public convenience init(_ shape: [Int], _ values: [T]) {
        self.init(shape)
        precondition(values.count == count, "\(values.count) values for shape \(shape)")
        // An empty array may have no base address; then count is 0 and there is nothing to copy.
        values.withUnsafeBufferPointer { if let base = $0.baseAddress { ptr.update(from: base, count: count) } }
    }

    deinit { ptr.deallocate() }

    @inlinable public subscript(i: Int) -> T {
        get { ptr[i] }
        set { ptr[i] = newValue }
    }

    /// The values as an array, in storage order.
    public var array: [T] { Array(UnsafeBufferPointer(start: ptr, count: count)) }

    /// A deep copy.
    @_specialize(exported: true, where T == Float)
    public func clone() -> Tensor<T> {
        let t = Tensor<T>(shape)
        t.ptr.update(from: ptr, count: count)
        return t
    }

    @_specialize(exported: true, where T == Float)
    public func fill(_ v: T) { ptr.update(repeating: v, count: count) }
    @_specialize(exported: true, where T == Float)
    public func zero() { fill(0) }

    /// Copies another tensor's values (counts must match; shapes may differ).
    @_specialize(exported: true, where T == Float)
    public func copy(from other: Tensor<T>) {
        precondition(other.count == count, "copy of \(other.shape) into \(shape)")
        ptr.update(from: other.ptr, count: count)
    }

    /// Sum of squares, accumulated in Double.
    @_specialize(exported: true, where T == Float)
    public func sumOfSquares() -> Double {
        var s = 0.0
        for i in 0..<count { let v = Double(ptr[i]); s += v * v }
        return s
    }

    /// True when every value is finite.
    public var allFinite: Bool {
        for i in 0..<count where !ptr[i].isFinite { return false }
        return true
    }

    /// The same values converted to another scalar type.
    public func converted<U: QuillScalar>(to: U.Type = U.self) -> Tensor<U> {
        let t = Tensor<U>(shape)
        for i in 0..<count { t.ptr[i] = U(ptr[i]) }
        return t
    }
}

extension Tensor: CustomStringConvertible {
    public var description: String { "Tensor\(shape)" }
}

/// A flat buffer of Int32 indices (tokens, character ids), owned by reference like a tensor.
public final class IndexBuffer {
    public let count: Int
    public let ptr: UnsafeMutablePointer<Int32>

    public init(count: Int) {
        self.count = count
        ptr = .allocate(capacity: Swift.max(count, 1))
        ptr.initialize(repeating: 0, count: Swift.max(count, 1))
    }

    deinit { ptr.deallocate() }
}
