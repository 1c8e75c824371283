#!/usr/bin/env python3
"""Generate the JSON reference fixtures used by the Swift engine tests.

Writes, into Tests/EngineTests/Fixtures/:

  numpy_ops.json           forward values of 62 op cases (broadcasting binary ops,
                           unary ops, reductions, shape ops, matmul variants,
                           softmax / norms / conv / pooling / attention /
                           embedding), computed with NumPy in float64 from
                           float32 inputs, results cast to float32. Torch is
                           NOT used to compute these values; it is only used
                           afterwards as an independent cross-check.
  torch_grads.json         values and gradients from PyTorch autograd (float64
                           math, results cast to float32). The loss is
                           (output * upstream).sum(), and "upstream" is given
                           as an input tensor of the output's shape.
  torch_adamw.json         10-step optimizer trajectories (float32) on the loss
  torch_adam.json          ((x @ w + b - y)**2).mean(): AdamW, Adam (L2 weight
  torch_sgd_nesterov.json  decay) and SGD with Nesterov momentum.
  torch_bicubic.json       F.interpolate(x, size=(h, w), mode="bicubic",
                           align_corners=False) of float32 images [B, C, H, W],
                           up- and down-sampling (Tensor.resizeBicubic), the
                           output in float32 as torch computes it.

Tensor encoding everywhere: {"shape": [2, 3], "data": [flat row-major floats]}.
Every float written is the exact value of a float32 (printed as the shortest
double that round-trips, so parsing it as Double and rounding to Float is
exact). Integer-valued tensors (indices, conditions) are stored as floats too.

Every case draws its inputs from np.random.default_rng(crc32(case name)), so
the output is deterministic and adding a case does not change other cases.
A case in torch_grads.json uses the same inputs as the case of the same name
in numpy_ops.json.

Run from the repository root:

    .venv/bin/python Scripts/make_engine_fixtures.py [--out DIR] [--only torch_bicubic]

`--only torch_bicubic` writes just that file (the others are only written together).

Needs numpy and torch (see the .venv set-up: pip install numpy torch).
"""

import argparse
import json
import math
import os
import sys
import zlib

import numpy as np

# ----------------------------------------------------------------------------
# helpers


def case_rng(name):
    return np.random.default_rng(zlib.crc32(name.encode("utf-8")))


def randn(rng, *shape):
    return rng.standard_normal(shape, dtype=np.float32)


def positive(x, offset):
    """offset + |x|, in float32."""
    return (np.float32(offset) + np.abs(x)).astype(np.float32)


def enc(a):
    """Encode an array as {"shape", "data"} with exact float32 values."""
    a = np.asarray(a)
    if a.dtype != np.float32:
        a = a.astype(np.float32)
    return {"shape": [int(d) for d in a.shape],
            "data": [float(v) for v in a.reshape(-1)]}


def f64(a):
    return np.asarray(a, dtype=np.float64)


_erf = np.vectorize(math.erf, otypes=[np.float64])


def np_sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def np_softmax(x, axis):
    m = np.max(x, axis=axis, keepdims=True)
    e = np.exp(x - m)
    return e / np.sum(e, axis=axis, keepdims=True)


def np_log_softmax(x, axis):
    m = np.max(x, axis=axis, keepdims=True)
    s = x - m
    return s - np.log(np.sum(np.exp(s), axis=axis, keepdims=True))


def np_logsumexp(x, axes, keepdims):
    axes = tuple(axes)
    m = np.max(x, axis=axes, keepdims=True)
    r = m + np.log(np.sum(np.exp(x - m), axis=axes, keepdims=True))
    return r if keepdims else np.squeeze(r, axis=axes)


def np_conv2d(x, w, b, stride, padding):
    """Cross-correlation like torch.nn.functional.conv2d (groups=1, dilation=1)."""
    B, C, H, W = x.shape
    O, C2, KH, KW = w.shape
    assert C == C2
    sh, sw = stride
    ph, pw = padding
    xp = np.zeros((B, C, H + 2 * ph, W + 2 * pw), dtype=np.float64)
    xp[:, :, ph:ph + H, pw:pw + W] = x
    OH = (H + 2 * ph - KH) // sh + 1
    OW = (W + 2 * pw - KW) // sw + 1
    y = np.zeros((B, O, OH, OW), dtype=np.float64)
    for n in range(B):
        for o in range(O):
            for i in range(OH):
                for j in range(OW):
                    acc = 0.0
                    for c in range(C):
                        for ki in range(KH):
                            for kj in range(KW):
                                acc += xp[n, c, i * sh + ki, j * sw + kj] * w[o, c, ki, kj]
                    y[n, o, i, j] = acc + (b[o] if b is not None else 0.0)
    return y


