#!/usr/bin/env python3
"""Full-size pipelines with random weights, for time and memory side by side (Docs/performance.md).

  make FOLDER        writes an SD-1.5-shaped StableDiffusionPipeline folder (UNet2DConditionModel's
                     defaults with SD 1.5's cross_attention_dim 768: 860 M parameters; AutoencoderKL with SD's VAE config; CLIPTextModel
                     with ViT-L/14's text config; the ModelsTests fixture tokenizer at 77 tokens, since
                     the real 49,408-token vocabulary is not reachable here; SD-Turbo's
                     EulerDiscreteScheduler, trailing spacing). Weights are random: the pictures are
                     noise, the cost is the real one.
  run FOLDER STEPS KAPPA
                     diffusers' own StableDiffusionPipeline on it at 512×512, one image, prompt
                     "a photo of a cat", timed as `snp generate --pipeline` reports itself: the text
                     encoder + step 1, each later step, the VAE decode, peak resident memory.
"""
import resource
import sys
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parent.parent


def make(folder):
    from diffusers import AutoencoderKL, EulerDiscreteScheduler, StableDiffusionPipeline, UNet2DConditionModel
    from transformers import CLIPTextConfig, CLIPTextModel, CLIPTokenizer
    torch.manual_seed(0)
    tokenizer = CLIPTokenizer.from_pretrained(str(ROOT / "Tests/ModelsTests/Fixtures/tokenizer"), model_max_length=77)
    text = CLIPTextModel(CLIPTextConfig(vocab_size=49408, hidden_size=768, intermediate_size=3072, num_hidden_layers=12,
                                        num_attention_heads=12, max_position_embeddings=77, hidden_act="quick_gelu",
                                        bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id))
    unet = UNet2DConditionModel(cross_attention_dim=768)  # SD 1.5's; the class default is 1280
    vae = AutoencoderKL(in_channels=3, out_channels=3, latent_channels=4, block_out_channels=(128, 256, 512, 512), layers_per_block=2,
                        down_block_types=("DownEncoderBlock2D",) * 4, up_block_types=("UpDecoderBlock2D",) * 4, sample_size=512)
    scheduler = EulerDiscreteScheduler(beta_start=0.00085, beta_end=0.012, beta_schedule="scaled_linear", timestep_spacing="trailing",
                                       steps_offset=1)
    pipe = StableDiffusionPipeline(vae=vae, text_encoder=text, tokenizer=tokenizer, unet=unet, scheduler=scheduler,
                                   safety_checker=None, feature_extractor=None, requires_safety_checker=False)
    pipe.save_pretrained(folder, safe_serialization=True)
    print("wrote", folder, sum(p.numel() for p in unet.parameters()), "UNet parameters")


def run(folder, steps, kappa):
    from diffusers import StableDiffusionPipeline
    torch.set_num_threads(int(__import__("os").environ.get("THREADS", "2")))
    pipe = StableDiffusionPipeline.from_pretrained(folder, safety_checker=None, requires_safety_checker=False)
    pipe.set_progress_bar_config(disable=True)
    marks = []

    def on_step(p, i, t, kw):
        marks.append(time.perf_counter())
        return kw

    with torch.inference_mode():
        start = time.perf_counter()
        image = pipe("a photo of a cat", num_inference_steps=steps, guidance_scale=kappa, height=512, width=512,
                     generator=torch.Generator().manual_seed(0), callback_on_step_end=on_step, output_type="pt").images
        end = time.perf_counter()
    later = (marks[-1] - marks[0]) / (len(marks) - 1) if len(marks) > 1 else float("nan")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"diffusers {torch.__version__}: {tuple(image.shape)} in {end - start:.1f} s ({steps} steps, κ {kappa}); "
          f"text encoder + step 1 {marks[0] - start:.2f} s, each later step {later:.2f} s, VAE decode {end - marks[-1]:.2f} s, "
          f"peak memory {peak:.0f} MiB")


if __name__ == "__main__":
    if sys.argv[1] == "make":
        make(sys.argv[2])
    else:
        run(sys.argv[2], int(sys.argv[3]), float(sys.argv[4]))
