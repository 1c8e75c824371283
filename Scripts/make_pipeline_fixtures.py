#!/usr/bin/env python3
"""Generate the end-to-end pipeline fixtures the Swift Diffusion tests run against diffusers.

    make_pipeline_fixtures.py [--only sd|pixart]

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

Tests/DiffusionTests/Fixtures/pipeline_pixart/
  folder/              a tiny random-weight PixArtAlphaPipeline saved with save_pretrained:
                       T5EncoderModel (2 layers, d_model 32, gated-gelu) + T5Tokenizer (the ModelsTests
                       T5 tokenizer fixture, 420 ids), PixArtTransformer2DModel (sample_size 8, patch 2,
                       4 latent channels in, 8 out: learned sigma; caption_channels 32, no resolution
                       conditions), AutoencoderKL as in pipeline_sd (16x16 RGB), and PixArt-α's
                       DPMSolverMultistepScheduler settings (linear betas 1e-4..0.02, dpmsolver++ order 2).
  reference.h5, reference.json   as for pipeline_sd.

Cases (all with clean_caption=False, which needs no bs4/ftfy and is what Snoopi does: prompts are
only lowercased and stripped, and use_resolution_binning=False, as the tiny sample size has no bins;
max_sequence_length is diffusers' 120, so every prompt is 120 T5 tokens with its attention mask):
  dpm_cfg_negative     the folder's DPM-Solver++, 4 steps, guidance 4.5, one prompt (mixed case,
                       trailing space) and a negative prompt.
  dpm_cfg_two_prompts  DPM-Solver++, 3 steps, guidance 4.5, two prompts of different lengths (their
                       masks differ), negative "" (diffusers' default).
  euler_one_step       EulerDiscreteScheduler.from_config (trailing), 1 step, guidance 1 (no CFG).
  ddim_one_step        DDIMScheduler.from_config (set_alpha_to_one False), 1 step, guidance 0 (no
                       CFG): at one step PixArtAlphaPipeline keeps step(...)[1], the predicted x0,
                       which for DDIM differs from the step's result. (At one step diffusers cannot run
                       DPMSolverMultistepScheduler here: its step returns no x0.)

Weights: diffusers/transformers random init, then every parameter += N(0, 0.02²) (seeded), so no
layer is exactly zero (zero-initialised outputs would hide whole paths). PixArt's zero-initialised
layers are not zero in diffusers' init, but the perturbation is kept for the same reason. Needs
torch, diffusers and transformers (.venv).
"""

import argparse
import json
import shutil
from pathlib import Path

import h5py
import numpy as np
import torch
from diffusers import (AutoencoderKL, DDIMScheduler, DPMSolverMultistepScheduler, EulerDiscreteScheduler,
                       PixArtAlphaPipeline, PixArtTransformer2DModel, StableDiffusionPipeline, UNet2DConditionModel)
from transformers import CLIPTextConfig, CLIPTextModel, CLIPTokenizer, T5Config, T5EncoderModel, T5Tokenizer

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "Tests/DiffusionTests/Fixtures/pipeline_sd"
TOKENIZER = ROOT / "Tests/ModelsTests/Fixtures/tokenizer"
PIXART_OUT = ROOT / "Tests/DiffusionTests/Fixtures/pipeline_pixart"
T5_TOKENIZER = ROOT / "Tests/ModelsTests/Fixtures/t5_tokenizer"


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
    vae = tiny_vae(3)
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


def tiny_vae(seed):
    return perturb(AutoencoderKL(
        in_channels=3, out_channels=3, down_block_types=("DownEncoderBlock2D", "DownEncoderBlock2D"),
        up_block_types=("UpDecoderBlock2D", "UpDecoderBlock2D"), block_out_channels=(8, 16), layers_per_block=1,
        latent_channels=4, norm_num_groups=4, sample_size=16), seed)


