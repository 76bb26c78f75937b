/// Quill's one seeded random generator: xoshiro256** seeded through SplitMix64.
///
/// It is passed `inout` to initialisation, batching, dropout and sampling, so the same seed gives the same bytes.
/// Its whole state is four words (`state`), saved in training checkpoints so that a resumed run continues the
/// same random stream.
public struct SeededGenerator: RandomNumberGenerator, Codable, Equatable, Sendable {
    public private(set) var state: [UInt64]

    public init(seed: UInt64) {
        var z = seed
        var s = [UInt64]()
        for _ in 0..<4 {
            z &+= 0x9E37_79B9_7F4A_7C15
            var x = z
            x = (x ^ (x >> 30)) &* 0xBF58_476D_1CE4_E5B9
            x = (x ^ (x >> 27)) &* 0x94D0_49BB_1331_11EB
            s.append(x ^ (x >> 31))
        }
        state = s
    }

    /// Restores a saved state; nil unless it is four words, not all zero.
    public init?(state: [UInt64]) {
        guard state.count == 4, state.contains(where: { $0 != 0 }) else { return nil }
        self.state = state
    }

    @inlinable static func rotl(_ x: UInt64, _ k: UInt64) -> UInt64 { (x << k) | (x >> (64 - k)) }

    public mutating func next() -> UInt64 {
        let result = SeededGenerator.rotl(state[1] &* 5, 7) &* 9
        let t = state[1] << 17
        state[2] ^= state[0]
        state[3] ^= state[1]
        state[1] ^= state[2]
        state[0] ^= state[3]
        state[2] ^= t
        state[3] = SeededGenerator.rotl(state[3], 45)
        return result
    }

    /// Uniform in [0, 1) with 53 random bits.
    public mutating func uniform() -> Double {
        Double(next() >> 11) * 0x1.0p-53
    }

    /// Standard normal by Box-Muller (two uniforms per draw; no cached spare, so the state stays four words).
    public mutating func normal() -> Double {
        var u1 = uniform()
        while u1 <= 0 { u1 = uniform() }
        let u2 = uniform()
        return (-2 * Double.log(u1)).squareRoot() * Double.cos(2 * Double.pi * u2)
    }

    /// An index drawn from unnormalised non-negative weights.
    public mutating func categorical<T: BinaryFloatingPoint>(_ weights: UnsafeBufferPointer<T>) -> Int {
        var total = 0.0
        for w in weights { total += Double(w) }
        guard total > 0 else { return 0 }
        var r = uniform() * total
        for (i, w) in weights.enumerated() {
            r -= Double(w)
            if r < 0 { return i }
        }
        return weights.count - 1
    }

    /// A seed for stream `index`, attempt `attempt` of a run seeded with `seed` (line i of a page, its k-th retry):
    /// SplitMix64 finalisers over the three words, so nearby seeds and indices give unrelated streams.
    public static func derivedSeed(_ seed: UInt64, _ index: UInt64, attempt: UInt64 = 0) -> UInt64 {
        func mix(_ v: UInt64) -> UInt64 {
            var x = v &+ 0x9E37_79B9_7F4A_7C15
            x = (x ^ (x >> 30)) &* 0xBF58_476D_1CE4_E5B9
            x = (x ^ (x >> 27)) &* 0x94D0_49BB_1331_11EB
            return x ^ (x >> 31)
        }
        return mix(mix(mix(seed) ^ index) ^ (attempt &* 0xD6E8_FEB8_6659_FD93))
    }

    /// A new generator derived from this one's state and a label, leaving this one untouched.
    /// Used for side streams (samples printed during training) that must not disturb the main stream.
    public func derived(_ label: UInt64) -> SeededGenerator {
        SeededGenerator(seed: state[0] ^ (label &* 0x9E37_79B9_7F4A_7C15) ^ state[3])
    }
}

import RealModule
