import Engine
import Foundation
import Testing

/// The folder of a fixture under Tests/ModelsTests/Fixtures.
func fixtureFolder(_ name: String) throws -> String {
    guard let url = Bundle.module.url(forResource: name, withExtension: nil, subdirectory: "Fixtures") else {
        throw FixtureMissing(name: name)
    }
    return url.path
}

struct FixtureMissing: Error, CustomStringConvertible {
    let name: String
    var description: String { "fixture \(name) is missing (run Scripts/make_parity_fixtures.py)" }
}

/// Largest |a − b| and largest |a − b| / max|b| over two tensors of the same shape.
func errors(_ a: Tensor, _ b: Tensor) -> (absolute: Float, relative: Float) {
    let (x, y) = (a.scalars, b.scalars)
    let absolute = zip(x, y).map { Swift.abs($0 - $1) }.max() ?? 0
    let scale = y.map { Swift.abs($0) }.max() ?? 1
    return (absolute, absolute / Swift.max(scale, 1e-12))
}

func sample(_ shape: [Int], seed: UInt64) -> Tensor {
    try! Tensor.randn(shape, generator: RandomGenerator(seed: seed))
}
