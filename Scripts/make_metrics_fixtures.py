#!/usr/bin/env python3
"""Generate the reference fixtures for the Swift evaluation metrics (Sources/Diffusion/Metrics).

Writes Tests/DiffusionTests/Fixtures/metrics.json with:

  frechet          for a few seeded Gaussian feature-set pairs (real [N, D], fake [M, D]):
                   the Fréchet distance as pytorch-fid computes it
                       ‖μa − μb‖² + Tr(Σa + Σb − 2 sqrtm(Σa Σb))
                   (np.cov(rowvar=False), scipy.linalg.sqrtm, real part), in float64,
                   and improved precision / recall (Kynkäänniemi et al. 2019, k = 3) by
                   brute force: radius(x) = distance to the k-th nearest other sample of
                   the same set; precision = fraction of fake samples within the radius
                   of some real sample; recall = the same with the roles swapped.
  clip             paired image / text features [8, 16], their cosine similarities and
                   the CLIP score mean(100 · max(cos, 0)) (torchmetrics' CLIPScore);
                   some rows are built to have negative cosines.

Every feature value is rounded to 3 decimals and then to float32, and written as the
shortest decimal that round-trips the float32, so reading it as Double and rounding to
Float gives exactly the values the references were computed from (keeps the file small).

And Tests/DiffusionTests/Fixtures/clip_features/ (CLIPImageFeatures: FD and precision /
recall in a real CLIP image tower's features):

  config.json,         a small random transformers CLIPVisionModelWithProjection (24x24
  model.safetensors    RGB, 8x8 patches, 2 layers, hidden 32, projection_dim 8, quick_gelu;
                       every parameter perturbed by 0.05 N(0, 1) as the parity fixtures
                       are), as save_pretrained writes it;
  features.json        two sets of 12 images [12, 3, 10, 10] in [-1, 1] (3 decimals,
                       float32; b darker and lower in contrast than a), the pixel_values of
                       a's first image after CLIP's preprocessing in torch
                           x01 = (x + 1) / 2
                           r = F.interpolate(x01, size=(24, 24), mode="bicubic", align_corners=False)
                           pixel_values = (r - image_mean) / image_std   (OpenAI CLIP's mean / std)
                       the model's image_embeds [12, 8] and its vision_model's pooler_output
                       [12, 32] for both sets (float32), and, in float64 from the float32
                       image_embeds, the Fréchet distance (scipy sqrtm, as above) and
                       precision / recall (k = 3) of b against a.

Deterministic: numpy.random.default_rng and torch generators with fixed seeds. Run with a
python3 that has numpy and scipy (and torch + transformers for clip_features: the .venv,
after `.venv/bin/pip install scipy`):

    .venv/bin/python Scripts/make_metrics_fixtures.py [--only metrics|clip_features]
"""
import argparse
import json
import os

import numpy as np
import scipy.linalg

K = 3
FIXTURES = os.path.join(os.path.dirname(__file__), "..", "Tests", "DiffusionTests", "Fixtures")
OUT = os.path.join(FIXTURES, "metrics.json")
CLIP_FEATURES = os.path.join(FIXTURES, "clip_features")
OPENAI_MEAN = [0.48145466, 0.4578275, 0.40821073]
OPENAI_STD = [0.26862954, 0.26130258, 0.27577711]
CLIP_FEATURES_CONFIG = dict(
    hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=4,
    num_channels=3, image_size=24, patch_size=8, hidden_act="quick_gelu", projection_dim=8,
)


def features(rng, n, d, mean=0.0, scale=1.0):
    x = rng.standard_normal((n, d)) * scale + mean
    return np.round(x, 3).astype(np.float32)


def encode(x):
    return {"shape": list(x.shape),
            "data": [float(np.format_float_positional(v, unique=True)) for v in x.reshape(-1)]}


def frechet(a, b):
    a, b = a.astype(np.float64), b.astype(np.float64)
    mu1, mu2 = a.mean(axis=0), b.mean(axis=0)
    s1, s2 = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    covmean = scipy.linalg.sqrtm(s1.dot(s2))
    if np.iscomplexobj(covmean):
        covmean = covmean.real
    diff = mu1 - mu2
    return float(diff.dot(diff) + np.trace(s1) + np.trace(s2) - 2 * np.trace(covmean))


