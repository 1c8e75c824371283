import Foundation

/// A child process started with `posix_spawn` (Foundation's `Process` gives no rusage and no
/// process group): `snp batch`'s jobs and the isolated HDF5 reader.
struct ChildProcess {
    let pid: pid_t

    /// Starts `executable` with `arguments` (argv[1…]) and `environment` added to this process's;
    /// stdin from /dev/null, stdout and stderr to the file `output` (nil: /dev/null); in a process
    /// group of its own when `ownGroup` (a terminal's Ctrl-C then reaches only this process).
    static func spawn(_ executable: String, _ arguments: [String], environment: [String: String] = [:],
                      output: String?, ownGroup: Bool) throws -> ChildProcess {
        var env = ProcessInfo.processInfo.environment
        for (k, v) in environment { env[k] = v }
        let cArguments = ([executable] + arguments).map { strdup($0) } + [nil]
        let cEnvironment = env.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer {
            cArguments.forEach { free($0) }
            cEnvironment.forEach { free($0) }
        }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, output ?? "/dev/null", O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var defaults = sigset_t(), empty = sigset_t()
        sigemptyset(&defaults)
        for signal in [SIGINT, SIGTERM, SIGPIPE] { sigaddset(&defaults, signal) }
        sigemptyset(&empty)
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        posix_spawnattr_setsigmask(&attributes, &empty)
        var flags = POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK
        if ownGroup {
            posix_spawnattr_setpgroup(&attributes, 0)
            flags |= POSIX_SPAWN_SETPGROUP
        }
        posix_spawnattr_setflags(&attributes, Int16(flags))
        var child: pid_t = 0
        let code = posix_spawn(&child, executable, &actions, &attributes, cArguments, cEnvironment)
        guard code == 0 else { throw UsageError(message: "cannot start \(executable): \(String(cString: strerror(code)))") }
        return ChildProcess(pid: child)
    }

    /// The wait status and peak memory (KB) once the child has ended; nil while it runs.
    func poll() -> (status: Int32, peakKB: Int)? {
        var status: Int32 = 0
        var usage = rusage()
        return wait4(pid, &status, WNOHANG, &usage) == pid ? (status, usage.ru_maxrss) : nil
    }

    /// Waits for the child to end.
    func wait() -> (status: Int32, peakKB: Int) {
        var status: Int32 = 0
        var usage = rusage()
        while wait4(pid, &status, 0, &usage) < 0 && errno == EINTR {}
        return (status, usage.ru_maxrss)
    }

    /// Exit code of a wait status, or nil when the child died by a signal.
    static func exitCode(_ status: Int32) -> Int32? { status & 0x7f == 0 ? (status >> 8) & 0xff : nil }

    /// The signal that ended the child, or nil when it exited.
    static func signal(_ status: Int32) -> Int32? { status & 0x7f == 0 ? nil : status & 0x7f }
}
