#!/usr/bin/env python3
"""PyTorch CPU reference timings for the Snoopi engine benchmarks.

Runs the same workloads as the Swift bench, under the same names, on the CPU
in float32, and prints a table (name, median_ms, gflops). Each workload is
warmed up, then timed N times, N chosen so that the timed runs take about
2 s in all (at least 5 runs); the median is reported.

    .venv/bin/python Scripts/bench_torch.py [--threads N] [--json PATH] [--only a,b]

--threads  torch.set_num_threads (default: $SNP_THREADS, else 2)
--json     also write a JSON array of {"name", "median_ms", "gflops" (or null)}
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
"""

import argparse
import json
import os
import platform
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
    header = f"{'name':<20} {'median_ms':>11} {'gflops':>9} {'runs':>6}"
    print(header)
    print("-" * len(header))
    sys.stdout.flush()

    results = []
    for name, make in selected:
        fn, flops = make()
        t, n = measure(fn)
        gflops = (flops / t / 1e9) if flops is not None else None
        results.append({"name": name, "median_ms": round(t * 1e3, 4),
                        "gflops": round(gflops, 3) if gflops is not None else None})
        gf = f"{gflops:9.2f}" if gflops is not None else f"{'-':>9}"
        print(f"{name:<20} {t * 1e3:11.3f} {gf} {n:6d}")
        sys.stdout.flush()

    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=2)
            f.write("\n")
        print(f"\nwrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
