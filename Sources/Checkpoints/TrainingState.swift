import Engine

/// What a training run needs besides the weights to resume exactly where it stopped: the step,
/// the optimizer's buffers, the random generator's position and the logged metrics.
///
/// Stored in the checkpoint's `training` group:
///
///     training                          attribute step
///     training/optimizer                attribute step
///     training/optimizer/<i>/<buffer>   float32, parameter i's buffer (exp_avg, momentum_buffer...)
///     training/rng                      attributes seed, offset (UInt64 as int64 bit patterns)
///     training/history/steps            int64 [n]
///     training/history/<metric>         float64 [n]
///     training/optimizers/<name>/<i>/…  further optimizers (a LoRA teacher's), as `optimizer`
///     training/tensors/<group>/<name>   further named tensors (the raw weights behind an EMA,
///                                       a LoRA teacher's adapters)
public struct TrainingState {
    /// Training steps taken.
    public var step: Int
    /// The optimizer's step count and per-parameter buffers (the Engine's `Optimizer.state`).
    public var optimizer: OptimizerState?
    /// The random generator's seed and position (the Engine's `RandomGenerator.state`).
    public var random: RandomState?
    /// Metrics logged so far.
    public var history: TrainingHistory
    /// Further optimizers by name (a second network's, e.g. the LoRA teacher's).
    public var optimizers: [String: OptimizerState]
    /// Further tensors by group name (e.g. "weights": the raw weights when the checkpoint's own
    /// tensors are their moving average).
    public var tensors: [String: NamedTensors]

    public init(step: Int, optimizer: OptimizerState? = nil, random: RandomState? = nil,
                history: TrainingHistory = TrainingHistory(), optimizers: [String: OptimizerState] = [:],
                tensors: [String: NamedTensors] = [:]) {
        self.step = step
        self.optimizer = optimizer
        self.random = random
        self.history = history
        self.optimizers = optimizers
        self.tensors = tensors
    }
}

/// Metrics logged during training: `metrics[name][k]` was measured at step `steps[k]`.
public struct TrainingHistory: Equatable, Sendable {
    public var steps: [Int]
    public var metrics: [String: [Double]]

    public init(steps: [Int] = [], metrics: [String: [Double]] = [:]) {
        self.steps = steps
        self.metrics = metrics
    }
}

extension TrainingState {
    /// The group that holds training state; checkpoint tensors never live under it.
    static let group = "training"

    /// Writes this state under `training` (see the type's summary for the layout).
    func write(to writer: HDF5Writer) throws {
        try writer.createGroup("training")
        try writer.setAttribute("step", .int(Int64(step)), on: "training")
        if let optimizer { try Self.write(optimizer, to: "training/optimizer", writer) }
        if !optimizers.isEmpty {
            try writer.createGroup("training/optimizers")
            for name in optimizers.keys.sorted() {
                try Self.checkGroupName(name, writer)
                try Self.write(optimizers[name]!, to: "training/optimizers/\(name)", writer)
            }
        }
        if !tensors.isEmpty {
            try writer.createGroup("training/tensors")
            for group in tensors.keys.sorted() {
                try Self.checkGroupName(group, writer)
                try writer.createGroup("training/tensors/\(group)")
                for (name, tensor) in tensors[group]! {
                    try writer.write(tensor, to: "training/tensors/\(group)/\(name)")
                }
            }
        }
        if let random {
            try writer.createGroup("training/rng")
            try writer.setAttribute("seed", .int(Int64(bitPattern: random.seed)), on: "training/rng")
            try writer.setAttribute("offset", .int(Int64(bitPattern: random.offset)), on: "training/rng")
        }
        try writer.createGroup("training/history")
        try writer.write(integers: history.steps.map(Int64.init), to: "training/history/steps")
        for name in history.metrics.keys.sorted() {
            guard name != "steps" else {
                throw CheckpointError.writeFailed(path: writer.destination, reason: "a metric cannot be called 'steps'")
            }
            try writer.write(doubles: history.metrics[name]!, to: "training/history/\(name)")
        }
    }

    private static func write(_ optimizer: OptimizerState, to group: String, _ writer: HDF5Writer) throws {
        try writer.createGroup(group)
        try writer.setAttribute("step", .int(Int64(optimizer.step)), on: group)
        for (index, buffers) in optimizer.buffers.enumerated() {
            // Every parameter gets a group, even one without buffers, so the count survives.
            try writer.createGroup("\(group)/\(index)")
            for name in buffers.keys.sorted() {
                try writer.write(buffers[name]!, to: "\(group)/\(index)/\(name)")
            }
        }
    }

