import Engine
import Foundation

/// diffusers `get_timestep_embedding`: sinusoidal features of the timesteps, computed in Float32
/// in the same order as diffusers so the numbers match.
/// timesteps: [B] → [B, dim]. freq_i = exp(−ln(maxPeriod)·i/(half − freqShift)); features
/// [sin(t·freq), cos(t·freq)], swapped to [cos, sin] when `flipSinToCos`.
public func timestepEmbedding(_ timesteps: Tensor, dim: Int, flipSinToCos: Bool, freqShift: Float,
                              scale: Float = 1, maxPeriod: Float = 10000) throws -> Tensor {
    guard timesteps.rank == 1 else {
        throw ModelError.invalidInput(model: "timestep embedding", reason: "timesteps must be [B], got \(shapeText(timesteps.shape))")
    }
    let half = dim / 2
    let frequencies = (0..<half).map { i -> Float in
        let exponent = -Foundation.log(maxPeriod) * Float(i) / (Float(half) - freqShift)
        return Foundation.exp(exponent)
    }
    let t = timesteps.scalars
    var sinPart = [Float](), cosPart = [Float]()
    var rows: [Float] = []
    rows.reserveCapacity(t.count * dim)
    for value in t {
        sinPart = frequencies.map { Foundation.sin(scale * (value * $0)) }
        cosPart = frequencies.map { Foundation.cos(scale * (value * $0)) }
        rows += flipSinToCos ? cosPart + sinPart : sinPart + cosPart
        if dim % 2 == 1 { rows.append(0) }
    }
    return try Tensor(rows, shape: [t.count, dim])
}

/// diffusers `Timesteps`: the sinusoidal embedding as a module (no parameters).
public final class Timesteps: Module {
    public let dim: Int, flipSinToCos: Bool, freqShift: Float

    public init(dim: Int, flipSinToCos: Bool, freqShift: Float) {
        (self.dim, self.flipSinToCos, self.freqShift) = (dim, flipSinToCos, freqShift)
    }

    public func callAsFunction(_ timesteps: Tensor) throws -> Tensor {
        try timestepEmbedding(timesteps, dim: dim, flipSinToCos: flipSinToCos, freqShift: freqShift)
    }
}

/// diffusers `TimestepEmbedding`: linear_1 → SiLU → linear_2. [B, in] → [B, timeEmbedDim].
public final class TimestepEmbedding: Module {
    public let linear1: Linear, linear2: Linear

    public init(inChannels: Int, timeEmbedDim: Int, outDim: Int? = nil) {
        linear1 = Linear(inChannels, timeEmbedDim)
        linear2 = Linear(timeEmbedDim, outDim ?? timeEmbedDim)
        super.init()
        child("linear_1", linear1)
        child("linear_2", linear2)
    }

    public func callAsFunction(_ x: Tensor) throws -> Tensor { try linear2(linear1(x).silu()) }
}
