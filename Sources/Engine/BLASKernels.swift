import CBLAS
import CSupport
import Foundation

/// Makes sure OpenBLAS runs its AVX-512 kernels on CPUs that have AVX-512, and only there.
///
/// OpenBLAS picks its kernel family once, in its library constructor, before `main` runs, from
/// `OPENBLAS_CORETYPE` or its own CPU detection. Debian's 0.3.21 does not recognise some newer
/// Xeons and falls back to the Haswell (AVX2) kernels at about half the speed. Nothing a process
/// does after start-up can change that choice (setting the variable in `.preinit_array` is lost:
/// glibc installs `environ` after pre-init functions run), so a Snoopi executable calls
/// `selectFastKernels()` first thing: when the CPU has AVX-512, the user has not set
/// `OPENBLAS_CORETYPE`, and OpenBLAS chose a non-AVX-512 family, it sets
/// `OPENBLAS_CORETYPE=SkylakeX` and re-executes itself once (`SNP_BLAS_REEXEC` guards the loop).
public enum BLASKernels {
    /// OpenBLAS's kernel families that use AVX-512.
    static let avx512Families: Set<String> = ["skylakex", "cooperlake", "sapphirerapids"]

    /// What happened at start-up, for `snp-bench` and `snp` to print.
    nonisolated(unsafe) public private(set) static var startupNote = "not checked"

    /// Whether this CPU runs AVX-512 (F, BW, DQ, VL).
    public static var hasAVX512: Bool { snp_cpu_has_avx512() != 0 }

    /// The kernel family OpenBLAS is running ("SkylakeX", "Haswell", ...).
    public static var current: String { String(cString: snp_blas_core()) }

    /// What start-up should do, decided from the environment, the CPU and OpenBLAS's choice.
    public enum Decision: Equatable {
        case keep(note: String)
        case reexecWithSkylakeX
    }

    public static func decide(environment env: [String: String], hasAVX512: Bool, current: String) -> Decision {
        if let user = env["OPENBLAS_CORETYPE"], !user.isEmpty {
            return .keep(note: env["SNP_BLAS_REEXEC"] != nil ? "re-executed with OPENBLAS_CORETYPE=\(user)" : "OPENBLAS_CORETYPE=\(user) set by the user")
        }
        guard hasAVX512 else { return .keep(note: "no AVX-512 on this CPU: OpenBLAS's own choice") }
        guard !avx512Families.contains(current.lowercased()) else { return .keep(note: "OpenBLAS chose \(current) itself") }
        guard env["SNP_BLAS_REEXEC"] == nil else { return .keep(note: "re-execution did not take effect") }
        return .reexecWithSkylakeX
    }

    /// Call first thing in `main`. May not return (it re-executes the process once).
    /// `SNP_BLAS_ASSUME_CORE=NAME` makes the check treat OpenBLAS's choice as NAME (a diagnostic:
    /// on a CPU OpenBLAS already recognises, `Haswell` exercises the re-execution for real).
    public static func selectFastKernels() {
        let env = ProcessInfo.processInfo.environment
        let seen = env["SNP_BLAS_REEXEC"] == nil ? env["SNP_BLAS_ASSUME_CORE"] ?? current : current
        switch decide(environment: env, hasAVX512: snp_cpu_has_avx512() != 0, current: seen) {
        case .keep(let note):
            startupNote = note
        case .reexecWithSkylakeX:
            setenv("OPENBLAS_CORETYPE", "SkylakeX", 1)
            setenv("SNP_BLAS_REEXEC", "1", 1)
            execv("/proc/self/exe", CommandLine.unsafeArgv)
            // execv returns only on failure: carry on with the slower kernels.
            startupNote = "could not re-execute (\(String(cString: strerror(errno)))): running \(current)"
        }
    }
}
