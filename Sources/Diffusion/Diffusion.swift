// Diffusion: noise schedules, forward noising, prediction-type conversions, samplers with
// classifier-free guidance and negative prompts (paper §3, eq. 1, 4, 5). Layer 3 of
// ARCHITECTURE.md: imports Engine, Checkpoints and Models, never Distill or Language.
import Engine
