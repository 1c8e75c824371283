#!/usr/bin/env python3
"""Generate the diffusers reference fixtures used by the Swift Diffusion tests.

Writes, into Tests/DiffusionTests/Fixtures/:

  schedules.json   for each beta schedule (linear 1e-4..0.02, scaled_linear
                   0.00085..0.012 as Stable Diffusion, squaredcos_cap_v2) with
                   T = 1000: all 1000 values of alphas_cumprod (ᾱ_t) as diffusers'
                   DDPMScheduler computes them; and add_noise / get_velocity of a
                   small x0 and noise at a few timesteps (scaled_linear).
  samplers.json    for each sampler case (DDIMScheduler, DPMSolverMultistepScheduler,
                   EulerDiscreteScheduler with the config written in the case):
                   the scheduler's timesteps for a few step counts, and a full
                   10-step (one case: 7-step) trajectory (the sample after every step) from a seeded
                   initial latent [1, 2, 4, 4], driven by the analytic "model"

                       model(x, t) = 0.3 · x · cos(t / 300) + 0.1 · sin(t / 100)

                   (elementwise; t is the timestep diffusers hands the model, as a
                   float) that the Swift tests compute the same way. The loop is the
                   one diffusers' pipelines run: latents · init_noise_sigma, then per
                   timestep scale_model_input → model → step.
                   Plus one DDIM step with eta > 0 given an explicit variance_noise,
                   so no random numbers are compared.

Tensor encoding: {"shape": [...], "data": [flat row-major floats]}. Every float
written is the exact value of a float32 (printed as the shortest double that
round-trips, so parsing it as Double and rounding to Float is exact).

Deterministic: inputs come from torch.Generator().manual_seed(...) and nothing
else is random. Run from the repository root:

    .venv/bin/python Scripts/make_diffusion_fixtures.py [--out DIR]

  pipeline_schedulers.json: the scheduler_config.json of SD 1.5 (PNDM), SD 2.1 (DDIM, v), PixArt-α
                   (DPM-Solver++) and SD-Turbo (Euler, trailing), each through diffusers' from_config
                   into its own class or another: timesteps and a 4-step trajectory.

Needs torch and diffusers (0.42.1 in .venv).
"""

import argparse
import json
import math
import os

import numpy as np
import torch
from diffusers import DDIMScheduler, DDPMScheduler, DPMSolverMultistepScheduler, EulerDiscreteScheduler

SCHEDULES = {
    "linear": dict(beta_schedule="linear", beta_start=0.0001, beta_end=0.02),
    "scaled_linear": dict(beta_schedule="scaled_linear", beta_start=0.00085, beta_end=0.012),
    "squaredcos_cap_v2": dict(beta_schedule="squaredcos_cap_v2"),
}

# Step counts whose timesteps are recorded for every case (the trajectory uses 10).
STEP_COUNTS = [1, 2, 3, 7, 10, 25, 50, 100]
TRAJECTORY_STEPS = 10
LATENT_SHAPE = [1, 2, 4, 4]

# name → (scheduler class, its config beyond the schedule, schedule name[, trajectory steps])
CASES = {
    # Stable Diffusion's DDIM: leading spacing, steps_offset 1, no clipping, ᾱ_prev(final) = ᾱ_0.
    "ddim_leading": (DDIMScheduler, dict(timestep_spacing="leading", steps_offset=1, clip_sample=False,
                                         set_alpha_to_one=False), "scaled_linear"),
    "ddim_trailing": (DDIMScheduler, dict(timestep_spacing="trailing", clip_sample=False,
                                          set_alpha_to_one=True), "scaled_linear"),
    "ddim_linspace_v": (DDIMScheduler, dict(timestep_spacing="linspace", clip_sample=False,
                                            prediction_type="v_prediction"), "squaredcos_cap_v2"),
    "ddim_sample_clip": (DDIMScheduler, dict(timestep_spacing="leading", clip_sample=True, clip_sample_range=1.5,
                                             prediction_type="sample"), "linear"),
    # DPM-Solver++(2M) with diffusers' defaults.
    "dpmpp_2m": (DPMSolverMultistepScheduler, dict(), "scaled_linear"),
    "dpmpp_2m_v": (DPMSolverMultistepScheduler, dict(prediction_type="v_prediction"), "linear"),
    "dpmpp_2m_trailing": (DPMSolverMultistepScheduler, dict(timestep_spacing="trailing"), "squaredcos_cap_v2"),
    "dpmpp_2m_leading": (DPMSolverMultistepScheduler, dict(timestep_spacing="leading", steps_offset=1),
                         "scaled_linear"),
    # Euler with diffusers' defaults (linspace: fractional timesteps for most step counts).
    "euler": (EulerDiscreteScheduler, dict(), "scaled_linear"),
    "euler_v_leading": (EulerDiscreteScheduler, dict(prediction_type="v_prediction", timestep_spacing="leading",
                                                     steps_offset=1), "scaled_linear"),
    "euler_trailing": (EulerDiscreteScheduler, dict(timestep_spacing="trailing"), "linear"),
    # 7 linspace steps: fractional timesteps (832.5, ...) and interpolated sigmas.
    "euler_fractional": (EulerDiscreteScheduler, dict(), "scaled_linear", 7),
}


