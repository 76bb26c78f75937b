/// The Phased LSTM's time gate (Neil, Pfeiffer and Liu 2016, "Phased LSTM: accelerating recurrent network training
/// for long or event-based sequences", eqs. 6–7; note 002 §2): a per-unit periodic gate k_t that opens for a fraction
/// r_on of each period τ, starting at shift s.
///
///     φ_t = ((t − s) mod τ) / τ
///     k_t = 2φ_t / r_on         if φ_t < r_on / 2
///           2 − 2φ_t / r_on     if r_on / 2 ≤ φ_t < r_on
///           α φ_t               otherwise (the leak α lets gradients through a closed gate)
///
/// A phased layer keeps, per unit, ρ = ln τ (so τ stays positive), s, and q = logit r_on (so r_on stays in (0, 1)).
/// It learns s and q; ρ only when asked (`--learn-periods`): ∂φ/∂ρ = −(t − s)/τ grows with t, so a step of Adam on ρ
/// moves the phase of late steps by whole fractions of a period: on a 200-character text (1×64, Adam 1e-2), the
/// training loss after 500 steps was 0.54 nats/char with ρ learnt and 0.021 without (README, "The Phased LSTM").
/// Time t counts the steps a stream has read since its state was reset (the first step is t = 0).
public enum TimeGate {
    /// The leak α, in training and evaluation alike.
    public static let leak = 0.001
    /// Initial periods are drawn from exp(U(ln `periodRange.lowerBound`, ln `periodRange.upperBound`)) steps.
    public static let periodRange = 2.0...16.0
    /// The initial open ratio r_on of every unit.
    public static let initialOpenRatio = 0.5
    /// The ln τ a layer may hold (τ from 10⁻³ to 10⁹ steps): training clamps learnt periods to it, checkpoints
    /// outside it are refused, and the gate clamps to it, so that no τ rounds to 0 or infinity.
    public static let logPeriodBounds = Double.log(1e-3)...Double.log(1e9)

    /// k_t and its partial derivatives with respect to ρ = ln τ, s and q = logit r_on, for one unit at time t.
    public struct Value: Equatable, Sendable {
        public var k: Double
        public var dLogPeriod: Double
        public var dShift: Double
        public var dOpenLogit: Double
    }

    /// The gate of a unit with log-period ρ, shift s and open-ratio logit q at time t.
    public static func value(time t: Double, logPeriod rho: Double, shift s: Double, openLogit q: Double) -> Value {
        Unit(logPeriod: rho, shift: s, openLogit: q).value(at: t)
    }

    /// One unit's gate with τ and r_on worked out once, for the steps of a pass.
    public struct Unit: Sendable {
        public let tau: Double
        public let shift: Double
        public let openRatio: Double

        public init(logPeriod rho: Double, shift s: Double, openLogit q: Double) {
            tau = Double.exp(Swift.min(Swift.max(rho, TimeGate.logPeriodBounds.lowerBound),
                                       TimeGate.logPeriodBounds.upperBound))
            shift = s
            openRatio = 1 / (1 + Double.exp(-q))
        }

        /// k_t and its partial derivatives at time t.
        @inline(__always)
        public func value(at t: Double) -> Value {
            TimeGate.value(time: t, tau: tau, shift: shift, openRatio: openRatio)
        }
    }

    @inline(__always)
    static func value(time t: Double, tau: Double, shift s: Double, openRatio r: Double) -> Value {
        // φ as the fractional part of (t − s)/τ: in [0, 1) for any finite τ and s, however far apart in scale.
        let cycles = (t - s) / tau
        let phase = Swift.min(Swift.max(cycles - cycles.rounded(.down), 0), 1)
        // ∂φ/∂s = −1/τ and ∂φ/∂ρ = τ·∂φ/∂τ = −(t − s)/τ, within a period (φ jumps where it wraps).
        let dPhaseDShift = -1 / tau, dPhaseDRho = -cycles
        let k: Double, dkdPhase: Double, dkdR: Double
        if phase < r / 2 {
            k = 2 * phase / r; dkdPhase = 2 / r; dkdR = -2 * phase / (r * r)
        } else if phase < r {
            k = 2 - 2 * phase / r; dkdPhase = -2 / r; dkdR = 2 * phase / (r * r)
        } else {
            k = leak * phase; dkdPhase = leak; dkdR = 0
        }
        return Value(k: k, dLogPeriod: dkdPhase * dPhaseDRho, dShift: dkdPhase * dPhaseDShift,
                     dOpenLogit: dkdR * r * (1 - r))
    }
}
