#!/usr/bin/env python3
"""Write the dataset-loader fixtures (Tests/DiffusionTests/Fixtures/datasets/): small HDF5 files
as h5py writes them, in every layout `CaptionedImageSet.load` reads, and broken ones for its
errors. PNG folders are made by the tests themselves (they need no Python).

Every good file holds N = 6 images of side 8 whose pixel (n, c, y, x) — in NCHW terms, before
the layout is applied — is the uint8 value

    v(n, c, y, x) = (37 n + 11 c + 5 y + 3 x) % 256            (grey: c = 0 only)

so a test can compute the expected [−1, 1] tensor on its own: u8 / 127.5 − 1 for uint8 files,
and for float files the value stored is v / 255 ("0..1") or v / 127.5 − 1 ("-1..1").
Captions are "caption n" with n spelled out (zero … five), labels n % 3.

Run with the git-ignored .venv (numpy, h5py):

    .venv/bin/python Scripts/make_dataset_fixtures.py
"""
import os

import h5py
import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "Tests", "DiffusionTests", "Fixtures", "datasets")
N, S = 6, 8
WORDS = ["zero", "one", "two", "three", "four", "five"]
CAPTIONS = [f"a caption {w}" for w in WORDS]


def values(channels):
    n, c, y, x = np.meshgrid(np.arange(N), np.arange(channels), np.arange(S), np.arange(S), indexing="ij")
    return ((37 * n + 11 * c + 5 * y + 3 * x) % 256).astype(np.uint8)  # [N, C, S, S]


def write(name, images, captions=CAPTIONS, labels=None, attrs=None, caption_dtype=None):
    with h5py.File(os.path.join(OUT, name), "w") as f:
        f.create_dataset("images", data=images)
        if captions is not None:
            f.create_dataset("captions", data=captions, dtype=caption_dtype or h5py.string_dtype())
        if labels is not None:
            f.create_dataset("labels", data=labels)
        for k, v in (attrs or {}).items():
            f.attrs[k] = v


def main():
    os.makedirs(OUT, exist_ok=True)
    rgb, grey = values(3), values(1)
    labels = np.arange(N, dtype=np.int64) % 3
    # Good files, one per layout / dtype / range.
    write("u8-nhwc.h5", rgb.transpose(0, 2, 3, 1), labels=labels)            # [N, H, W, 3] uint8
    write("u8-nchw.h5", rgb)                                                   # [N, 3, H, W] uint8
    write("u8-grey-nhw.h5", grey[:, 0])                                        # [N, H, W] uint8
    write("f32-nhwc1-01.h5", (grey.transpose(0, 2, 3, 1) / 255.0).astype(np.float32))   # [N, H, W, 1] in [0, 1]
    write("f32-nchw-pm1.h5", (rgb / 127.5 - 1).astype(np.float32))            # [N, 3, H, W] in [−1, 1]
    write("f64-nchw-range.h5", (rgb / 127.5 - 1).astype(np.float64) * 0 + rgb / 255.0,  # all ≥ 0 but said to be −1..1
          attrs={"images_range": "-1..1"})
    # Broken files.
    write("no-captions.h5", rgb, captions=None)
    write("count-mismatch.h5", rgb, captions=CAPTIONS[:5])
    write("int-images.h5", rgb.astype(np.int32))
    write("captions-not-strings.h5", rgb, captions=np.arange(N, dtype=np.int32), caption_dtype=np.int32)
    write("not-square.h5", values(3)[:, :, :, :6].transpose(0, 2, 3, 1).copy())
    bad = (rgb / 255.0).astype(np.float32)
    bad[2, 1, 3, 4] = np.nan
    write("nan-images.h5", bad)
    write("bad-labels.h5", rgb, labels=np.arange(N - 1))
    write("wrong-rank.h5", rgb.reshape(N, 3, S, S, 1))
    print(f"wrote {len(os.listdir(OUT))} files to {os.path.normpath(OUT)}")


if __name__ == "__main__":
    main()
