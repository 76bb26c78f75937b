import Foundation
import QuillNumerics
import XCTest

/// Central finite differences in Double, the reference every hand-written gradient is checked against.
public enum GradientCheck {
    /// Compares `param.grad` (filled by the caller's backward pass) with central differences of `loss()`.
    ///
    /// The difference is the fourth-order central stencil (f(x−2h) − 8f(x−h) + 8f(x+h) − f(x+2h)) / 12h, whose
    /// truncation error (h⁴) and rounding error (ε/h) both stay near 1e-12–1e-11 at h = 1e-4 for losses of order 1–10.
    /// Relative error is |a − n| / max(|a| + |n|, floor), with floor 1e-4: gradients smaller than that are compared
    /// absolutely, to 1e-10, well above that rounding noise and far below any real mistake. The check fails naming the tensor, the index and the worst relative error. Checks at most
    /// `maxChecks` entries, spread evenly.
    public static func check(_ param: Parameter<Double>, loss: () -> Double, eps: Double = 1e-4,
                             tolerance: Double = 1e-6, maxChecks: Int = 60, floor: Double = 1e-4,
                             file: StaticString = #filePath, line: UInt = #line) {
        check(name: param.name, values: param.value.ptr, grads: param.grad.ptr, count: param.count, loss: loss,
              eps: eps, tolerance: tolerance, maxChecks: maxChecks, floor: floor, file: file, line: line)
    }

    /// The same on raw buffers (an input rather than a parameter).
    public static func check(name: String, values: UnsafeMutablePointer<Double>, grads: UnsafePointer<Double>,
                             count: Int, loss: () -> Double, eps: Double = 1e-4, tolerance: Double = 1e-6,
                             maxChecks: Int = 60, floor: Double = 1e-4,
                             file: StaticString = #filePath, line: UInt = #line) {
        let stride = max(1, count / maxChecks)
        var worst = 0.0, worstIndex = -1, worstA = 0.0, worstN = 0.0
        var i = 0
        while i < count {
            let saved = values[i]
            func f(_ k: Double) -> Double { values[i] = saved + k * eps; return loss() }
            let numeric = (f(-2) - 8 * f(-1) + 8 * f(1) - f(2)) / (12 * eps)
            values[i] = saved
            let analytic = grads[i]
            let rel = abs(analytic - numeric) / max(abs(analytic) + abs(numeric), floor)
            if rel > worst { worst = rel; worstIndex = i; worstA = analytic; worstN = numeric }
            i += stride
        }
        XCTAssertLessThanOrEqual(worst, tolerance,
            "gradient of \(name)[\(worstIndex)]: analytic \(worstA) vs numeric \(worstN), relative error \(worst)",
            file: file, line: line)
    }
}

/// Temporary directories for tests, removed by the caller with `cleanup()`.
public struct TempDir {
    public let url: URL
    public init(_ label: String = "quill-test") {
        url = FileManager.default.temporaryDirectory.appendingPathComponent("\(label)-\(UUID().uuidString)")
        try? FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }
    /// A directory that is not made: the value of a test case's `dir` property until `setUp` makes the real one.
    /// (XCTest creates an instance of a test case class for every test method, run or not: a property made with
    /// `TempDir(…)` there would leave an empty directory behind for each.)
    public static let unmade = TempDir(url: FileManager.default.temporaryDirectory.appendingPathComponent("quill-unmade"))
    private init(url: URL) { self.url = url }
    public func path(_ name: String) -> String { url.appendingPathComponent(name).path }
    public func cleanup() { try? FileManager.default.removeItem(at: url) }
}

/// Locates ../shared/datasets beside the repository, or nil when absent.
public enum SharedData {
    public static func root(file: String = #filePath) -> URL? {
        var url = URL(fileURLWithPath: file)
        for _ in 0..<8 {
            url = url.deletingLastPathComponent()
            if FileManager.default.fileExists(atPath: url.appendingPathComponent("Package.swift").path) {
                let shared = url.deletingLastPathComponent().appendingPathComponent("shared/datasets")
                return FileManager.default.fileExists(atPath: shared.path) ? shared : nil
            }
        }
        return nil
    }

    /// The shared dataset folder, or an XCTSkip saying it is absent.
    public static func require(_ sub: String, file: String = #filePath) throws -> URL {
        guard let r = root(file: file) else {
            throw XCTSkip("../shared/datasets not found beside the repository: skipping test on real data (\(sub))")
        }
        let u = r.appendingPathComponent(sub)
        guard FileManager.default.fileExists(atPath: u.path) else {
            throw XCTSkip("../shared/datasets/\(sub) not found: skipping test on real data")
        }
        return u
    }
}

extension Tensor where T == Double {
    /// A tensor of normal draws (times `scale`) from the generator: the inputs of gradient checks.
    public static func random(_ shape: [Int], _ rng: inout SeededGenerator, scale: Double = 1) -> Tensor<Double> {
        let t = Tensor<Double>(shape)
        for i in 0..<t.count { t[i] = rng.normal() * scale }
        return t
    }
}

extension Tensor where T == Float {
    /// A tensor of normal draws (times `scale`) in Float: inputs for comparing Float code paths.
    public static func randomFloat(_ shape: [Int], _ rng: inout SeededGenerator, scale: Double = 1) -> Tensor<Float> {
        let t = Tensor<Float>(shape)
        for i in 0..<t.count { t[i] = Float(rng.normal() * scale) }
        return t
    }
}
