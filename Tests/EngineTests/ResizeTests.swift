import Engine
import Foundation
import Testing

@Suite("Bicubic resampling")
struct ResizeTests {
    /// Every case of torch_bicubic.json (Scripts/make_engine_fixtures.py --only torch_bicubic):
    /// F.interpolate(mode="bicubic", align_corners=False) in float32, up- and down-sampling.
    @Test func bicubicMatchesTorch() throws {
        let cases = try fixture("torch_bicubic")["cases"] as! [[String: Any]]
        #expect(cases.count == 6)
        var worst: Float = 0
        for c in cases {
            let x = try tensor(fromJSON: c["input"]), expected = try tensor(fromJSON: c["output"])
            let size = c["size"] as! [Int]
            let y = try x.resizeBicubic(height: size[0], width: size[1])
            #expect(y.shape == expected.shape, "\(c["name"]!)")
            guard y.shape == expected.shape else { continue }
            let error = maxAbsDifference(y, expected)
            worst = Swift.max(worst, error)
            #expect(error <= 5e-6, "\(c["name"]!): max |Δ| \(error)")
        }
        print("bicubic vs torch: max |Δ| \(worst)")
    }

    @Test func bicubicWeights() throws {
        // Same size: the identity; each row of any resampling sums to 1 (constants stay constant).
        let same = try Tensor.bicubicWeights(from: 5, to: 5)
        #expect(same.scalars == Tensor.eye(5).scalars)
        for (n, m) in [(10, 24), (17, 6), (1, 3), (4, 1)] {
            let w = try Tensor.bicubicWeights(from: n, to: m)
            #expect(w.shape == [m, n])
            for row in 0..<m {
                let sum = (0..<n).reduce(Float(0)) { $0 + w.scalars[row * n + $1] }
                #expect(Swift.abs(sum - 1) < 1e-6, "\(n) → \(m) row \(row): \(sum)")
            }
        }
        let flat = try Tensor.full([2, 3, 7, 5], 0.25).resizeBicubic(height: 12, width: 3)
        #expect(flat.shape == [2, 3, 12, 3])
        #expect(flat.scalars.allSatisfy { Swift.abs($0 - 0.25) < 1e-6 })
    }
}
