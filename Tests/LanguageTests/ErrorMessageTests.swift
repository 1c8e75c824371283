import Testing
@testable import Language

/// The exact text of errors: `FILE:LINE:COL: error: MESSAGE`, the line, a caret.
@Suite("Error messages")
struct ErrorMessageTests {
    private func message(_ text: String) -> String {
        let (_, error) = runScript(text, name: "demo.snp")
        return error.map(String.init(describing:)) ?? "no error"
    }

    @Test func syntaxErrorPointsAtTheToken() {
        #expect(message("let x = 1\nlet y = (2 +* 3)") == """
            demo.snp:2:13: error: expected an expression, got '*'
            let y = (2 +* 3)
                        ^
            """)
    }

    @Test func typeErrorPointsAtTheArgument() {
        #expect(message("let x = randn([2, 3], seed: 0)\nlet y = sum(x, axis: \"x\")") == """
            demo.snp:2:16: error: sum(): axis must be an axis (an integer) or a list of axes, got string "x"
            let y = sum(x, axis: "x")
                           ^
            """)
    }

    @Test func engineErrorPointsAtTheOperator() {
        #expect(message("let a = zeros([2, 3])\nlet c = a @ zeros([4, 5])") == """
            demo.snp:2:11: error: matmul: inner dimensions differ (3 vs 4): [2,3], [4,5]
            let c = a @ zeros([4, 5])
                      ^
            """)
    }

    @Test func builtinEngineErrorPointsAtTheCall() {
        #expect(message("reshape(zeros([2, 3]), [4])") == """
            demo.snp:1:8: error: reshape: 6 elements cannot take the new shape: [2,3], [4]
            reshape(zeros([2, 3]), [4])
                   ^
            """)
    }

    @Test func unterminatedStringIsAtItsQuote() {
        #expect(message("print(1)\n  let s = \"abc") == """
            demo.snp:2:11: error: unterminated string
              let s = "abc
                      ^
            """)
    }

    @Test func undefinedNameSuggests() {
        #expect(message("let steps = 3\nprint(step)") == """
            demo.snp:2:7: error: 'step' is not defined; did you mean 'steps'?
            print(step)
                  ^
            """)
    }

    @Test func errorInsideAFunctionIsWhereItHappened() {
        #expect(message("fn f(x) {\n  return x + \"a\"\n}\nf(1)") == """
            demo.snp:2:12: error: '+' cannot combine number 1 and string "a"
              return x + "a"
                       ^
            """)
    }

    @Test func missingArgumentNamesTheBuiltin() {
        #expect(message("full([2])") == """
            demo.snp:1:5: error: full(): missing argument 'value'; see help("full")
            full([2])
                ^
            """)
    }

    @Test func conditionMustBeABool() {
        #expect(message("if 1 { print(2) }") == """
            demo.snp:1:4: error: if: the condition must be true or false, got number 1
            if 1 { print(2) }
               ^
            """)
    }
}
