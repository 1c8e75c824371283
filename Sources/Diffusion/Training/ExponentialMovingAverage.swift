import Checkpoints
import Engine

/// An exponential moving average of a network's weights (Polyak averaging), as diffusers'
/// `EMAModel` keeps it for its teachers: after each optimizer step,
///
///     a ← a − (1 − d)(a − θ),   d = min(decay, (1 + n) / (10 + n))
///
/// with n the number of earlier updates, so the average follows the weights closely at first.
/// Sample with the average (`withAveragedWeights`), train the raw weights.
public final class ExponentialMovingAverage {
    public let decay: Float
    /// The averaged parameters, by name, in the network's order.
    public let names: [String]
    let parameters: [Tensor]
    public private(set) var averages: [Tensor]
    /// Updates so far.
    public private(set) var updates: Int = 0

    /// Starts the average at the parameters' current values.
    public init(parameters named: [(name: String, tensor: Tensor)], decay: Float) throws {
        guard decay >= 0 && decay < 1 else {
            throw DiffusionError.invalidArgument(name: "EMA decay", reason: "must be in [0, 1), got \(decay)")
        }
        self.decay = decay
        names = named.map(\.name)
        parameters = named.map(\.tensor)
        averages = named.map { $0.tensor.detach().copy() }
    }

    /// The decay the next update uses.
    public var currentDecay: Float { Swift.min(decay, Float(1 + updates) / Float(10 + updates)) }

    /// Moves the average towards the parameters' current values.
    public func update() {
        let d = currentDecay
        for (average, parameter) in zip(averages, parameters) {
            average.withMutableBuffer { a in
                parameter.withBuffer { p in
                    for i in 0..<a.count { a[i] -= (1 - d) * (a[i] - p[i]) }
                }
            }
        }
        updates += 1
    }

    /// Runs `body` with the averaged values in the parameters, then puts the raw values back.
    public func withAveragedWeights<T>(_ body: () throws -> T) throws -> T {
        let raw = parameters.map { $0.detach().copy() }
        for (parameter, average) in zip(parameters, averages) { try parameter.assign(average) }
        defer { for (parameter, value) in zip(parameters, raw) { try? parameter.assign(value) } }
        return try body()
    }

    /// The averages as named tensors (for a checkpoint).
    public func namedAverages() throws -> NamedTensors { try NamedTensors(Array(zip(names, averages)).map { ($0.0, $0.1) }) }

    /// Restores averages saved with `namedAverages()` after `updates` updates.
    public func load(_ tensors: NamedTensors, updates: Int) throws {
        for (i, name) in names.enumerated() {
            guard let tensor = tensors[name], tensor.shape == averages[i].shape else {
                throw DiffusionError.invalidArgument(name: "EMA", reason: "the saved averages lack \(name) or have another shape")
            }
            try averages[i].assign(tensor)
        }
        self.updates = updates
    }
}
