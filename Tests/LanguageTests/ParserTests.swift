import Testing
@testable import Language

@Suite("Parser")
struct ParserTests {
    /// The tree as a compact string, to compare shapes of parses.
    private func shape(_ e: Expr) -> String {
        switch e {
        case .number(let x, _): return formatNumber(x)
        case .string: return "\"…\""
        case .bool(let b, _): return "\(b)"
        case .null: return "nil"
        case .variable(let n, _): return n
        case .list(let items, _): return "[" + items.map(shape).joined(separator: " ") + "]"
        case .record(let fields, _): return "{" + fields.map { "\($0.key): \(shape($0.value))" }.joined(separator: " ") + "}"
        case let .range(a, b, closed, _): return "(\(shape(a))\(closed ? "..." : "..<")\(shape(b)))"
        case let .unary(op, x, _): return "(\(op.rawValue) \(shape(x)))"
        case let .binary(op, a, b, _): return "(\(shape(a)) \(op.rawValue) \(shape(b)))"
        case let .logical(isAnd, a, b, _): return "(\(shape(a)) \(isAnd ? "and" : "or") \(shape(b)))"
        case let .call(f, args, _): return "\(shape(f))(" + args.map { ($0.label.map { "\($0): " } ?? "") + shape($0.value) }.joined(separator: " ") + ")"
        case let .index(b, subs, _):
            return "\(shape(b))[" + subs.map { s -> String in
                switch s {
                case .index(let e): return shape(e)
                case let .slice(a, b, c, _): return [a, b, c].map { $0.map(shape) ?? "_" }.joined(separator: ":")
                }
            }.joined(separator: " ") + "]"
        case let .member(b, name, _): return "\(shape(b)).\(name)"
        case .function(let f): return "fn(\(f.parameters.map(\.name).joined(separator: " ")))"
        }
    }

    private func expression(_ text: String) throws -> String {
        let statements = try Parser.parse(text)
        guard statements.count == 1, case .expression(let e) = statements[0] else { return "not one expression" }
        return shape(e)
    }

    @Test(arguments: [
        ("1 + 2 * 3", "(1 + (2 * 3))"),
        ("1 - 2 - 3", "((1 - 2) - 3)"),
        ("-2 ** 2", "(- (2 ** 2))"),
        ("2 ** 3 ** 2", "(2 ** (3 ** 2))"),
        ("2 ** -1", "(2 ** (- 1))"),
        ("a @ b + c", "((a @ b) + c)"),
        ("not a == b and c or d", "(((not (a == b)) and c) or d)"),
        ("0..<n + 1", "(0..<(n + 1))"),
        ("x[:, 1:3]", "x[_:_:_ 1:3:_]"),
        ("x[-1]", "x[(- 1)]"),
        ("x[::2]", "x[_:_:2]"),
        ("f(x, scale: 0.5)(y)", "f(x scale: 0.5)(y)"),
        ("rec.key.method(1)[0]", "rec.key.method(1)[0]"),
        ("{lr: 1e-4, \"a b\": [1, 2]}", "{lr: 0.0001 a b: [1 2]}"),
        ("fn(x) { x * 2 }(3)", "fn(x)(3)"),
        ("f(\n  1,\n  2\n)", "f(1 2)"),
        ("1 +\n 2", "(1 + 2)"),
    ])
    func precedenceAndShape(_ text: String, _ expected: String) throws {
        #expect(try expression(text) == expected)
    }

    @Test func statementsEndAtLineBreaksAndSemicolons() throws {
        #expect(try Parser.parse("let a = 1; let b = 2\nprint(a)\n\n").count == 3)
        #expect(try Parser.parse("if a { b } else if c { d }\nelse { e }").count == 1)
        #expect(try Parser.parse("fn f(a, b: 2) {\n  return a + b\n}\nf(1)").count == 2)
    }

    /// An open bracket, block or string at the end is incomplete; a real mistake is not.
    @Test(arguments: [
        ("f(1,", true), ("[1, 2", true), ("if x {", true), ("fn f(a) {\n  a +", true), ("\"abc", true),
        ("\"{x", true), ("let x =", true), ("{lr: 1", true),
        ("f(1))", false), ("let = 3", false), ("1 +* 2", false), ("x = = 1", false), ("\"a\" \"b\"", false),
        ("a < b < c", false), ("f(a: 1, 2)", false), ("@", false), ("let x = 1 2", false),
    ])
    func incompleteVersusError(_ text: String, _ incomplete: Bool) {
        do {
            _ = try Parser.parse(text)
            Issue.record("\(text) parsed")
        } catch let error as LanguageError {
            #expect(error.isSyntaxError)
            #expect(error.isIncomplete == incomplete, "\(text): \(error)")
        } catch {
            Issue.record("\(error)")
        }
    }

    @Test func interpolationKeepsLocations() throws {
        let statements = try Parser.parse("print(\"a {b + c} d\")")
        guard case .expression(.call(_, let args, _)) = statements[0], case .string(let parts, _) = args[0].value,
              case .expression(let e, _) = parts[1] else { Issue.record("not a call with an interpolation"); return }
        #expect(shape(e) == "(b + c)")
        #expect(e.location.line == 1 && e.location.column == 13)
    }
}
