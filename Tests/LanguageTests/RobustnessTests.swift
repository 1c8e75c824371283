import Engine
import Foundation
import Testing
@testable import Language

/// No input crashes the interpreter: deep recursion, deep nesting, huge shapes, garbage.
@Suite("Robustness", .serialized)
struct RobustnessTests {
    @Test func recursionWorksToAUsefulDepth() {
        let (output, error) = runScript("fn down(n) {\n if n == 0 { return 0 }\n return down(n - 1) + 1\n}\nprint(down(200))")
        #expect(error == nil, "\(error.map(String.init(describing:)) ?? "")")
        #expect(output == "200\n")
    }

    @Test func runawayRecursionIsAnError() {
        let (_, error) = runScript("fn f(n) { f(n + 1) }\nf(0)")
        #expect(error?.kind == .runtime && error?.message.contains("runaway recursion") == true)
        // The interpreter is usable afterwards.
        let interpreter = Interpreter()
        _ = runScript("fn g() { g() }\ng()", interpreter: interpreter)
        #expect(runScript("print(1 + 1)", interpreter: interpreter).output == "2\n")
    }

    @Test func deepNestingIsASyntaxErrorNotACrash() {
        let deep = String(repeating: "(", count: 5000) + "1" + String(repeating: ")", count: 5000)
        #expect(runScript(deep).error?.isSyntaxError == true)
        let long = Array(repeating: "1", count: 5000).joined(separator: " + ")
        #expect(runScript("print(\(long))").error?.message.contains("nested too deeply") == true)
        let lists = String(repeating: "[", count: 3000) + String(repeating: "]", count: 3000)
        #expect(runScript(lists).error != nil)
        let moderate = String(repeating: "(", count: 40) + "2" + String(repeating: ")", count: 40)
        #expect(runScript("print(\(moderate))").output == "2\n")
    }

    @Test func hugeAndBadShapesAreErrors() {
        for text in ["zeros([1e18, 1e18])", "zeros([-1])", "ones([1e300])", "randn([2.5])", "zeros([nan])",
                     "reshape(zeros([4]), [-1, -1])", "full([1e6, 1e6], 1)", "arange(0, 1e12)", "linspace(0, 1, count: 1e12)",
                     "range(0, 10, 0)", "tensor([[1, 2], [3]])", "[1, 2][1e300]", "\"abc\"[2.5]", "zeros([2])[5]",
                     "seed(-1)", "randn([2], seed: 1.5)", "1..<1e300", "x = 3", "break", "return 1"] {
            let (_, error) = runScript(text)
            #expect(error?.kind == .runtime, "\(text) → \(error.map(String.init(describing:)) ?? "no error")")
        }
    }

    /// Random token soup and mutated valid programs: only LanguageErrors, never a crash.
    @Test func garbageNeverCrashes() {
        let pieces = ["let", "fn", "(", ")", "[", "]", "{", "}", ",", ":", ";", ".", "..<", "...", "+", "-", "*", "/", "%",
                      "**", "@", "=", "==", "<", "and", "or", "not", "if", "else", "for", "in", "while", "break", "return",
                      "x", "f", "1", "0", "-1", "1e309", "\"s\"", "\"{x}\"", "\"{\"", "\n", "#c\n", "nil", "true", "\\",
                      "zeros", "sum", "print", "grad", "randn", "tensor", "x[0]", "x.T", "fn(a) { a }", "sweep", "$", "'"]
        var generator = SystemRandomNumberGenerator()
        let interpreter = Interpreter()
        interpreter.output = { _ in }
        interpreter.diagnostics = { _ in }
        interpreter.maximumCallDepth = 50
        _ = try? interpreter.run("let x = zeros([2, 3]); fn f(a, b: 1) { a }")
        for _ in 0..<3000 {
            let count = Int.random(in: 1...14, using: &generator)
            let text = (0..<count).map { _ in pieces.randomElement(using: &generator)! }.joined(separator: " ")
            do {
                try interpreter.run(text, name: "fuzz.snp")
            } catch let error as LanguageError {
                _ = error.description
            } catch {
                Issue.record("\(text) threw a non-language error: \(error)")
            }
        }
        let valid = "let a = [1, 2, 3]\nfn g(v) { sum(tensor(v) * 2) }\nprint(\"{g(a):.1f}\")\nfor i in 0..<3 { a[i] = i }"
        let scalars = Array(valid.unicodeScalars)
        for _ in 0..<1500 {
            var mutated = scalars
            for _ in 0..<Int.random(in: 1...3, using: &generator) {
                let i = Int.random(in: 0..<mutated.count, using: &generator)
                switch Int.random(in: 0..<3, using: &generator) {
                case 0: mutated.remove(at: i)
                case 1: mutated.insert(scalars.randomElement(using: &generator)!, at: i)
                default: mutated[i] = scalars.randomElement(using: &generator)!
                }
                if mutated.isEmpty { mutated = scalars }
            }
            var text = ""
            text.unicodeScalars.append(contentsOf: mutated)
            do { try interpreter.run(text) } catch is LanguageError {} catch { Issue.record("\(text): \(error)") }
        }
    }

    @Test func interruptionStopsALoopAndKeepsVariables() {
        let interpreter = Interpreter()
        var output = ""
        interpreter.output = { output += $0 }
        _ = runScript("let total = 0", interpreter: interpreter)
        Interruption.request()
        let (_, error) = runScript("for i in 0..<1000000 { total += 1 }", interpreter: interpreter)
        #expect(error?.kind == .interrupted)
        #expect(!Interruption.isRequested)
        #expect(runScript("print(total < 1000000)", interpreter: interpreter).output == "true\n")
    }
}

extension RobustnessTests {
    @Test func longRangesAreNotListed() {
        #expect(runScript("print((0..<9e15)[5], len(0...9e14))").output == "5 900000000000001\n")
        for text in ["(0..<9e15)[1:3]", "sum(0..<9e15)", "sweep(fn(a) { a }, over: {a: 0..<9e15})", "plot(0..<9e15)"] {
            #expect(runScript(text).error?.message.contains("too ") == true, "\(text)")
        }
    }
}
