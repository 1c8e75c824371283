import CReadline
import Foundation
import Language

// Tab completion: builtins, keywords and variables; members after `.`; file paths inside an
// open string literal and after `:load` / `:save`; meta commands after `:`.

/// What the REPL offers for the word before the cursor.
struct ReplCompleter {
    /// The session's current interpreter (`:reset` replaces it).
    let interpreter: () -> Interpreter

    enum Completion: Equatable {
        /// These candidates (already filtered by the word).
        case names([String])
        /// File names, by readline's own completer.
        case paths
    }

    /// The completions of `word`, which follows `before` on the line.
    func complete(_ word: String, after before: String) -> Completion {
        if ReplText.endsInsideString(before) { return .paths }
        if before.hasPrefix(":") {
            let command = before.prefix { !$0.isWhitespace }
            if before == ":" { return .names(matching(word, Repl.metaCommands.map { String($0.name.dropFirst()) })) }
            switch command {
            case ":load", ":save": return .paths
            case ":help": return .names(matching(word, interpreter().registry.names))
            default: return complete(word, after: String(before.dropFirst(command.count)))
            }
        }
        if before.hasSuffix(".") {
            guard let receiver = receiver(before.dropLast()) else { return .names([]) }
            return .names(matching(word, memberNames(of: receiver)))
        }
        let session = interpreter()
        var names = session.registry.names + Keyword.allCases.map(\.rawValue)
        var scope: Environment? = session.globals
        while let s = scope { names += s.names; scope = s.parent }
        return .names(matching(word, names))
    }

    /// The value of the chain of names `a.b.c` that ends `text`, looked up without running any
    /// code: variables, record fields and native objects' members.
    func receiver(_ text: Substring) -> Value? {
        let chain = text.reversed().prefix { $0 == "." || $0 == "_" || $0.isLetter || $0.isNumber }.reversed()
        let names = String(chain).split(separator: ".", omittingEmptySubsequences: false)
        guard let first = names.first, let head = first.first, head == "_" || head.isLetter,
              !names.contains(where: \.isEmpty),
              var value = interpreter().globals.lookup(String(first)) else { return nil }
        for name in names.dropFirst() {
            switch value {
            case .record(let r):
                guard let field = r[String(name)] else { return nil }
                value = field
            case .object(let o):
                guard let member = (try? o.member(String(name))) ?? nil else { return nil }
                value = member
            default:
                return nil
            }
        }
        return value
    }

    /// What can follow `value.`: a record's fields, an object's members, a tensor's properties
    /// and the builtins that work as methods.
    func memberNames(of value: Value) -> [String] {
        let registry = interpreter().registry
        let methods = registry.names.filter { registry[$0]?.isMethod == true }
        switch value {
        case .record(let r): return r.keys
        case .object(let o): return o.memberNames
        case .tensor: return ["shape", "rank", "count", "grad", "requires_grad", "T"] + methods
        default: return methods
        }
    }

    private func matching(_ word: String, _ names: [String]) -> [String] {
        Array(Set(names.filter { $0.hasPrefix(word) })).sorted()
    }
}

// MARK: - Readline glue

extension ReplCompleter {
    /// Makes `completer` readline's tab completion.
    static func install(_ completer: ReplCompleter) {
        CompletionState.completer = completer
        snp_rl_set_basic_word_break_characters(codeBreakCharacters)
        snp_rl_set_completion_word_break_hook(wordBreakHook)
        snp_rl_set_completion(attemptCompletion)
    }
}

private enum CompletionState {
    nonisolated(unsafe) static var completer: ReplCompleter?
    nonisolated(unsafe) static var candidates: [String] = []
    nonisolated(unsafe) static var next = 0
}

// NOTE: readline keeps these pointers; they live as long as the process.
/// In code a word is a name: `.` and `:` end it too, so `x.sh` completes `sh` as a member.
private let codeBreakCharacters = UnsafePointer(strdup(" \t\n\"\\'`@$><=;|&{(}[]),+-*/%:!.^~?")!)
/// In a string the word is everything after the opening quote: a path.
private let stringBreakCharacters = UnsafePointer(strdup("\"")!)
private let argumentBreakCharacters = UnsafePointer(strdup(" \t")!)

