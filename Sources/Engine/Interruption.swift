import CSupport

/// Ctrl-C as a request to stop at the next safe point rather than a kill. While the handler is
/// installed, SIGINT only counts; training loops check `isRequested` at the end of each step and
/// stop there, keeping everything learned so far. The REPL clears it before each input.
public enum Interruption {
    /// Counts SIGINTs instead of dying on them.
    public static func installHandler() { snp_install_interrupt_handler() }
    /// Ctrl-C kills the process again.
    public static func removeHandler() { snp_remove_interrupt_handler() }
    /// True when Ctrl-C was pressed (or `request()` called) since the last `clear()`.
    public static var isRequested: Bool { snp_interrupt_count() > 0 }
    /// How many times, since the last `clear()`.
    public static var count: Int { Int(snp_interrupt_count()) }
    /// Forgets earlier requests.
    public static func clear() { snp_interrupt_set(0) }
    /// Requests a stop as Ctrl-C would (tests; a front end's own stop button).
    public static func request() { snp_interrupt_set(snp_interrupt_count() + 1) }
    /// Ends this process (SIGTERM) when process `parent` dies, as a batch runner's jobs must: an
    /// orphaned job would go on running with nobody to time it out or record it.
    public static func endWithParent(_ parent: Int32) { _ = snp_die_with_parent(parent) }
}
