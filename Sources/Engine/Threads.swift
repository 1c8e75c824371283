import CBLAS
import Dispatch
import Foundation

/// How many cores the engine uses, for its own kernels and for sgemm together. `SNP_THREADS`
/// sets it at start-up (default: all cores); `Threads.set` changes it later.
///
/// sgemm runs on these same threads: OpenBLAS is kept single-threaded and the engine splits each
/// large product into one block per thread (see `sgemm` in BLAS.swift).
public enum Threads {
    nonisolated(unsafe) public private(set) static var count: Int = {
        let n = ProcessInfo.processInfo.environment["SNP_THREADS"].flatMap(Int.init) ?? ProcessInfo.processInfo.activeProcessorCount
        snp_blas_set_threads(1)
        return Swift.max(1, n)
    }()

    /// Sets the engine's thread count (which sgemm follows).
    public static func set(_ n: Int) throws {
        guard n >= 1 else { throw EngineError.invalidArgument(op: "Threads.set", reason: "thread count must be at least 1, got \(n)") }
        count = n
        snp_blas_set_threads(1)
    }

    /// OpenBLAS's own thread count: always 1, the engine does the splitting.
    public static var blasThreads: Int { _ = count; return Int(snp_blas_threads()) }

    /// Splits `0..<n` into contiguous chunks of at least `grain` items and runs them on the cores.
    /// Results must not depend on the split (callers write disjoint outputs).
    @inline(__always)
    static func parallelFor(_ n: Int, grain: Int, _ body: (Range<Int>) -> Void) {
        let chunks = Swift.min(count, Swift.max(1, n / Swift.max(grain, 1)))
        if chunks <= 1 {
            if n > 0 { body(0..<n) }
            return
        }
        let per = (n + chunks - 1) / chunks
        withoutActuallyEscaping(body) { body in
            DispatchQueue.concurrentPerform(iterations: chunks) { c in
                let lo = c * per, hi = Swift.min(n, lo + per)
                if lo < hi { body(lo..<hi) }
            }
        }
    }
}

extension Threads {
    /// Runs `body(item, scratch)` for every item in 0..<count, each thread with its own scratch
    /// buffer of `scratch` floats; spread over the threads when `parallel`, else on this one.
    /// For work split by whole samples or heads (convolution, attention).
    static func forEach(_ count: Int, parallel: Bool, scratch: Int, _ body: (Int, UnsafeMutablePointer<Float>) -> Void) {
        if parallel {
            parallelFor(count, grain: 1) { range in
                let buffer = Storage(count: scratch)
                for item in range { body(item, buffer.pointer) }
            }
        } else {
            let buffer = Storage(count: scratch)
            for item in 0..<count { body(item, buffer.pointer) }
        }
    }
}

/// Elements per thread below which splitting work costs more than it saves.
let elementwiseGrain = 1 << 15