def np_layer_norm(x, w, b, eps):
    mu = x.mean(axis=-1, keepdims=True)
    var = ((x - mu) ** 2).mean(axis=-1, keepdims=True)
    return (x - mu) / np.sqrt(var + eps) * w + b


def np_group_norm(x, groups, w, b, eps):
    B, C = x.shape[:2]
    g = x.reshape(B, groups, -1)
    mu = g.mean(axis=-1, keepdims=True)
    var = ((g - mu) ** 2).mean(axis=-1, keepdims=True)
    n = ((g - mu) / np.sqrt(var + eps)).reshape(x.shape)
    bshape = (1, C) + (1,) * (x.ndim - 2)
    return n * w.reshape(bshape) + b.reshape(bshape)


def np_slice(x, spec):
    idx = []
    for s in spec:
        if "index" in s:
            idx.append(s["index"])
        else:
            idx.append(slice(s["start"], s["end"], s["step"]))
    return x[tuple(idx)]


# ----------------------------------------------------------------------------
# File A: numpy_ops.json


def build_numpy_cases():
    """Returns a list of (case_dict, float32 inputs, float64 numpy output)."""
    cases = []

    def add(name, op, inputs, params, fn):
        inputs64 = {k: f64(v) for k, v in inputs.items()}
        out = np.asarray(fn(inputs64, params), dtype=np.float64)
        cases.append({"name": name, "op": op, "inputs": inputs,
                      "params": params, "output64": out})

    # -- binary broadcasting
    binary = {
        "add": np.add, "sub": np.subtract, "mul": np.multiply,
        "div": np.divide, "pow": np.power,
        "maximum": np.maximum, "minimum": np.minimum,
    }
    for op, f in binary.items():
        rng = case_rng(op)
        a = randn(rng, 2, 3, 4)
        b = randn(rng, 3, 1)
        if op == "div":
            b = (np.sign(b) * positive(b, 0.5)).astype(np.float32)
        if op == "pow":
            a = positive(a, 0.5)
        add(op, op, {"a": a, "b": b}, {}, lambda i, p, f=f: f(i["a"], i["b"]))
    rng = case_rng("add_both_ways")
    a = randn(rng, 4, 1, 5)
    b = randn(rng, 3, 5)
    add("add_both_ways", "add", {"a": a, "b": b}, {}, lambda i, p: i["a"] + i["b"])

    rng = case_rng("where")
    cond = rng.integers(0, 2, size=(2, 1, 4)).astype(np.float32)
    a = randn(rng, 2, 3, 4)
    b = randn(rng, 4)
    add("where", "where", {"cond": cond, "a": a, "b": b}, {},
        lambda i, p: np.where(i["cond"] != 0, i["a"], i["b"]))

    # -- unary
    c_gelu_tanh = math.sqrt(2.0 / math.pi)
    unary = {
        "exp": np.exp,
        "log": np.log,
        "sqrt": np.sqrt,
        "rsqrt": lambda x: 1.0 / np.sqrt(x),
        "abs": np.abs,
        "neg": np.negative,
        "sin": np.sin,
        "cos": np.cos,
        "tanh": np.tanh,
        "sigmoid": np_sigmoid,
        "relu": lambda x: np.maximum(x, 0.0),
        "silu": lambda x: x * np_sigmoid(x),
        "gelu": lambda x: 0.5 * x * (1.0 + _erf(x / math.sqrt(2.0))),
        "gelu_tanh": lambda x: 0.5 * x * (1.0 + np.tanh(c_gelu_tanh * (x + 0.044715 * x ** 3))),
        "square": np.square,
        "quick_gelu": lambda x: x * np_sigmoid(1.702 * x),
    }
    for op, f in unary.items():
        rng = case_rng(op)
        x = randn(rng, 3, 5)
        if op in ("log", "sqrt", "rsqrt"):
            x = positive(x, 0.1)
        add(op, op, {"x": x}, {}, lambda i, p, f=f: f(i["x"]))
    rng = case_rng("clamp")
    add("clamp", "clamp", {"x": randn(rng, 3, 5)}, {"min": -0.5, "max": 0.5},
        lambda i, p: np.clip(i["x"], p["min"], p["max"]))

    # -- reductions
    red = [
        ("sum", {"axes": [0, 2], "keepdims": False},
         lambda x, p: np.sum(x, axis=tuple(p["axes"]), keepdims=p["keepdims"])),
        ("mean", {"axes": [1], "keepdims": True},
         lambda x, p: np.mean(x, axis=tuple(p["axes"]), keepdims=p["keepdims"])),
        ("var", {"axes": [0, 2], "keepdims": False, "correction": 1},
         lambda x, p: np.var(x, axis=tuple(p["axes"]), keepdims=p["keepdims"], ddof=p["correction"])),
        ("max", {"axes": [1], "keepdims": False},
         lambda x, p: np.max(x, axis=tuple(p["axes"]), keepdims=p["keepdims"])),
        ("min", {"axes": [0, 2], "keepdims": True},
         lambda x, p: np.min(x, axis=tuple(p["axes"]), keepdims=p["keepdims"])),
        ("argmax", {"axis": 1},
         lambda x, p: np.argmax(x, axis=p["axis"]).astype(np.float64)),
        ("logsumexp", {"axes": [2], "keepdims": False},
         lambda x, p: np_logsumexp(x, p["axes"], p["keepdims"])),
        ("sum_all", {}, lambda x, p: np.sum(x)),
    ]
    for op, params, f in red:
        rng = case_rng(op)
        add(op, op, {"x": randn(rng, 3, 4, 5)}, params, lambda i, p, f=f: f(i["x"], p))

    # -- shape ops
    rng = case_rng("reshape")
    add("reshape", "reshape", {"x": randn(rng, 2, 3, 4)}, {"shape": [4, -1]},
        lambda i, p: i["x"].reshape(p["shape"]))
    rng = case_rng("permute")
    add("permute", "permute", {"x": randn(rng, 2, 3, 4)}, {"order": [2, 0, 1]},
        lambda i, p: np.transpose(i["x"], p["order"]))
    rng = case_rng("slice")
    add("slice", "slice", {"x": randn(rng, 2, 3, 4)},
        {"spec": [{"start": 1, "end": None, "step": 1},
                  {"start": None, "end": None, "step": 2},
                  {"index": -1}]},
        lambda i, p: np_slice(i["x"], p["spec"]))
    rng = case_rng("concat")
    a = randn(rng, 2, 3, 4)
    b = randn(rng, 2, 1, 4)
    add("concat", "concat", {"a": a, "b": b}, {"axis": 1},
        lambda i, p: np.concatenate([i["a"], i["b"]], axis=p["axis"]))
    rng = case_rng("stack")
    a = randn(rng, 2, 3)
    b = randn(rng, 2, 3)
    add("stack", "stack", {"a": a, "b": b}, {"axis": 1},
        lambda i, p: np.stack([i["a"], i["b"]], axis=p["axis"]))
    rng = case_rng("pad")
    add("pad", "pad", {"x": randn(rng, 2, 3, 4)},
        {"padding": [[0, 0], [1, 2], [2, 0]], "value": 0.5},
        lambda i, p: np.pad(i["x"], p["padding"], mode="constant", constant_values=p["value"]))
    rng = case_rng("repeat")
    add("repeat", "repeat", {"x": randn(rng, 2, 3)}, {"counts": [2, 1, 3]},
        lambda i, p: np.tile(i["x"], p["counts"]))
    rng = case_rng("expand")
    add("expand", "expand", {"x": randn(rng, 3, 1)}, {"shape": [2, 3, 4]},
        lambda i, p: np.broadcast_to(i["x"], p["shape"]))
    rng = case_rng("index_select")
    add("index_select", "index_select", {"x": randn(rng, 2, 3, 4)},
        {"axis": 1, "indices": [2, 0, 2]},
        lambda i, p: np.take(i["x"], p["indices"], axis=p["axis"]))
    rng = case_rng("gather")
    x = randn(rng, 3, 4)
    index = rng.integers(0, 4, size=(3, 2)).astype(np.float32)
    add("gather", "gather", {"x": x, "index": index}, {"axis": 1},
        lambda i, p: np.take_along_axis(i["x"], i["index"].astype(np.int64), axis=p["axis"]))

    # -- linalg
    mm = lambda i, p: np.matmul(i["a"], i["b"])
    for name, sa, sb in [("matmul", (2, 3, 4), (4, 5)),
                         ("bmm", (2, 3, 4), (2, 4, 5)),
                         ("matmul_broadcast", (3, 4), (2, 4, 5)),
                         ("matvec", (3, 4), (4,))]:
        rng = case_rng(name)
        a = randn(rng, *sa)
        b = randn(rng, *sb)
        add(name, "matmul", {"a": a, "b": b}, {}, mm)
    rng = case_rng("matmul_tb")
    a = randn(rng, 3, 4)
    b = randn(rng, 5, 4)
    add("matmul_tb", "matmul_tb", {"a": a, "b": b}, {"transposeB": True},
        lambda i, p: i["a"] @ i["b"].T)
    rng = case_rng("matmul_ta")
    a = randn(rng, 4, 3)
    b = randn(rng, 4, 5)
    add("matmul_ta", "matmul_ta", {"a": a, "b": b}, {"transposeA": True},
        lambda i, p: i["a"].T @ i["b"])
    rng = case_rng("linear")
    x = randn(rng, 2, 3, 4)
    w = randn(rng, 5, 4)
    bias = randn(rng, 5)
    add("linear", "linear", {"x": x, "weight": w, "bias": bias}, {},
        lambda i, p: i["x"] @ i["weight"].T + i["bias"])

    # -- nn
    rng = case_rng("softmax")
    add("softmax", "softmax", {"x": randn(rng, 3, 5)}, {"axis": 1},
        lambda i, p: np_softmax(i["x"], p["axis"]))
    rng = case_rng("softmax_axis0")
    add("softmax_axis0", "softmax", {"x": randn(rng, 3, 5)}, {"axis": 0},
        lambda i, p: np_softmax(i["x"], p["axis"]))
    rng = case_rng("log_softmax")
    add("log_softmax", "log_softmax", {"x": randn(rng, 3, 5)}, {"axis": -1},
        lambda i, p: np_log_softmax(i["x"], p["axis"]))
    rng = case_rng("layer_norm")
    x = randn(rng, 2, 3, 6)
    w = randn(rng, 6)
    bias = randn(rng, 6)
    add("layer_norm", "layer_norm", {"x": x, "weight": w, "bias": bias}, {"eps": 1e-5},
        lambda i, p: np_layer_norm(i["x"], i["weight"], i["bias"], p["eps"]))
    rng = case_rng("group_norm")
    x = randn(rng, 2, 6, 3, 3)
    w = randn(rng, 6)
    bias = randn(rng, 6)
    add("group_norm", "group_norm", {"x": x, "weight": w, "bias": bias},
        {"groups": 3, "eps": 1e-5},
        lambda i, p: np_group_norm(i["x"], p["groups"], i["weight"], i["bias"], p["eps"]))
    rng = case_rng("conv2d")
    x = randn(rng, 2, 3, 7, 6)
    w = randn(rng, 4, 3, 3, 3)
    bias = randn(rng, 4)
    add("conv2d", "conv2d", {"x": x, "weight": w, "bias": bias},
        {"stride": [2, 1], "padding": [1, 2]},
        lambda i, p: np_conv2d(i["x"], i["weight"], i["bias"], p["stride"], p["padding"]))
    rng = case_rng("conv2d_pointwise")
    x = randn(rng, 2, 3, 4, 4)
    w = randn(rng, 5, 3, 1, 1)
    bias = randn(rng, 5)
    add("conv2d_pointwise", "conv2d", {"x": x, "weight": w, "bias": bias},
        {"stride": [1, 1], "padding": [0, 0]},
        lambda i, p: np_conv2d(i["x"], i["weight"], i["bias"], p["stride"], p["padding"]))
    rng = case_rng("avg_pool2d")

    def avg_pool(i, p):
        x = i["x"]
        k, s = p["kernel"], p["stride"]
        B, C, H, W = x.shape
        OH, OW = (H - k) // s + 1, (W - k) // s + 1
        y = np.zeros((B, C, OH, OW))
        for a in range(OH):
            for b in range(OW):
                y[:, :, a, b] = x[:, :, a * s:a * s + k, b * s:b * s + k].mean(axis=(2, 3))
        return y
    add("avg_pool2d", "avg_pool2d", {"x": randn(rng, 2, 3, 6, 6)}, {"kernel": 2, "stride": 2},
        avg_pool)
    rng = case_rng("upsample_nearest")
    add("upsample_nearest", "upsample_nearest", {"x": randn(rng, 1, 2, 3, 3)}, {"scale": 2},
        lambda i, p: np.repeat(np.repeat(i["x"], p["scale"], axis=2), p["scale"], axis=3))
    rng = case_rng("attention")
    q = randn(rng, 2, 4, 8)
    k = randn(rng, 2, 6, 8)
    v = randn(rng, 2, 6, 3)
    mask = np.zeros((4, 6), dtype=np.float32)
    for (r, c) in [(0, 5), (1, 0), (1, 3), (2, 2), (3, 1), (3, 4), (3, 5)]:
        mask[r, c] = -1e9
    add("attention", "attention", {"q": q, "k": k, "v": v, "mask": mask}, {},
        lambda i, p: np_softmax(i["q"] @ np.swapaxes(i["k"], -1, -2) / math.sqrt(i["q"].shape[-1])
                                + i["mask"], -1) @ i["v"])
    rng = case_rng("embedding")
    weight = randn(rng, 6, 4)
    # fixed indices with repeats (1 and 5 twice) and unused rows (2, 4)
    indices = np.array([[1, 5, 1], [0, 3, 5]], dtype=np.float32)
    add("embedding", "embedding", {"weight": weight, "indices": indices}, {},
        lambda i, p: i["weight"][i["indices"].astype(np.int64)])

    names = [c["name"] for c in cases]
    assert len(names) == len(set(names)), "duplicate case names"
    return cases


