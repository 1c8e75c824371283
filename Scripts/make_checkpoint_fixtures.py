#!/usr/bin/env python3
"""Generate the reference fixtures used by the Swift Checkpoints tests.

Writes, into Tests/CheckpointsTests/Fixtures/ (all tiny, well under 200 KB together):

  safetensors/types.safetensors   one tensor per dtype (F32 F16 BF16 F64 I64 I32 I8 U8 BOOL,
                                  a 0-d scalar and an empty tensor), written by the real
                                  `safetensors` package (safetensors.torch.save_file), with
                                  __metadata__.
  safetensors/broken/*.safetensors  damaged copies: truncated data, a header length past the
                                  end, a file shorter than 8 bytes, bad JSON, offsets out of
                                  range, overlapping tensors, an unknown dtype.
  folders/diffusers_single/       config.json (_class_name) + diffusion_pytorch_model.safetensors
  folders/transformers_sharded/   config.json (architectures) + two shards + model.safetensors.index.json
  h5py_extras.h5                  what h5py_types.h5 (made by a colleague) does not cover:
                                  bfloat16 as an opaque type and as a 2-byte HDF5 float with
                                  bfloat16's bit layout, uint16/32/64, a string dataset,
                                  a compound dataset, an LZF-compressed dataset (a filter
                                  libhdf5 lacks), and attributes on groups and datasets
                                  (1-d int / float arrays, bool, a uint64 above 2**63,
                                  space-padded fixed strings).
  h5py_checkpoint_flat.h5         a full Snoopi checkpoint (root attributes, dotted tensor names,
                                  training/optimizer, training/rng, training/history) written
                                  by h5py, so the Swift reader is checked against h5py.
  h5py_checkpoint_nested.h5       the same tensors as nested groups (a/b/c), no root attributes.
  expected.json                   every value the tests compare against, per file.

Floats in expected.json are the exact values stored (float32 / float16 / bfloat16 widened to
Python float), so the Swift side compares with ==. Inputs come from fixed seeds; rerunning
gives the same values (not always the same bytes: HDF5 stores timestamps, and the
safetensors package orders header keys as it likes).

Run from the repository root:

    .venv/bin/python Scripts/make_checkpoint_fixtures.py [--out DIR]

Needs numpy, torch, h5py and safetensors (pip install numpy torch h5py safetensors).
"""

import argparse
import json
import os
import shutil
import struct

import h5py
import numpy as np
import torch
from safetensors.torch import save_file


def values(t):
    """Exact float values of a tensor, flattened row-major."""
    return [float(x) for x in t.detach().to(torch.float64).reshape(-1).tolist()]


def entry(t, dtype):
    return {"dtype": dtype, "shape": list(t.shape), "values": values(t)}


# ---------------------------------------------------------------------------- safetensors


