import Foundation
import QuillNumerics
import XCTest

/// Reference values computed by PyTorch in float64 (`Tests/Goldens/generate.py`), read from the committed
/// `Tests/Goldens/golden-*.safetensors` files.
///
/// Quill's own safetensors reader keeps float32 values, which would round the references; this reader keeps the
/// float64 ("F64") tensors these fixtures hold and nothing else. The fixtures are trusted files of this repository,
/// so a malformed one fails the test that loads it rather than being reported field by field.
public struct GoldenFile {
    /// Tensors by name: shape and values.
    public let tensors: [String: (shape: [Int], values: [Double])]
    public let name: String

    /// The folder of the fixtures: `Tests/Goldens`, found from this source file.
    public static let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("Goldens")

    /// Loads `Tests/Goldens/<name>.safetensors`.
    public init(_ name: String) throws {
        self.name = name
        let url = Self.directory.appendingPathComponent("\(name).safetensors")
        let data = try Data(contentsOf: url)
        tensors = try Self.parse(data, name: name)
    }

    struct FormatError: Error, CustomStringConvertible {
        let description: String
    }

    /// Parses F64 safetensors bytes: an 8-byte little-endian header length, a JSON header, little-endian data.
    static func parse(_ data: Data, name: String) throws -> [String: (shape: [Int], values: [Double])] {
        let bytes = [UInt8](data)
        func fail(_ why: String) -> FormatError { FormatError(description: "golden file \(name): \(why)") }
        guard bytes.count >= 8 else { throw fail("shorter than 8 bytes") }
        let headerLength = (0..<8).reduce(0) { $0 | Int(bytes[$1]) << (8 * $1) }
        guard headerLength > 0, headerLength <= bytes.count - 8 else { throw fail("header length \(headerLength)") }
        let start = 8 + headerLength
        guard let header = try JSONSerialization.jsonObject(with: Data(bytes[8..<start])) as? [String: Any] else {
            throw fail("header is not a JSON object")
        }
        var out: [String: (shape: [Int], values: [Double])] = [:]
        for (key, value) in header where key != "__metadata__" {
            guard let info = value as? [String: Any], info["dtype"] as? String == "F64",
                  let shape = info["shape"] as? [Int], let offsets = info["data_offsets"] as? [Int],
                  offsets.count == 2 else { throw fail("tensor \(key) is not an F64 entry") }
            let count = shape.reduce(1, *)
            let begin = start + offsets[0], end = start + offsets[1]
            guard offsets[0] >= 0, end - begin == 8 * count, end <= bytes.count else {
                throw fail("tensor \(key) has offsets \(offsets) for \(count) values")
            }
            var values = [Double](repeating: 0, count: count)
            for i in 0..<count {
                let o = begin + 8 * i
                let bits = (0..<8).reduce(UInt64(0)) { $0 | UInt64(bytes[o + $1]) << (8 * UInt64($1)) }
                values[i] = Double(bitPattern: bits)
            }
            out[key] = (shape, values)
        }
        return out
    }

    /// The values of tensor `key`; fails the test (and returns []) when it is missing.
    public func values(_ key: String, file: StaticString = #filePath, line: UInt = #line) -> [Double] {
        guard let t = tensors[key] else {
            XCTFail("golden file \(name) has no tensor \(key)", file: file, line: line)
            return []
        }
        return t.values
    }

    /// The values of tensor `key` as a Quill tensor of scalar T, with the stored shape.
    public func tensor<T: QuillScalar>(_ key: String, as: T.Type = T.self) -> Tensor<T> {
        let shape = tensors[key]?.shape ?? [0]
        return Tensor(shape.isEmpty ? [1] : shape, values(key).map { T($0) })
    }

    /// A scalar tensor's value (0 when missing, after failing the test).
    public func scalar(_ key: String) -> Double { values(key).first ?? 0 }

    /// Integer-valued tensor `key` (token ids, characters) as Int32.
    public func indices(_ key: String) -> [Int32] { values(key).map { Int32($0) } }

    /// Overwrites `parameter`'s value with tensor `key` (the parameter's own name by default), checking the shape.
    public func load<T: QuillScalar>(_ parameter: Parameter<T>, from key: String? = nil,
                                     file: StaticString = #filePath, line: UInt = #line) {
        let key = key ?? parameter.name
        let v = values(key, file: file, line: line)
        guard v.count == parameter.count else {
            XCTFail("golden \(key): \(v.count) values for parameter \(parameter.name) of \(parameter.count)",
                    file: file, line: line)
            return
        }
        for i in 0..<v.count { parameter.value[i] = T(v[i]) }
    }

