import Engine
import Foundation
import Testing

/// A tensor of seeded standard-normal values (or values in [low, high) when given).
func sample(_ shape: [Int], seed: UInt64, low: Float? = nil, high: Float? = nil) -> Tensor {
    if let low, let high { return try! Tensor.rand(shape, low: low, high: high, generator: RandomGenerator(seed: seed)) }
    return try! Tensor.randn(shape, generator: RandomGenerator(seed: seed))
}

/// Largest |a − b| over two same-shaped tensors.
func maxAbsDifference(_ a: Tensor, _ b: Tensor) -> Float {
    precondition(a.shape == b.shape, "shapes \(a.shape) vs \(b.shape)")
    return zip(a.scalars, b.scalars).map { Swift.abs($0 - $1) }.max() ?? 0
}

/// Expects two tensors to agree elementwise within |a − b| ≤ atol + rtol·|b|.
func expectClose(_ a: Tensor, _ b: Tensor, atol: Float = 1e-5, rtol: Float = 1e-4,
                 _ what: @autoclosure () -> String = "", sourceLocation: SourceLocation = #_sourceLocation) {
    #expect(a.shape == b.shape, "\(what()): shape \(a.shape) vs \(b.shape)", sourceLocation: sourceLocation)
    guard a.shape == b.shape else { return }
    let (x, y) = (a.scalars, b.scalars)
    var worst = 0, excess: Float = 0
    for i in x.indices {
        let e = Swift.abs(x[i] - y[i]) - (atol + rtol * Swift.abs(y[i]))
        if e > excess || (x[i].isNaN != y[i].isNaN) { excess = e.isNaN ? .infinity : e; worst = i }
    }
    #expect(excess <= 0, "\(what()): element \(worst): \(x.isEmpty ? 0 : x[worst]) vs \(y.isEmpty ? 0 : y[worst])",
            sourceLocation: sourceLocation)
}

/// The one gradient check used for every differentiable op: compares backward() with central
/// finite differences of L = Σ f(inputs) ⊙ u for a fixed random u, on every element of every input.
/// Inputs are perturbed in Float32, so `epsilon` is large-ish and tolerances are set for it.
func checkGradients(_ inputs: [Tensor], epsilon: Float = 1e-2, atol: Float = 5e-3, rtol: Float = 1e-2,
                    _ what: String = "", sourceLocation: SourceLocation = #_sourceLocation,
                    _ f: ([Tensor]) throws -> Tensor) throws {
    let leaves = inputs.map { $0.copy().requiringGrad() }
    let out = try f(leaves)
    let upstream = sample(out.shape, seed: 99)
    func loss(_ xs: [Tensor]) throws -> Double {
        let y = try noGrad { try f(xs) }
        return zip(y.scalars, upstream.scalars).reduce(0.0) { $0 + Double($1.0) * Double($1.1) }
    }
    try (out * upstream).sum().backward()
    for (k, leaf) in leaves.enumerated() {
        let analytic = leaf.grad ?? Tensor.zeros(leaf.shape)
        let probe = leaves.map { $0.copy() }
        let p = probe[k]
        var numeric = [Float](repeating: 0, count: p.count)
        for i in 0..<p.count {
            let original = p.storage.pointer[i]
            p.storage.pointer[i] = original + epsilon
            let up = try loss(probe)
            p.storage.pointer[i] = original - epsilon
            let down = try loss(probe)
            p.storage.pointer[i] = original
            numeric[i] = Float((up - down) / (2 * Double(epsilon)))
        }
        expectClose(analytic, try Tensor(numeric, shape: p.shape), atol: atol, rtol: rtol,
                    "\(what) gradient of input \(k)", sourceLocation: sourceLocation)
    }
}

/// Expects `body` to throw an `EngineError` whose message contains every one of `fragments`.
func expectEngineError(_ fragments: String..., sourceLocation: SourceLocation = #_sourceLocation, _ body: () throws -> Void) {
    do {
        try body()
        Issue.record("expected an error mentioning \(fragments)", sourceLocation: sourceLocation)
    } catch let error as EngineError {
        let message = error.description
        for f in fragments {
            #expect(message.contains(f), "message \"\(message)\" lacks \"\(f)\"", sourceLocation: sourceLocation)
        }
    } catch {
        Issue.record("expected an EngineError, got \(error)", sourceLocation: sourceLocation)
    }
}

/// Loads a JSON fixture from the test bundle's Fixtures folder.
func fixture(_ name: String) throws -> [String: Any] {
    guard let url = Bundle.module.url(forResource: name, withExtension: "json", subdirectory: "Fixtures") else {
        throw FixtureError.missing(name)
    }
    let object = try JSONSerialization.jsonObject(with: Data(contentsOf: url))
    guard let dict = object as? [String: Any] else { throw FixtureError.malformed(name) }
    return dict
}

enum FixtureError: Error { case missing(String), malformed(String) }

/// `{"shape": [...], "data": [...]}` → Tensor.
func tensor(fromJSON value: Any?) throws -> Tensor {
    guard let dict = value as? [String: Any], let shape = dict["shape"] as? [Int], let data = dict["data"] as? [Double] else {
        throw FixtureError.malformed("tensor \(String(describing: value).prefix(80))")
    }
    return try Tensor(data.map { Float($0) }, shape: shape)
}