def make_safetensors(out, expected):
    g = torch.Generator().manual_seed(1234)
    tensors = {
        "f32": torch.randn(2, 3, generator=g),
        "f16": torch.tensor([0.5, -1.25, 65504.0, 6.103515625e-05], dtype=torch.float16),
        "bf16": torch.randn(2, 2, generator=g).to(torch.bfloat16),
        "f64": torch.tensor([1.0 / 3.0, -2.5e-300], dtype=torch.float64),
        "i64": torch.tensor([-(2**40), -1, 0, 2**53 + 1], dtype=torch.int64),
        "i32": torch.tensor([-(2**31), 7, 2**31 - 1], dtype=torch.int32),
        "i8": torch.tensor([-128, 0, 127], dtype=torch.int8),
        "u8": torch.tensor([0, 128, 255], dtype=torch.uint8),
        "mask": torch.tensor([True, False, True, True]),
        "scalar": torch.tensor(2.5),
        "empty": torch.zeros(0, 3),
        "text_model.embeddings.position_ids": torch.arange(5, dtype=torch.int64).reshape(1, 5),
    }
    dtypes = {"f32": "F32", "f16": "F16", "bf16": "BF16", "f64": "F64", "i64": "I64", "i32": "I32",
              "i8": "I8", "u8": "U8", "mask": "BOOL", "scalar": "F32", "empty": "F32",
              "text_model.embeddings.position_ids": "I64"}
    metadata = {"format": "pt", "note": "snoopi fixture"}
    os.makedirs(f"{out}/safetensors/broken", exist_ok=True)
    path = f"{out}/safetensors/types.safetensors"
    save_file(tensors, path, metadata=metadata)
    record = {"metadata": metadata, "tensors": {}}
    for name, t in tensors.items():
        e = entry(t, dtypes[name])
        if dtypes[name] in ("I64", "I32", "I8", "U8", "BOOL"):
            e["ints"] = [int(x) for x in t.to(torch.int64).reshape(-1).tolist()]
        record["tensors"][name] = e
    expected["safetensors/types.safetensors"] = record

    # Damaged copies of a small valid file.
    small = f"{out}/safetensors/broken/_small.safetensors"
    save_file({"a": torch.arange(6, dtype=torch.float32).reshape(2, 3), "b": torch.ones(4)}, small)
    data = open(small, "rb").read()
    os.remove(small)
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + n])
    body = data[8 + n:]

    def with_header(h):
        text = json.dumps(h).encode()
        text += b" " * (-len(text) % 8)
        return struct.pack("<Q", len(text)) + text + body

    broken = {
        "truncated": data[:len(data) - 10],
        "header_length": struct.pack("<Q", 10**6) + data[8:],
        "short": data[:5],
        "bad_json": (lambda t: struct.pack("<Q", len(t)) + t + body)(b'{"a": {"dtype": "F32",   '),
        "offsets_out_of_range": with_header({**header, "b": {**header["b"], "shape": [1000], "data_offsets": [24, 4024]}}),
        "overlapping": with_header({**header, "b": {**header["b"], "data_offsets": [16, 32]}}),
        "unknown_dtype": with_header({**header, "b": {**header["b"], "dtype": "Q4"}}),
    }
    for name, content in broken.items():
        with open(f"{out}/safetensors/broken/{name}.safetensors", "wb") as f:
            f.write(content)


def make_folders(out, expected):
    g = torch.Generator().manual_seed(99)
    # diffusers: one file
    folder = f"{out}/folders/diffusers_single"
    shutil.rmtree(folder, ignore_errors=True)
    os.makedirs(folder)
    unet = {
        "conv_in.weight": torch.randn(4, 2, 3, 3, generator=g),
        "conv_in.bias": torch.randn(4, generator=g),
        "down_blocks.0.resnets.0.norm1.weight": torch.randn(4, generator=g).to(torch.float16),
    }
    save_file(unet, f"{folder}/diffusion_pytorch_model.safetensors", metadata={"format": "pt"})
    config = {"_class_name": "UNet2DConditionModel", "_diffusers_version": "0.30.0",
              "in_channels": 2, "block_out_channels": [4]}
    with open(f"{folder}/config.json", "w") as f:
        json.dump(config, f, indent=2)
    expected["folders/diffusers_single"] = {
        "architecture": "UNet2DConditionModel",
        "tensors": {k: entry(v, str(v.dtype)) for k, v in unet.items()},
    }

    # transformers: two shards and an index
    folder = f"{out}/folders/transformers_sharded"
    shutil.rmtree(folder, ignore_errors=True)
    os.makedirs(folder)
    shards = [
        {"text_model.embeddings.token_embedding.weight": torch.randn(6, 4, generator=g),
         "text_model.final_layer_norm.weight": torch.randn(4, generator=g)},
        {"text_model.final_layer_norm.bias": torch.randn(4, generator=g).to(torch.bfloat16)},
    ]
    weight_map = {}
    for i, shard in enumerate(shards):
        name = f"model-{i + 1:05d}-of-{len(shards):05d}.safetensors"
        save_file(shard, f"{folder}/{name}", metadata={"format": "pt"})
        weight_map.update({k: name for k in shard})
    with open(f"{folder}/model.safetensors.index.json", "w") as f:
        json.dump({"metadata": {"total_size": 0}, "weight_map": weight_map}, f, indent=2)
    config = {"architectures": ["CLIPTextModel"], "model_type": "clip_text_model", "hidden_size": 4}
    with open(f"{folder}/config.json", "w") as f:
        json.dump(config, f, indent=2)
    expected["folders/transformers_sharded"] = {
        "architecture": "CLIPTextModel",
        "tensors": {k: entry(v, str(v.dtype)) for shard in shards for k, v in shard.items()},
    }


