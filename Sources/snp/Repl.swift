import Engine
import Foundation
import Language

// The REPL (`snp` with no arguments, `snp -i FILE.snp`): read an input, run it in one
// interpreter, print its value, go on. As lua.c: the parser decides whether the input is
// finished (an error at the end of the input means "keep reading"), and Ctrl-C stops the
// running input, never the session.

/// `snp` with no arguments; with `script`, `snp -i FILE.snp [ARGS…]`: runs the script, then
/// the REPL with its variables. Returns the exit status.
func startRepl(script: String? = nil, arguments: [String] = []) -> Int32 {
    if let script, !FileManager.default.isReadableFile(atPath: script) {
        FileHandle.standardError.write(Data("snp: cannot read \(script)\n".utf8))
        return ExitCode.ioError
    }
    let interactive = isatty(STDIN_FILENO) != 0 && isatty(STDOUT_FILENO) != 0
    let repl = Repl(arguments: arguments, interactive: interactive)
    if interactive {
        // A blocked SIGINT (inherited from whatever started us) would make Ctrl-C do nothing.
        var interrupts = sigset_t()
        sigemptyset(&interrupts)
        sigaddset(&interrupts, SIGINT)
        sigprocmask(SIG_UNBLOCK, &interrupts, nil)
    }
    Interruption.installHandler()
    defer { Interruption.removeHandler() }
    if let script { repl.load(script) }
    return repl.run()
}

/// One session: its interpreter, the input it accepted, how it reads lines.
final class Repl {
    let arguments: [String]
    /// True on a terminal: prompts, readline, a greeting.
    let interactive: Bool
    private(set) var interpreter: Interpreter
    /// The inputs that ran without error, in order (`:save` writes them).
    var transcript: [String] = []
    /// Without a terminal the exit status says whether every input ran: the last failure's.
    var status = ExitCode.ok
    private var reader: ReplLineReader!

    static let prompt = "snp> ", continuationPrompt = "... "

    init(arguments: [String], interactive: Bool) {
        self.arguments = arguments
        self.interactive = interactive
        interpreter = Interpreter(arguments: arguments)
        if interactive {
            reader = ReadlineLineReader(historyPath: ReadlineLineReader.defaultHistoryPath())
            ReplCompleter.install(ReplCompleter { [unowned self] in self.interpreter })
        } else {
            reader = PlainLineReader()
        }
    }

    /// Reads and runs inputs until Ctrl-D, `:quit`, or Ctrl-C twice on an empty prompt.
    func run() -> Int32 {
        if interactive { write("Snoopi .snp — :help for help, Ctrl-D to quit\n") }
        var pending: [String] = []  // the lines of an unfinished input
        var interruptsOnEmptyPrompt = 0
        while true {
            switch reader.read(prompt: pending.isEmpty ? Repl.prompt : Repl.continuationPrompt) {
            case .end:
                if interactive { write("\n"); return ExitCode.ok }
                if !pending.isEmpty { _ = submit(pending.joined(separator: "\n"), atEnd: true) }
                return status
            case .interrupted(let hadText):
                if hadText || !pending.isEmpty {
                    pending = []
                    interruptsOnEmptyPrompt = 0
                    continue
                }
                interruptsOnEmptyPrompt += 1
                if interruptsOnEmptyPrompt >= 2 { return ExitCode.ok }
                write("(to quit, press Ctrl-C again or Ctrl-D, or type :quit)\n")
            case .line(let line):
                interruptsOnEmptyPrompt = 0
                reader.remember(line)
                if pending.isEmpty && line.drop(while: \.isWhitespace).hasPrefix(":") {
                    if !runMetaCommand(line.trimmingCharacters(in: .whitespaces)) { return interactive ? ExitCode.ok : status }
                    continue
                }
                pending.append(line)
                if submit(pending.joined(separator: "\n")) != .incomplete { pending = [] }
            }
        }
    }

    enum Outcome { case ran, failed, incomplete }

    /// Parses `text` and, when it is a whole input, runs it. With `atEnd`, an unfinished input
    /// is an error rather than a reason to read on.
    func submit(_ text: String, atEnd: Bool = false) -> Outcome {
        let statements: [Stmt]
        do {
            statements = try Parser.parse(Source(name: "<repl>", text: text))
        } catch let error as LanguageError where error.isIncomplete && !atEnd {
            return .incomplete
        } catch {
            report(error)
            return .failed
        }
        return execute(statements, text: text) ? .ran : .failed
    }

    /// Runs parsed input: a value that is not nil becomes `_` and is printed unless the input
    /// ends in `;`. Returns whether it ran without error.
    @discardableResult
    func execute(_ statements: [Stmt], text: String) -> Bool {
        Interruption.clear()
        defer { Interruption.clear() }
        do {
            guard let value = try interpreter.execute(statements), !value.isNil else {
                transcript.append(text)
                return true
            }
            interpreter.globals.define("_", value)
            if !ReplText.endsWithSemicolon(text) { write(Repl.display(value) + "\n") }
            transcript.append(text)
            return true
        } catch {
            report(error)
            return false
        }
    }

    /// Runs the script at `path` into the session (`-i`, `:load`); its values are not printed.
    func load(_ path: String) {
        let path = (path as NSString).expandingTildeInPath
        guard let data = FileManager.default.contents(atPath: path) else {
            writeError("snp: cannot read \(path)\n")
            status = ExitCode.ioError
            return
        }
        let text = String(decoding: data, as: UTF8.self)
        Interruption.clear()
        defer { Interruption.clear() }
        do {
            try interpreter.run(text, name: path)
            transcript.append("# :load \(path)\n" + text.trimmingCharacters(in: .newlines))
        } catch {
            report(error)
        }
    }

    /// Forgets every variable and the transcript.
    func reset() {
        interpreter = Interpreter(arguments: arguments)
        transcript = []
    }

    /// How the REPL shows a value: an object in its full form, anything else as its summary.
    static func display(_ value: Value) -> String {
        if case .object(let o) = value { return o.display }
        return value.summary
    }

    // MARK: - Output

    func write(_ text: String) { FileHandle.standardOutput.write(Data(text.utf8)) }
    func writeError(_ text: String) { FileHandle.standardError.write(Data(text.utf8)) }

    /// An error as the language prints it (`<repl>:1:5: error: …`, the line, a caret).
    func report(_ error: Error) {
        if let error = error as? LanguageError {
            // The terminal echoed ^C with no line break after it.
            if interactive && error.kind == .interrupted { write("\n") }
            writeError(error.description + "\n")
            switch error.kind {
            case .syntax: status = ExitCode.dataError
            case .runtime: status = ExitCode.software
            case .interrupted: status = ExitCode.interrupted
            }
        } else {
            writeError("error: \(error)\n")
            status = ExitCode.software
        }
    }
}
