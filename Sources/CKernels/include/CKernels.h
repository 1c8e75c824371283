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
/// CLIP's quick GELU: y = x·σ(1.702x), and its backward.
void snp_quick_gelu(const float *x, float *y, long n);
void snp_quick_gelu_backward(const float *g, const float *x, float *dx, long n);
/// GELU, erf form: y = 0.5x(1 + erf(x/√2)); dx = g·(Φ(x) + x·φ(x)).
void snp_gelu(const float *x, float *y, long n);
void snp_gelu_backward(const float *g, const float *x, float *dx, long n);
/// GELU, tanh form: y = 0.5x(1 + tanh(√(2/π)(x + 0.044715x³))), and its backward.
void snp_gelu_tanh(const float *x, float *y, long n);
void snp_gelu_tanh_backward(const float *g, const float *x, float *dx, long n);
/// Row-wise softmax (or log-softmax) of `rows` rows of length n; y may equal x.
void snp_softmax_rows(const float *x, float *y, long rows, long n, int log);
/// The softmax backward per row, from the output y and its gradient g: softmax
/// dx = y ⊙ (g − Σ g⊙y); log-softmax dx = g − exp(y)·Σ g. dx may equal g.
void snp_softmax_backward_rows(const float *y, const float *g, float *dx, long rows, long n, int log);
/// One Adam/AdamW step on n elements (PyTorch's formulas):
///   grad = g + l2·p;  m = b1·m + (1−b1)·grad;  v = b2·v + (1−b2)·grad²;
///   p = p·decay − stepSize·m / (√v / correction2 + eps)
void snp_adam_update(float *p, const float *g, float *m, float *v, long n, float b1, float b2,
                     float eps, float stepSize, float correction2, float decay, float l2);

/// Group norm over rows row0..<row1 of (sample, group); x: [B, C, spatial]; w, b: [C] or NULL.
/// Writes y and, per row, mean and rstd = 1/√(var + eps) (biased variance, as PyTorch).
void snp_group_norm_forward(const float *x, const float *w, const float *b, float *y, float *mean, float *rstd,
                            long channels, long spatial, long groups, float eps, long row0, long row1);
/// Its backward for the same rows: dx, and per (sample, channel) partial sums for dw (Σ dy·xhat)
/// and db (Σ dy) written to dwPart/dbPart [B, C].
void snp_group_norm_backward(const float *dy, const float *x, const float *w, const float *mean, const float *rstd,
                             float *dx, float *dwPart, float *dbPart, long channels, long spatial, long groups,
                             long row0, long row1);
/// Layer norm of rows row0..<row1 of length n; w, b: [n] or NULL.
void snp_layer_norm_forward(const float *x, const float *w, const float *b, float *y, float *mean, float *rstd,
                            long n, float eps, long row0, long row1);
/// Its backward: dx for the rows, and dw/db added into dwAcc/dbAcc (length n, or NULL).
void snp_layer_norm_backward(const float *dy, const float *x, const float *w, const float *mean, const float *rstd,
                             float *dx, float *dwAcc, float *dbAcc, long n, long row0, long row1);

/// Softmax of `rows` score rows of length n in place, writing each row's log-sum-exp to lse.
void snp_softmax_rows_lse(float *scores, float *lse, long rows, long n);
/// p = exp(s − lse) per row, in place: the softmax rebuilt from scores and log-sum-exp.
void snp_probabilities_from_lse(float *scores, const float *lse, long rows, long n);

/// One head of attention for small head sizes, row by row: q [lq, d], kt [d, lk] and vt [dv, lk]
/// (keys and values transposed), mask [lq, lk] or NULL → out [lq, dv] and the rows' log-sum-exp.
/// scratch: lk floats.
void snp_attention_small_forward(const float *q, const float *kt, const float *vt, const float *mask,
                                 float *out, float *lse, float *scratch, long lq, long lk, long d, long dv, float alpha);
/// Its backward: dq [lq, d]; dkt [d, lk] and dvt [dv, lk] accumulated (zero them first); ds
/// [lq, lk] or NULL receives dS for a mask gradient. scratch: 2·lk floats.
void snp_attention_small_backward(const float *q, const float *kt, const float *vt, const float *mask,
                                  const float *dout, const float *lse, float *dq, float *dkt, float *dvt, float *ds,
                                  float *scratch, long lq, long lk, long d, long dv, float alpha);