def torch_reference_for_numpy_case(torch, F, case):
    """Independent float64 torch computation of a numpy_ops case (cross-check)."""
    t = {k: torch.from_numpy(f64(v)) for k, v in case["inputs"].items()}
    p = case["params"]
    op, name = case["op"], case["name"]
    x = t.get("x")
    simple = {
        "add": lambda: t["a"] + t["b"], "sub": lambda: t["a"] - t["b"],
        "mul": lambda: t["a"] * t["b"], "div": lambda: t["a"] / t["b"],
        "pow": lambda: torch.pow(t["a"], t["b"]),
        "maximum": lambda: torch.maximum(t["a"], t["b"]),
        "minimum": lambda: torch.minimum(t["a"], t["b"]),
        "where": lambda: torch.where(t["cond"] != 0, t["a"], t["b"]),
        "exp": lambda: torch.exp(x), "log": lambda: torch.log(x),
        "sqrt": lambda: torch.sqrt(x), "rsqrt": lambda: torch.rsqrt(x),
        "abs": lambda: torch.abs(x), "neg": lambda: -x,
        "sin": lambda: torch.sin(x), "cos": lambda: torch.cos(x),
        "tanh": lambda: torch.tanh(x), "sigmoid": lambda: torch.sigmoid(x),
        "relu": lambda: F.relu(x), "silu": lambda: F.silu(x),
        "gelu": lambda: F.gelu(x), "gelu_tanh": lambda: F.gelu(x, approximate="tanh"),
        "square": lambda: torch.square(x),
        "quick_gelu": lambda: x * torch.sigmoid(1.702 * x),
        "clamp": lambda: torch.clamp(x, p.get("min"), p.get("max")),
        "sum": lambda: torch.sum(x, dim=p.get("axes"), keepdim=p.get("keepdims", False)),
        "mean": lambda: torch.mean(x, dim=p.get("axes"), keepdim=p.get("keepdims", False)),
        "var": lambda: torch.var(x, dim=p.get("axes"), keepdim=p.get("keepdims", False),
                                 correction=p.get("correction", 1)),
        "max": lambda: torch.amax(x, dim=p.get("axes"), keepdim=p.get("keepdims", False)),
        "min": lambda: torch.amin(x, dim=p.get("axes"), keepdim=p.get("keepdims", False)),
        "argmax": lambda: torch.argmax(x, dim=p.get("axis")).double(),
        "logsumexp": lambda: torch.logsumexp(x, dim=p.get("axes"), keepdim=p.get("keepdims", False)),
        "sum_all": lambda: torch.sum(x),
        "reshape": lambda: x.reshape(p.get("shape")),
        "permute": lambda: x.permute(p.get("order")),
        "slice": lambda: x[1:, ::2, -1],
        "concat": lambda: torch.cat([t["a"], t["b"]], dim=p.get("axis")),
        "stack": lambda: torch.stack([t["a"], t["b"]], dim=p.get("axis")),
        # F.pad takes (last_lo, last_hi, prev_lo, prev_hi, ...)
        "pad": lambda: F.pad(x, [v for pair in reversed(p["padding"]) for v in pair],
                             value=p["value"]),
        "repeat": lambda: x.repeat(*p["counts"]),
        "expand": lambda: x.expand(*p["shape"]),
        "index_select": lambda: torch.index_select(
            x, p["axis"], torch.tensor(p["indices"])),
        "gather": lambda: torch.gather(x, p["axis"], t["index"].long()),
        "matmul": lambda: torch.matmul(t["a"], t["b"]),
        "matmul_tb": lambda: t["a"] @ t["b"].T,
        "matmul_ta": lambda: t["a"].T @ t["b"],
        "linear": lambda: F.linear(x, t["weight"], t["bias"]),
        "softmax": lambda: torch.softmax(x, dim=p.get("axis")),
        "log_softmax": lambda: torch.log_softmax(x, dim=p.get("axis")),
        "layer_norm": lambda: F.layer_norm(x, t["weight"].shape, t["weight"], t["bias"],
                                           eps=p.get("eps", 1e-5)),
        "group_norm": lambda: F.group_norm(x, p.get("groups", 1), t["weight"], t["bias"],
                                           eps=p.get("eps", 1e-5)),
        "conv2d": lambda: F.conv2d(x, t["weight"], t["bias"], stride=p.get("stride"),
                                   padding=p.get("padding")),
        "avg_pool2d": lambda: F.avg_pool2d(x, p.get("kernel"), p.get("stride")),
        "upsample_nearest": lambda: F.interpolate(x, scale_factor=p.get("scale"), mode="nearest"),
        "attention": lambda: F.scaled_dot_product_attention(
            t["q"], t["k"], t["v"], attn_mask=t["mask"]),
        "embedding": lambda: F.embedding(t["indices"].long(), t["weight"]),
    }
    if name == "slice":
        assert p["spec"] == [{"start": 1, "end": None, "step": 1},
                             {"start": None, "end": None, "step": 2},
                             {"index": -1}]
    return simple[op]().contiguous().numpy()