    private static func checkGroupName(_ name: String, _ writer: HDF5Writer) throws {
        guard !name.isEmpty, !name.contains("/"), name != "." else {
            throw CheckpointError.writeFailed(path: writer.destination, reason: "training group name \"\(name)\" must be non-empty without '/'")
        }
    }

    /// Reads the `training` group, or returns nil when the file has none.
    static func read(from file: HDF5File) throws -> TrainingState? {
        guard try file.kind(of: "training") == .group else { return nil }
        let reader = TrainingStateReader(file: file)
        let step = try reader.integer("step", of: "training")
        return TrainingState(step: step,
                             optimizer: try reader.optimizer(defaultStep: step),
                             random: try reader.random(),
                             history: try reader.history(),
                             optimizers: try reader.optimizers(),
                             tensors: try reader.tensorGroups())
    }
}

/// Reads the parts of a `training` group, checking each against the layout.
private struct TrainingStateReader {
    let file: HDF5File

    func optimizers() throws -> [String: OptimizerState] {
        guard try file.kind(of: "training/optimizers") == .group else { return [:] }
        var result: [String: OptimizerState] = [:]
        for member in try file.members(of: "training/optimizers") where member.kind == .group {
            result[member.baseName] = try optimizer(member.name, defaultStep: 0)
        }
        return result
    }

    func tensorGroups() throws -> [String: NamedTensors] {
        guard try file.kind(of: "training/tensors") == .group else { return [:] }
        var result: [String: NamedTensors] = [:]
        for group in try file.members(of: "training/tensors") where group.kind == .group {
            var tensors: [(name: String, tensor: Tensor)] = []
            for member in try file.members(of: group.name) where member.kind == .dataset {
                tensors.append((member.baseName, try file.readTensor(member.name)))
            }
            result[group.baseName] = try NamedTensors(tensors)
        }
        return result
    }

    func optimizer(_ group: String = "training/optimizer", defaultStep: Int) throws -> OptimizerState? {
        guard try file.kind(of: group) == .group else { return nil }
        let step = try file.attribute("step", of: group) == nil ? defaultStep : integer("step", of: group)
        var buffers: [[String: Tensor]] = []
        for member in try file.members(of: group) {
            guard member.kind == .group, let index = Int(member.baseName), index >= 0 else {
                throw invalid("\(member.name) is not a parameter index group")
            }
            if buffers.count <= index { buffers.append(contentsOf: Array(repeating: [:], count: index + 1 - buffers.count)) }
            for buffer in try file.members(of: member.name) where buffer.kind == .dataset {
                buffers[index][buffer.baseName] = try file.readTensor(buffer.name)
            }
        }
        return OptimizerState(step: step, buffers: buffers)
    }

    func random() throws -> RandomState? {
        let group = "training/rng"
        guard try file.kind(of: group) == .group else { return nil }
        return RandomState(seed: try unsigned("seed", of: group), offset: try unsigned("offset", of: group))
    }

    func history() throws -> TrainingHistory {
        let group = "training/history"
        guard try file.kind(of: group) == .group else { return TrainingHistory() }
        var history = TrainingHistory()
        var hasSteps = false
        for member in try file.members(of: group) where member.kind == .dataset {
            let name = member.baseName
            if name == "steps" {
                history.steps = try file.readIntegers(member.name).map { Int($0) }
                hasSteps = true
            } else {
                history.metrics[name] = try file.readDoubles(member.name)
            }
        }
        if hasSteps, let (name, values) = history.metrics.first(where: { $0.value.count != history.steps.count }) {
            throw invalid("training/history/\(name) has \(values.count) values for \(history.steps.count) steps")
        }
        return history
    }

    /// An integer attribute that must be there.
    func integer(_ name: String, of object: String) throws -> Int {
        guard let value = try file.requiredAttribute(name, of: object).intValue else {
            throw invalid("attribute \(name) of \(object) is not an integer")
        }
        return Int(value)
    }

    /// A UInt64 stored as an int64 bit pattern or as uint64 (both read back as the same bits).
    func unsigned(_ name: String, of object: String) throws -> UInt64 {
        guard let value = try file.requiredAttribute(name, of: object).intValue else {
            throw invalid("attribute \(name) of \(object) is not an integer")
        }
        return UInt64(bitPattern: value)
    }

    func invalid(_ reason: String) -> CheckpointError { .invalidCheckpoint(path: file.path, reason: reason) }
}
