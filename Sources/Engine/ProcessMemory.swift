#if canImport(Glibc)
import Glibc
#endif

/// Peak resident memory of this process so far (getrusage's maxrss), in MiB.
public func peakResidentMiB() -> Double {
    var usage = rusage()
    getrusage(RUSAGE_SELF.rawValue, &usage)
    return Double(usage.ru_maxrss) / 1024
}
