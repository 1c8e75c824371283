import Engine
import Foundation

/// Where freshly built layers draw their initial weights: a seeded generator, so that building a
/// model from a config is reproducible (`withSeed`). Layers use PyTorch's default schemes.
///
/// Thread-safe: `withSeed` binds its generator to the calling thread (a task-local value), so
/// models built at once on several threads each draw from their own seed; layers built outside
/// any `withSeed` draw from one shared stream under a lock.
public enum Initialization {
    /// The generator `withSeed` bound on this thread (or task), if any.
    @TaskLocal static var seeded: SeededGenerator?
    /// The stream for layers built outside `withSeed`, and the lock that serialises its draws.
    nonisolated(unsafe) static let shared = RandomGenerator(seed: 0)
    static let sharedLock = NSLock()

    /// A `RandomGenerator` handed across a task-local binding (it is only used on the thread
    /// that bound it).
    final class SeededGenerator: @unchecked Sendable {
        let generator: RandomGenerator
        init(_ generator: RandomGenerator) { self.generator = generator }
    }

    /// Builds something (a model) with weights drawn from a generator seeded with `seed`.
    public static func withSeed<R>(_ seed: UInt64, _ body: () throws -> R) rethrows -> R {
        try $seeded.withValue(SeededGenerator(RandomGenerator(seed: seed)), operation: body)
    }

    /// Draws from this thread's seeded generator, else from the shared stream (locked).
    static func draw(_ make: (RandomGenerator) throws -> Tensor) -> Tensor {
        if let seeded { return try! make(seeded.generator) }
        sharedLock.lock()
        defer { sharedLock.unlock() }
        return try! make(shared)
    }

    /// U(−bound, bound), PyTorch's `kaiming_uniform_(a=√5)` for weights and its bias rule,
    /// both of which come to bound = 1/√fanIn.
    static func uniform(_ shape: [Int], bound: Float) -> Tensor {
        draw { try Tensor.rand(shape, low: -bound, high: bound, generator: $0) }
    }

    static func normal(_ shape: [Int], std: Float) -> Tensor {
        draw { try Tensor.randn(shape, std: std, generator: $0) }
    }
}