# ---------------------------------------------------------------------------- h5py


def make_h5py_extras(out, expected):
    rng = np.random.default_rng(7)
    path = f"{out}/h5py_extras.h5"
    record = {"datasets": {}, "attributes": {}}
    with h5py.File(path, "w") as f:
        # bfloat16 as an opaque 2-byte type tagged "bfloat16" (low-level API; h5py has no bf16).
        bf = torch.tensor([1.5, -0.00390625, 3.0e38, -2.0], dtype=torch.bfloat16)
        bits = bf.view(torch.int16).numpy().view(np.uint16)
        opaque = h5py.h5t.create(h5py.h5t.OPAQUE, 2)
        opaque.set_tag(b"bfloat16")
        space = h5py.h5s.create_simple((4,))
        dset = h5py.h5d.create(f.id, b"bf16_opaque", opaque, space)
        dset.write(h5py.h5s.ALL, h5py.h5s.ALL, bits.view("V2"), mtype=opaque)
        record["datasets"]["bf16_opaque"] = {"dtype": "bfloat16", "shape": [4], "values": values(bf)}
        # ... and as a 2-byte HDF5 float with bfloat16's bit layout (8 exponent, 7 mantissa bits).
        bf_float = h5py.h5t.IEEE_F32LE.copy()
        bf_float.set_fields(15, 7, 8, 0, 7)
        bf_float.set_size(2)
        bf_float.set_ebias(127)
        dset = h5py.h5d.create(f.id, b"bf16_float", bf_float, space)
        dset.write(h5py.h5s.ALL, h5py.h5s.ALL, bits, mtype=bf_float)
        record["datasets"]["bf16_float"] = {"dtype": "bfloat16", "shape": [4], "values": values(bf)}

        for name, arr in {
            "uint16": np.array([0, 1, 65535], dtype=np.uint16),
            "uint32": np.array([[0, 4000000000]], dtype=np.uint32),
            "uint64": np.array([2**40 + 1, 7], dtype=np.uint64),
            "int64_ids": np.array([[49406, 320, 49407]], dtype=np.int64),
        }.items():
            f[name] = arr
            record["datasets"][name] = {"dtype": str(arr.dtype), "shape": list(arr.shape),
                                        "ints": [int(x) for x in arr.reshape(-1)],
                                        "values": [float(np.float32(x)) for x in arr.reshape(-1)]}
        f["text"] = "not a tensor"
        f["compound"] = np.zeros(2, dtype=[("x", "<f4"), ("y", "<i4")])
        lzf = rng.standard_normal((4, 4)).astype(np.float32)
        f.create_dataset("lzf", data=lzf, compression="lzf", chunks=(2, 2))
        big_f16 = np.array([[1.0, 0.0009765625], [-65504.0, 6e-08]], dtype=np.float16)
        f.create_dataset("half_chunked", data=big_f16, chunks=(1, 2), compression="gzip", compression_opts=9)
        record["datasets"]["half_chunked"] = {"dtype": "float16", "shape": [2, 2],
                                              "values": [float(x) for x in big_f16.reshape(-1)]}

        group = f.create_group("group/inner")
        group.attrs["ints"] = np.array([1, -2, 3], dtype=np.int32)
        group.attrs["floats"] = np.array([0.5, 1e-3], dtype=np.float64)
        group.attrs["flag"] = np.bool_(True)
        group.attrs["seed"] = np.uint64(2**63 + 5)
        group.attrs["spaced"] = np.array(b"pad  ", dtype="S8")  # fixed, NUL-padded by numpy
        group.attrs["f32"] = np.float32(0.25)
        group.attrs["name"] = "inner group ✓"
        record["attributes"]["group/inner"] = {
            "ints": {"ints": [1, -2, 3]},
            "floats": {"doubles": [0.5, 1e-3]},
            "flag": {"int": 1},
            "seed": {"uint64": 2**63 + 5},
            "spaced": {"string": "pad  "},
            "f32": {"double": 0.25},
            "name": {"string": "inner group ✓"},
        }
        f["uint16"].attrs["unit"] = np.bytes_(b"count")
        f["uint16"].attrs["scale"] = 3
        record["attributes"]["uint16"] = {"unit": {"string": "count"}, "scale": {"int": 3}}
    expected["h5py_extras.h5"] = record