def f32(values):
    """Exact float32 values as Python floats."""
    return [float(v) for v in np.asarray(values, dtype=np.float32).reshape(-1)]


def enc(t):
    t = t.detach().to(torch.float32).cpu()
    return {"shape": list(t.shape), "data": f32(t.numpy())}


def model(x, t):
    """The analytic stand-in for a network: smooth in x and t, exact to compute on both sides."""
    t = float(t)
    return 0.3 * x * math.cos(t / 300) + 0.1 * math.sin(t / 100)


def make_scheduler(cls, config, schedule):
    return cls(num_train_timesteps=1000, **SCHEDULES[schedule], **config)


def schedules_doc():
    doc = {"train_steps": 1000, "schedules": {}}
    for name, config in SCHEDULES.items():
        s = DDPMScheduler(num_train_timesteps=1000, **config)
        doc["schedules"][name] = {"config": config, "alphas_cumprod": f32(s.alphas_cumprod.numpy())}
    g = torch.Generator().manual_seed(7)
    x0 = torch.randn([3, 2, 2, 2], generator=g)
    noise = torch.randn([3, 2, 2, 2], generator=g)
    t = torch.tensor([0, 500, 999])
    s = DDPMScheduler(num_train_timesteps=1000, **SCHEDULES["scaled_linear"])
    doc["forward"] = {
        "schedule": "scaled_linear",
        "timesteps": t.tolist(),
        "x0": enc(x0),
        "noise": enc(noise),
        "add_noise": enc(s.add_noise(x0, noise, t)),
        "velocity": enc(s.get_velocity(x0, noise, t)),
    }
    return doc


def trajectory(scheduler, latent, steps):
    """diffusers' pipeline loop with the analytic model; the sample after every step."""
    scheduler.set_timesteps(steps)
    x = latent * scheduler.init_noise_sigma
    samples = []
    for t in scheduler.timesteps:
        model_input = scheduler.scale_model_input(x, t)
        x = scheduler.step(model(model_input, t), t, x).prev_sample
        samples.append(enc(x))
    return samples


def samplers_doc():
    g = torch.Generator().manual_seed(2024)
    latent = torch.randn(LATENT_SHAPE, generator=g)
    doc = {"shape": LATENT_SHAPE, "initial_noise": enc(latent), "cases": {}}
    for name, (cls, config, schedule, *rest) in CASES.items():
        steps = rest[0] if rest else TRAJECTORY_STEPS
        timesteps = {}
        for n in STEP_COUNTS:
            s = make_scheduler(cls, config, schedule)
            s.set_timesteps(n)
            timesteps[str(n)] = [float(v) for v in s.timesteps.numpy().astype(np.float64)]
        doc["cases"][name] = {
            "scheduler": cls.__name__,
            "schedule": schedule,
            "config": config,
            "timesteps": timesteps,
            "steps": steps,
            "trajectory": trajectory(make_scheduler(cls, config, schedule), latent, steps),
        }

    # One stochastic DDIM step (eta > 0) with the noise given explicitly.
    s = make_scheduler(DDIMScheduler, dict(timestep_spacing="leading", steps_offset=1, clip_sample=False,
                                           set_alpha_to_one=False), "scaled_linear")
    s.set_timesteps(TRAJECTORY_STEPS)
    g = torch.Generator().manual_seed(99)
    sample = torch.randn(LATENT_SHAPE, generator=g)
    noise = torch.randn(LATENT_SHAPE, generator=g)
    t = int(s.timesteps[3])
    output = model(sample, t)
    out = s.step(output, t, sample, eta=0.7, variance_noise=noise)
    doc["ddim_eta_step"] = {
        "case": "ddim_leading", "eta": 0.7, "timestep": t, "steps": TRAJECTORY_STEPS,
        "sample": enc(sample), "model_output": enc(output), "variance_noise": enc(noise),
        "prev_sample": enc(out.prev_sample), "pred_original_sample": enc(out.pred_original_sample),
    }
    return doc