# ----------------------------------------------------------------------------
# File B: torch_grads.json


def build_torch_grad_cases(torch, F, numpy_cases):
    by_name = {c["name"]: c for c in numpy_cases}
    specs = [
        # (case name, forward(t, params), differentiable input names)
        ("conv2d", lambda t, p: F.conv2d(t["x"], t["weight"], t["bias"],
                                         stride=p["stride"], padding=p["padding"]),
         ["x", "weight", "bias"]),
        ("group_norm", lambda t, p: F.group_norm(t["x"], p["groups"], t["weight"], t["bias"],
                                                 eps=p["eps"]),
         ["x", "weight", "bias"]),
        ("layer_norm", lambda t, p: F.layer_norm(t["x"], t["weight"].shape, t["weight"],
                                                 t["bias"], eps=p["eps"]),
         ["x", "weight", "bias"]),
        ("attention", lambda t, p: torch.softmax(
            t["q"] @ t["k"].transpose(-1, -2) / math.sqrt(t["q"].shape[-1]) + t["mask"],
            dim=-1) @ t["v"],
         ["q", "k", "v"]),
        ("softmax", lambda t, p: torch.softmax(t["x"], dim=p["axis"]), ["x"]),
        ("log_softmax", lambda t, p: torch.log_softmax(t["x"], dim=p["axis"]), ["x"]),
        ("linear", lambda t, p: F.linear(t["x"], t["weight"], t["bias"]),
         ["x", "weight", "bias"]),
        ("bmm", lambda t, p: torch.matmul(t["a"], t["b"]), ["a", "b"]),
        ("avg_pool2d", lambda t, p: F.avg_pool2d(t["x"], p["kernel"], p["stride"]), ["x"]),
        ("upsample_nearest", lambda t, p: F.interpolate(t["x"], scale_factor=p["scale"],
                                                        mode="nearest"), ["x"]),
        ("embedding", lambda t, p: F.embedding(t["indices"].long(), t["weight"]), ["weight"]),
        ("gelu", lambda t, p: F.gelu(t["x"]), ["x"]),
        ("silu", lambda t, p: F.silu(t["x"]), ["x"]),
    ]
    out = []
    for name, fwd, grad_names in specs:
        src = by_name[name]
        inputs = dict(src["inputs"])
        t = {}
        for k, v in inputs.items():
            t[k] = torch.from_numpy(f64(v)).requires_grad_(k in grad_names)
        y = fwd(t, src["params"])
        # the same forward value as numpy computed (cross-check)
        np.testing.assert_allclose(y.detach().numpy(), src["output64"], rtol=1e-9, atol=1e-9)
        # upstream comes from its own stream, so the inputs stay those of numpy_ops.json
        rng = case_rng(name + "/upstream")
        upstream = randn(rng, *y.shape)
        loss = (y * torch.from_numpy(f64(upstream))).sum()
        grads = torch.autograd.grad(loss, [t[k] for k in grad_names])
        inputs["upstream"] = upstream
        out.append({
            "name": name, "op": src["op"],
            "inputs": {k: enc(v) for k, v in inputs.items()},
            "params": src["params"],
            "output": enc(y.detach().numpy()),
            "grads": {k: enc(g.numpy()) for k, g in zip(grad_names, grads)},
        })
    return out


