// Diffusion: noise schedules, forward noising, prediction-type conversions, samplers with
// classifier-free guidance and negative prompts (paper §3, eq. 1, 4, 5). Layer 3 of
// ARCHITECTURE.md: imports Engine, Checkpoints and Models, never Distill or Language.
import Engine

/// A denoiser: the network's output (of the sampler's `PredictionType`) for the model input `x`
/// [B, C, H, W] at the model timestep `t`. Samplers call it once per step; `x` is already scaled
/// as the sampler requires (Euler divides by √(σ² + 1)). `t` is a Float because diffusers' Euler
/// hands the network fractional timesteps; DDIM and DPM-Solver pass whole numbers.
public typealias Denoiser = (_ x: Tensor, _ t: Float) throws -> Tensor

/// A text-conditioned network output for `x` [B, C, H, W] at timestep `t` given `context`
/// [B, L, D] (text-encoder states): ε(x_t, t, y) of eq. 3. `ClassifierFreeGuidance` turns one
/// into a `Denoiser`.
public typealias ConditionalDenoiser = (_ x: Tensor, _ t: Float, _ context: Tensor) throws -> Tensor

/// Called after every sampler step with the step's index (0-based) and the new sample.
public typealias StepCallback = (_ step: Int, _ sample: Tensor) throws -> Void