# Pipeline folders' scheduler_config.json as the hub ships them (copied by hand; the keys that
# matter), read by SchedulerConfig; `as`: the class diffusers' from_config builds from it (None:
# its own). Step counts and a short trajectory with the analytic model, per case.
PIPELINE_SCHEDULERS = {
    "sd15_pndm": {"_class_name": "PNDMScheduler", "beta_end": 0.012, "beta_schedule": "scaled_linear", "beta_start": 0.00085,
                  "num_train_timesteps": 1000, "set_alpha_to_one": False, "skip_prk_steps": True, "steps_offset": 1,
                  "trained_betas": None, "clip_sample": False},
    "sd21_ddim_v": {"_class_name": "DDIMScheduler", "beta_end": 0.012, "beta_schedule": "scaled_linear", "beta_start": 0.00085,
                    "clip_sample": False, "num_train_timesteps": 1000, "prediction_type": "v_prediction", "set_alpha_to_one": False,
                    "steps_offset": 1, "trained_betas": None},
    "pixart_dpm": {"_class_name": "DPMSolverMultistepScheduler", "algorithm_type": "dpmsolver++", "beta_end": 0.02,
                   "beta_schedule": "linear", "beta_start": 0.0001, "dynamic_thresholding_ratio": 0.995, "euler_at_final": False,
                   "lower_order_final": True, "num_train_timesteps": 1000, "prediction_type": "epsilon", "sample_max_value": 1.0,
                   "solver_order": 2, "solver_type": "midpoint", "steps_offset": 0, "thresholding": False,
                   "timestep_spacing": "linspace", "trained_betas": None, "use_karras_sigmas": False, "use_lu_lambdas": False,
                   "variance_type": None},
    "sd_turbo_euler": {"_class_name": "EulerDiscreteScheduler", "beta_end": 0.012, "beta_schedule": "scaled_linear",
                       "beta_start": 0.00085, "clip_sample": False, "interpolation_type": "linear", "num_train_timesteps": 1000,
                       "prediction_type": "epsilon", "set_alpha_to_one": False, "skip_prk_steps": True, "steps_offset": 1,
                       "timestep_spacing": "trailing", "trained_betas": None, "use_karras_sigmas": False},
}
PIPELINE_CASES = [  # (config name, class from_config builds, Snoopi's sampler kind)
    ("sd15_pndm", DPMSolverMultistepScheduler, "dpmsolver"),
    ("sd15_pndm", DDIMScheduler, "ddim"),
    ("sd15_pndm", EulerDiscreteScheduler, "euler"),
    ("sd21_ddim_v", DDIMScheduler, None),
    ("sd21_ddim_v", EulerDiscreteScheduler, "euler"),
    ("pixart_dpm", DPMSolverMultistepScheduler, None),
    ("sd_turbo_euler", EulerDiscreteScheduler, None),
]


def pipeline_schedulers_doc():
    g = torch.Generator().manual_seed(31)
    latent = torch.randn(LATENT_SHAPE, generator=g)
    doc = {"shape": LATENT_SHAPE, "initial_noise": enc(latent), "configs": PIPELINE_SCHEDULERS, "cases": []}
    for name, cls, kind in PIPELINE_CASES:
        def make():
            return cls.from_config(PIPELINE_SCHEDULERS[name])
        timesteps = {}
        for n in [1, 4, 20, 50]:
            s = make()
            s.set_timesteps(n)
            timesteps[str(n)] = [float(v) for v in s.timesteps.numpy().astype(np.float64)]
        doc["cases"].append({"config": name, "scheduler": cls.__name__, "kind": kind, "timesteps": timesteps,
                             "prediction_type": make().config.prediction_type, "steps": 4,
                             "trajectory": trajectory(make(), latent, 4)})
    return doc


def write_json(path, doc):
    with open(path, "w") as f:
        json.dump(doc, f, allow_nan=False, separators=(",", ":"))
        f.write("\n")
    print(f"wrote {path} ({os.path.getsize(path)} bytes)")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", default="Tests/DiffusionTests/Fixtures")
    args = parser.parse_args()
    os.makedirs(args.out, exist_ok=True)
    torch.set_num_threads(1)
    write_json(os.path.join(args.out, "schedules.json"), schedules_doc())
    write_json(os.path.join(args.out, "samplers.json"), samplers_doc())
    write_json(os.path.join(args.out, "pipeline_schedulers.json"), pipeline_schedulers_doc())


if __name__ == "__main__":
    main()
