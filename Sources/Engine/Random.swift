import Foundation

/// The Philox4x32-10 block function (Salmon et al., "Parallel random numbers: as easy as 1, 2, 3",
/// SC'11): 10 rounds turning a 128-bit counter and a 64-bit key into 128 random bits.
@inline(__always)
public func philox4x32(_ counter: (UInt32, UInt32, UInt32, UInt32), key: (UInt32, UInt32)) -> (UInt32, UInt32, UInt32, UInt32) {
    var (c0, c1, c2, c3) = counter
    var (k0, k1) = key
    for _ in 0..<10 {
        let p0 = UInt64(0xD251_1F53) &* UInt64(c0)
        let p1 = UInt64(0xCD9E_8D57) &* UInt64(c2)
        let (hi0, lo0) = (UInt32(truncatingIfNeeded: p0 >> 32), UInt32(truncatingIfNeeded: p0))
        let (hi1, lo1) = (UInt32(truncatingIfNeeded: p1 >> 32), UInt32(truncatingIfNeeded: p1))
        (c0, c1, c2, c3) = (hi1 ^ c1 ^ k0, lo1, hi0 ^ c3 ^ k1, lo0)
        k0 &+= 0x9E37_79B9
        k1 &+= 0xBB67_AE85
    }
    return (c0, c1, c2, c3)
}

/// A saved generator position: restoring it replays the same numbers (checkpoints store it).
public struct RandomState: Equatable, Codable, Sendable {
    public var seed: UInt64
    /// How many 128-bit Philox blocks have been used.
    public var offset: UInt64
    public init(seed: UInt64, offset: UInt64) { self.seed = seed; self.offset = offset }
}

/// A counter-based random generator (like `torch.Generator`): element `i` of a draw comes from
/// Philox block `offset + i/4`, so the numbers do not depend on how many threads fill the tensor.
public final class RandomGenerator {
    public private(set) var seed: UInt64
    public private(set) var offset: UInt64 = 0

    public init(seed: UInt64) { self.seed = seed }

    /// The engine-wide generator used when no seed or generator is passed.
    nonisolated(unsafe) public static let shared = RandomGenerator(seed: 0)

    public var state: RandomState {
        get { RandomState(seed: seed, offset: offset) }
        set { seed = newValue.seed; offset = newValue.offset }
    }

    public func manualSeed(_ seed: UInt64) { self.seed = seed; offset = 0 }

    @inline(__always)
    func block(_ index: UInt64) -> (UInt32, UInt32, UInt32, UInt32) {
        philox4x32((UInt32(truncatingIfNeeded: index), UInt32(truncatingIfNeeded: index >> 32), 0, 0),
                   key: (UInt32(truncatingIfNeeded: seed), UInt32(truncatingIfNeeded: seed >> 32)))
    }

    /// Reserves `blocks` Philox blocks and returns the first one's index.
    func take(blocks: Int) -> UInt64 {
        let first = offset
        offset &+= UInt64(blocks)
        return first
    }

    /// Fills `out` with numbers made from 4 uint32 per block by `transform` (block index in, 4 floats out).
    func fill(_ out: UnsafeMutablePointer<Float>, count: Int, _ transform: @escaping (UInt32, UInt32, UInt32, UInt32) -> (Float, Float, Float, Float)) {
        let blocks = (count + 3) / 4
        let first = take(blocks: blocks)
        Threads.parallelFor(blocks, grain: 4096) { range in
            for b in range {
                let r = self.block(first &+ UInt64(b))
                let v = transform(r.0, r.1, r.2, r.3)
                let base = b * 4
                out[base] = v.0
                if base + 1 < count { out[base + 1] = v.1 }
                if base + 2 < count { out[base + 2] = v.2 }
                if base + 3 < count { out[base + 3] = v.3 }
            }
        }
    }

    /// One uniform number in [0, 1).
    public func uniform() -> Float { unitInterval(block(take(blocks: 1)).0) }

    /// One standard normal number.
    public func normal() -> Float {
        let r = block(take(blocks: 1))
        return boxMuller(r.0, r.1).0
    }

    /// A uniform integer in `0..<bound` (bound ≥ 1), without modulo bias (Lemire's method).
    public func integer(below bound: Int) -> Int {
        precondition(bound >= 1)
        let b = UInt64(bound)
        while true {
            let r = block(take(blocks: 1))
            let x = UInt64(r.0) | (UInt64(r.1) << 32)
            let (hi, lo) = x.multipliedFullWidth(by: b)
            if lo >= (0 &- b) % b { return Int(hi) }
        }
    }

    /// A uniformly random permutation of `0..<n` (Fisher–Yates).
    public func permutation(_ n: Int) -> [Int] {
        var p = Array(0..<n)
        if n > 1 { for i in stride(from: n - 1, to: 0, by: -1) { p.swapAt(i, integer(below: i + 1)) } }
        return p
    }
}

/// 24 random bits to a float in [0, 1).
@inline(__always) func unitInterval(_ u: UInt32) -> Float { Float(u >> 8) * (1.0 / 16_777_216.0) }

/// Two uniforms to two standard normals (Box–Muller); u1 is kept in (0, 1] so the log is finite.
@inline(__always) func boxMuller(_ a: UInt32, _ b: UInt32) -> (Float, Float) {
    let u1 = Float((a >> 8) + 1) * (1.0 / 16_777_216.0)
    let u2 = unitInterval(b)
    let radius = (-2 * Foundation.log(u1)).squareRoot()
    let theta = 2 * Float.pi * u2
    return (radius * Foundation.cos(theta), radius * Foundation.sin(theta))
}
