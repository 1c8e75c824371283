#!/usr/bin/env python3
"""PyTorch CPU reference timings for the Snoopi engine benchmarks.

Runs the same workloads as the Swift bench, under the same names, on the CPU
in float32, and prints a table (name, median_ms, gflops). Each workload is
warmed up, then timed N times, N chosen so that the timed runs take about
2 s in all (at least 5 runs); the median is reported. (sd15_unet_fwd_64 is the
exception: see below.)

    .venv/bin/python Scripts/bench_torch.py [--threads N] [--json PATH] [--only a,b]

--threads  torch.set_num_threads (default: $SNP_THREADS, else 2)
--json     also write a JSON array of {"name", "median_ms", "gflops" (or null)},
           plus "peak_mib" on the rows that report peak memory
--only     comma-separated workload names to run (default: all)

Workloads:
  matmul_256/512/1024/2048  C = A @ B, square float32;  gflops = 2 n^3 / t
  conv2d_fwd                x[8,64,32,32], w[64,64,3,3], bias, padding 1, no_grad;
                            gflops = 2 B Cout Cin 9 H W / t
  conv2d_fwd_bwd            same, loss (y * g).sum(), grads on x, w, bias; 3x fwd flops
  attention_fwd             q,k,v [32,256,64], F.scaled_dot_product_attention, no_grad;
                            gflops = 4 B L^2 d / t
  attention_fwd_bwd         same with grads on q, k, v, loss (y * g).sum(); 3x fwd flops
  group_norm_fwd_bwd        x[8,64,32,32], F.group_norm(x, 32, w, b), grads on x, w, b
  mlp_train_step            256->1024->1024->10 MLP with GELU, batch 128, MSE loss to a
                            fixed target, AdamW(lr=1e-3): zero_grad, fwd, bwd, step

Model workloads (mirror Sources/snp-bench/ModelWorkloads.swift): models built from
the configs below with random weights (diffusers / transformers, imported only
when a model workload runs), float32, eval mode, default attention (SDPA);
sample ~ randn, timestep [B] filled with 500, context ~ randn [B, 77, dim].
Forward rows run under no_grad; fwd_bwd rows set all parameter grads to None,
then (out ** 2).mean().backward() with grads on all parameters.
  unet_tiny_fwd_b1/_b8      diffusers UNet2DConditionModel, TINY_UNET config,
                            sample [B,4,32,32], context [B,77,128]
  unet_tiny_fwd_bwd_b8      same, batch 8, fwd + bwd
  pixart_fwd_b8             diffusers PixArtTransformer2DModel, PIXART config,
                            sample [8,4,32,32], context [8,77,128],
                            added_cond_kwargs {"resolution": None, "aspect_ratio": None}
  pixart_fwd_bwd_b8         same, fwd + bwd (loss over all 8 output channels)
  clip_text_b8              transformers CLIPTextModel, CLIP_L config (SD 1.5's text
                            encoder), input_ids [8,77] = (arange(616) * 7919) % 49000 + 1
  sd15_unet_fwd_64          diffusers UNet2DConditionModel() defaults with
                            cross_attention_dim 768 (SD 1.5's UNet), sample [1,4,64,64],
                            context [1,77,768]; 1 warm-up, then 2 timed runs, reporting
                            the upper median (sorted(times)[n // 2], as snp-bench does);
                            also reports peak_mib = getrusage(RUSAGE_SELF).ru_maxrss / 1024
                            right after the workload. Peak RSS is per process, so the
                            side-by-side script (Scripts/bench) runs this workload in a
                            separate process (--only sd15_unet_fwd_64); in a run of all
                            workloads it comes last, after the other models are freed,
                            but its peak then still includes whatever the process held.

Shapes-world workloads (mirror Sources/snp-bench/TrainingWorkloads.swift): the shipped
tiny teachers' diffusers configs (WorldTeacher.tinyConfig: 16x16 RGB, contexts
[B, 16, 64] as the ShapesCLIP text tower gives them; here fixed random tensors, as in
snp-bench's train rows), random init, float32, SD's scaled-linear schedule (T = 1000).
  teacher_unet_train_b32    one step of eq. 3 on TEACHER_UNET, batch 32: zero_grad,
                            t ~ U{0..999}, eps ~ N(0, I), x_t = sqrt(abar) x0 + sqrt(1-abar) eps,
                            forward, F.mse_loss(pred, eps), backward, clip_grad_norm_(1.0),
                            AdamW(lr 1e-3, weight_decay 1e-2). x0: a fixed [32, 3, 16, 16]
                            batch in [-1, 1].
  teacher_pixart_train_b32  same on TEACHER_PIXART (4 layers)
  teacher_unet_sample_dpm20_cfg_b16
                            diffusers DPMSolverMultistepScheduler (dpmsolver++, order 2,
                            scaled_linear) 20 steps, CFG kappa 3 with both branches as one
                            batch of 32, 16 images, torch.inference_mode(), clamp to [-1, 1]
  vsd_step_unet_b8          one PG-SB distillation step as DistillTrainer.trainStep(); see
                            wl_vsd_step_unet_b8 for the evaluation-by-evaluation matching
"""

