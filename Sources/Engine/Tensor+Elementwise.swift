import Foundation

// Elementwise ops with NumPy broadcasting. Each op's forward kernel and its backward sit together.

/// How two shapes broadcast: the output shape, and per-operand strides (0 on broadcast axes)
/// with adjacent axes merged wherever both operands allow it, so inner loops run long.
struct BroadcastPlan {
    var dims: [Int]
    var stridesA: [Int]
    var stridesB: [Int]

    init(out: [Int], a: [Int], b: [Int]) {
        func strides(_ s: [Int]) -> [Int] {
            let own = Tensor.contiguousStrides(s)
            let pad = out.count - s.count
            return out.indices.map { i in i < pad || s[i - pad] == 1 ? 0 : own[i - pad] }
        }
        let sa = strides(a), sb = strides(b)
        var dims: [Int] = [], da: [Int] = [], db: [Int] = []
        for i in out.indices where out[i] != 1 {
            if let last = dims.last, da.last! == sa[i] * out[i], db.last! == sb[i] * out[i] {
                dims[dims.count - 1] = last * out[i]
                da[da.count - 1] = sa[i]
                db[db.count - 1] = sb[i]
            } else {
                dims.append(out[i]); da.append(sa[i]); db.append(sb[i])
            }
        }
        if dims.isEmpty { dims = [1]; da = [0]; db = [0] }
        self.dims = dims; stridesA = da; stridesB = db
    }
}

extension Tensor {
    /// The NumPy broadcast of two shapes, or an error naming `op` and both shapes.
    public static func broadcastShape(_ a: [Int], _ b: [Int], op: String) throws -> [Int] {
        let n = Swift.max(a.count, b.count)
        var out = [Int](repeating: 1, count: n)
        for i in 0..<n {
            let x = i < n - a.count ? 1 : a[i - (n - a.count)]
            let y = i < n - b.count ? 1 : b[i - (n - b.count)]
            guard x == y || x == 1 || y == 1 else {
                throw EngineError.shapeMismatch(op: op, shapes: [a, b], reason: "shapes do not broadcast")
            }
            out[i] = x == 1 ? y : x
        }
        return out
    }

    /// `f` applied to every element.
    @inline(__always)
    func map(_ f: (Float) -> Float) -> Tensor {
        let out = Tensor(uninitializedShape: shape)
        let x = storage.pointer, y = out.storage.pointer
        Threads.parallelFor(count, grain: elementwiseGrain) { r in for i in r { y[i] = f(x[i]) } }
        return out
    }

    /// `f` applied pairwise to two tensors of the same shape.
    @inline(__always)
    static func zipMap(_ a: Tensor, _ b: Tensor, _ f: (Float, Float) -> Float) -> Tensor {
        precondition(a.shape == b.shape)
        let out = Tensor(uninitializedShape: a.shape)
        let pa = a.storage.pointer, pb = b.storage.pointer, po = out.storage.pointer
        Threads.parallelFor(out.count, grain: elementwiseGrain) { r in for i in r { po[i] = f(pa[i], pb[i]) } }
        return out
    }

    /// `f` applied to three tensors of the same shape (used by backward passes).
    @inline(__always)
    static func zipMap(_ a: Tensor, _ b: Tensor, _ c: Tensor, _ f: (Float, Float, Float) -> Float) -> Tensor {
        precondition(a.shape == b.shape && b.shape == c.shape)
        let out = Tensor(uninitializedShape: a.shape)
        let pa = a.storage.pointer, pb = b.storage.pointer, pc = c.storage.pointer, po = out.storage.pointer
        Threads.parallelFor(out.count, grain: elementwiseGrain) { r in for i in r { po[i] = f(pa[i], pb[i], pc[i]) } }
        return out
    }

