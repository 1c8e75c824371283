import Foundation

/// The processes one computation is spread over, and what they do together. Trainers call it
/// after backward (`DataParallel` in Diffusion): every rank computes the gradient of its share of
/// the batch, the sums are all-reduced, and every optimizer then takes the same step.
///
/// Every operation is collective: each rank of the group must call it, in the same order, with
/// buffers of the same length. Sums are taken in an order fixed by the ranks alone (never by which
/// message arrives first), so a run's numbers do not depend on timing, and every rank ends with
/// bit-identical results.
public protocol Collective: AnyObject {
    /// This process's place in the group, 0 ..< size.
    var rank: Int { get }
    var size: Int { get }
    /// What carries the messages, for progress lines and errors ("one process", "Open MPI 4.1.4").
    var transport: String { get }
    /// Replaces `values` on every rank by the element-wise sum over the ranks.
    func allReduceSum(_ values: inout [Float]) throws
    func allReduceSum(_ values: inout [Double]) throws
    /// Every rank's `bytes` (any length), in rank order, on every rank.
    func allGather(_ bytes: [UInt8]) throws -> [[UInt8]]
    /// Rank `root`'s `bytes` on every rank.
    func broadcast(_ bytes: [UInt8], root: Int) throws -> [UInt8]
    /// Returns when every rank has called it.
    func barrier() throws
    /// Stops every process of the whole job at once (after `message` went to standard error).
    func abort(_ message: String, code: Int32) -> Never
}

extension Collective {
    /// True when this rank writes what the group produces (files, progress, printed output).
    public var isRoot: Bool { rank == 0 }

    /// True on every rank when `flag` is true on any (a Ctrl-C one rank saw, a failure one rank met).
    public func any(_ flag: Bool) throws -> Bool {
        guard size > 1 else { return flag }
        var values = [flag ? 1.0 : 0]
        try allReduceSum(&values)
        return values[0] > 0
    }

    /// The rows of a batch of `count` this rank computes: contiguous, in rank order, the first
    /// `count % size` ranks one row more.
    public func share(of count: Int) -> Range<Int> {
        let base = count / size, extra = count % size
        let start = rank * base + Swift.min(rank, extra)
        return start..<(start + base + (rank < extra ? 1 : 0))
    }
}

/// Why a collective operation failed.
public enum DistributedError: Error, CustomStringConvertible {
    /// The MPI library could not be loaded or initialised.
    case unavailable(String)
    /// An MPI call returned an error code.
    case call(String, code: Int32)
    /// Buffers or arguments that cannot work (different lengths on two ranks, too large a message).
    case invalid(String)

    public var description: String {
        switch self {
        case .unavailable(let why): return "MPI is not available: \(why)"
        case let .call(name, code): return "\(name) failed with MPI error \(code)"
        case .invalid(let why): return why
        }
    }
}

/// One process alone: every collective is the identity. What runs when Snoopi is not started by
/// `mpirun`, and what each sweep point runs under when a sweep spreads its points over ranks.
public final class SingleProcess: Collective {
    public init() {}
    public var rank: Int { 0 }
    public var size: Int { 1 }
    public var transport: String { "one process" }
    public func allReduceSum(_ values: inout [Float]) {}
    public func allReduceSum(_ values: inout [Double]) {}
    public func allGather(_ bytes: [UInt8]) -> [[UInt8]] { [bytes] }
    public func broadcast(_ bytes: [UInt8], root: Int) -> [UInt8] { bytes }
    public func barrier() {}
    public func abort(_ message: String, code: Int32) -> Never {
        FileHandle.standardError.write(Data((message + "\n").utf8))
        exit(code)
    }
}

/// The group computations run over: the whole job (`world`), or one process while a sweep point
/// or a root-only section runs (`alone`).
public enum Collectives {
    private static let lock = NSLock()
    nonisolated(unsafe) private static var worldGroup: any Collective = SingleProcess()
    nonisolated(unsafe) private static var stack: [any Collective] = []

    /// Every process of the job (`SingleProcess` unless `startFromEnvironment` found `mpirun`).
    public static var world: any Collective { lock.withLock { worldGroup } }

    /// The group new trainers, evaluations and file writes use: the innermost `run(on:)`, else `world`.
    public static var current: any Collective { lock.withLock { stack.last ?? worldGroup } }

    /// Runs `body` with `group` as `current`.
    public static func run<T>(on group: any Collective, _ body: () throws -> T) rethrows -> T {
        lock.withLock { stack.append(group) }
        defer { _ = lock.withLock { stack.removeLast() } }
        return try body()
    }

    /// Runs `body` as a single process (a sweep point on one rank; the root's own writes).
    public static func alone<T>(_ body: () throws -> T) rethrows -> T { try run(on: SingleProcess(), body) }

    /// Joins the MPI job this process was started in, when it was (`mpirun`/`srun` set
    /// `OMPI_COMM_WORLD_SIZE` or `PMIX_RANK`), and makes it `world`. Returns the world. Without
    /// such a launcher it does nothing; with one but no loadable Open MPI it throws.
    @discardableResult
    public static func startFromEnvironment(_ environment: [String: String] = ProcessInfo.processInfo.environment) throws -> any Collective {
        guard MPICollective.launched(environment) else { return world }
        let mpi = try MPICollective(environment: environment)
        lock.withLock { worldGroup = mpi }
        return mpi
    }

    /// Ends the job's MPI side with this process's exit `code`: 0 finalises; anything else under
    /// more than one rank aborts the whole job, so the other ranks stop now instead of waiting
    /// forever for this one. Then exits.
    public static func finish(code: Int32) -> Never {
        let world = self.world
        if let mpi = world as? MPICollective {
            if code != 0 && mpi.size > 1 {
                mpi.abort("snp: rank \(mpi.rank) of \(mpi.size) stopped with exit status \(code); stopping every rank", code: code)
            }
            mpi.finalize()
        }
        exit(code)
    }
}

extension Collectives {
    /// A file write under the current group: the root alone writes and the other ranks wait until
    /// it has (so a file one rank reads right after the write is there on a shared file system).
    /// A write that fails on the root throws on every rank. One process: just `write()`.
    public static func rootWrites(_ write: () throws -> Void) throws {
        let group = current
        guard group.size > 1 else { return try write() }
        var failure: Error?
        if group.isRoot {
            do { try alone(write) } catch { failure = error }
        }
        let failed = try group.any(failure != nil)
        if let failure { throw failure }
        if failed { throw DistributedError.invalid("rank 0 could not write a file (its message says why)") }
    }
}
