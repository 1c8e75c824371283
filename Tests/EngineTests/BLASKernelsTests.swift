import Engine
import Testing

@Suite("Choosing OpenBLAS's AVX-512 kernels")
struct BLASKernelsTests {
    @Test func reexecutesOnlyWhenItHelps() {
        #expect(BLASKernels.decide(environment: [:], hasAVX512: true, current: "Haswell") == .reexecWithSkylakeX)
        #expect(BLASKernels.decide(environment: ["OPENBLAS_CORETYPE": ""], hasAVX512: true, current: "Haswell") == .reexecWithSkylakeX)
        #expect(BLASKernels.decide(environment: [:], hasAVX512: false, current: "Haswell") == .keep(note: "no AVX-512 on this CPU: OpenBLAS's own choice"))
        #expect(BLASKernels.decide(environment: [:], hasAVX512: true, current: "SkylakeX") == .keep(note: "OpenBLAS chose SkylakeX itself"))
        #expect(BLASKernels.decide(environment: [:], hasAVX512: true, current: "SapphireRapids") == .keep(note: "OpenBLAS chose SapphireRapids itself"))
        #expect(BLASKernels.decide(environment: ["OPENBLAS_CORETYPE": "Haswell"], hasAVX512: true, current: "Haswell") == .keep(note: "OPENBLAS_CORETYPE=Haswell set by the user"))
        // The guard against a loop if the re-executed process still runs Haswell.
        #expect(BLASKernels.decide(environment: ["SNP_BLAS_REEXEC": "1"], hasAVX512: true, current: "Haswell") == .keep(note: "re-execution did not take effect"))
    }

    /// OpenBLAS stays single-threaded whatever the engine's count: the engine splits sgemm itself.
    @Test func openBLASStaysSingleThreaded() throws {
        let before = Threads.count
        defer { try? Threads.set(before) }
        try Threads.set(2)
        #expect(Threads.blasThreads == 1)
    }

    /// A product split over threads (rows or columns, with transposes) equals the unsplit one.
    @Test(arguments: [(false, false), (true, false), (false, true), (true, true)])
    func splitMatmulMatchesSingleThread(_ transposes: (Bool, Bool)) throws {
        let before = Threads.count
        defer { try? Threads.set(before) }
        for (m, n, k) in [(300, 70, 80), (70, 300, 80), (257, 255, 33), (600, 70, 100), (90, 700, 80), (1000, 1000, 8), (513, 260, 64)] {
            let a = sample(transposes.0 ? [k, m] : [m, k], seed: 1), b = sample(transposes.1 ? [n, k] : [k, n], seed: 2)
            try Threads.set(1)
            let one = try Tensor.matmul(a, b, transposeA: transposes.0, transposeB: transposes.1)
            try Threads.set(2)
            let two = try Tensor.matmul(a, b, transposeA: transposes.0, transposeB: transposes.1)
            let identical = one.scalars.map(\.bitPattern) == two.scalars.map(\.bitPattern)
            #expect(identical, "m \(m) n \(n) k \(k): max difference \(maxAbsDifference(one, two))")
        }
    }
}
