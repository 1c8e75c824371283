import Engine

/// A low-rank adapter (Hu et al., LoRA): Δy = scale · B(A x), scale = alpha/rank, with
/// A (`down`, [rank, in]) drawn like a Linear weight and B (`up`, [out, rank]) zero, so a fresh
/// adapter changes nothing. Keys follow diffusers' LoRA layers: `lora.down.weight`, `lora.up.weight`.
///
/// One network serves as two teachers (as in SwiftBrush): adapters disabled = the frozen teacher,
/// enabled = the LoRA teacher. `LoRA.withAdapters(enabled:)` switches them for a block of code.
public final class LoRA: Module {
    public let rank: Int, alpha: Float
    public var scale: Float { alpha / Float(rank) }
    public let down: Tensor, up: Tensor
    /// Whether the adapter adds its output (toggled at run time).
    public var isEnabled = true
    public override var isAdapter: Bool { true }

    init(inFeatures: Int, outFeatures: Int, rank: Int, alpha: Float) throws {
        // A rank above min(in, out) adds parameters but no expressiveness: a mistake, not a choice.
        guard rank >= 1, rank <= Swift.min(inFeatures, outFeatures) else {
            throw ModelError.badConfig(architecture: "LoRA", reason: "rank must be 1…\(Swift.min(inFeatures, outFeatures)) for a \(inFeatures)→\(outFeatures) layer, got \(rank)")
        }
        guard alpha > 0 else { throw ModelError.badConfig(architecture: "LoRA", reason: "alpha must be > 0, got \(alpha)") }
        self.rank = rank
        self.alpha = alpha
        let downLayer = Module(), upLayer = Module()
        down = Initialization.uniform([rank, inFeatures], bound: 1 / Float(inFeatures).squareRoot())
        up = Tensor.zeros([outFeatures, rank])
        super.init()
        downLayer.parameter("weight", down)
        upLayer.parameter("weight", up)
        child("down", downLayer)
        child("up", upLayer)
    }

    /// scale · x Aᵀ Bᵀ. x: [..., in] → [..., out].
    public func callAsFunction(_ x: Tensor) throws -> Tensor {
        try Tensor.matmul(Tensor.matmul(x, down, transposeB: true), up, transposeB: true) * scale
    }
}

extension Module {
    /// Attaches LoRA adapters to every Linear (or 1×1 Conv2d) whose path matches `pattern`.
    /// Returns the adapters' parameters (their own group, for their own optimizer).
    @discardableResult
    public func addLoRA(_ pattern: String, rank: Int, alpha: Float) throws -> [Tensor] {
        let targets = modules(matching: pattern).filter { $0.module is Linear || ($0.module as? Conv2d)?.isPointwise == true }
        guard !targets.isEmpty else { throw ModelError.noMatch(pattern: pattern, what: "Linear or 1×1 Conv2d layer") }
        var params: [Tensor] = []
        for (_, module) in targets {
            let adapter = try (module as? Linear)?.attachLoRA(rank: rank, alpha: alpha) ?? (module as! Conv2d).attachLoRA(rank: rank, alpha: alpha)
            params += adapter.namedParameters().map(\.tensor)
        }
        return params
    }

    /// Every LoRA adapter below this module.
    public var loraAdapters: [LoRA] { namedModules().compactMap { $0.module as? LoRA } }

    /// The adapters' parameters (empty without adapters).
    public var loraParameters: [Tensor] { loraAdapters.flatMap { $0.namedParameters().map(\.tensor) } }

    /// Enables or disables every adapter (the LoRA teacher vs the frozen teacher).
    public func setLoRA(enabled: Bool) { for a in loraAdapters { a.isEnabled = enabled } }

    /// Runs `body` with every adapter enabled or disabled, restoring each one's state after.
    public func withLoRA<R>(enabled: Bool, _ body: () throws -> R) rethrows -> R {
        let adapters = loraAdapters
        let saved = adapters.map(\.isEnabled)
        for a in adapters { a.isEnabled = enabled }
        defer { for (a, s) in zip(adapters, saved) { a.isEnabled = s } }
        return try body()
    }

    /// Folds every adapter into its layer's weight and removes the adapters.
    public func mergeLoRA() throws {
        for (_, m) in namedModules() {
            try (m as? Linear)?.mergeAdapter()
            try (m as? Conv2d)?.mergeAdapter()
        }
    }
}
