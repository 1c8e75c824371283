import Foundation
import Testing

/// The REPL (`snp` with no arguments) driven as a person drives it, on a pseudo-terminal:
/// readline, history, completion, Ctrl-C, Ctrl-D. And the same REPL reading a pipe.
@Suite("The REPL", .serialized)
struct ReplTests {
    /// `snp` on a fresh terminal: a plain `dumb` terminal (few escape sequences), no inputrc,
    /// history in `folder`.
    func startRepl(in folder: String, arguments: [String] = []) throws -> PseudoTerminal {
        let snp = Bundle.main.executableURL!.deletingLastPathComponent().appendingPathComponent("snp").path
        let environment = ["TERM": "dumb", "INPUTRC": "/dev/null", "HOME": folder, "SNP_HISTORY": folder + "/history",
                           "PATH": ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin", "OPENBLAS_NUM_THREADS": "1"]
        let terminal = try PseudoTerminal(snp, arguments: arguments, environment: environment)
        try terminal.expect("snp> ")
        return terminal
    }

    @Test func historyPersistsAcrossSessions() throws {
        let folder = try scratchFolder("repl-history")
        let first = try startRepl(in: folder)
        first.send("let remembered = 6 * 7\n")
        try first.expect("snp> ")
        // Appended as it is entered, not only at the end.
        #expect(try String(contentsOfFile: folder + "/history", encoding: .utf8).contains("let remembered = 6 * 7\n"))
        first.send("\u{04}")  // Ctrl-D
        #expect(first.waitForExit() == 0)

        let second = try startRepl(in: folder)
        second.send("\u{10}\n")  // Ctrl-P: the previous session's line, run again
        try second.expect("let remembered = 6 * 7")
        try second.expect("snp> ")
        second.send("remembered + 1\n")
        #expect(try second.expect("snp> ").contains("43\n"))
        second.send(":quit\n")
        #expect(second.waitForExit() == 0)
    }

    @Test func tabCompletion() throws {
        let folder = try scratchFolder("repl-completion")
        try "".write(toFile: folder + "/unusual-name.txt", atomically: true, encoding: .utf8)
        let terminal = try startRepl(in: folder)
        // A builtin (linspace), a variable, a member after `.`, a record field two deep.
        terminal.send("linsp\t(0, 1, 3)\n")
        #expect(try terminal.expect("snp> ").contains("tensor[3] [0, 0.5, 1]"))
        terminal.send("let my_long_variable = 5\n")
        try terminal.expect("snp> ")
        terminal.send("my_long_v\t * 2\n")
        #expect(try terminal.expect("snp> ").contains("\n10\n"))
        terminal.send("let settings = {learning_rate: 0.25, inner: {depth: 7}}\n")
        try terminal.expect("snp> ")
        terminal.send("settings.lear\t * 4\n")
        #expect(try terminal.expect("snp> ").contains("\n1\n"))
        terminal.send("settings.inner.dep\t + 1\n")
        #expect(try terminal.expect("snp> ").contains("\n8\n"))
        // A file name inside a string: completed, and the string closed.
        terminal.send("len(\"\(folder)/unus\t)\n")
        #expect(try terminal.expect("snp> ").contains("\n\((folder + "/unusual-name.txt").count)\n"))
        // Two candidates: a second Tab lists them.
        terminal.send("ran\t\t")
        try terminal.expect("randn")
        terminal.send("\u{03}")  // clears the line (and whatever is still unread: one key at a time)
        try terminal.expect("^C\nsnp> ")
        terminal.send("\u{04}")
        #expect(terminal.waitForExit() == 0)
    }

    @Test func continuationErrorsSuppressionAndLastValue() throws {
        let folder = try scratchFolder("repl-session")
        let terminal = try startRepl(in: folder)
        terminal.send("fn twice(x) {\n")
        try terminal.expect("... ")
        terminal.send("  return 2 * x\n")
        try terminal.expect("... ")
        terminal.send("}\n")
        try terminal.expect("snp> ")
        terminal.send("twice(21)\n")
        #expect(try terminal.expect("snp> ").contains("\n42\n"))
        // An error is printed as the language prints it, and the session goes on.
        terminal.send("twice(undefined_thing)\n")
        let error = try terminal.expect("snp> ")
        #expect(error.contains("<repl>:1:7: error: 'undefined_thing' is not defined"))
        #expect(error.contains("twice(undefined_thing)\n      ^"))
        terminal.send("twice(50)\n")
        #expect(try terminal.expect("snp> ").contains("\n100\n"))
        // `;` keeps the value quiet but `_` still holds it.
        terminal.send("1000 + 234;\n")
        #expect(!(try terminal.expect("snp> ").contains("1234")))
        terminal.send("_ + 1\n")
        #expect(try terminal.expect("snp> ").contains("\n1235\n"))
        terminal.send("\u{04}")
        #expect(terminal.waitForExit() == 0)
    }

    @Test func ctrlCStopsALoopAndKeepsItsVariables() throws {
        let folder = try scratchFolder("repl-interrupt")
        let terminal = try startRepl(in: folder)
        terminal.send("let i = 0\n")
        try terminal.expect("snp> ")
        terminal.send("while true { i += 1 }\n")
        try terminal.expect("while true { i += 1 }\n")
        Thread.sleep(forTimeInterval: 0.5)
        terminal.send("\u{03}")
        #expect(try terminal.expect("snp> ").contains("<repl>:1:1: error: interrupted"))
        terminal.send("i > 0\n")
        #expect(try terminal.expect("snp> ").contains("\ntrue\n"))
        // At the prompt Ctrl-C clears the line; twice on an empty prompt leaves.
        terminal.send("this_would_fail")
        try terminal.expect("this_would_fail")
        terminal.send("\u{03}")
        try terminal.expect("^C\nsnp> ")
        terminal.send("\u{03}")
        try terminal.expect("to quit, press Ctrl-C again")
        try terminal.expect("snp> ")
        terminal.send("\u{03}")
        #expect(terminal.waitForExit() == 0)
        #expect(!terminal.output.contains("'this_would_fail' is not defined"))
    }

    @Test func interactiveAfterAScript() throws {
        let folder = try scratchFolder("repl-script")
        try "let from_script = 5\nprint(\"script ran\")\n".write(toFile: folder + "/setup.snp", atomically: true, encoding: .utf8)
        let terminal = try startRepl(in: folder, arguments: ["-i", folder + "/setup.snp"])
        #expect(terminal.output.contains("script ran"))
        terminal.send("from_script * 3\n")
        #expect(try terminal.expect("snp> ").contains("\n15\n"))
        terminal.send("\u{04}")
        #expect(terminal.waitForExit() == 0)
    }

    // MARK: - Without a terminal

    @Test func readsAPipePlainly() throws {
        let piped = try runSnp([], input: "print(1 + 1)\nlet x = [1,\n  2]\nlen(x)\n3;\n_ * 2\nundefined_name\nprint(\"after\")\n")
        #expect(piped.out == "2\n2\n6\nafter\n")
        #expect(piped.err == "<repl>:1:1: error: 'undefined_name' is not defined\nundefined_name\n^\n")
        #expect(piped.status == 70)
        let fine = try runSnp([], input: "print(\"ok\")")
        #expect(fine.status == 0 && fine.out == "ok\n")
        let folder = try scratchFolder("repl-pipe")
        try "let from_script = 5\n".write(toFile: folder + "/setup.snp", atomically: true, encoding: .utf8)
        let afterScript = try runSnp(["run", "-i", folder + "/setup.snp"], input: "from_script * 2\n")
        #expect(afterScript.status == 0 && afterScript.out == "10\n")
        #expect(try runSnp(["-i", folder + "/absent.snp"], input: "1\n").status == 74)
        let unfinished = try runSnp([], input: "let y = (1 +\n")
        #expect(unfinished.status == 65 && unfinished.err.contains("<repl>:1:13: error: expected an expression, got end of input"))
    }

    @Test func metaCommands() throws {
        let folder = try scratchFolder("repl-meta")
        try "let loaded = 40\n".write(toFile: folder + "/extra.snp", atomically: true, encoding: .utf8)
        let input = """
            :type zeros([2, 3])
            let rate = 0.5
            :vars
            :time rate * 4
            :help linspace
            :help nonexistent_builtin
            :load \(folder)/extra.snp
            loaded + 2
            :save \(folder)/session.snp
            :reset
            rate
            :bogus
            :quit
            print("never")

            """
        let result = try runSnp([], input: input)
        let lines = result.out.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        #expect(lines.first == "tensor[2,3]")
        #expect(lines.contains { $0.hasPrefix("rate") && $0.contains("number") && $0.hasSuffix("0.5") })
        #expect(lines.contains("2"))
        #expect(lines.contains { $0.hasPrefix("time: ") && $0.hasSuffix(" ms") })
        #expect(result.out.contains("linspace(start, end, count: 50)"))
        #expect(result.err.contains("no builtin called 'nonexistent_builtin'"))
        #expect(lines.contains("42"))
        #expect(lines.contains { $0.hasPrefix("saved 4 inputs to ") })
        #expect(result.out.contains("the session is reset"))
        #expect(result.err.contains("<repl>:1:1: error: 'rate' is not defined"))
        #expect(result.err.contains("unknown command ':bogus'"))
        #expect(!result.out.contains("never"))
        // The saved session replays as a script.
        let saved = try String(contentsOfFile: folder + "/session.snp", encoding: .utf8)
        #expect(saved.contains("let rate = 0.5\nrate * 4\n# :load \(folder)/extra.snp\nlet loaded = 40\nloaded + 2\n"))
        #expect(try runSnp(["run", folder + "/session.snp"]).status == 0)
    }
}
