#!/usr/bin/env python3
"""Convert a diffusers / transformers model folder whose weights are PyTorch pickles (`*.bin`,
possibly sharded with `*.bin.index.json`) into a Snoopi checkpoint.

    .venv/bin/python Scripts/convert_to_hdf5.py MODEL_DIR OUT.h5

The weights are re-saved as safetensors (float32) next to a copy of config.json in a temporary
folder, and `snp convert` (Swift, the same code path as for safetensors folders) writes OUT.h5.
Needs torch and safetensors (`.venv/bin/pip install torch safetensors`). `torch.load` runs with
`weights_only=True`, so a pickle cannot run code.
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile


def main() -> int:
    if len(sys.argv) != 3:
        print(__doc__.strip().splitlines()[2].strip(), file=sys.stderr)
        return 64
    source, output = sys.argv[1], sys.argv[2]
    import torch
    from safetensors.torch import save_file

    config = os.path.join(source, "config.json")
    if not os.path.isfile(config):
        print(f"convert_to_hdf5: {source} has no config.json", file=sys.stderr)
        return 65
    index = [f for f in os.listdir(source) if f.endswith(".bin.index.json")]
    if index:
        with open(os.path.join(source, index[0])) as f:
            shards = sorted(set(json.load(f)["weight_map"].values()))
    else:
        shards = [f for f in os.listdir(source) if f.endswith(".bin")]
    if not shards:
        print(f"convert_to_hdf5: no .bin weights in {source}", file=sys.stderr)
        return 65
    tensors = {}
    for shard in shards:
        state = torch.load(os.path.join(source, shard), map_location="cpu", weights_only=True)
        for name, value in state.items():
            if torch.is_tensor(value):
                tensors[name] = value.to(torch.float32).contiguous() if value.is_floating_point() else value.contiguous()
    with tempfile.TemporaryDirectory() as scratch:
        shutil.copy(config, os.path.join(scratch, "config.json"))
        save_file(tensors, os.path.join(scratch, "model.safetensors"))
        snp = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".build", "release", "snp")
        command = [snp] if os.path.exists(snp) else ["swift", "run", "-c", "release", "snp"]
        return subprocess.call(command + ["convert", scratch, output])


if __name__ == "__main__":
    sys.exit(main())