# ----------------------------------------------------------------------------
# File C: optimizer trajectories


def optimizer_trajectory(torch, make_opt, hyper, steps=10):
    rng = case_rng("optimizer_problem")
    x = randn(rng, 5, 3)
    y = randn(rng, 5, 4)
    w0 = randn(rng, 3, 4)
    b0 = randn(rng, 4)
    w = torch.from_numpy(w0.copy()).requires_grad_(True)
    b = torch.from_numpy(b0.copy()).requires_grad_(True)
    xt, yt = torch.from_numpy(x), torch.from_numpy(y)
    opt = make_opt([w, b])
    record = []
    for _ in range(steps):
        opt.zero_grad()
        loss = ((xt @ w + b - yt) ** 2).mean()
        loss.backward()
        lv = float(np.float32(loss.item()))
        opt.step()
        record.append({"loss": lv, "w": enc(w.detach().numpy()), "b": enc(b.detach().numpy())})
    doc = {"torch_version": torch.__version__,
           "loss": "((x @ w + b - y)**2).mean()",
           "x": enc(x), "y": enc(y), "w0": enc(w0), "b0": enc(b0)}
    doc.update(hyper)
    doc["steps"] = record
    return doc


# ----------------------------------------------------------------------------
# bicubic resampling (torch float32)


