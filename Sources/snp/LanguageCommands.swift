import Engine
import Foundation
import Language

// The .snp language from the command line: scripts, one-liners, standard input, syntax checks,
// notebooks, and the generated language reference.

/// `snp FILE.snp …`, `snp -e CODE …`, `snp - …`, `snp -i FILE.snp …` (the script, then the
/// REPL): the invocations that are not a subcommand name. Nil when `arguments` is none of these.
func languageInvocation(_ arguments: [String]) -> Int32? {
    guard let first = arguments.first else { return nil }
    let rest = Array(arguments.dropFirst())
    switch first {
    case "-e":
        guard let code = rest.first else { return usage("snp -e CODE [ARGS…]: CODE is missing") }
        return runScript(code, name: "<-e>", arguments: Array(rest.dropFirst()))
    case "-i":
        guard let path = rest.first else { return usage("snp -i FILE.snp [ARGS…]: FILE is missing") }
        return startRepl(script: path, arguments: Array(rest.dropFirst()))
    case "-":
        let text = String(decoding: FileHandle.standardInput.readDataToEndOfFile(), as: UTF8.self)
        return runScript(text, name: "<stdin>", arguments: rest)
    default:
        guard first.hasSuffix(".snp") else { return nil }
        return runFile(first, arguments: rest)
    }
}

/// `snp run [--let NAME=EXPR]… [-i] FILE.snp [ARGS…]`.
func runCommand(_ words: [String]) throws -> Int32 {
    var rest = words[...], bindings: [(name: String, expression: String)] = []
    while rest.first == "--let" {
        rest.removeFirst()
        guard let binding = rest.popFirst(), let equals = binding.firstIndex(of: "=") else {
            throw UsageError(message: "--let needs NAME=EXPR, e.g. --let alpha=0.5")
        }
        let name = String(binding[..<equals])
        guard let first = name.unicodeScalars.first, CharacterSet.letters.union(["_"]).contains(first),
              name.unicodeScalars.allSatisfy({ CharacterSet.alphanumerics.union(["_"]).contains($0) }) else {
            throw UsageError(message: "--let \(binding): '\(name)' is not a variable name")
        }
        bindings.append((name, String(binding[binding.index(after: equals)...])))
    }
    if rest.first == "-i" {
        guard bindings.isEmpty else { throw UsageError(message: "--let cannot be combined with -i") }
        return languageInvocation(Array(rest)) ?? ExitCode.usage
    }
    guard let path = rest.first else { throw UsageError(message: "usage: snp run [--let NAME=EXPR]… [-i] FILE.snp [ARGS…]") }
    return runFile(path, arguments: Array(rest.dropFirst()), bindings: bindings)
}

/// `snp check FILE…`: parses each file; syntax errors to stderr, exit 65 if any.
func checkCommand(_ words: [String]) throws -> Int32 {
    guard !words.isEmpty else { throw UsageError(message: "usage: snp check FILE…") }
    var status = ExitCode.ok
    for path in words {
        guard let text = readText(path) else { status = max(status, ExitCode.ioError); continue }
        do {
            _ = try Parser.parse(Source(name: path, text: text))
        } catch let error as LanguageError {
            report(error)
            if status == ExitCode.ok { status = ExitCode.dataError }
        }
    }
    return status
}

/// `snp notebook FILE.snp [-o FILE.md] [--keep-going] [ARGS…]`.
func notebookCommand(_ words: [String]) throws -> Int32 {
    var rest = words[...]
    var input: String? = nil, output: String? = nil, keepGoing = false
    var scriptArguments: [String] = []
    while let word = rest.popFirst() {
        switch word {
        case "-o", "--out":
            guard let value = rest.popFirst() else { throw UsageError(message: "\(word) needs a path") }
            output = value
        case "--keep-going": keepGoing = true
        default:
            if input == nil { input = word } else { scriptArguments.append(word) }
        }
    }
    guard let input else { throw UsageError(message: "usage: snp notebook FILE.snp [-o FILE.md] [--keep-going] [ARGS…]") }
    guard let text = readText(input) else { return ExitCode.ioError }
    let markdownPath = output ?? ((input as NSString).deletingPathExtension + ".md")
    let stem = ((markdownPath as NSString).lastPathComponent as NSString).deletingPathExtension
    let assetsLink = stem + ".assets"
    let assetsFolder = ((markdownPath as NSString).deletingLastPathComponent as NSString).appendingPathComponent(assetsLink)

    let interpreter = Interpreter(arguments: scriptArguments)
    var renderer = NotebookRenderer(interpreter: interpreter, assetsFolder: assetsFolder, assetsLink: assetsLink)
    renderer.keepGoing = keepGoing
    Interruption.installHandler()
    defer { Interruption.removeHandler() }
    let (markdown, error) = try renderer.render(Notebook(Source(name: input, text: text)))
    do {
        try markdown.write(toFile: markdownPath, atomically: true, encoding: .utf8)
    } catch {
        FileHandle.standardError.write(Data("snp notebook: cannot write \(markdownPath): \(error.localizedDescription)\n".utf8))
        return ExitCode.ioError
    }
    FileHandle.standardError.write(Data("wrote \(markdownPath)\n".utf8))
    guard let error else { return ExitCode.ok }
    report(error)
    return exitCode(for: error)
}

/// `snp help-language`: Docs/language.md, generated from the builtin registry.
func helpLanguageCommand(_ words: [String]) throws -> Int32 {
    guard words.isEmpty else { throw UsageError(message: "usage: snp help-language > Docs/language.md") }
    FileHandle.standardOutput.write(Data(Builtins.markdown().utf8))
    return ExitCode.ok
}

// MARK: - Running

private func runFile(_ path: String, arguments: [String], bindings: [(name: String, expression: String)] = []) -> Int32 {
    guard let text = readText(path) else { return ExitCode.ioError }
    return runScript(text, name: path, arguments: arguments, bindings: bindings)
}

/// Runs a whole script, after binding each `--let NAME=EXPR` as a global; Ctrl-C stops it at a
/// safe point (exit 130).
private func runScript(_ text: String, name: String, arguments: [String], bindings: [(name: String, expression: String)] = []) -> Int32 {
    let interpreter = Interpreter(arguments: arguments)
    Interruption.installHandler()
    defer { Interruption.removeHandler() }
    do {
        for binding in bindings {
            try interpreter.run("let \(binding.name) = (\(binding.expression))", name: "--let \(binding.name)")
        }
        try interpreter.run(text, name: name)
        return ExitCode.ok
    } catch let error as LanguageError {
        report(error)
        return exitCode(for: error)
    } catch {
        FileHandle.standardError.write(Data("snp: error: \(error)\n".utf8))
        return ExitCode.software
    }
}

private func exitCode(for error: LanguageError) -> Int32 {
    switch error.kind {
    case .syntax: return ExitCode.dataError
    case .runtime: return ExitCode.software
    case .interrupted: return ExitCode.interrupted
    }
}

private func report(_ error: LanguageError) {
    FileHandle.standardError.write(Data((error.description + "\n").utf8))
}

/// The file's text, or nil after reporting why it cannot be read.
private func readText(_ path: String) -> String? {
    guard let data = FileManager.default.contents(atPath: path) else {
        FileHandle.standardError.write(Data("snp: cannot read \(path)\n".utf8))
        return nil
    }
    return String(decoding: data, as: UTF8.self)
}

private func usage(_ message: String) -> Int32 {
    FileHandle.standardError.write(Data("snp: \(message)\n".utf8))
    return ExitCode.usage
}