import argparse
import gc
import json
import os
import platform
import resource
import statistics
import sys
import time

import torch
import torch.nn.functional as F

TARGET_SECONDS = 2.0
MIN_RUNS = 5
MAX_RUNS = 10000


def cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.lower().startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def measure(fn):
    """Warm up, pick N for ~TARGET_SECONDS, return the median time in seconds."""
    fn()                                   # first call: allocations, kernel selection
    t0 = time.perf_counter()
    fn()
    est = time.perf_counter() - t0
    warm_until = time.perf_counter() + min(0.25, 5 * est)
    while time.perf_counter() < warm_until:
        fn()
    n = int(min(MAX_RUNS, max(MIN_RUNS, TARGET_SECONDS / max(est, 1e-6))))
    times = []
    for _ in range(n):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), n


def measure_runs(fn, runs):
    """One warm-up, then exactly `runs` timed runs; the upper median, as snp-bench."""
    fn()
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return sorted(times)[len(times) // 2], runs


def peak_rss_mib():
    """Peak resident memory of this process so far, in MiB (ru_maxrss is KiB on Linux)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


# ----------------------------------------------------------------------------
# workloads: each returns (fn, flops or None)


def wl_matmul(n):
    def make():
        g = torch.Generator().manual_seed(n)
        a = torch.randn(n, n, generator=g)
        b = torch.randn(n, n, generator=g)
        c = torch.empty(n, n)

        def fn():
            torch.matmul(a, b, out=c)
        return fn, 2.0 * n ** 3
    return make


def conv_setup():
    g = torch.Generator().manual_seed(1)
    x = torch.randn(8, 64, 32, 32, generator=g)
    w = torch.randn(64, 64, 3, 3, generator=g) * (1.0 / (64 * 9) ** 0.5)
    b = torch.randn(64, generator=g)
    flops = 2.0 * 8 * 64 * 64 * 9 * 32 * 32
    return g, x, w, b, flops


def wl_conv2d_fwd():
    _, x, w, b, flops = conv_setup()

    def fn():
        with torch.no_grad():
            F.conv2d(x, w, b, padding=1)
    return fn, flops


def wl_conv2d_fwd_bwd():
    g, x, w, b, flops = conv_setup()
    up = torch.randn(8, 64, 32, 32, generator=g)
    x.requires_grad_(True)
    w.requires_grad_(True)
    b.requires_grad_(True)

    def fn():
        x.grad = w.grad = b.grad = None
        y = F.conv2d(x, w, b, padding=1)
        (y * up).sum().backward()
    return fn, 3.0 * flops


def attn_setup():
    g = torch.Generator().manual_seed(2)
    B, L, d = 32, 256, 64
    q = torch.randn(B, L, d, generator=g)
    k = torch.randn(B, L, d, generator=g)
    v = torch.randn(B, L, d, generator=g)
    return g, q, k, v, 4.0 * B * L * L * d


def wl_attention_fwd():
    _, q, k, v, flops = attn_setup()

    def fn():
        with torch.no_grad():
            F.scaled_dot_product_attention(q, k, v)
    return fn, flops


def wl_attention_fwd_bwd():
    g, q, k, v, flops = attn_setup()
    up = torch.randn(q.shape, generator=g)
    for t in (q, k, v):
        t.requires_grad_(True)

    def fn():
        q.grad = k.grad = v.grad = None
        y = F.scaled_dot_product_attention(q, k, v)
        (y * up).sum().backward()
    return fn, 3.0 * flops


def wl_group_norm_fwd_bwd():
    g = torch.Generator().manual_seed(3)
    x = torch.randn(8, 64, 32, 32, generator=g).requires_grad_(True)
    w = (1.0 + 0.1 * torch.randn(64, generator=g)).requires_grad_(True)
    b = (0.1 * torch.randn(64, generator=g)).requires_grad_(True)
    up = torch.randn(8, 64, 32, 32, generator=g)

    def fn():
        x.grad = w.grad = b.grad = None
        y = F.group_norm(x, 32, w, b)
        (y * up).sum().backward()
    return fn, None


def wl_mlp_train_step():
    torch.manual_seed(4)
    model = torch.nn.Sequential(
        torch.nn.Linear(256, 1024), torch.nn.GELU(),
        torch.nn.Linear(1024, 1024), torch.nn.GELU(),
        torch.nn.Linear(1024, 10))
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3)
    x = torch.randn(128, 256)
    target = torch.randn(128, 10)

    def fn():
        opt.zero_grad()
        loss = F.mse_loss(model(x), target)
        loss.backward()
        opt.step()
    return fn, None


# ----------------------------------------------------------------------------
# model workloads (Sources/snp-bench/ModelWorkloads.swift)

# Tiny UNet: sample 32, block_out (64, 128, 256), 2 layers per block, context dim 128.
TINY_UNET = dict(
    sample_size=32, in_channels=4, out_channels=4, layers_per_block=2,
    block_out_channels=(64, 128, 256),
    down_block_types=("CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "DownBlock2D"),
    up_block_types=("UpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D"),
    cross_attention_dim=128, attention_head_dim=8, norm_num_groups=32)
# PixArt: 4 layers, 4 heads x 32, patch 2, sample 32, captions 128 wide.
PIXART = dict(
    sample_size=32, patch_size=2, in_channels=4, out_channels=8, num_layers=4,
    num_attention_heads=4, attention_head_dim=32, cross_attention_dim=128, caption_channels=128,
    use_additional_conditions=False)
# Stable Diffusion 1.5's text encoder (CLIP ViT-L/14 text tower).
CLIP_L = dict(
    vocab_size=49408, hidden_size=768, intermediate_size=3072, num_hidden_layers=12,
    num_attention_heads=12, max_position_embeddings=77, hidden_act="quick_gelu", eos_token_id=2)
# Stable Diffusion 1.5's UNet: diffusers' defaults with cross_attention_dim 768.
SD15 = dict(cross_attention_dim=768)
CONTEXT_LENGTH = 77
PIXART_ADDED = {"resolution": None, "aspect_ratio": None}

_models = {}


def cached_model(key, build):
    """Build a model once per process (snp-bench shares the tiny UNet and PixArt across rows)."""
    if key not in _models:
        torch.manual_seed(0)
        _models[key] = build().float().eval()
    return _models[key]


def tiny_unet():
    from diffusers import UNet2DConditionModel
    return cached_model("tiny_unet", lambda: UNet2DConditionModel(**TINY_UNET))


def pixart():
    from diffusers import PixArtTransformer2DModel
    return cached_model("pixart", lambda: PixArtTransformer2DModel(**PIXART))


def denoiser_inputs(batch, channels, size, context, seed):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(batch, channels, size, size, generator=g)
    t = torch.full((batch,), 500.0)
    c = torch.randn(batch, CONTEXT_LENGTH, context, generator=g)
    return x, t, c


def fwd_bwd_fn(model, forward):
    """zero grads (to None), out = forward(), (out ** 2).mean().backward()"""
    for p in model.parameters():
        p.requires_grad_(True)

    def fn():
        model.zero_grad(set_to_none=True)
        forward().square().mean().backward()
    return fn


def wl_unet_tiny_fwd(batch):
    def make():
        model = tiny_unet()
        x, t, c = denoiser_inputs(batch, 4, 32, 128, seed=10 + batch)

        def fn():
            with torch.no_grad():
                model(x, t, encoder_hidden_states=c).sample
        return fn, None
    return make


def wl_unet_tiny_fwd_bwd_b8():
    model = tiny_unet()
    x, t, c = denoiser_inputs(8, 4, 32, 128, seed=20)
    return fwd_bwd_fn(model, lambda: model(x, t, encoder_hidden_states=c).sample), None


def wl_pixart_fwd_b8():
    model = pixart()
    x, t, c = denoiser_inputs(8, 4, 32, 128, seed=30)

    def fn():
        with torch.no_grad():
            model(x, encoder_hidden_states=c, timestep=t, added_cond_kwargs=PIXART_ADDED).sample
    return fn, None


def wl_pixart_fwd_bwd_b8():
    model = pixart()
    x, t, c = denoiser_inputs(8, 4, 32, 128, seed=31)
    return fwd_bwd_fn(model, lambda: model(x, encoder_hidden_states=c, timestep=t,
                                           added_cond_kwargs=PIXART_ADDED).sample), None


def wl_clip_text_b8():
    from transformers import CLIPTextConfig, CLIPTextModel
    torch.manual_seed(0)
    model = CLIPTextModel(CLIPTextConfig(**CLIP_L)).float().eval()
    ids = ((torch.arange(8 * CONTEXT_LENGTH) * 7919) % 49000 + 1).reshape(8, CONTEXT_LENGTH)

    def fn():
        with torch.no_grad():
            model(input_ids=ids)
    return fn, None


def wl_sd15_unet_fwd_64():
    from diffusers import UNet2DConditionModel
    torch.manual_seed(0)
    model = UNet2DConditionModel(**SD15).float().eval()
    x, t, c = denoiser_inputs(1, 4, 64, 768, seed=40)

    def fn():
        with torch.no_grad():
            model(x, t, encoder_hidden_states=c).sample
    return fn, None


# ----------------------------------------------------------------------------
# shapes-world workloads (Sources/snp-bench/TrainingWorkloads.swift)

# WorldTeacher.tinyConfig(.unet, side: 16, contextWidth: 64)
TEACHER_UNET = dict(
    sample_size=16, in_channels=3, out_channels=3, layers_per_block=1,
    block_out_channels=(32, 64),
    down_block_types=("DownBlock2D", "CrossAttnDownBlock2D"),
    up_block_types=("CrossAttnUpBlock2D", "UpBlock2D"),
    cross_attention_dim=64, attention_head_dim=8, norm_num_groups=8)
# WorldTeacher.tinyConfig(.pixart, side: 16, contextWidth: 64)
TEACHER_PIXART = dict(
    sample_size=16, patch_size=2, in_channels=3, out_channels=3, num_layers=4,
    num_attention_heads=4, attention_head_dim=16, cross_attention_dim=64, caption_channels=64,
    use_additional_conditions=False, norm_type="ada_norm_single")
SHAPES_SIDE, SHAPES_CONTEXT, SHAPES_WIDTH, TRAIN_STEPS = 16, 16, 64, 1000


def sd_alpha_bars():
    """SD's scaled-linear schedule: beta from 0.00085 to 0.012 over 1000 steps, abar_t."""
    betas = torch.linspace(0.00085 ** 0.5, 0.012 ** 0.5, TRAIN_STEPS, dtype=torch.float64) ** 2
    return torch.cumprod(1 - betas, 0).float()


def add_noise(abar, x0, noise, t):
    a = abar[t].sqrt().view(-1, 1, 1, 1)
    s = (1 - abar[t]).sqrt().view(-1, 1, 1, 1)
    return a * x0 + s * noise


def shapes_teacher(kind):
    from diffusers import PixArtTransformer2DModel, UNet2DConditionModel
    torch.manual_seed(0)
    if kind == "unet":
        return UNet2DConditionModel(**TEACHER_UNET).float().eval()
    return PixArtTransformer2DModel(**TEACHER_PIXART).float().eval()


def teacher_eps(kind, model):
    if kind == "unet":
        return lambda x, t, c: model(x, t, encoder_hidden_states=c).sample
    return lambda x, t, c: model(x, encoder_hidden_states=c, timestep=t, added_cond_kwargs=PIXART_ADDED).sample


def require_finite(name, *tensors):
    for x in tensors:
        if not torch.isfinite(x).all():
            sys.exit(f"bench_torch: {name} produced a non-finite value")


def wl_teacher_train(kind):
    def make():
        name = f"teacher_{kind}_train_b32"
        model = shapes_teacher(kind).train()
        eps = teacher_eps(kind, model)
        params = list(model.parameters())
        opt = torch.optim.AdamW(params, lr=1e-3, weight_decay=1e-2)
        g = torch.Generator().manual_seed(50)
        x0 = torch.rand(32, 3, SHAPES_SIDE, SHAPES_SIDE, generator=g) * 2 - 1
        ctx = torch.randn(32, SHAPES_CONTEXT, SHAPES_WIDTH, generator=g)
        abar = sd_alpha_bars()
        last = {}

        def fn():
            opt.zero_grad(set_to_none=True)
            t = torch.randint(0, TRAIN_STEPS, (32,), generator=g)
            noise = torch.randn(x0.shape, generator=g)
            loss = F.mse_loss(eps(add_noise(abar, x0, noise, t), t, ctx), noise)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(params, 1.0)
            opt.step()
            last["loss"] = loss.detach()
        fn()
        require_finite(name, last["loss"], *[p.detach() for p in params])
        return fn, None
    return make


def wl_teacher_unet_sample_dpm20_cfg_b16():
    from diffusers import DPMSolverMultistepScheduler
    model = shapes_teacher("unet")
    scheduler = DPMSolverMultistepScheduler(
        num_train_timesteps=TRAIN_STEPS, beta_start=0.00085, beta_end=0.012, beta_schedule="scaled_linear",
        algorithm_type="dpmsolver++", solver_order=2)
    g = torch.Generator().manual_seed(60)
    cond = torch.randn(16, SHAPES_CONTEXT, SHAPES_WIDTH, generator=g)
    uncond = torch.randn(16, SHAPES_CONTEXT, SHAPES_WIDTH, generator=g)
    both = torch.cat([uncond, cond])          # [uncond; cond], as diffusers' pipelines
    kappa = 3.0
    last = {}

    def fn():
        with torch.inference_mode():
            scheduler.set_timesteps(20)
            x = torch.randn(16, 3, SHAPES_SIDE, SHAPES_SIDE, generator=g)   # init_noise_sigma = 1
            for t in scheduler.timesteps:
                out = model(torch.cat([x, x]), t, encoder_hidden_states=both).sample
                u, c = out.chunk(2)
                x = scheduler.step((1 - kappa) * u + kappa * c, t, x).prev_sample
            last["x"] = x.clamp(-1, 1)
    fn()
    require_finite("teacher_unet_sample_dpm20_cfg_b16", last["x"])
    return fn, None


class LoRALinear(torch.nn.Module):
    """y = base(x) + scale * (x A^T) B^T when enabled (Sources/Models/Layers/LoRA.swift):
    A [rank, in] ~ U(+-1/sqrt(in)), B [out, rank] = 0, scale = alpha / rank."""

    def __init__(self, base, rank, alpha, switch):
        super().__init__()
        self.base = base
        bound = 1 / base.in_features ** 0.5
        self.down = torch.nn.Parameter(torch.empty(rank, base.in_features).uniform_(-bound, bound))
        self.up = torch.nn.Parameter(torch.zeros(base.out_features, rank))
        self.scale = alpha / rank
        self.switch = switch

    @property
    def weight(self):                      # some diffusers processors read to_q.weight.dtype
        return self.base.weight

    def forward(self, x):
        y = self.base(x)
        if self.switch["enabled"]:
            y = y + (x @ self.down.t()) @ self.up.t() * self.scale
        return y


def add_lora(model, rank, alpha, switch):
    """LoRA on every Linear named to_q, to_k, to_v, to_out.0 (DistillOptions.loraTargets)."""
    adapters = []
    for name, module in list(model.named_modules()):
        for child_name, child in list(module.named_children()):
            path = f"{name}.{child_name}" if name else child_name
            if isinstance(child, torch.nn.Linear) and (
                    child_name in ("to_q", "to_k", "to_v") or path.endswith("to_out.0")):
                adapter = LoRALinear(child, rank, alpha, switch)
                module._modules[child_name] = adapter
                adapters.append(adapter)
    return adapters


def wl_vsd_step_unet_b8():
    """One PG-SB distillation step, DistillTrainer.trainStep() (Sources/Distill/DistillTrainer.swift,
    VSD.swift, GuidedEpsilon.swift) with its defaults, batch B = 8, on the tiny UNet teacher.

    Network evaluations per step, matched one for one with DistillTrainer.trainStep():
      1. student forward, B = 8, t = 999, with grad -> x0 = (z - sigma_T eps) / alpha_T
         (OneStepStudent.x0)                                              + its backward
      2. frozen teacher (LoRA off) with CFG: ONE forward of 2B = 16 ([uncond; cond],
         per-sample t repeated), no grad (VSD.loss -> guidedEpsilon -> ClassifierFreeGuidance)
      3. LoRA teacher (LoRA on) with CFG: ONE forward of 2B = 16, no grad
      4. LoRA teacher denoising forward, B = 8, prompts dropped with p 0.1, t ~ U{0..999},
         grads on the adapters only (DistillTrainer.loraStep)             + its backward
    i.e. 4 forwards (8 + 16 + 16 + 8 samples) and 2 backwards, as in Swift. In between:
    kappa ~ U(0.5, 4) per sample shared by both teachers (PG-SB default); t per sample uniform
    on {20..980}; g = w(t) (eps_frozen - eps_lora), w = 1 - abar_t, nan_to_num;
    loss = 0.5 * mse(x0, (x0 - g).detach()) (gradient g dx0/dtheta / N; descent moves x0 along
    w(t)(eps_lora - eps_frozen)); clip_grad_norm_(student, 1.0); AdamW(student, lr 1e-4,
    wd 0); AdamW(adapters, lr 1e-3, wd 0). The two teachers are one network copy with its
    base frozen and LoRA rank 8, alpha 16 on to_q/to_k/to_v/to_out.0 (manual LoRA, no peft),
    switched on and off. Contexts: fixed random tensors (Swift: the text tower's cached states).
    """
    import copy
    base = shapes_teacher("unet")
    student = copy.deepcopy(base)
    teachers = copy.deepcopy(base)
    for p in teachers.parameters():
        p.requires_grad_(False)
    switch = {"enabled": True}
    torch.manual_seed(1)
    adapters = add_lora(teachers, rank=8, alpha=16, switch=switch)
    lora_params = [p for a in adapters for p in (a.down, a.up)]
    student_params = list(student.parameters())
    opt_student = torch.optim.AdamW(student_params, lr=1e-4, weight_decay=0)
    opt_lora = torch.optim.AdamW(lora_params, lr=1e-3, weight_decay=0)
    abar = sd_alpha_bars()
    B, T = 8, TRAIN_STEPS
    alpha_T, sigma_T = abar[T - 1].sqrt(), (1 - abar[T - 1]).sqrt()
    t_low, t_high = round(0.02 * T), min(T - 1, round(0.98 * T))
    g = torch.Generator().manual_seed(70)
    ctx = torch.randn(B, SHAPES_CONTEXT, SHAPES_WIDTH, generator=g)
    uncond = torch.randn(B, SHAPES_CONTEXT, SHAPES_WIDTH, generator=g)
    both_ctx = torch.cat([uncond, ctx])
    last = {}

    def guided(x, t, kappa):
        out = teachers(torch.cat([x, x]), torch.cat([t, t]), encoder_hidden_states=both_ctx).sample
        u, c = out.chunk(2)
        k = kappa.view(-1, 1, 1, 1)
        return (1 - k) * u + k * c

    def fn():
        # student update (VSD)
        opt_student.zero_grad(set_to_none=True)
        z = torch.randn(B, 3, SHAPES_SIDE, SHAPES_SIDE, generator=g)
        eps = student(z, torch.full((B,), float(T - 1)), encoder_hidden_states=ctx).sample
        x0 = (z - eps * sigma_T) / alpha_T
        kappa = 0.5 + 3.5 * torch.rand(B, generator=g)
        t = torch.randint(t_low, t_high + 1, (B,), generator=g)
        noise = torch.randn(x0.shape, generator=g)
        sample = x0.detach()
        xt = add_noise(abar, sample, noise, t)
        with torch.no_grad():
            switch["enabled"] = False
            frozen = guided(xt, t, kappa)
            switch["enabled"] = True
            lora = guided(xt, t, kappa)
            gvsd = torch.nan_to_num((1 - abar[t]).view(-1, 1, 1, 1) * (frozen - lora), nan=0.0, posinf=0.0, neginf=0.0)
        loss = 0.5 * F.mse_loss(x0, (sample - gvsd).detach())
        loss.backward()
        grad_norm = torch.nn.utils.clip_grad_norm_(student_params, 1.0)
        opt_student.step()
        # LoRA-teacher update on the detached student samples
        drop = torch.rand(B, generator=g) < 0.1
        ctx_l = torch.where(drop.view(-1, 1, 1), uncond, ctx)
        t2 = torch.randint(0, T, (B,), generator=g)
        noise2 = torch.randn(sample.shape, generator=g)
        xt2 = add_noise(abar, sample, noise2, t2)
        opt_lora.zero_grad(set_to_none=True)
        switch["enabled"] = True
        lora_loss = F.mse_loss(teachers(xt2, t2, encoder_hidden_states=ctx_l).sample, noise2)
        lora_loss.backward()
        opt_lora.step()
        last.update(loss=loss.detach(), grad_norm=grad_norm, lora_loss=lora_loss.detach(), x0=sample)
    fn()
    require_finite("vsd_step_unet_b8", *last.values(), *[p.detach() for p in student_params])
    return fn, None


# Rows timed by a fixed number of runs (1 warm-up + N) instead of measure().
FIXED_RUNS = {"sd15_unet_fwd_64": 2}
# Rows that also report the process's peak RSS (MiB) right after the workload.
PEAK_MEMORY = {"sd15_unet_fwd_64"}


WORKLOADS = [
    ("matmul_256", wl_matmul(256)),
    ("matmul_512", wl_matmul(512)),
    ("matmul_1024", wl_matmul(1024)),
    ("matmul_2048", wl_matmul(2048)),
    ("conv2d_fwd", wl_conv2d_fwd),
    ("conv2d_fwd_bwd", wl_conv2d_fwd_bwd),
    ("attention_fwd", wl_attention_fwd),
    ("attention_fwd_bwd", wl_attention_fwd_bwd),
    ("group_norm_fwd_bwd", wl_group_norm_fwd_bwd),
    ("mlp_train_step", wl_mlp_train_step),
    ("unet_tiny_fwd_b1", wl_unet_tiny_fwd(1)),
    ("unet_tiny_fwd_b8", wl_unet_tiny_fwd(8)),
    ("unet_tiny_fwd_bwd_b8", wl_unet_tiny_fwd_bwd_b8),
    ("pixart_fwd_b8", wl_pixart_fwd_b8),
    ("pixart_fwd_bwd_b8", wl_pixart_fwd_bwd_b8),
    ("clip_text_b8", wl_clip_text_b8),
    ("teacher_unet_train_b32", wl_teacher_train("unet")),
    ("teacher_pixart_train_b32", wl_teacher_train("pixart")),
    ("teacher_unet_sample_dpm20_cfg_b16", wl_teacher_unet_sample_dpm20_cfg_b16),
    ("vsd_step_unet_b8", wl_vsd_step_unet_b8),
    ("sd15_unet_fwd_64", wl_sd15_unet_fwd_64),     # keep last: peak RSS (see docstring)
]


def main():
    ap = argparse.ArgumentParser(description="PyTorch CPU reference benchmarks for Snoopi")
    ap.add_argument("--threads", type=int, default=int(os.environ.get("SNP_THREADS", "2")),
                    help="torch.set_num_threads (default: $SNP_THREADS or 2)")
    ap.add_argument("--json", metavar="PATH", help="write results as a JSON array to PATH")
    ap.add_argument("--only", metavar="NAMES", help="comma-separated workload names")
    args = ap.parse_args()

    names = [n for n, _ in WORKLOADS]
    selected = WORKLOADS
    if args.only:
        wanted = [s.strip() for s in args.only.split(",") if s.strip()]
        unknown = [w for w in wanted if w not in names]
        if unknown:
            ap.error(f"unknown workload(s): {', '.join(unknown)}; known: {', '.join(names)}")
        selected = [(n, m) for n, m in WORKLOADS if n in wanted]

    torch.set_num_threads(args.threads)
    print(f"torch {torch.__version__}  threads {torch.get_num_threads()}  "
          f"python {platform.python_version()}")
    print(f"cpu: {cpu_model()} ({os.cpu_count()} logical cpus)")
    print()
    show_peak = any(n in PEAK_MEMORY for n, _ in selected)
    header = f"{'name':<34} {'median_ms':>11} {'gflops':>9} {'runs':>6}"
    if show_peak:
        header += f" {'peak_mib':>9}"
    print(header)
    print("-" * len(header))
    sys.stdout.flush()

    results = []
    for name, make in selected:
        if name in PEAK_MEMORY:
            _models.clear()                # drop the cached models before a peak-memory row
            gc.collect()
        fn, flops = make()
        t, n = measure_runs(fn, FIXED_RUNS[name]) if name in FIXED_RUNS else measure(fn)
        peak = peak_rss_mib() if name in PEAK_MEMORY else None
        del fn
        gflops = (flops / t / 1e9) if flops is not None else None
        row = {"name": name, "median_ms": round(t * 1e3, 4),
               "gflops": round(gflops, 3) if gflops is not None else None}
        if peak is not None:
            row["peak_mib"] = round(peak, 1)
        results.append(row)
        gf = f"{gflops:9.2f}" if gflops is not None else f"{'-':>9}"
        line = f"{name:<34} {t * 1e3:11.3f} {gf} {n:6d}"
        if show_peak:
            line += f" {peak:9.0f}" if peak is not None else f" {'-':>9}"
        print(line)
        sys.stdout.flush()

    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=2)
            f.write("\n")
        print(f"\nwrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
