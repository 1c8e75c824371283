#!/usr/bin/env python3
"""Generate the end-to-end pipeline fixture the Swift Diffusion tests run against diffusers.

Tests/DiffusionTests/Fixtures/pipeline_sd/
  folder/              a tiny random-weight StableDiffusionPipeline saved with save_pretrained:
                       CLIPTextModel (2 layers, width 32) + CLIPTokenizer (the ModelsTests
                       tokenizer fixture's 914-token BPE, model_max_length 16), UNet2DConditionModel
                       (8x8x4 latents, blocks 8/16), AutoencoderKL (blocks 8/16: 16x16 RGB), and
                       SD 1.5's DDIMScheduler settings (leading, steps_offset 1).
  reference.h5         for each case: the initial latents diffusers was given, the final latents
                       (output_type="latent") and the images (output_type="pt", in [0, 1]).
  reference.json       the cases: prompts, negative prompts, guidance scale, steps, scheduler.

Cases:
  ddim_cfg             the folder's DDIM, 4 steps, guidance 7.5, two prompts, one negative prompt.
  euler_one_step       EulerDiscreteScheduler.from_config (trailing), 1 step, guidance 0 (no CFG:
                       an SD-Turbo-style one-step generation).
  dpm_cfg_nasa_free    DPMSolverMultistepScheduler.from_config, 3 steps, guidance 3, empty negative.

Weights: diffusers/transformers random init, then every parameter += N(0, 0.02²) (seeded), so no
layer is exactly zero (zero-initialised outputs would hide whole paths). Needs torch, diffusers
and transformers (.venv).
"""

import json
import shutil
from pathlib import Path

import h5py
import numpy as np
import torch
from diffusers import (AutoencoderKL, DDIMScheduler, DPMSolverMultistepScheduler, EulerDiscreteScheduler,
                       StableDiffusionPipeline, UNet2DConditionModel)
from transformers import CLIPTextConfig, CLIPTextModel, CLIPTokenizer

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "Tests/DiffusionTests/Fixtures/pipeline_sd"
TOKENIZER = ROOT / "Tests/ModelsTests/Fixtures/tokenizer"


def perturb(module, seed):
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in module.parameters():
            p.add_(torch.randn(p.shape, generator=g) * 0.02)
    return module


def build():
    torch.manual_seed(0)
    tokenizer = CLIPTokenizer.from_pretrained(str(TOKENIZER), model_max_length=16)
    text = perturb(CLIPTextModel(CLIPTextConfig(
        vocab_size=len(tokenizer), hidden_size=32, intermediate_size=37, num_hidden_layers=2, num_attention_heads=4,
        max_position_embeddings=16, bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id, hidden_act="quick_gelu")), 1)
    unet = perturb(UNet2DConditionModel(
        sample_size=8, in_channels=4, out_channels=4, block_out_channels=(8, 16), layers_per_block=1,
        down_block_types=("CrossAttnDownBlock2D", "DownBlock2D"), up_block_types=("UpBlock2D", "CrossAttnUpBlock2D"),
        cross_attention_dim=32, attention_head_dim=2, norm_num_groups=4), 2)
    vae = perturb(AutoencoderKL(
        in_channels=3, out_channels=3, down_block_types=("DownEncoderBlock2D", "DownEncoderBlock2D"),
        up_block_types=("UpDecoderBlock2D", "UpDecoderBlock2D"), block_out_channels=(8, 16), layers_per_block=1,
        latent_channels=4, norm_num_groups=4, sample_size=16), 3)
    scheduler = DDIMScheduler(beta_start=0.00085, beta_end=0.012, beta_schedule="scaled_linear", clip_sample=False,
                              set_alpha_to_one=False, steps_offset=1)
    return StableDiffusionPipeline(vae=vae, text_encoder=text, tokenizer=tokenizer, unet=unet, scheduler=scheduler,
                                   safety_checker=None, feature_extractor=None, requires_safety_checker=False)


CASES = {
    "ddim_cfg": dict(scheduler=None, steps=4, guidance=7.5, prompts=["a red circle", "two blue squares on grey"],
                     negative=["", "blue"], seed=11),
    "euler_one_step": dict(scheduler="EulerDiscreteScheduler", spacing="trailing", steps=1, guidance=0.0,
                           prompts=["a green triangle"], negative=None, seed=12),
    "dpm_cfg": dict(scheduler="DPMSolverMultistepScheduler", steps=3, guidance=3.0, prompts=["a photo of a cat"],
                    negative=None, seed=13),
}
CLASSES = {"EulerDiscreteScheduler": EulerDiscreteScheduler, "DPMSolverMultistepScheduler": DPMSolverMultistepScheduler}


def main():
    torch.set_num_threads(1)
    pipe = build()
    if OUT.exists():
        shutil.rmtree(OUT)
    (OUT / "folder").mkdir(parents=True)
    pipe.save_pretrained(str(OUT / "folder"), safe_serialization=True)
    # The references come from the saved folder itself, as a user loading it gets it (an
    # in-memory scheduler's config also remembers which keys were defaults, and from_config into
    # another class drops those: the saved file has every key).
    pipe = StableDiffusionPipeline.from_pretrained(str(OUT / "folder"), safety_checker=None, requires_safety_checker=False)
    base_scheduler = pipe.scheduler
    doc = {"cases": {}}
    with h5py.File(OUT / "reference.h5", "w") as f:
        for name, c in CASES.items():
            if c["scheduler"]:
                extra = {"timestep_spacing": c["spacing"]} if "spacing" in c else {}
                pipe.scheduler = CLASSES[c["scheduler"]].from_config(base_scheduler.config, **extra)
            else:
                pipe.scheduler = base_scheduler
            g = torch.Generator().manual_seed(c["seed"])
            latents = torch.randn([len(c["prompts"]), 4, 8, 8], generator=g)
            kwargs = dict(prompt=c["prompts"], negative_prompt=c["negative"], num_inference_steps=c["steps"],
                          guidance_scale=c["guidance"], height=16, width=16)
            final = pipe(**kwargs, latents=latents.clone(), output_type="latent").images
            images = pipe(**kwargs, latents=latents.clone(), output_type="pt").images
            group = f.create_group(name)
            group["latents"] = latents.numpy().astype(np.float32)
            group["final_latents"] = final.detach().numpy().astype(np.float32)
            group["images"] = images.detach().numpy().astype(np.float32)
            doc["cases"][name] = {k: v for k, v in c.items() if k != "seed"} | {
                "scheduler_config": dict(pipe.scheduler.config)}
            print(name, "images", tuple(images.shape), "range", float(images.min()), float(images.max()))
    doc["note"] = "made by Scripts/make_pipeline_fixtures.py with diffusers " + __import__("diffusers").__version__
    def finite(v):  # JSON has no infinities (lambda_min_clipped is -inf): write them as strings
        if isinstance(v, float) and not np.isfinite(v):
            return str(v)
        if isinstance(v, dict):
            return {k: finite(x) for k, x in v.items()}
        if isinstance(v, (list, tuple)):
            return [finite(x) for x in v]
        return v
    (OUT / "reference.json").write_text(json.dumps(finite(doc), indent=1, default=str, allow_nan=False) + "\n")
    size = sum(p.stat().st_size for p in OUT.rglob("*") if p.is_file())
    print(f"wrote {OUT} ({size / 1024:.0f} KiB)")


if __name__ == "__main__":
    main()
