import CBLAS

/// Row-major C = α op(A) op(B) + β C through OpenBLAS. `a` is [m, k] (or [k, m] when
/// `transposeA`), `b` is [k, n] (or [n, k] when `transposeB`); transposes are passed to sgemm,
/// never copied. NOTE: OpenBLAS takes 32-bit sizes; callers check `fitsBLAS` first.
@inline(__always)
func sgemm(transposeA: Bool, transposeB: Bool, m: Int, n: Int, k: Int, alpha: Float = 1,
           a: UnsafePointer<Float>, b: UnsafePointer<Float>, beta: Float = 0, c: UnsafeMutablePointer<Float>) {
    Threads.ensureConfigured()
    cblas_sgemm(CblasRowMajor, transposeA ? CblasTrans : CblasNoTrans, transposeB ? CblasTrans : CblasNoTrans,
                Int32(m), Int32(n), Int32(k), alpha,
                a, Int32(transposeA ? m : k), b, Int32(transposeB ? k : n), beta, c, Int32(n))
}

/// Whether every size and leading dimension fits OpenBLAS's 32-bit ints.
func fitsBLAS(_ sizes: Int...) -> Bool { sizes.allSatisfy { $0 < Int(Int32.max) } }
