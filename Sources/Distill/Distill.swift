// Distill: one-step students by Variational Score Distillation (paper §4, eq. 6/7) with
// guidance-scale distributions (PG-SB), its baselines, and NASA at inference (§5, eq. 8–10).
// Layer 4 of ARCHITECTURE.md: imports Engine, Checkpoints, Models and Diffusion, never Language.
import Engine
