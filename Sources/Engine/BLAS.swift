import CBLAS

/// Row-major C = α op(A) op(B) + β C through OpenBLAS. `a` is [m, k] (or [k, m] when
/// `transposeA`), `b` is [k, n] (or [n, k] when `transposeB`); transposes are passed to sgemm,
/// never copied. NOTE: OpenBLAS takes 32-bit sizes; callers check `fitsBLAS` first.
///
/// OpenBLAS itself runs single-threaded (see `Threads`); a large product is split into blocks
/// of C's rows (or columns), each computed by its own sgemm call, spread over the engine's
/// threads. One thread pool then owns the cores: OpenBLAS's own workers spin-yield between calls
/// and fought the engine's elementwise threads for the two cores (a quarter of an MLP step in `perf`).
///
/// The blocks depend on the shape alone (`sgemmBlocks`), never on the thread count or on
/// `threaded`, and every block is computed the same way on one thread or many: results are
/// bit-identical whatever the thread count. (OpenBLAS's Zen/Haswell kernels give an element a
/// different rounding depending on the extents of the call it is in, so a split that followed
/// the thread count changed the low bits.)
///
/// `threaded: false` keeps the blocks on the calling thread, for callers that already split
/// their work over the cores (attention runs one head per thread).
@inline(__always)
func sgemm(transposeA: Bool, transposeB: Bool, m: Int, n: Int, k: Int, alpha: Float = 1,
           a: UnsafePointer<Float>, b: UnsafePointer<Float>, beta: Float = 0, c: UnsafeMutablePointer<Float>,
           threaded: Bool = true) {
    let lda = transposeA ? m : k, ldb = transposeB ? k : n, ldc = n
    let splitRows = m >= n
    let extent = splitRows ? m : n
    let per = sgemmBlocks(extent: extent, other: (splitRows ? n : m) * k)
    let blocks = (extent + per - 1) / per
    guard blocks > 1 else {
        sgemmBlock(transposeA, transposeB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
        return
    }
    let run = { (range: Range<Int>) in
        for block in range {
            let lo = block * per, size = Swift.min(per, extent - lo)
            if splitRows {
                sgemmBlock(transposeA, transposeB, size, n, k, alpha, transposeA ? a + lo : a + lo * lda, lda, b, ldb, beta, c + lo * ldc, ldc)
            } else {
                sgemmBlock(transposeA, transposeB, m, size, k, alpha, a, lda, transposeB ? b + lo * ldb : b + lo, ldb, beta, c + lo, ldc)
            }
        }
    }
    if threaded && Threads.count > 1 { Threads.parallelFor(blocks, grain: 1, run) } else { run(0..<blocks) }
}

/// The block extent (rows or columns of C per sgemm call) for a product whose split dimension
/// is `extent` long and whose other two dimensions multiply to `other`: a function of the shape
/// alone. At most 8 blocks, each a multiple of 16 (the kernels' tile) and, except when the
/// product is small enough to stay whole, at least 2²¹ multiply-adds (OpenBLAS's SkylakeX
/// kernels switch to a slower "small matrix" path below M·N·K = 100³).
func sgemmBlocks(extent: Int, other: Int) -> Int {
    let roundUp16 = { (x: Int) in (x + 15) / 16 * 16 }
    let byCount = roundUp16((extent + 7) / 8)
    let byWork = roundUp16(((1 << 21) + Swift.max(other, 1) - 1) / Swift.max(other, 1))
    return Swift.min(Swift.max(extent, 1), Swift.max(byCount, byWork, 16))
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
