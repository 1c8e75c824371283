#if canImport(Glibc)
import Glibc
#endif
import Foundation

/// Open MPI, loaded at run time (`dlopen`), so Snoopi builds and runs where MPI is not installed
/// and needs no MPI headers to compile. The handles (`MPI_COMM_WORLD`, `MPI_BYTE`…) are Open MPI's
/// exported objects, whose addresses its `mpi.h` macros take; `SNP_MPI_LIBRARY` names another
/// `libmpi.so` of the same ABI.
///
/// Reductions are a ring (reduce-scatter, then all-gather) over `MPI_Sendrecv`: each segment is
/// summed along the ring in rank order from a fixed starting rank, so the result depends on the
/// ranks only, never on message timing, and every rank ends with the same bits. Each rank sends
/// 2·(N−1)/N of the buffer per all-reduce (what a bandwidth-optimal all-reduce sends).
public final class MPICollective: Collective {
    public let rank: Int
    public let size: Int
    public let transport: String
    private let api: API
    private var finalized = false

    /// True when this process was started by an MPI launcher.
    static func launched(_ environment: [String: String]) -> Bool {
        environment["OMPI_COMM_WORLD_SIZE"] != nil || environment["PMIX_RANK"] != nil
    }

    init(environment: [String: String]) throws {
        api = try API.load(environment["SNP_MPI_LIBRARY"])
        var initialized: Int32 = 0
        _ = api.initialized(&initialized)
        if initialized == 0 {
            let code = api.initialize(nil, nil)
            guard code == 0 else { throw DistributedError.call("MPI_Init", code: code) }
        }
        var r: Int32 = 0, s: Int32 = 0
        _ = api.commRank(api.world, &r)
        _ = api.commSize(api.world, &s)
        rank = Int(r)
        size = Int(s)
        var version = [CChar](repeating: 0, count: 512), length: Int32 = 0
        _ = api.libraryVersion(&version, &length)
        let text = String(cString: version).split(separator: ",").first.map(String.init) ?? "MPI"
        transport = text.trimmingCharacters(in: .whitespaces)
    }

    func finalize() {
        guard !finalized else { return }
        finalized = true
        _ = api.finalize()
    }

    private func check(_ code: Int32, _ name: String) throws {
        guard code == 0 else { throw DistributedError.call(name, code: code) }
    }

    public func barrier() throws { try check(api.barrier(api.world), "MPI_Barrier") }

    public func abort(_ message: String, code: Int32) -> Never {
        FileHandle.standardError.write(Data((message + "\n").utf8))
        _ = api.abort(api.world, code == 0 ? 1 : code)
        exit(code)
    }

    public func allReduceSum(_ values: inout [Float]) throws { try ring(&values) }
    public func allReduceSum(_ values: inout [Double]) throws { try ring(&values) }

    /// The ring all-reduce of `values` (element-wise sum), in place.
    private func ring<T: BinaryFloatingPoint>(_ values: inout [T]) throws {
        guard size > 1, !values.isEmpty else { return }
        try sameCount(values.count, what: "all-reduce")
        let n = size, stride = MemoryLayout<T>.stride
        // Segment k: elements bounds[k] ..< bounds[k + 1].
        let bounds = (0...n).map { values.count * $0 / n }
        let longest = (0..<n).map { bounds[$0 + 1] - bounds[$0] }.max()!
        var incoming = [T](repeating: 0, count: longest)
        let next = Int32((rank + 1) % n), previous = Int32((rank + n - 1) % n)
        func exchange(send: Int, receive: Int, tag: Int32) throws {
            let sendCount = bounds[send + 1] - bounds[send], receiveCount = bounds[receive + 1] - bounds[receive]
            guard sendCount * stride < Int(Int32.max), receiveCount * stride < Int(Int32.max) else {
                throw DistributedError.invalid("an all-reduce segment of \(sendCount * stride) bytes is over MPI's 2 GiB message limit")
            }
            let code = values.withUnsafeBufferPointer { out in
                incoming.withUnsafeMutableBufferPointer { into in
                    api.sendrecv(UnsafeRawPointer(out.baseAddress! + bounds[send]), Int32(sendCount * stride), api.byte, next, tag,
                                 UnsafeMutableRawPointer(into.baseAddress!), Int32(receiveCount * stride), api.byte, previous, tag,
                                 api.world, nil)
                }
            }
            try check(code, "MPI_Sendrecv")
        }
        // Reduce-scatter: after step s, segment (rank − s − 1) mod n holds the sum of s + 2 ranks.
        for s in 0..<(n - 1) {
            let send = (rank - s + 2 * n) % n, receive = (rank - s - 1 + 2 * n) % n
            try exchange(send: send, receive: receive, tag: 1)
            for i in bounds[receive]..<bounds[receive + 1] { values[i] = incoming[i - bounds[receive]] + values[i] }
        }
        // All-gather: rank r owns the finished segment (r + 1) mod n; pass the finished segments on.
        for s in 0..<(n - 1) {
            let send = (rank + 1 - s + 2 * n) % n, receive = (rank - s + 2 * n) % n
            try exchange(send: send, receive: receive, tag: 2)
            for i in bounds[receive]..<bounds[receive + 1] { values[i] = incoming[i - bounds[receive]] }
        }
    }

