// Vectorised float kernels for the engine's hot elementwise work. Each function is compiled
// for AVX-512, AVX2+FMA and baseline x86-64 and picked at load time for the running CPU
// (target_clones). All arrays are contiguous; outputs may alias inputs only where noted.
#pragma once
#include <stddef.h>

/// y = exp(x), relative error below 2e-7; exp(x) = 0 for x < −87.3, +inf above 88.7, NaN kept.
void snp_exp(const float *x, float *y, long n);
/// y = 1/(1+exp(−x)).
void snp_sigmoid(const float *x, float *y, long n);
/// y = x·sigmoid(x); dx = g·s·(1 + x(1 − s)).
void snp_silu(const float *x, float *y, long n);
void snp_silu_backward(const float *g, const float *x, float *dx, long n);
/// GELU, erf form: y = 0.5x(1 + erf(x/√2)); dx = g·(Φ(x) + x·φ(x)).
void snp_gelu(const float *x, float *y, long n);
void snp_gelu_backward(const float *g, const float *x, float *dx, long n);
/// Row-wise softmax (or log-softmax) of `rows` rows of length n; y may equal x.
void snp_softmax_rows(const float *x, float *y, long rows, long n, int log);
/// One Adam/AdamW step on n elements (PyTorch's formulas):
///   grad = g + l2·p;  m = b1·m + (1−b1)·grad;  v = b2·v + (1−b2)·grad²;
///   p = p·decay − stepSize·m / (√v / correction2 + eps)
void snp_adam_update(float *p, const float *g, float *m, float *v, long n, float b1, float b2,
                     float eps, float stepSize, float correction2, float decay, float l2);
