import Engine
import Foundation
import Language

// The REPL's meta commands: lines starting with `:`, which talk about the session rather than
// run in it.

extension Repl {
    static let metaCommands: [(name: String, arguments: String, summary: String)] = [
        (":help", "[NAME]", "builtins by domain; with a name, its signature, doc and example"),
        (":vars", "", "the session's variables: name, type, summary"),
        (":type", "EXPR", "the type of EXPR's value"),
        (":time", "CODE", "runs CODE and prints the wall time it took"),
        (":load", "FILE", "runs a script into the session"),
        (":save", "FILE", "writes the session's accepted input as a script"),
        (":reset", "", "forgets every variable"),
        (":quit", "", "leaves the REPL (also Ctrl-D)"),
    ]

    /// Runs one meta command line; false for `:quit`.
    func runMetaCommand(_ line: String) -> Bool {
        let command = String(line.prefix { !$0.isWhitespace })
        let argument = line.dropFirst(command.count).trimmingCharacters(in: .whitespaces)
        switch command {
        case ":quit", ":q", ":exit": return false
        case ":", ":help": help(argument)
        case ":vars": listVariables()
        case ":type": showType(argument)
        case ":time": time(argument)
        case ":load":
            guard !argument.isEmpty else { writeError(":load needs a file: :load FILE.snp\n"); break }
            load(argument)
        case ":save":
            guard !argument.isEmpty else { writeError(":save needs a file: :save FILE.snp\n"); break }
            save(to: argument)
        case ":reset":
            reset()
            write("the session is reset: no variables\n")
        default:
            writeError("unknown command '\(command)'; :help lists the commands\n")
        }
        return true
    }

    /// `:help`: the builtins and the meta commands; `:help NAME`: a builtin, meta command or
    /// variable.
    private func help(_ name: String) {
        let registry = interpreter.registry
        if name.isEmpty {
            let commands = Repl.metaCommands.map { "  " + "\($0.name) \($0.arguments)".padding(toLength: 14, withPad: " ", startingAt: 0) + $0.summary }
            write(registry.overview() + "\n\nREPL commands:\n" + commands.joined(separator: "\n") + "\n")
        } else if let text = registry.help(name) {
            write(text + "\n")
        } else if let command = Repl.metaCommands.first(where: { $0.name == name || $0.name == ":" + name }) {
            write("\(command.name) \(command.arguments)\n\n\(command.summary)\n")
        } else if interpreter.globals.lookup(name) != nil {
            _ = evaluate("help(\(name))", usage: ":help")
        } else {
            // The help builtin says what is close ("did you mean …?").
            let literal = name.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
                .replacingOccurrences(of: "{", with: "\\{").replacingOccurrences(of: "}", with: "\\}")
            _ = evaluate("help(\"\(literal)\")", usage: ":help")
        }
    }

    /// `:vars`: every variable with its type and a one-line summary.
    private func listVariables() {
        let names = interpreter.globals.names
        let width = min(max(names.map(\.count).max() ?? 0, 4), 24)
        let typeWidth = names.compactMap { interpreter.globals.lookup($0)?.typeName.count }.max() ?? 0
        for name in names {
            guard let value = interpreter.globals.lookup(name) else { continue }
            var summary = value.summary.replacingOccurrences(of: "\n", with: " ")
            if summary.count > 80 { summary = String(summary.prefix(79)) + "…" }
            write(name.padding(toLength: max(width, name.count), withPad: " ", startingAt: 0) + "  "
                  + value.typeName.padding(toLength: typeWidth, withPad: " ", startingAt: 0) + "  " + summary + "\n")
        }
    }

    /// `:type EXPR`: the value's type; a tensor's with its shape, a function's with its signature.
    private func showType(_ code: String) {
        guard let value = evaluate(code, usage: ":type EXPR") else { return }
        switch value {
        case .tensor(let t): write("tensor[\(t.shape.map(String.init).joined(separator: ","))]\(t.requiresGrad ? " requires_grad" : "")\n")
        case .function(let f): write("function \(f.signature)\n")
        default: write(value.typeName + "\n")
        }
    }

    /// `:time CODE`: runs CODE as an input (printing its value), then the wall time.
    private func time(_ code: String) {
        guard !code.isEmpty else { writeError(":time needs code: :time CODE\n"); return }
        let start = DispatchTime.now().uptimeNanoseconds
        let outcome = submit(code, atEnd: true)
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        guard outcome == .ran else { return }
        write("time: " + (seconds < 1 ? String(format: "%.3g ms", seconds * 1000) : String(format: "%.3g s", seconds)) + "\n")
    }

    /// `:save FILE`: the accepted inputs, one after another, as a script.
    private func save(to path: String) {
        let path = (path as NSString).expandingTildeInPath
        do {
            try (transcript.joined(separator: "\n") + "\n").write(toFile: path, atomically: true, encoding: .utf8)
            write("saved \(transcript.count) input\(transcript.count == 1 ? "" : "s") to \(path)\n")
        } catch {
            writeError("snp: cannot write \(path): \(error.localizedDescription)\n")
        }
    }

    /// Runs `code` as one expression and returns its value, reporting any error.
    private func evaluate(_ code: String, usage: String) -> Value? {
        guard !code.isEmpty else { writeError("\(usage) needs an expression\n"); return nil }
        Interruption.clear()
        defer { Interruption.clear() }
        do {
            return try interpreter.run(code, name: "<repl>") ?? .null
        } catch {
            report(error)
            return nil
        }
    }
}
