import Engine
import Testing
@testable import Language

/// `grad` on hand-written `.snp` functions agrees with central finite differences.
@Suite("Gradients")
struct GradientTests {
    @Test(arguments: [
        "fn(w) { sum(tanh(w @ x) ** 2) + mean(exp(w)) }",
        "fn(w) { mean(softmax(w @ x, axis: -1) * x[0:3, :]) + sum(sigmoid(w) * silu(w)) }",
        "fn(w) { sum(clamp(w, min: -0.5) ** 3) / (1 + sum(abs(w))) + max(gelu(w)) }",
    ])
    func matchesFiniteDifferences(_ function: String) throws {
        let interpreter = Interpreter()
        interpreter.output = { _ in }
        try interpreter.run("let x = randn([4, 2], seed: 3)\nlet w0 = randn([3, 4], seed: 4)\nlet f = \(function)\nlet g = grad(f, wrt: w0)")
        guard case .tensor(let w0)? = interpreter.globals.lookup("w0"), case .tensor(let g)? = interpreter.globals.lookup("g"),
              case .function(let f)? = interpreter.globals.lookup("f") else {
            Issue.record("missing values"); return
        }
        func value(_ w: [Float]) throws -> Double {
            let result = try interpreter.call(f, [.tensor(try Tensor(w, shape: w0.shape))], at: nil)
            guard case .tensor(let t) = result else { throw RuntimeError("f returned \(result.described)") }
            return Double(try t.item())
        }
        let base = w0.scalars, analytic = g.scalars
        let h: Float = 1e-2
        var worst = 0.0
        for i in base.indices {
            var plus = base, minus = base
            plus[i] += h
            minus[i] -= h
            let numeric = (try value(plus) - value(minus)) / Double(2 * h)
            worst = max(worst, abs(numeric - Double(analytic[i])) / max(1, abs(numeric)))
        }
        #expect(worst < 2e-2, "worst relative difference \(worst)")
        // grad leaves the tensor as it found it.
        #expect(!w0.requiresGrad && w0.grad == nil)
    }

    /// Gradient descent written in .snp fits a line.
    @Test func gradientDescentConverges() {
        let (output, error) = runScript("""
            let x = linspace(-1, 1, count: 20)
            let y = 3 * x - 0.5
            let p = tensor([0, 0])
            fn loss(p) { mean((p[0] * x + p[1] - y) ** 2) }
            for step in 0..<300 { p = p - 0.5 * grad(loss, wrt: p) }
            print("{p[0]:.3f} {p[1]:.3f} {loss(p):.1e}")
            """)
        #expect(error == nil)
        #expect(output.hasPrefix("3.000 -0.500"))
    }
}