def sqdist(x, y):
    x, y = x.astype(np.float64), y.astype(np.float64)
    return ((x[:, None, :] - y[None, :, :]) ** 2).sum(axis=-1)


def radii(x, k):
    d = sqdist(x, x)
    np.fill_diagonal(d, np.inf)
    return np.sort(d, axis=1)[:, k - 1]  # squared distance to the k-th nearest other sample


def coverage(manifold, queries, k):
    r = radii(manifold, k)
    d = sqdist(queries, manifold)
    inside = (d <= r[None, :]).any(axis=1)
    # Smallest relative gap between a query's distance and a ball's radius, to check that
    # float32 rounding on the Swift side cannot flip a comparison.
    gap = np.abs(d - r[None, :]) / np.maximum(r[None, :], 1e-12)
    return int(inside.sum()), float(gap.min())


def make_metrics():
    cases = []
    specs = [
        # name, seed, n, m, d, fake mean, fake scale, identical
        ("identical_d8", 1, 64, 64, 8, 0.0, 1.0, True),
        ("shifted_d8", 2, 64, 64, 8, 0.5, 1.0, False),
        ("scaled_d8", 3, 64, 48, 8, 0.0, 1.5, False),
        ("shifted_scaled_d32", 4, 64, 64, 32, 0.2, 0.8, False),
    ]
    min_gap = np.inf
    for name, seed, n, m, d, mean, scale, identical in specs:
        rng = np.random.default_rng(seed)
        real = features(rng, n, d)
        fake = real.copy() if identical else features(rng, m, d, mean, scale)
        precision_count, gap_p = coverage(real, fake, K)
        recall_count, gap_r = coverage(fake, real, K)
        if not identical:
            min_gap = min(min_gap, gap_p, gap_r)
        case = {
            "name": name,
            "real": encode(real),
            "identical": identical,
            "fd": frechet(real, fake),
            "k": K,
            "precision": precision_count / len(fake),
            "recall": recall_count / len(real),
        }
        if not identical:
            case["fake"] = encode(fake)
        cases.append(case)
    assert min_gap > 1e-5, f"a precision/recall comparison is too close to a tie: {min_gap}"

    rng = np.random.default_rng(10)
    image = features(rng, 8, 16)
    noise = features(rng, 8, 16)
    sign = np.array([1, 1, -1, 1, -1, 1, 1, -1], dtype=np.float32)[:, None]
    text = np.round(sign * image + 0.8 * noise, 3).astype(np.float32)
    i64, t64 = image.astype(np.float64), text.astype(np.float64)
    cos = (i64 * t64).sum(1) / (np.linalg.norm(i64, axis=1) * np.linalg.norm(t64, axis=1))
    assert (cos < 0).sum() >= 2
    clip = {
        "image": encode(image),
        "text": encode(text),
        "cosines": cos.tolist(),
        "score": float((100 * np.maximum(cos, 0)).mean()),
    }

    with open(OUT, "w") as f:
        json.dump({"frechet": cases, "clip": clip}, f, separators=(",", ":"))
        f.write("\n")
    print(f"wrote {os.path.normpath(OUT)} ({os.path.getsize(OUT)} bytes), min gap {min_gap:.2e}")