    /// `f` applied pairwise with broadcasting.
    @inline(__always)
    static func broadcastMap(_ a: Tensor, _ b: Tensor, op: String, _ f: (Float, Float) -> Float) throws -> Tensor {
        if a.shape == b.shape { return zipMap(a, b, f) }
        let outShape = try broadcastShape(a.shape, b.shape, op: op)
        let out = Tensor(uninitializedShape: outShape)
        let pa = a.storage.pointer, pb = b.storage.pointer, po = out.storage.pointer
        let n = out.count
        if n == 0 { return out }
        if b.count == 1 {
            let s = pb[0]
            if a.count == n {
                Threads.parallelFor(n, grain: elementwiseGrain) { r in for i in r { po[i] = f(pa[i], s) } }
                return out
            }
        }
        if a.count == 1 && b.count == n {
            let s = pa[0]
            Threads.parallelFor(n, grain: elementwiseGrain) { r in for i in r { po[i] = f(s, pb[i]) } }
            return out
        }
        let plan = BroadcastPlan(out: outShape, a: a.shape, b: b.shape)
        let dims = plan.dims, sa = plan.stridesA, sb = plan.stridesB
        let inner = dims.last!, ia = sa.last!, ib = sb.last!
        let rows = n / inner
        Threads.parallelFor(rows, grain: Swift.max(1, elementwiseGrain / inner)) { range in
            for row in range {
                var rest = row, oa = 0, ob = 0
                var d = dims.count - 2
                while d >= 0 {
                    let i = rest % dims[d]
                    rest /= dims[d]
                    oa += i * sa[d]; ob += i * sb[d]
                    d -= 1
                }
                let o = po + row * inner, x = pa + oa, y = pb + ob
                if ia == 1 && ib == 1 {
                    for j in 0..<inner { o[j] = f(x[j], y[j]) }
                } else if ia == 1 && ib == 0 {
                    let v = y[0]
                    for j in 0..<inner { o[j] = f(x[j], v) }
                } else if ia == 0 && ib == 1 {
                    let v = x[0]
                    for j in 0..<inner { o[j] = f(v, y[j]) }
                } else {
                    for j in 0..<inner { o[j] = f(x[j * ia], y[j * ib]) }
                }
            }
        }
        return out
    }

    /// Sums a broadcast gradient back down to `shape` (the inverse of broadcasting).
    public func sum(toShape target: [Int]) throws -> Tensor {
        if shape == target { return self }
        let lead = rank - target.count
        guard lead >= 0 else {
            throw EngineError.shapeMismatch(op: "sum(toShape:)", shapes: [shape, target], reason: "target has more axes")
        }
        var axes = Array(0..<lead)
        for (i, n) in target.enumerated() where n == 1 && shape[lead + i] != 1 { axes.append(lead + i) }
        let reduced = axes.isEmpty ? self : try sum(axes: axes, keepDims: true)
        return try reduced.reshape(target)
    }

    // MARK: - Binary arithmetic

    public static func + (a: Tensor, b: Tensor) throws -> Tensor {
        let out = try broadcastMap(a, b, op: "add") { $0 + $1 }
        return record("add", out, inputs: [a, b]) { g in [try g.sum(toShape: a.shape), try g.sum(toShape: b.shape)] }
    }

    public static func - (a: Tensor, b: Tensor) throws -> Tensor {
        let out = try broadcastMap(a, b, op: "sub") { $0 - $1 }
        return record("sub", out, inputs: [a, b]) { g in [try g.sum(toShape: a.shape), try (-g).sum(toShape: b.shape)] }
    }

    public static func * (a: Tensor, b: Tensor) throws -> Tensor {
        let out = try broadcastMap(a, b, op: "mul") { $0 * $1 }
        let (sa, sb) = (a.detach(), b.detach())
        return record("mul", out, inputs: [a, b]) { g in
            [a.tracksGrad ? try (g * sb).sum(toShape: a.shape) : nil,
             b.tracksGrad ? try (g * sa).sum(toShape: b.shape) : nil]
        }
    }

    public static func / (a: Tensor, b: Tensor) throws -> Tensor {
        let out = try broadcastMap(a, b, op: "div") { $0 / $1 }
        let (sa, sb) = (a.detach(), b.detach())
        return record("div", out, inputs: [a, b]) { g in
            [a.tracksGrad ? try (g / sb).sum(toShape: a.shape) : nil,
             b.tracksGrad ? try (g * (-sa / sb.square())).sum(toShape: b.shape) : nil]
        }
    }

    /// `a ** b` elementwise with broadcasting.
    public static func pow(_ a: Tensor, _ b: Tensor) throws -> Tensor {
        let out = try broadcastMap(a, b, op: "pow") { Foundation.pow($0, $1) }
        let (sa, sb, so) = (a.detach(), b.detach(), out.detach())
        return record("pow", out, inputs: [a, b]) { g in
            [a.tracksGrad ? try (g * sb * pow(sa, sb - 1)).sum(toShape: a.shape) : nil,
             b.tracksGrad ? try (g * so * sa.log()).sum(toShape: b.shape) : nil]
        }
    }

    /// Elementwise maximum; on ties each input gets half the gradient (as PyTorch).
    public static func maximum(_ a: Tensor, _ b: Tensor) throws -> Tensor {
        try extremum(a, b, op: "maximum") { $0 > $1 }
    }

    /// Elementwise minimum; on ties each input gets half the gradient (as PyTorch).
    public static func minimum(_ a: Tensor, _ b: Tensor) throws -> Tensor {
        try extremum(a, b, op: "minimum") { $0 < $1 }
    }