    /// Throws on every rank when the ranks do not all give `count` (which would otherwise hang).
    private func sameCount(_ count: Int, what: String) throws {
        let counts = try gatherInts(count)
        guard Set(counts).count == 1 else {
            throw DistributedError.invalid("\(what): the ranks gave buffers of different lengths \(counts) (they ran different code or data)")
        }
    }

    private func gatherInts(_ value: Int) throws -> [Int] {
        var mine = Int64(value)
        var all = [Int64](repeating: 0, count: size)
        let code = all.withUnsafeMutableBytes { out in
            api.allgather(&mine, 8, api.byte, out.baseAddress!, 8, api.byte, api.world)
        }
        try check(code, "MPI_Allgather")
        return all.map(Int.init)
    }

    public func allGather(_ bytes: [UInt8]) throws -> [[UInt8]] {
        let counts = try gatherInts(bytes.count)
        guard counts.reduce(0, +) < Int(Int32.max) else {
            throw DistributedError.invalid("an all-gather of \(counts.reduce(0, +)) bytes is over MPI's 2 GiB message limit")
        }
        var offsets = [Int32](repeating: 0, count: size)
        for i in 1..<Swift.max(1, size) { offsets[i] = offsets[i - 1] + Int32(counts[i - 1]) }
        var all = [UInt8](repeating: 0, count: Swift.max(1, counts.reduce(0, +)))
        let sizes = counts.map(Int32.init)
        let code = bytes.withUnsafeBytes { mine in
            all.withUnsafeMutableBytes { out in
                api.allgatherv(mine.baseAddress ?? UnsafeRawPointer(out.baseAddress!), Int32(bytes.count), api.byte,
                               out.baseAddress!, sizes, offsets, api.byte, api.world)
            }
        }
        try check(code, "MPI_Allgatherv")
        return (0..<size).map { Array(all[Int(offsets[$0])..<(Int(offsets[$0]) + counts[$0])]) }
    }

    public func broadcast(_ bytes: [UInt8], root: Int) throws -> [UInt8] {
        guard size > 1 else { return bytes }
        var count = Int64(bytes.count)
        try check(api.bcast(&count, 8, api.byte, Int32(root), api.world), "MPI_Bcast")
        guard count < Int64(Int32.max) else { throw DistributedError.invalid("a broadcast of \(count) bytes is over MPI's 2 GiB message limit") }
        var buffer = rank == root ? bytes : [UInt8](repeating: 0, count: Int(count))
        if count > 0 {
            let code = buffer.withUnsafeMutableBytes { api.bcast($0.baseAddress!, Int32(count), api.byte, Int32(root), api.world) }
            try check(code, "MPI_Bcast")
        }
        return buffer
    }
}