BICUBIC_CASES = [
    # name, input shape [B, C, H, W], output (h, w)
    ("up_10_to_24", (1, 2, 10, 10), (24, 24)),
    ("up_5x7_to_9x16", (1, 2, 5, 7), (9, 16)),
    ("up_1_to_3", (1, 1, 1, 1), (3, 3)),
    ("down_17_to_6", (1, 2, 17, 17), (6, 6)),
    ("down_13x9_to_5x4", (1, 2, 13, 9), (5, 4)),
    ("down_4_to_1", (1, 1, 4, 4), (1, 1)),
]


def bicubic_doc(torch, F):
    cases = []
    for name, shape, size in BICUBIC_CASES:
        x = randn(case_rng("bicubic_" + name), *shape)
        out = F.interpolate(torch.from_numpy(x), size=size, mode="bicubic", align_corners=False).numpy()
        out64 = F.interpolate(torch.from_numpy(x.astype(np.float64)), size=size, mode="bicubic",
                              align_corners=False).numpy()
        assert np.abs(out - out64).max() < 1e-5, name  # float32 rounding only
        cases.append({"name": name, "input": enc(x), "size": list(size), "output": enc(out)})
    return {"generator": "Scripts/make_engine_fixtures.py", "torch_version": torch.__version__,
            "op": 'F.interpolate(x, size=size, mode="bicubic", align_corners=False)', "cases": cases}


