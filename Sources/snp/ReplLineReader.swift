import CReadline
import Engine
import Foundation

// Where the REPL's lines come from: GNU readline on a terminal (line editing, history, tab
// completion, Ctrl-C clearing the line), or plain standard input otherwise (`echo … | snp`).

/// What one prompt got.
enum ReplInput {
    case line(String)
    /// Ctrl-C at the prompt; `hadText` when it threw away text typed on the line.
    case interrupted(hadText: Bool)
    /// Ctrl-D, or the end of standard input.
    case end
}

/// Reads the REPL's input one line at a time.
protocol ReplLineReader: AnyObject {
    /// The next line, without its line break. `prompt` is shown only on a terminal.
    func read(prompt: String) -> ReplInput
    /// Records a line the user entered, in the history.
    func remember(_ line: String)
}

/// Standard input read line by line, no prompts, no history: pipes and files.
final class PlainLineReader: ReplLineReader {
    func read(prompt: String) -> ReplInput {
        // NOTE: the interruption handler does not restart reads, so Ctrl-C here ends the input.
        readLine(strippingNewline: true).map { .line($0) } ?? .end
    }

    func remember(_ line: String) {}
}

/// GNU readline through its callback interface.
///
/// Why the callback interface: Ctrl-C must mean "stop" while a computation runs and "clear the
/// line" at the prompt, and both go through one SIGINT handler (`Interruption`'s counting one,
/// installed for the whole session, with readline's own signal handling off). Blocking
/// `readline()` would retry its read after the signal and never notice; here we wait in `poll`,
/// which a signal always interrupts, and feed readline one character at a time, so at every
/// wake-up we can see whether Ctrl-C was pressed and reset the line ourselves.
final class ReadlineLineReader: ReplLineReader {
    /// How many lines the history keeps, in memory and in its file.
    static let historyLimit: Int32 = 1000

    /// The history file, or nil for none.
    let historyPath: String?
    private var lastRemembered: String?

    init(historyPath: String?) {
        self.historyPath = historyPath
        snp_rl_set_readline_name(readlineName)
        snp_rl_set_catch_signals(0)
        stifle_history(Self.historyLimit)
        guard let historyPath else { return }
        if FileManager.default.fileExists(atPath: historyPath) {
            read_history(historyPath)
            history_truncate_file(historyPath, Self.historyLimit)
        } else if write_history(historyPath) != 0 {
            // An unwritable history is no reason to refuse a session; say so once.
            FileHandle.standardError.write(Data("snp: cannot write the history file \(historyPath)\n".utf8))
        }
    }

    /// `SNP_HISTORY`, else `~/.snp_history`; an empty `SNP_HISTORY` turns history off.
    static func defaultHistoryPath() -> String? {
        if let path = ProcessInfo.processInfo.environment["SNP_HISTORY"] {
            return path.isEmpty ? nil : (path as NSString).expandingTildeInPath
        }
        return (NSHomeDirectory() as NSString).appendingPathComponent(".snp_history")
    }

    func remember(_ line: String) {
        guard !line.allSatisfy(\.isWhitespace), line != lastRemembered else { return }
        lastRemembered = line
        add_history(line)
        if let historyPath { append_history(1, historyPath) }
    }

    func read(prompt: String) -> ReplInput {
        ReadlineState.lineArrived = false
        ReadlineState.line = nil
        rl_callback_handler_install(prompt, readlineLineHandler)
        while !ReadlineState.lineArrived {
            if Interruption.isRequested { return interruptLine() }
            var descriptor = pollfd(fd: STDIN_FILENO, events: Int16(POLLIN), revents: 0)
            if poll(&descriptor, 1, -1) < 0 {
                if errno == EINTR { continue }
                rl_callback_handler_remove()
                return .end
            }
            rl_callback_read_char()
        }
        return ReadlineState.line.map { .line($0) } ?? .end
    }

    /// Ctrl-C at the prompt: drop the line (and any search or argument in progress), echo `^C`.
    private func interruptLine() -> ReplInput {
        let hadText = snp_rl_line_buffer().map { $0.pointee != 0 } ?? false
        Interruption.clear()
        rl_free_line_state()
        rl_callback_sigcleanup()
        rl_cleanup_after_signal()
        rl_callback_handler_remove()
        rl_echo_signal_char(SIGINT)
        fputs("\n", stdout)
        fflush(stdout)
        return .interrupted(hadText: hadText)
    }

    deinit {
        if let historyPath { history_truncate_file(historyPath, Self.historyLimit) }
    }
}

/// The line readline hands to its callback, which cannot capture anything.
private enum ReadlineState {
    nonisolated(unsafe) static var line: String?
    nonisolated(unsafe) static var lineArrived = false
}

/// Readline's name for `$if snp` in ~/.inputrc (a C string readline keeps).
private let readlineName = UnsafePointer(strdup("snp")!)

/// Takes the finished line and removes the handler, so readline does not draw the next prompt
/// before the REPL has run this input and printed its result.
private let readlineLineHandler: @convention(c) (UnsafeMutablePointer<CChar>?) -> Void = { line in
    rl_callback_handler_remove()
    ReadlineState.line = line.map { String(cString: $0) }
    free(line)
    ReadlineState.lineArrived = true
}
