import Engine

/// GEGLU (Shazeer 2020, diffusers `GEGLU`): a Linear to 2·inner, split in half, hidden · GELU(gate).
/// Key: `proj`.
public final class GEGLU: Module {
    public let proj: Linear

    public init(_ dim: Int, _ inner: Int, bias: Bool = true) {
        proj = Linear(dim, inner * 2, bias: bias)
        super.init()
        child("proj", proj)
    }

    public func callAsFunction(_ x: Tensor) throws -> Tensor {
        let halves = try proj(x).chunk(2, axis: -1)
        return try halves[0] * halves[1].gelu()
    }
}

/// A Linear followed by GELU (diffusers `GELU`, `approximate` "none" or "tanh"). Key: `proj`.
public final class GELUProjection: Module {
    public let proj: Linear
    public let approximate: Tensor.GeluApproximation

    public init(_ dim: Int, _ out: Int, approximate: Tensor.GeluApproximation = .none, bias: Bool = true) {
        proj = Linear(dim, out, bias: bias)
        self.approximate = approximate
        super.init()
        child("proj", proj)
    }

    public func callAsFunction(_ x: Tensor) throws -> Tensor { try proj(x).gelu(approximate: approximate) }
}

/// diffusers `FeedForward`: `net.0` (GEGLU or GELU projection), `net.1` dropout, `net.2` Linear.
/// x: [..., dim] → [..., dim].
public final class FeedForward: Module {
    public enum Activation: String, Sendable { case geglu, gelu, geluTanh = "gelu-approximate" }
    let activationGEGLU: GEGLU?
    let activationGELU: GELUProjection?
    public let dropout: Dropout
    public let out: Linear

    public init(dim: Int, mult: Int = 4, activation: Activation = .geglu, innerDim: Int? = nil, bias: Bool = true) {
        let inner = innerDim ?? dim * mult
        let net = ModuleList<Module>()
        switch activation {
        case .geglu:
            activationGEGLU = GEGLU(dim, inner, bias: bias); activationGELU = nil
            net.append(activationGEGLU!)
        case .gelu, .geluTanh:
            activationGELU = GELUProjection(dim, inner, approximate: activation == .gelu ? .none : .tanh, bias: bias); activationGEGLU = nil
            net.append(activationGELU!)
        }
        dropout = Dropout()
        out = Linear(inner, dim, bias: bias)
        net.append(dropout)
        net.append(out)
        super.init()
        child("net", net)
    }

    public func callAsFunction(_ x: Tensor) throws -> Tensor {
        let h = try activationGEGLU.map { try $0(x) } ?? activationGELU!(x)
        return try out(dropout(h))
    }
}