# ----------------------------------------------------------------------------


def write_json(path, doc):
    with open(path, "w") as f:
        json.dump(doc, f, allow_nan=False, separators=(",", ":"))
        f.write("\n")
    size = os.path.getsize(path)
    print(f"wrote {path} ({size / 1024:.1f} KiB)")
    assert size < 300 * 1024, f"{path} is larger than 300 KB"


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    default_out = os.path.join(os.path.dirname(here), "Tests", "EngineTests", "Fixtures")
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default=default_out, help="output folder (default: %(default)s)")
    ap.add_argument("--only", choices=["torch_bicubic"], default=None,
                    help="write only this file (the others are written together)")
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)

    import torch
    import torch.nn.functional as F
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)

    if args.only == "torch_bicubic":
        write_json(os.path.join(args.out, "torch_bicubic.json"), bicubic_doc(torch, F))
        return 0

    # ---- A: numpy (no torch involved in the values)
    numpy_cases = build_numpy_cases()
    doc_a = {"generator": "Scripts/make_engine_fixtures.py", "numpy_version": np.__version__,
             "cases": [{"name": c["name"], "op": c["op"],
                        "inputs": {k: enc(v) for k, v in c["inputs"].items()},
                        "params": c["params"], "output": enc(c["output64"])}
                       for c in numpy_cases]}

    # independent cross-check of every numpy case against float64 torch
    for c in numpy_cases:
        ref = torch_reference_for_numpy_case(torch, F, c)
        assert ref.shape == c["output64"].shape, (c["name"], ref.shape, c["output64"].shape)
        np.testing.assert_allclose(c["output64"], ref, rtol=1e-9, atol=1e-9,
                                   err_msg=f"numpy/torch mismatch in case {c['name']}")
    print(f"cross-checked {len(numpy_cases)} numpy cases against torch {torch.__version__}")
    write_json(os.path.join(args.out, "numpy_ops.json"), doc_a)

    # ---- B: torch autograd
    grad_cases = build_torch_grad_cases(torch, F, numpy_cases)
    write_json(os.path.join(args.out, "torch_grads.json"),
               {"generator": "Scripts/make_engine_fixtures.py",
                "torch_version": torch.__version__,
                "loss": "(output * upstream).sum()",
                "cases": grad_cases})

    # ---- C: optimizers (float32)
    betas = (0.9, 0.999)
    adamw = optimizer_trajectory(
        torch,
        lambda ps: torch.optim.AdamW(ps, lr=0.05, betas=betas, eps=1e-8, weight_decay=0.1,
                                     foreach=False),
        {"optimizer": "AdamW", "lr": 0.05, "betas": list(betas), "eps": 1e-8,
         "weight_decay": 0.1, "amsgrad": False})
    write_json(os.path.join(args.out, "torch_adamw.json"), adamw)
    adam = optimizer_trajectory(
        torch,
        lambda ps: torch.optim.Adam(ps, lr=0.05, betas=betas, eps=1e-8, weight_decay=0.1,
                                    foreach=False),
        {"optimizer": "Adam", "lr": 0.05, "betas": list(betas), "eps": 1e-8,
         "weight_decay": 0.1, "amsgrad": False,
         "note": "Adam weight_decay is L2: grad += weight_decay * param before the moments"})
    write_json(os.path.join(args.out, "torch_adam.json"), adam)
    sgd = optimizer_trajectory(
        torch,
        lambda ps: torch.optim.SGD(ps, lr=0.05, momentum=0.9, nesterov=True, weight_decay=0.01,
                                   dampening=0, foreach=False),
        {"optimizer": "SGD", "lr": 0.05, "momentum": 0.9, "nesterov": True, "dampening": 0.0,
         "weight_decay": 0.01,
         "note": "torch SGD: g += wd*p; buf = momentum*buf + g (buf = g at step 1); "
                 "g = g + momentum*buf; p -= lr*g"})
    write_json(os.path.join(args.out, "torch_sgd_nesterov.json"), sgd)

    # ---- D: bicubic resampling
    write_json(os.path.join(args.out, "torch_bicubic.json"), bicubic_doc(torch, F))
    return 0


if __name__ == "__main__":
    sys.exit(main())