def make_h5py_checkpoints(out, expected):
    g = torch.Generator().manual_seed(5)
    tensors = {
        "conv_in.weight": torch.randn(2, 1, 3, 3, generator=g),
        "conv_in.bias": torch.randn(2, generator=g),
        "down_blocks.0.attentions.0.proj_in.weight": torch.randn(2, 2, generator=g),
    }
    config = {"_class_name": "UNet2DConditionModel", "in_channels": 1, "block_out_channels": [2]}
    flat = f"{out}/h5py_checkpoint_flat.h5"
    with h5py.File(flat, "w") as f:
        f.attrs["format"] = "snoopi-checkpoint"
        f.attrs["format_version"] = 1
        f.attrs["architecture"] = "UNet2DConditionModel"
        f.attrs["config"] = json.dumps(config)
        for name, t in tensors.items():
            f[name] = t.numpy()
        training = f.create_group("training")
        training.attrs["step"] = 12
        optimizer = training.create_group("optimizer")
        optimizer.attrs["step"] = 12
        for i, (name, t) in enumerate(tensors.items()):
            group = optimizer.create_group(str(i))
            group["exp_avg"] = np.full(t.numel(), 0.1 * (i + 1), dtype=np.float32)
            group["exp_avg_sq"] = np.full(t.numel(), 0.01 * (i + 1), dtype=np.float32)
        rng = training.create_group("rng")
        rng.attrs["seed"] = np.uint64(2**64 - 3)
        rng.attrs["offset"] = np.int64(77)
        history = training.create_group("history")
        history["steps"] = np.array([4, 8, 12], dtype=np.int64)
        history["loss"] = np.array([0.5, 0.25, 0.125], dtype=np.float64)
        history["fid"] = np.array([30.1, 20.2, 10.3], dtype=np.float64)
    expected["h5py_checkpoint_flat.h5"] = {
        "architecture": "UNet2DConditionModel",
        "config": config,
        "tensors": {k: entry(v, "float32") for k, v in tensors.items()},
        "training": {
            "step": 12, "optimizer_step": 12,
            "optimizer": [{"exp_avg": 0.1 * (i + 1), "exp_avg_sq": 0.01 * (i + 1), "count": t.numel()}
                          for i, t in enumerate(tensors.values())],
            "seed": 2**64 - 3, "offset": 77,
            "steps": [4, 8, 12], "loss": [0.5, 0.25, 0.125], "fid": [30.1, 20.2, 10.3],
        },
    }

    nested = f"{out}/h5py_checkpoint_nested.h5"
    with h5py.File(nested, "w") as f:
        for name, t in tensors.items():
            f.create_dataset(name.replace(".", "/"), data=t.numpy())
    expected["h5py_checkpoint_nested.h5"] = {
        "tensors": {k: entry(v, "float32") for k, v in tensors.items()},
    }


def main():
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", default=f"{root}/Tests/CheckpointsTests/Fixtures")
    args = parser.parse_args()
    expected = {"h5py_version": h5py.version.version, "hdf5_version": h5py.version.hdf5_version}
    make_safetensors(args.out, expected)
    make_folders(args.out, expected)
    make_h5py_extras(args.out, expected)
    make_h5py_checkpoints(args.out, expected)
    with open(f"{args.out}/expected.json", "w") as f:
        json.dump(expected, f, indent=1, ensure_ascii=False)
        f.write("\n")
    print(f"wrote fixtures to {args.out}")


if __name__ == "__main__":
    main()
