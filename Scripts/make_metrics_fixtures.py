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

Deterministic: numpy.random.default_rng with fixed seeds. Run with a python3 that has
numpy and scipy:

    python3 Scripts/make_metrics_fixtures.py
"""
import json
import os

import numpy as np
import scipy.linalg

K = 3
OUT = os.path.join(os.path.dirname(__file__), "..", "Tests", "DiffusionTests", "Fixtures", "metrics.json")


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


def main():
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


if __name__ == "__main__":
    main()
