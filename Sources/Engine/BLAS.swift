import CBLAS

/// Row-major C = α op(A) op(B) + β C through OpenBLAS. `a` is [m, k] (or [k, m] when
/// `transposeA`), `b` is [k, n] (or [n, k] when `transposeB`); transposes are passed to sgemm,
/// never copied. NOTE: OpenBLAS takes 32-bit sizes; callers check `fitsBLAS` first.
///
/// OpenBLAS itself runs single-threaded (see `Threads`); a large product is split into one
/// block of C's rows (or columns) per engine thread, each computed by its own sgemm call. One
/// thread pool then owns the cores: OpenBLAS's own workers spin-yield between calls and fought
/// the engine's elementwise threads for the two cores (a quarter of an MLP step in `perf`).
///
/// `threaded: false` keeps the call on the calling thread, for callers that already split
/// their work over the cores (attention runs one head per thread).
@inline(__always)
func sgemm(transposeA: Bool, transposeB: Bool, m: Int, n: Int, k: Int, alpha: Float = 1,
           a: UnsafePointer<Float>, b: UnsafePointer<Float>, beta: Float = 0, c: UnsafeMutablePointer<Float>,
           threaded: Bool = true) {
    let lda = transposeA ? m : k, ldb = transposeB ? k : n, ldc = n
    let threads = threaded ? Threads.count : 1
    let splitRows = m >= n
    let extent = splitRows ? m : n, other = (splitRows ? n : m) * k
    // Blocks are multiples of 16 (the SkylakeX kernel's tile) so no thread gets a ragged edge.
    let per = ((extent + threads - 1) / Swift.max(threads, 1) + 15) / 16 * 16
    let blocks = (extent + per - 1) / per
    let smallest = extent - (blocks - 1) * per
    // NOTE: OpenBLAS's SkylakeX kernels switch to a "small matrix" path (another summation order)
    // below M·N·K = 100³. Splitting only when every block stays above 2²¹ keeps results
    // bit-identical whatever the thread count.
    guard threads > 1, blocks > 1, smallest * other >= 1 << 21 else {
        sgemmBlock(transposeA, transposeB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
        return
    }
    Threads.parallelFor(blocks, grain: 1) { range in
        for block in range {
            let lo = block * per, size = Swift.min(per, extent - lo)
            if splitRows {
                sgemmBlock(transposeA, transposeB, size, n, k, alpha, transposeA ? a + lo : a + lo * lda, lda, b, ldb, beta, c + lo * ldc, ldc)
            } else {
                sgemmBlock(transposeA, transposeB, m, size, k, alpha, a, lda, transposeB ? b + lo * ldb : b + lo, ldb, beta, c + lo, ldc)
            }
        }
    }
}

@inline(__always)
private func sgemmBlock(_ transposeA: Bool, _ transposeB: Bool, _ m: Int, _ n: Int, _ k: Int, _ alpha: Float,
                        _ a: UnsafePointer<Float>, _ lda: Int, _ b: UnsafePointer<Float>, _ ldb: Int,
                        _ beta: Float, _ c: UnsafeMutablePointer<Float>, _ ldc: Int) {
    cblas_sgemm(CblasRowMajor, transposeA ? CblasTrans : CblasNoTrans, transposeB ? CblasTrans : CblasNoTrans,
                Int32(m), Int32(n), Int32(k), alpha, a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
}

/// Whether every size and leading dimension fits OpenBLAS's 32-bit ints.
func fitsBLAS(_ sizes: Int...) -> Bool { sizes.allSatisfy { $0 < Int(Int32.max) } }
