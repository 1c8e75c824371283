#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Knows where the current thread's stack ends, so deep recursion (a runaway `.snp` function,
/// absurdly nested input) becomes an error before it becomes a crash. Works on whatever thread
/// runs the interpreter, whatever its stack size.
struct StackGuard {
    /// The lowest usable address of the stack (it grows down), or nil if unknown.
    private let limit: UInt?
    /// Room kept free for the Swift and C frames an error path and a builtin still need.
    static let reserve: UInt = 256 * 1024

    init() {
        #if canImport(Glibc)
        // NOTE: glibc declares pthread_getattr_np only under _GNU_SOURCE, which the Glibc module
        // does not set; look it up by name with its C signature instead.
        typealias GetAttributes = @convention(c) (pthread_t, UnsafeMutablePointer<pthread_attr_t>) -> Int32
        guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "pthread_getattr_np") else { limit = nil; return }
        let getAttributes = unsafeBitCast(symbol, to: GetAttributes.self)
        var attributes = pthread_attr_t()
        guard getAttributes(pthread_self(), &attributes) == 0 else { limit = nil; return }
        defer { pthread_attr_destroy(&attributes) }
        var address: UnsafeMutableRawPointer? = nil
        var size = 0
        guard pthread_attr_getstack(&attributes, &address, &size) == 0, let address else { limit = nil; return }
        limit = UInt(bitPattern: address) + StackGuard.reserve
        #elseif canImport(Darwin)
        let top = UInt(bitPattern: pthread_get_stackaddr_np(pthread_self()))
        limit = top - UInt(pthread_get_stacksize_np(pthread_self())) + StackGuard.reserve
        #else
        limit = nil
        #endif
    }

    /// True while the stack has room to spare.
    @inline(never)
    func hasRoom() -> Bool {
        guard let limit else { return true }
        var marker: UInt8 = 0
        return withUnsafeMutablePointer(to: &marker) { UInt(bitPattern: $0) } > limit
    }
}