def finite(v):  # JSON has no infinities (lambda_min_clipped is -inf): write them as strings
    if isinstance(v, float) and not np.isfinite(v):
        return str(v)
    if isinstance(v, dict):
        return {k: finite(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [finite(x) for x in v]
    return v


def main_sd():
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
    (OUT / "reference.json").write_text(json.dumps(finite(doc), indent=1, default=str, allow_nan=False) + "\n")
    size = sum(p.stat().st_size for p in OUT.rglob("*") if p.is_file())
    print(f"wrote {OUT} ({size / 1024:.0f} KiB)")


# --------------------------------------------------------------------------
# PixArt-α
# --------------------------------------------------------------------------

def build_pixart():
    torch.manual_seed(0)
    tokenizer = T5Tokenizer.from_pretrained(str(T5_TOKENIZER))
    text = perturb(T5EncoderModel(T5Config(
        vocab_size=len(tokenizer), d_model=32, d_kv=8, d_ff=37, num_layers=2, num_heads=4,
        relative_attention_num_buckets=8, relative_attention_max_distance=20, feed_forward_proj="gated-gelu",
        pad_token_id=tokenizer.pad_token_id, eos_token_id=tokenizer.eos_token_id, decoder_start_token_id=0)), 21)
    transformer = perturb(PixArtTransformer2DModel(
        sample_size=8, patch_size=2, in_channels=4, out_channels=8, num_layers=2, num_attention_heads=2,
        attention_head_dim=8, cross_attention_dim=16, caption_channels=32, norm_type="ada_norm_single",
        use_additional_conditions=False), 22)
    vae = tiny_vae(23)
    # PixArt-α's scheduler (PixArt-XL-2-512x512): DPM-Solver++ 2M on linear betas 1e-4..0.02.
    scheduler = DPMSolverMultistepScheduler(beta_start=0.0001, beta_end=0.02, beta_schedule="linear",
                                            algorithm_type="dpmsolver++", solver_order=2)
    return PixArtAlphaPipeline(tokenizer=tokenizer, text_encoder=text, vae=vae, transformer=transformer,
                               scheduler=scheduler)


PIXART_CASES = {
    "dpm_cfg_negative": dict(scheduler=None, steps=4, guidance=4.5, prompts=["A Red Circle on a blue square "],
                             negative=["blurry"], seed=31),
    "dpm_cfg_two_prompts": dict(scheduler=None, steps=3, guidance=4.5,
                                prompts=["a cat", "two small green triangles next to a large yellow circle at night"],
                                negative=None, seed=32),
    "euler_one_step": dict(scheduler="EulerDiscreteScheduler", overrides={"timestep_spacing": "trailing"}, steps=1,
                           guidance=1.0, prompts=["a green triangle"], negative=None, seed=33),
    "ddim_one_step": dict(scheduler="DDIMScheduler", overrides={"set_alpha_to_one": False}, steps=1, guidance=0.0,
                          prompts=["a blue square", "a red circle"], negative=None, seed=34),
}
PIXART_CLASSES = {"EulerDiscreteScheduler": EulerDiscreteScheduler, "DDIMScheduler": DDIMScheduler}


def main_pixart():
    pipe = build_pixart()
    if PIXART_OUT.exists():
        shutil.rmtree(PIXART_OUT)
    (PIXART_OUT / "folder").mkdir(parents=True)
    pipe.save_pretrained(str(PIXART_OUT / "folder"), safe_serialization=True)
    # References from the saved folder, as for pipeline_sd.
    pipe = PixArtAlphaPipeline.from_pretrained(str(PIXART_OUT / "folder"))
    base_scheduler = pipe.scheduler
    tokenizer = pipe.tokenizer
    doc = {"cases": {}}
    with h5py.File(PIXART_OUT / "reference.h5", "w") as f:
        for name, c in PIXART_CASES.items():
            if c["scheduler"]:
                pipe.scheduler = PIXART_CLASSES[c["scheduler"]].from_config(base_scheduler.config, **c.get("overrides", {}))
            else:
                pipe.scheduler = base_scheduler
            g = torch.Generator().manual_seed(c["seed"])
            latents = torch.randn([len(c["prompts"]), 4, 8, 8], generator=g)
            kwargs = dict(prompt=c["prompts"], negative_prompt=c["negative"] if c["negative"] is not None else "",
                          num_inference_steps=c["steps"], guidance_scale=c["guidance"], height=16, width=16,
                          clean_caption=False, use_resolution_binning=False)
            final = pipe(**kwargs, latents=latents.clone(), output_type="latent").images
            images = pipe(**kwargs, latents=latents.clone(), output_type="pt").images
            # What encode_prompt fed the transformer: ids and masks of the lowercased, stripped prompts.
            texts = [t.lower().strip() for t in c["prompts"]]
            enc = tokenizer(texts, padding="max_length", max_length=120, truncation=True, add_special_tokens=True,
                            return_tensors="pt")
            group = f.create_group(name)
            group["latents"] = latents.numpy().astype(np.float32)
            group["final_latents"] = final.detach().numpy().astype(np.float32)
            group["images"] = images.detach().numpy().astype(np.float32)
            group["input_ids"] = enc.input_ids.numpy().astype(np.float32)
            group["attention_mask"] = enc.attention_mask.numpy().astype(np.float32)
            doc["cases"][name] = {k: v for k, v in c.items() if k != "seed"} | {
                "scheduler_config": dict(pipe.scheduler.config), "tokens": enc.attention_mask.sum(1).tolist()}
            print(name, "images", tuple(images.shape), "range", float(images.min()), float(images.max()),
                  "tokens", enc.attention_mask.sum(1).tolist())
    masks = [doc["cases"]["dpm_cfg_two_prompts"]["tokens"]]
    assert masks[0][0] != masks[0][1], "the two prompts must have masks of different lengths"
    doc["note"] = ("made by Scripts/make_pipeline_fixtures.py with diffusers " + __import__("diffusers").__version__ +
                   "; PixArtAlphaPipeline called with clean_caption=False, use_resolution_binning=False")
    (PIXART_OUT / "reference.json").write_text(json.dumps(finite(doc), indent=1, default=str, allow_nan=False) + "\n")
    size = sum(p.stat().st_size for p in PIXART_OUT.rglob("*") if p.is_file())
    print(f"wrote {PIXART_OUT} ({size / 1024:.0f} KiB)")
    assert size < 1024 * 1024, "the PixArt pipeline fixture must stay under 1 MiB"


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--only", choices=["sd", "pixart"], help="make one fixture (default: both)")
    args = parser.parse_args()
    torch.set_num_threads(1)
    if args.only in (None, "sd"):
        main_sd()
    if args.only in (None, "pixart"):
        main_pixart()


if __name__ == "__main__":
    main()
