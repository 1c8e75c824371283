import Foundation
import Glibc

/// A program run on a pseudo-terminal of its own, as a person at a terminal runs it: it is the
/// session leader with the terminal as its controlling terminal, so typing Ctrl-C sends it
/// SIGINT and readline sees a real terminal. Every wait has a deadline; the program is killed
/// when the test is done with it.
final class PseudoTerminal {
    struct Timeout: Error, CustomStringConvertible {
        let waitingFor: String
        let output: String
        var description: String { "timed out waiting for \(waitingFor); the terminal showed:\n\(output)" }
    }

    private let master: Int32
    private let pid: pid_t
    private var raw: [UInt8] = []
    /// Where the next `expect` starts looking in `output`.
    private var mark: String.Index
    private var exitStatus: Int32?
    /// Everything the program wrote, carriage returns and escape sequences removed.
    private(set) var output = ""

    /// Starts `executable` on a new 24 × 200 terminal with exactly `environment`.
    init(_ executable: String, arguments: [String] = [], environment: [String: String]) throws {
        var master: Int32 = 0, slave: Int32 = 0
        var size = winsize(ws_row: 24, ws_col: 200, ws_xpixel: 0, ws_ypixel: 0)
        guard openpty(&master, &slave, nil, nil, &size) == 0, let name = ttyname(slave) else {
            throw POSIXError(.ENOTTY)
        }
        let slavePath = String(cString: name)
        _ = fcntl(master, F_SETFD, FD_CLOEXEC)
        _ = fcntl(slave, F_SETFD, FD_CLOEXEC)
        defer { close(slave) }

        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        // POSIX_SPAWN_SETSID (glibc's 0x80, not imported into Swift): a new session, so opening
        // the terminal below makes it the child's controlling terminal. NOTE: the test runner's
        // threads may block or ignore SIGINT, and both would pass to the child: SETSIGMASK (0x08)
        // and SETSIGDEF (0x04) give it an empty mask and default handlers.
        var none = sigset_t(), interrupts = sigset_t()
        sigemptyset(&none)
        sigemptyset(&interrupts)
        sigaddset(&interrupts, SIGINT)
        posix_spawnattr_setsigmask(&attributes, &none)
        posix_spawnattr_setsigdefault(&attributes, &interrupts)
        posix_spawnattr_setflags(&attributes, 0x80 | 0x08 | 0x04)
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, slavePath, O_RDWR, 0)
        posix_spawn_file_actions_adddup2(&actions, 0, 1)
        posix_spawn_file_actions_adddup2(&actions, 0, 2)

        let argv = ([executable] + arguments).map { strdup($0) } + [nil]
        let envp = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer { (argv + envp).forEach { free($0) } }
        var pid: pid_t = 0
        let spawned = posix_spawn(&pid, executable, &actions, &attributes, argv, envp)
        guard spawned == 0 else {
            close(master)
            throw POSIXError(POSIXErrorCode(rawValue: spawned) ?? .EIO)
        }
        self.master = master
        self.pid = pid
        mark = output.startIndex
    }

    /// Types `text` (control characters included: "\u{03}" is Ctrl-C, "\u{04}" Ctrl-D).
    func send(_ text: String) {
        let bytes = Array(text.utf8)
        var written = 0
        while written < bytes.count {
            let n = bytes[written...].withUnsafeBytes { Glibc.write(master, $0.baseAddress, $0.count) }
            if n <= 0 { if errno == EINTR { continue }; return }
            written += n
        }
    }

    /// Waits until `text` appears after the previous match; returns what came before it (from
    /// the previous match on) and moves past it.
    @discardableResult
    func expect(_ text: String, timeout: Double = 20) throws -> String {
        let deadline = Date().addingTimeInterval(timeout)
        while true {
            if let found = output[mark...].range(of: text) {
                let before = String(output[mark..<found.lowerBound])
                mark = found.upperBound
                return before
            }
            let remaining = deadline.timeIntervalSinceNow
            guard remaining > 0, readSome(timeout: remaining) else {
                throw Timeout(waitingFor: "'\(text)'", output: String(output[mark...]))
            }
        }
    }

    /// Waits for the program to end (reading what it still writes); its exit status, or nil
    /// when it was killed by a signal or had to be killed at the deadline.
    func waitForExit(timeout: Double = 20) -> Int32? {
        let deadline = Date().addingTimeInterval(timeout)
        while exitStatus == nil && Date() < deadline {
            var status: Int32 = 0
            if waitpid(pid, &status, WNOHANG) == pid {
                exitStatus = (status & 0x7f) == 0 ? (status >> 8) & 0xff : -1
                break
            }
            _ = readSome(timeout: 0.05)
        }
        if exitStatus == nil { kill(pid, SIGKILL); var status: Int32 = 0; waitpid(pid, &status, 0); exitStatus = -1 }
        return exitStatus == -1 ? nil : exitStatus
    }

    /// Reads what is there within `timeout` seconds; false at the end of the output.
    private func readSome(timeout: Double) -> Bool {
        var descriptor = pollfd(fd: master, events: Int16(POLLIN), revents: 0)
        let ready = poll(&descriptor, 1, Int32(max(1, min(timeout, 3600) * 1000)))
        if ready < 0 { return errno == EINTR }
        if ready == 0 { return true }
        var buffer = [UInt8](repeating: 0, count: 4096)
        let n = Glibc.read(master, &buffer, buffer.count)
        guard n > 0 else { return n < 0 && errno == EINTR }  // EIO: the program closed the terminal
        raw += buffer[..<n]
        // Keep `mark` as an offset: the cleaned text is rebuilt from the raw bytes.
        let offset = output.distance(from: output.startIndex, to: mark)
        output = PseudoTerminal.clean(String(decoding: raw, as: UTF8.self))
        mark = output.index(output.startIndex, offsetBy: min(offset, output.count))
        return true
    }

    /// The text without carriage returns and terminal escape sequences.
    static func clean(_ text: String) -> String {
        var out = "", scalars = Array(text.unicodeScalars), i = 0
        while i < scalars.count {
            let c = scalars[i]
            if c == "\u{1b}" {
                i += 1
                if i < scalars.count && scalars[i] == "[" {
                    i += 1
                    while i < scalars.count && !(0x40...0x7e).contains(scalars[i].value) { i += 1 }
                } else if i < scalars.count && scalars[i] == "]" {
                    while i < scalars.count && scalars[i] != "\u{07}" { i += 1 }
                }
                i += 1
                continue
            }
            if c != "\r" { out.unicodeScalars.append(c) }
            i += 1
        }
        return out
    }

    deinit {
        if exitStatus == nil { kill(pid, SIGKILL); var status: Int32 = 0; waitpid(pid, &status, 0) }
        close(master)
    }
}