    private static func extremum(_ a: Tensor, _ b: Tensor, op: String, _ wins: @escaping (Float, Float) -> Bool) throws -> Tensor {
        let out = try broadcastMap(a, b, op: op) { wins($0, $1) || $0.isNaN ? $0 : $1 }
        let (sa, sb) = (a.detach(), b.detach())
        return record(op, out, inputs: [a, b]) { g in
            let share = try broadcastMap(sa, sb, op: op) { x, y in x == y ? 0.5 : (wins(x, y) ? 1 : 0) }
            return [try (g * share).sum(toShape: a.shape), try (g * (1 - share)).sum(toShape: b.shape)]
        }
    }

    // MARK: - With a scalar

    public static func + (a: Tensor, s: Float) -> Tensor {
        record("add", a.map { $0 + s }, inputs: [a]) { g in [g] }
    }
    public static func + (s: Float, a: Tensor) -> Tensor { a + s }
    public static func - (a: Tensor, s: Float) -> Tensor { a + (-s) }
    public static func - (s: Float, a: Tensor) -> Tensor {
        record("rsub", a.map { s - $0 }, inputs: [a]) { g in [-g] }
    }
    public static func * (a: Tensor, s: Float) -> Tensor {
        record("mul", a.map { $0 * s }, inputs: [a]) { g in [g * s] }
    }
    public static func * (s: Float, a: Tensor) -> Tensor { a * s }
    public static func / (a: Tensor, s: Float) -> Tensor { a * (1 / s) }
    public static func / (s: Float, a: Tensor) -> Tensor {
        let sa = a.detach()
        return record("rdiv", a.map { s / $0 }, inputs: [a]) { g in [zipMap(g, sa) { g, x in -g * s / (x * x) }] }
    }

    /// `x ** p` for a number `p`.
    public func pow(_ p: Float) -> Tensor {
        let x = detach()
        return Tensor.record("pow", map { Foundation.pow($0, p) }, inputs: [self]) { g in
            [Tensor.zipMap(g, x) { g, x in g * p * Foundation.pow(x, p - 1) }]
        }
    }

    public static prefix func - (a: Tensor) -> Tensor {
        record("neg", a.map { -$0 }, inputs: [a]) { g in [-g] }
    }

    // MARK: - Comparisons (no gradient): 1 where true, 0 where false

    public func greater(_ other: Tensor) throws -> Tensor { try Tensor.broadcastMap(self, other, op: "greater") { $0 > $1 ? 1 : 0 } }
    public func greaterEqual(_ other: Tensor) throws -> Tensor { try Tensor.broadcastMap(self, other, op: "greaterEqual") { $0 >= $1 ? 1 : 0 } }
    public func less(_ other: Tensor) throws -> Tensor { try Tensor.broadcastMap(self, other, op: "less") { $0 < $1 ? 1 : 0 } }
    public func lessEqual(_ other: Tensor) throws -> Tensor { try Tensor.broadcastMap(self, other, op: "lessEqual") { $0 <= $1 ? 1 : 0 } }
    public func equal(_ other: Tensor) throws -> Tensor { try Tensor.broadcastMap(self, other, op: "equal") { $0 == $1 ? 1 : 0 } }
    public func notEqual(_ other: Tensor) throws -> Tensor { try Tensor.broadcastMap(self, other, op: "notEqual") { $0 != $1 ? 1 : 0 } }

    /// `a` where `condition` is non-zero, else `b`; all three broadcast together.
    public static func `where`(_ condition: Tensor, _ a: Tensor, _ b: Tensor) throws -> Tensor {
        let shape = try broadcastShape(try broadcastShape(condition.shape, a.shape, op: "where"), b.shape, op: "where")
        let c = try condition.detach().expand(shape)
        let (ea, eb) = try (a.detach().expand(shape), b.detach().expand(shape))
        let out = zipMap(c, ea, eb) { c, x, y in c != 0 ? x : y }
        return record("where", out, inputs: [a, b]) { g in
            [try zipMap(g, c) { g, c in c != 0 ? g : 0 }.sum(toShape: a.shape),
             try zipMap(g, c) { g, c in c != 0 ? 0 : g }.sum(toShape: b.shape)]
        }
    }

    /// Limits every element to `[min, max]`; the gradient passes where the input is inside.
    public func clamp(min lo: Float? = nil, max hi: Float? = nil) throws -> Tensor {
        if let lo, let hi, lo > hi {
            throw EngineError.invalidArgument(op: "clamp", reason: "min \(lo) is greater than max \(hi)")
        }
        let lower = lo ?? -.infinity, upper = hi ?? .infinity
        let x = detach()
        return Tensor.record("clamp", map { Swift.min(Swift.max($0, lower), upper) }, inputs: [self]) { g in
            [Tensor.zipMap(g, x) { g, x in x >= lower && x <= upper ? g : 0 }]
        }
    }
}