/// The text of readline's line buffer up to byte `end`.
private func lineBuffer(upTo end: Int) -> String {
    guard let buffer = snp_rl_line_buffer() else { return "" }
    return buffer.withMemoryRebound(to: UInt8.self, capacity: end) {
        String(decoding: UnsafeBufferPointer(start: $0, count: end), as: UTF8.self)
    }
}

/// Chooses what ends a word by where the cursor is: in a string, after `:load`, or in code.
private let wordBreakHook: @convention(c) () -> UnsafeMutablePointer<CChar>? = {
    let before = lineBuffer(upTo: Int(snp_rl_point()))
    if ReplText.endsInsideString(before) { return UnsafeMutablePointer(mutating: stringBreakCharacters) }
    if before.hasPrefix(":load ") || before.hasPrefix(":save ") { return UnsafeMutablePointer(mutating: argumentBreakCharacters) }
    return UnsafeMutablePointer(mutating: codeBreakCharacters)
}

private let attemptCompletion: @convention(c) (UnsafePointer<CChar>?, Int32, Int32) -> UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = { text, start, _ in
    // Never fall back to readline's file names in code, and add nothing after a match.
    snp_rl_set_attempted_completion_over(1)
    snp_rl_set_completion_append_character(0)
    guard let text, let completer = CompletionState.completer else { return nil }
    switch completer.complete(String(cString: text), after: lineBuffer(upTo: Int(start))) {
    case .paths:
        return rl_completion_matches(text, rl_filename_completion_function)
    case .names(let names):
        CompletionState.candidates = names
        return rl_completion_matches(text, nextCandidate)
    }
}

private let nextCandidate: @convention(c) (UnsafePointer<CChar>?, Int32) -> UnsafeMutablePointer<CChar>? = { _, state in
    if state == 0 { CompletionState.next = 0 }
    guard CompletionState.next < CompletionState.candidates.count else { return nil }
    defer { CompletionState.next += 1 }
    return strdup(CompletionState.candidates[CompletionState.next])
}

// MARK: - Reading the text

/// Just enough of the lexer's view of `.snp` text for the REPL: whether it ends inside a
/// string, and whether its last token is `;`.
enum ReplText {
    /// True when `text` ends inside an open string literal (not inside a `{…}` in one).
    static func endsInsideString(_ text: String) -> Bool { scan(text).insideString }

    /// True when the last token of `text` (comments aside) is `;`: the REPL does not print.
    static func endsWithSemicolon(_ text: String) -> Bool { scan(text).last == ";" }

    private enum Mode { case code(braces: Int), string }

    /// Walks strings (with escapes and `{…}` interpolations that may hold strings) and comments.
    private static func scan(_ text: String) -> (insideString: Bool, last: Unicode.Scalar?) {
        var modes: [Mode] = [.code(braces: 0)]
        var last: Unicode.Scalar? = nil
        var scalars = text.unicodeScalars.makeIterator()
        while let c = scalars.next() {
            switch modes[modes.count - 1] {
            case .string:
                if c == "\\" { _ = scalars.next() }
                else if c == "\"" { modes.removeLast(); if modes.count == 1 { last = c } }
                else if c == "{" { modes.append(.code(braces: 0)) }
            case .code(let braces):
                if c == "#" {
                    while let d = scalars.next(), d != "\n" {}
                    continue
                }
                if c == "\"" { modes.append(.string); continue }
                if modes.count > 1 {
                    if c == "{" { modes[modes.count - 1] = .code(braces: braces + 1) }
                    else if c == "}" { if braces == 0 { modes.removeLast() } else { modes[modes.count - 1] = .code(braces: braces - 1) } }
                } else if !c.properties.isWhitespace {
                    last = c
                }
            }
        }
        if case .string = modes[modes.count - 1] { return (true, last) }
        return (false, last)
    }
}
