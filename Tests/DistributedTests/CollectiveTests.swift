import Distributed
import Foundation
import Testing

/// A rank of a group that exists only on paper: enough to check how batches are split.
private final class PaperRank: Collective {
    let rank: Int, size: Int
    init(_ rank: Int, of size: Int) { (self.rank, self.size) = (rank, size) }
    var transport: String { "paper" }
    func allReduceSum(_ values: inout [Float]) {}
    func allReduceSum(_ values: inout [Double]) {}
    func allGather(_ bytes: [UInt8]) -> [[UInt8]] { [bytes] }
    func broadcast(_ bytes: [UInt8], root: Int) -> [UInt8] { bytes }
    func barrier() {}
    func abort(_ message: String, code: Int32) -> Never { fatalError(message) }
}

@Suite("Collectives")
struct CollectiveTests {
    @Test func sharesCoverTheBatchOnceInRankOrder() {
        for size in 1...5 {
            for count in size...13 {
                let shares = (0..<size).map { PaperRank($0, of: size).share(of: count) }
                #expect(shares.first?.lowerBound == 0 && shares.last?.upperBound == count, "\(count) over \(size): \(shares)")
                for (a, b) in zip(shares, shares.dropFirst()) { #expect(a.upperBound == b.lowerBound) }
                // Balanced: no two ranks differ by more than one row; the earlier ranks take the extra rows.
                let sizes = shares.map(\.count)
                #expect(sizes.max()! - sizes.min()! <= 1 && sizes == sizes.sorted(by: >), "\(sizes)")
            }
        }
        #expect(PaperRank(1, of: 3).share(of: 8) == 3..<6)
    }

    @Test func oneProcessIsTheIdentity() throws {
        let one = SingleProcess()
        var values: [Float] = [1, -2, 3.5]
        try one.allReduceSum(&values)
        #expect(values == [1, -2, 3.5])
        #expect(try one.allGather([7, 8]) == [[7, 8]])
        #expect(try one.any(true) && !(try one.any(false)))
        #expect(one.share(of: 5) == 0..<5 && one.isRoot)
    }

    @Test func currentFollowsTheInnermostGroup() throws {
        #expect(Collectives.current.size == 1)
        let paper = PaperRank(1, of: 2)
        let seen = Collectives.run(on: paper) { (Collectives.current.rank, Collectives.alone { Collectives.current.size }) }
        #expect(seen == (1, 1))
        #expect(Collectives.current.rank == 0 && Collectives.current.size == 1)
        // One process writes, and a write's error comes back unchanged.
        var wrote = false
        try Collectives.rootWrites { wrote = true }
        #expect(wrote)
        #expect(throws: CocoaError.self) { try Collectives.rootWrites { throw CocoaError(.fileWriteNoPermission) } }
    }

    @Test func noLauncherMeansOneProcess() throws {
        let world = try Collectives.startFromEnvironment([:])
        #expect(world.size == 1 && world.transport == "one process")
    }

    @Test func aLauncherWithoutALibraryIsAClearError() {
        do {
            _ = try Collectives.startFromEnvironment(["OMPI_COMM_WORLD_SIZE": "2", "SNP_MPI_LIBRARY": "/nonexistent/libmpi.so"])
            Issue.record("no error")
        } catch {
            let text = "\(error)"
            #expect(text.contains("MPI is not available") && text.contains("/nonexistent/libmpi.so") && text.contains("SNP_MPI_LIBRARY"), "\(text)")
        }
    }
}
