import CBLAS
import CSupport
import Dispatch
import Foundation

/// How many cores the engine uses. `SNP_THREADS` sets it at start-up, for the engine's own
/// kernels and for OpenBLAS together; `Threads.set` changes both later.
public enum Threads {
    nonisolated(unsafe) public private(set) static var count: Int = {
        let n = ProcessInfo.processInfo.environment["SNP_THREADS"].flatMap(Int.init) ?? ProcessInfo.processInfo.activeProcessorCount
        let threads = Swift.max(1, n)
        snp_blas_set_threads(Int32(threads))
        return threads
    }()

    /// Sets the engine's and OpenBLAS's thread counts.
    public static func set(_ n: Int) throws {
        guard n >= 1 else { throw EngineError.invalidArgument(op: "Threads.set", reason: "thread count must be at least 1, got \(n)") }
        count = n
        snp_blas_set_threads(Int32(n))
    }

    /// Touches `count` so that SNP_THREADS reaches OpenBLAS before the first sgemm.
    static func ensureConfigured() { _ = count }

    /// The OpenBLAS kernel family in use ("SkylakeX", "Haswell", ...).
    public static var blasCore: String { String(cString: snp_blas_core()) }
    public static var blasThreads: Int { Int(snp_blas_threads()) }
    /// Whether the start-up hook chose OpenBLAS's AVX-512 kernels (see CSupport.c).
    public static var coretypeHook: String {
        switch snp_coretype_hook_result() {
        case 1: return "set OPENBLAS_CORETYPE=SkylakeX (AVX-512 CPU)"
        case 2: return "kept the user's OPENBLAS_CORETYPE"
        default: return snp_cpu_has_avx512() != 0 ? "hook did not run" : "no AVX-512: OpenBLAS's own choice"
        }
    }

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

/// Elements per thread below which splitting work costs more than it saves.
let elementwiseGrain = 1 << 15
