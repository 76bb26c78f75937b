import QuillNN
import QuillNumerics

// MARK: - The Phased LSTM's time gate over time (`quill char time-gate`, issue 16 item 7)

extension CharInspection {
    /// One unit's time gate k_t (`TimeGate`, Neil et al. 2016 eqs. 6–7) over t ∈ [0, length].
    public struct TimeGateCurve: Codable, Equatable, Sendable {
        /// Counted from 0; nil for a gate given by its τ, s and r_on alone.
        public var layer: Int?
        public var unit: Int?
        /// τ in steps, s in steps, r_on in (0, 1).
        public var period: Double
        public var shift: Double
        public var openRatio: Double
        /// k at t = i / `resolution`, i = 0 … length · resolution: the gate between steps, as note 002's figure 3
        /// draws it.
        public var times: [Double]
        public var k: [Double]
        /// k at the steps t = 0 … length the network reads (a stream's first character is t = 0).
        public var stepK: [Double]
    }

    /// Points per step of `TimeGateCurve.times`.
    public static let timeGateResolution = 20

    /// The gate of a unit with period τ, shift s and open ratio r_on over t ∈ [0, `length`].
    public static func timeGate(period: Double, shift: Double, openRatio: Double, length: Int,
                                layer: Int? = nil, unit: Int? = nil) -> TimeGateCurve {
        let gate = TimeGate.Unit(logPeriod: Double.log(period), shift: shift,
                                 openLogit: Double.log(openRatio / (1 - openRatio)))
        let n = length * timeGateResolution
        let times = (0...n).map { Double($0) / Double(timeGateResolution) }
        return TimeGateCurve(layer: layer, unit: unit, period: gate.tau, shift: shift, openRatio: gate.openRatio,
                             times: times, k: times.map { gate.value(at: $0).k },
                             stepK: (0...length).map { gate.value(at: Double($0)).k })
    }

    /// The gates of `units` (from 0) of phased layer `layer` (from 0) of `model`, over t ∈ [0, `length`].
    /// - Throws: `CharModelError.invalidOption` when the model is not a Phased LSTM (naming its cell), or the layer
    ///   or a unit does not exist (`--layer` counts from 1 on the command line).
    public static func timeGates(_ model: CharModel<Float>, layer: Int, units: [Int], length: Int) throws -> [TimeGateCurve] {
        let config = model.config
        guard config.cell == .phasedLSTM else {
            throw CharModelError.invalidOption("the model's cell is \(config.cell.rawValue), which has no time gate; train one with --cell phased-lstm")
        }
        try checkUnit(config, layer: layer, unit: nil, value: .hidden)
        if let bad = units.first(where: { !(0..<config.hidden).contains($0) }) {
            throw CharModelError.invalidOption("--units: unit \(bad) doesn't exist: each layer has \(config.hidden) units (0…\(config.hidden - 1))")
        }
        // Invariant: a Phased LSTM model is recurrent (CharModel.init).
        let l = model.stack!.layers[layer], H = l.hiddenSize
        // Invariant: a Phased LSTM layer has its periods and time gate (RecurrentLayer.init).
        let logPeriod = l.periods!.value, gate = l.timeGate!.value
        return units.map { j in
            let r = 1 / (1 + Double.exp(-Double(gate[H + j])))
            return timeGate(period: Double.exp(Double(logPeriod[j])), shift: Double(gate[j]), openRatio: r,
                            length: length, layer: layer, unit: j)
        }
    }
}