    /// Compares `actual` with tensor `key` at the tolerance of T (see `GoldenTolerance`); a failure names the
    /// tensor, the index, both values and the worst error.
    /// `tolerance` replaces T's default (`GoldenTolerance.of`).
    public func compare<T: QuillScalar>(_ key: String, _ actual: UnsafePointer<T>, count: Int,
                                        tolerance: GoldenTolerance? = nil,
                                        file: StaticString = #filePath, line: UInt = #line) {
        let expected = values(key, file: file, line: line)
        guard expected.count == count else {
            XCTFail("golden \(name)/\(key): \(count) values computed, \(expected.count) expected",
                    file: file, line: line)
            return
        }
        let actualValues = (0..<count).map { Double(actual[$0]) }
        GoldenTolerance.check("\(name)/\(key)", actual: actualValues, expected: expected,
                              tolerance: tolerance ?? GoldenTolerance.of(T.self), file: file, line: line)
    }

    public func compare<T: QuillScalar>(_ key: String, _ actual: Tensor<T>, tolerance: GoldenTolerance? = nil,
                                        file: StaticString = #filePath, line: UInt = #line) {
        compare(key, UnsafePointer(actual.ptr), count: actual.count, tolerance: tolerance, file: file, line: line)
    }

    public func compare(_ key: String, _ actual: [Double], as: (some QuillScalar).Type,
                        file: StaticString = #filePath, line: UInt = #line) {
        let expected = values(key, file: file, line: line)
        guard expected.count == actual.count else {
            XCTFail("golden \(name)/\(key): \(actual.count) values computed, \(expected.count) expected",
                    file: file, line: line)
            return
        }
        GoldenTolerance.check("\(name)/\(key)", actual: actual, expected: expected,
                              tolerance: GoldenTolerance.of(`as`), file: file, line: line)
    }
}

/// How closely Quill must agree with the PyTorch references.
public struct GoldenTolerance {
    /// Largest relative error |a − e| / |e|.
    public let relative: Double
    /// Values with |e| below `smallBelow` are compared absolutely, to `absolute`.
    public let smallBelow: Double
    public let absolute: Double

    public init(relative: Double, smallBelow: Double, absolute: Double) {
        self.relative = relative; self.smallBelow = smallBelow; self.absolute = absolute
    }

    /// Double: 1e-9 relative, 1e-12 absolute below 1e-6 (both sides compute in float64; what remains is rounding
    /// in a different order). Float: 1e-4 relative; values below 1e-3 of the tensor's largest magnitude are compared
    /// absolutely, to 1e-7 of it (1e-4 relative at that threshold), since float32 rounding of the larger terms they
    /// are summed from is absolute.
    public static func of<T: QuillScalar>(_: T.Type) -> GoldenTolerance {
        T.self == Double.self ? GoldenTolerance(relative: 1e-9, smallBelow: 1e-6, absolute: 1e-12)
            : GoldenTolerance(relative: 1e-4, smallBelow: -1e-3, absolute: -1e-7)
    }

    /// Negative `smallBelow` / `absolute` are fractions of the expected tensor's largest magnitude.
    public static func check(_ what: String, actual: [Double], expected: [Double], tolerance: GoldenTolerance,
                             file: StaticString = #filePath, line: UInt = #line) {
        let scale = expected.map(abs).max() ?? 0
        let small = tolerance.smallBelow >= 0 ? tolerance.smallBelow : -tolerance.smallBelow * scale
        let absolute = tolerance.absolute >= 0 ? tolerance.absolute : -tolerance.absolute * scale
        var worst = 0.0, worstIndex = -1
        for i in 0..<expected.count {
            let e = expected[i], a = actual[i]
            // Errors in units of the allowed error: above 1 fails.
            let err = abs(e) < small ? abs(a - e) / absolute : abs(a - e) / (tolerance.relative * abs(e))
            if !(err <= worst) { worst = err; worstIndex = i }   // NaN counts as worst
            if err.isNaN { break }
        }
        if worstIndex >= 0, !(worst <= 1) {
            let e = expected[worstIndex], a = actual[worstIndex]
            let kind = abs(e) < small ? "absolute error \(abs(a - e)) (allowed \(absolute))"
                : "relative error \(abs(a - e) / abs(e)) (allowed \(tolerance.relative))"
            XCTFail("\(what)[\(worstIndex)]: Quill \(a), PyTorch \(e), worst \(kind)", file: file, line: line)
        }
    }
}