/// The MPI functions Snoopi calls, resolved from Open MPI's `libmpi`.
private struct API {
    typealias Handle = OpaquePointer
    typealias Init = @convention(c) (UnsafeMutablePointer<Int32>?, UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>?) -> Int32
    let initialize: Init
    let initialized: @convention(c) (UnsafeMutablePointer<Int32>) -> Int32
    let finalize: @convention(c) () -> Int32
    let commRank: @convention(c) (Handle, UnsafeMutablePointer<Int32>) -> Int32
    let commSize: @convention(c) (Handle, UnsafeMutablePointer<Int32>) -> Int32
    let sendrecv: @convention(c) (UnsafeRawPointer, Int32, Handle, Int32, Int32, UnsafeMutableRawPointer, Int32, Handle, Int32, Int32, Handle, UnsafeMutableRawPointer?) -> Int32
    let allgather: @convention(c) (UnsafeRawPointer, Int32, Handle, UnsafeMutableRawPointer, Int32, Handle, Handle) -> Int32
    let allgatherv: @convention(c) (UnsafeRawPointer, Int32, Handle, UnsafeMutableRawPointer, UnsafePointer<Int32>, UnsafePointer<Int32>, Handle, Handle) -> Int32
    let bcast: @convention(c) (UnsafeMutableRawPointer, Int32, Handle, Int32, Handle) -> Int32
    let barrier: @convention(c) (Handle) -> Int32
    let abort: @convention(c) (Handle, Int32) -> Int32
    let libraryVersion: @convention(c) (UnsafeMutablePointer<CChar>, UnsafeMutablePointer<Int32>) -> Int32
    /// MPI_COMM_WORLD and MPI_BYTE.
    let world: Handle, byte: Handle

    static func load(_ path: String?) throws -> API {
        let candidates = path.map { [$0] } ?? ["libmpi.so.40", "libmpi.so"]
        var handle: UnsafeMutableRawPointer?
        var errors: [String] = []
        for name in candidates {
            // RTLD_GLOBAL: Open MPI's own plugins resolve libmpi's symbols through the global scope.
            handle = dlopen(name, RTLD_NOW | RTLD_GLOBAL)
            if handle != nil { break }
            errors.append(dlerror().map { String(cString: $0) } ?? name)
        }
        guard let handle else {
            throw DistributedError.unavailable("this process was started by mpirun, but no Open MPI library loads (\(errors.joined(separator: "; "))). Install it (Debian: libopenmpi-dev openmpi-bin; Scripts/setup does) or name one with SNP_MPI_LIBRARY")
        }
        func symbol<T>(_ name: String, as type: T.Type) throws -> T {
            guard let address = dlsym(handle, name) else {
                throw DistributedError.unavailable("the MPI library has no \(name): Snoopi needs Open MPI's ABI (libmpi.so.40)")
            }
            return unsafeBitCast(address, to: type)
        }
        func object(_ name: String) throws -> Handle {
            guard let address = dlsym(handle, name) else {
                throw DistributedError.unavailable("the MPI library has no \(name): Snoopi needs Open MPI's ABI (libmpi.so.40)")
            }
            return OpaquePointer(address)
        }
        return API(initialize: try symbol("MPI_Init", as: Init.self),
                   initialized: try symbol("MPI_Initialized", as: (@convention(c) (UnsafeMutablePointer<Int32>) -> Int32).self),
                   finalize: try symbol("MPI_Finalize", as: (@convention(c) () -> Int32).self),
                   commRank: try symbol("MPI_Comm_rank", as: (@convention(c) (Handle, UnsafeMutablePointer<Int32>) -> Int32).self),
                   commSize: try symbol("MPI_Comm_size", as: (@convention(c) (Handle, UnsafeMutablePointer<Int32>) -> Int32).self),
                   sendrecv: try symbol("MPI_Sendrecv", as: (@convention(c) (UnsafeRawPointer, Int32, Handle, Int32, Int32, UnsafeMutableRawPointer, Int32, Handle, Int32, Int32, Handle, UnsafeMutableRawPointer?) -> Int32).self),
                   allgather: try symbol("MPI_Allgather", as: (@convention(c) (UnsafeRawPointer, Int32, Handle, UnsafeMutableRawPointer, Int32, Handle, Handle) -> Int32).self),
                   allgatherv: try symbol("MPI_Allgatherv", as: (@convention(c) (UnsafeRawPointer, Int32, Handle, UnsafeMutableRawPointer, UnsafePointer<Int32>, UnsafePointer<Int32>, Handle, Handle) -> Int32).self),
                   bcast: try symbol("MPI_Bcast", as: (@convention(c) (UnsafeMutableRawPointer, Int32, Handle, Int32, Handle) -> Int32).self),
                   barrier: try symbol("MPI_Barrier", as: (@convention(c) (Handle) -> Int32).self),
                   abort: try symbol("MPI_Abort", as: (@convention(c) (Handle, Int32) -> Int32).self),
                   libraryVersion: try symbol("MPI_Get_library_version", as: (@convention(c) (UnsafeMutablePointer<CChar>, UnsafeMutablePointer<Int32>) -> Int32).self),
                   world: try object("ompi_mpi_comm_world"), byte: try object("ompi_mpi_byte"))
    }
}