def make_clip_features():
    import shutil

    import torch
    import torch.nn.functional as F
    from transformers import CLIPVisionConfig, CLIPVisionModelWithProjection

    torch.set_num_threads(1)
    if os.path.isdir(CLIP_FEATURES):
        shutil.rmtree(CLIP_FEATURES)
    os.makedirs(CLIP_FEATURES)
    torch.manual_seed(20)
    model = CLIPVisionModelWithProjection(CLIPVisionConfig(**CLIP_FEATURES_CONFIG))
    g = torch.Generator().manual_seed(21)
    with torch.no_grad():  # as make_parity_fixtures.py's perturb_: no parameter left at 0 or 1
        for _, p in model.named_parameters():
            p.add_(0.05 * torch.randn(p.shape, generator=g, dtype=torch.float32))
    model.eval()
    model.save_pretrained(CLIP_FEATURES, safe_serialization=True)
    model = CLIPVisionModelWithProjection.from_pretrained(CLIP_FEATURES, dtype=torch.float32).eval()

    rng = np.random.default_rng(22)
    n, side, size = 12, 10, CLIP_FEATURES_CONFIG["image_size"]
    a = np.round(rng.uniform(-1, 1, (n, 3, side, side)), 3).astype(np.float32)
    b = np.round(np.clip(0.8 * rng.uniform(-1, 1, (n, 3, side, side)) - 0.1, -1, 1), 3).astype(np.float32)
    mean = torch.tensor(OPENAI_MEAN, dtype=torch.float32)[None, :, None, None]
    std = torch.tensor(OPENAI_STD, dtype=torch.float32)[None, :, None, None]

    def pixel_values(x):
        x01 = (torch.from_numpy(x) + 1) / 2
        return (F.interpolate(x01, size=(size, size), mode="bicubic", align_corners=False) - mean) / std

    def run(x):
        with torch.no_grad():
            pv = pixel_values(x)
            embeds = model(pixel_values=pv).image_embeds
            pooled = model.vision_model(pixel_values=pv).pooler_output
            assert torch.equal(embeds, model.visual_projection(pooled))
            return pv.numpy(), embeds.numpy(), pooled.numpy()

    pv_a, embeds_a, pooled_a = run(a)
    _, embeds_b, pooled_b = run(b)
    assert embeds_a.shape == (n, CLIP_FEATURES_CONFIG["projection_dim"])
    fd = frechet(embeds_a, embeds_b)
    precision_count, gap_p = coverage(embeds_a, embeds_b, K)
    recall_count, gap_r = coverage(embeds_b, embeds_a, K)
    assert min(gap_p, gap_r) > 1e-4, f"a precision/recall comparison is too close to a tie: {min(gap_p, gap_r)}"
    # The features must depend on the image (not a near-constant tower) and the sets must differ.
    assert embeds_a.std(axis=0).min() > 1e-2 * np.abs(embeds_a).max(), embeds_a.std(axis=0)
    assert fd > 1e-2 * np.trace(np.cov(embeds_a.astype(np.float64), rowvar=False)), fd

    def exact(x):  # float32 values, written exactly (shortest round-trip decimal)
        return {"shape": list(x.shape), "data": [float(np.format_float_positional(v, unique=True)) for v in x.reshape(-1)]}

    doc = {
        "generator": "Scripts/make_metrics_fixtures.py", "torch_version": torch.__version__,
        "image_mean": OPENAI_MEAN, "image_std": OPENAI_STD,
        "images_a": exact(a), "images_b": exact(b),
        "pixel_values_a0": exact(pv_a[:1]),
        "image_embeds_a": exact(embeds_a), "image_embeds_b": exact(embeds_b),
        "pooler_output_a": exact(pooled_a), "pooler_output_b": exact(pooled_b),
        "fd": fd, "k": K, "precision": precision_count / n, "recall": recall_count / n,
    }
    path = os.path.join(CLIP_FEATURES, "features.json")
    with open(path, "w") as f:
        json.dump(doc, f, separators=(",", ":"))
        f.write("\n")
    for name in sorted(os.listdir(CLIP_FEATURES)):
        file_size = os.path.getsize(os.path.join(CLIP_FEATURES, name))
        assert file_size < 200 * 1024, f"{name}: {file_size} bytes, over 200 KB"
        print(f"wrote {os.path.normpath(os.path.join(CLIP_FEATURES, name))} ({file_size} bytes)")
    print(f"clip_features: FD {fd:.6f}, precision {precision_count / n:.3f}, recall {recall_count / n:.3f}, "
          f"min gap {min(gap_p, gap_r):.2e}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", choices=["metrics", "clip_features"], default=None,
                        help="write only metrics.json or only clip_features/")
    args = parser.parse_args()
    if args.only in (None, "metrics"):
        make_metrics()
    if args.only in (None, "clip_features"):
        make_clip_features()


if __name__ == "__main__":
    main()
