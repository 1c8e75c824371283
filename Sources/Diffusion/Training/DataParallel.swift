import Distributed
import Engine
import Foundation

/// One rank's part of a data-parallel step: the batch's rows `rows` of `total`.
///
/// Every rank draws the random numbers of the whole batch (timesteps, noise, prompt dropout, κ)
/// from the run's one generator, exactly as a single process does, and keeps its own rows. So N
/// ranks with batch B take the same draws as one process with batch B, a checkpoint's generator
/// position means the same at any rank count, and a run resumes on more or fewer ranks. The
/// draws are a few numbers per pixel; the networks, which cost, run on the rank's rows only.
///
/// A rank's loss is its rows' mean times `fraction` (its share of the batch), so the gradients
/// summed over the ranks (`allReduceGradients`) are the batch mean's, and every optimizer then
/// takes the same step.
public struct BatchShare {
    public let total: Int
    public let rows: Range<Int>
    public let collective: any Collective

    /// This rank's rows of a batch of `batch` over `collective` (default: the current group).
    public init(batch: Int, over collective: any Collective = Collectives.current) throws {
        guard batch >= collective.size else {
            throw TrainingError.invalidOptions("a batch of \(batch) cannot be split over \(collective.size) ranks: give a batch of at least \(collective.size)")
        }
        self.total = batch
        self.collective = collective
        rows = collective.share(of: batch)
    }

    /// True when this process computes the whole batch (one rank).
    public var isWhole: Bool { rows.count == total }

    /// This rank's rows over the batch: the weight of a mean over its rows in the batch mean.
    public var fraction: Float { Float(rows.count) / Float(total) }

    /// This rank's rows of a batch-shaped tensor (axis 0 of length `total`).
    public func mine(_ tensor: Tensor) throws -> Tensor {
        isWhole ? tensor : try tensor.slice(axis: 0, start: rows.lowerBound, end: rows.upperBound)
    }

    /// This rank's rows of a batch-long list.
    public func mine<T>(_ values: [T]) -> [T] { isWhole ? values : Array(values[rows]) }

    /// A mean over this rank's rows, weighted to its part of the batch mean (the loss to backward).
    public func weighted(_ mean: Tensor) throws -> Tensor { isWhole ? mean : try mean * fraction }

    /// Sums the gradients of `parameters` over the ranks, in place (a parameter without a
    /// gradient has none on any rank: every rank ran the same graph). One message per call.
    public func allReduceGradients(_ parameters: [Tensor]) throws {
        guard collective.size > 1 else { return }
        let withGrad = parameters.filter { $0.grad != nil }
        var flat: [Float] = []
        flat.reserveCapacity(withGrad.reduce(0) { $0 + $1.count })
        for p in withGrad { flat += p.grad!.scalars }
        try collective.allReduceSum(&flat)
        var offset = 0
        for p in withGrad {
            p.grad = try Tensor(Array(flat[offset..<(offset + p.count)]), shape: p.shape)
            offset += p.count
        }
    }

    /// Metrics summed over the ranks (each rank gives its `fraction`-weighted part of a batch mean).
    public func sum(_ metrics: [String: Double]) throws -> [String: Double] {
        guard collective.size > 1 else { return metrics }
        let names = metrics.keys.sorted()
        var values = names.map { metrics[$0]! }
        try collective.allReduceSum(&values)
        return Dictionary(uniqueKeysWithValues: zip(names, values))
    }
}

extension Collective {
    /// Every rank's `part` [n_r, …] concatenated along axis 0 in rank order, on every rank (the
    /// images of an evaluation split over ranks, gathered to be measured together).
    public func gatherRows(_ part: Tensor) throws -> Tensor {
        guard size > 1 else { return part }
        let bytes = part.scalars.withUnsafeBytes { Array($0) }
        let parts = try allGather(bytes)
        var rows = 0
        var all: [Float] = []
        for (r, data) in parts.enumerated() {
            let count = data.count / MemoryLayout<Float>.size
            let tail = Array(part.shape.dropFirst()), perRow = tail.reduce(1, *)
            guard perRow > 0, count % perRow == 0 else {
                throw TrainingError.invalidOptions("rank \(r) gathered \(count) values, not whole rows of \(tail)")
            }
            rows += count / perRow
            all += data.withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }
        }
        return try Tensor(all, shape: [rows] + Array(part.shape.dropFirst()))
    }

    /// `body` on this rank's share of `count` items, its results gathered in order on every rank.
    public func splitRows(_ count: Int, _ body: (Range<Int>) throws -> Tensor) throws -> Tensor {
        guard count >= size else {
            throw TrainingError.invalidOptions("\(count) items cannot be split over \(size) ranks: give at least \(size)")
        }
        return try gatherRows(try body(share(of: count)))
    }
}
