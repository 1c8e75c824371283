// Language: the .snp mini-language — lexer, parser, tree-walking interpreter, builtin registry.
// The top library layer of ARCHITECTURE.md: the only place that knows about .snp values.
//
// Source text → `Lexer` (tokens) → `Parser` (AST of `Expr` / `Stmt` with locations) →
// `Interpreter` (environments, closures, `Value`s). Every builtin is one `Builtin` in a
// `BuiltinRegistry`, grouped by domain (`Builtins+Core.swift`, `Builtins+Tensor.swift`, …);
// `help`, Docs/language.md and the REPL's completion all read that registry.
//
//     let interpreter = Interpreter()
//     try interpreter.run("let x = randn([2, 3], seed: 1)\nprint(sum(x ** 2))", name: "demo.snp")
import Engine
