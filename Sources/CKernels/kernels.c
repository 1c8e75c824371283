#include "CKernels.h"
#include <math.h>
#include <stdint.h>
#include <string.h>

#define CLONES __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))

// Cephes' expf: n = round(x·log2 e), r = x − n·ln 2 (in two parts), a degree-6 polynomial for
// e^r on |r| ≤ ln2/2, then scaled by 2^n through the exponent bits. Written branch-free so the
// compiler vectorises the loops that call it.
static inline __attribute__((always_inline)) float exp_approx(float x) {
    float c = x < -87.33654f ? -87.33654f : (x > 88.72283f ? 88.72283f : x);
    float n = floorf(c * 1.44269504088896341f + 0.5f);
    float r = c - n * 0.693359375f + n * 2.12194440e-4f;
    float z = r * r;
    float p = ((((1.9875691500e-4f * r + 1.3981999507e-3f) * r + 8.3334519073e-3f) * r
                + 4.1665795894e-2f) * r + 1.6666665459e-1f) * r + 5.0000001201e-1f;
    p = p * z + r + 1.0f;
    int32_t bits = ((int32_t)n + 127) << 23;
    float scale;
    memcpy(&scale, &bits, sizeof scale);
    float y = p * scale;
    y = x < -87.33654f ? 0.0f : y;
    y = x > 88.72283f ? INFINITY : y;
    return x != x ? x : y;
}

// erf(x) by Abramowitz & Stegun 7.1.26 (absolute error ≤ 1.5e-7), odd-extended.
static inline __attribute__((always_inline)) float erf_approx(float x) {
    float a = fabsf(x);
    float t = 1.0f / (1.0f + 0.3275911f * a);
    float poly = ((((1.061405429f * t - 1.453152027f) * t + 1.421413741f) * t - 0.284496736f) * t + 0.254829592f) * t;
    float e = 1.0f - poly * exp_approx(-a * a);
    return x < 0 ? -e : e;
}

CLONES void snp_exp(const float *restrict x, float *restrict y, long n) {
    for (long i = 0; i < n; i++) y[i] = exp_approx(x[i]);
}

CLONES void snp_sigmoid(const float *restrict x, float *restrict y, long n) {
    for (long i = 0; i < n; i++) y[i] = 1.0f / (1.0f + exp_approx(-x[i]));
}

CLONES void snp_silu(const float *restrict x, float *restrict y, long n) {
    for (long i = 0; i < n; i++) y[i] = x[i] / (1.0f + exp_approx(-x[i]));
}

CLONES void snp_silu_backward(const float *restrict g, const float *restrict x, float *restrict dx, long n) {
    for (long i = 0; i < n; i++) {
        float s = 1.0f / (1.0f + exp_approx(-x[i]));
        dx[i] = g[i] * s * (1.0f + x[i] * (1.0f - s));
    }
}

// CLIP's quick GELU: x·σ(1.702x).
CLONES void snp_quick_gelu(const float *restrict x, float *restrict y, long n) {
    for (long i = 0; i < n; i++) y[i] = x[i] / (1.0f + exp_approx(-1.702f * x[i]));
}

CLONES void snp_quick_gelu_backward(const float *restrict g, const float *restrict x, float *restrict dx, long n) {
    for (long i = 0; i < n; i++) {
        float s = 1.0f / (1.0f + exp_approx(-1.702f * x[i]));
        dx[i] = g[i] * (s + 1.702f * x[i] * s * (1.0f - s));
    }
}

CLONES void snp_gelu(const float *restrict x, float *restrict y, long n) {
    for (long i = 0; i < n; i++) y[i] = 0.5f * x[i] * (1.0f + erf_approx(x[i] * 0.70710678118654752f));
}

CLONES void snp_gelu_backward(const float *restrict g, const float *restrict x, float *restrict dx, long n) {
    for (long i = 0; i < n; i++) {
        float cdf = 0.5f * (1.0f + erf_approx(x[i] * 0.70710678118654752f));
        float pdf = 0.39894228040143268f * exp_approx(-0.5f * x[i] * x[i]);
        dx[i] = g[i] * (cdf + x[i] * pdf);
    }
}

// Reductions keep 16 partial results, one per lane, combined in a fixed order: the compiler can
// vectorise them without reassociating, and every ISA clone gives the same bits.
#define LANES 16

static inline __attribute__((always_inline)) float row_max(const float *x, long n) {
    float lane[LANES];
    for (int j = 0; j < LANES; j++) lane[j] = -INFINITY;
    long i = 0;
    for (; i + LANES <= n; i += LANES)
        for (int j = 0; j < LANES; j++) lane[j] = x[i + j] > lane[j] ? x[i + j] : lane[j];
    float m = -INFINITY;
    for (int j = 0; j < LANES; j++) m = lane[j] > m ? lane[j] : m;
    for (; i < n; i++) m = x[i] > m ? x[i] : m;
    return m;
}

static inline __attribute__((always_inline)) float row_sum(const float *x, long n) {
    float lane[LANES] = {0};
    long i = 0;
    for (; i + LANES <= n; i += LANES)
        for (int j = 0; j < LANES; j++) lane[j] += x[i + j];
    float total = 0.0f;
    for (int j = 0; j < LANES; j++) total += lane[j];
    for (; i < n; i++) total += x[i];
    return total;
}

static inline __attribute__((always_inline)) float row_sum_exp(const float *x, long n, float shift) {
    float lane[LANES] = {0};
    long i = 0;
    for (; i + LANES <= n; i += LANES)
        for (int j = 0; j < LANES; j++) lane[j] += exp_approx(x[i + j] - shift);
    float total = 0.0f;
    for (int j = 0; j < LANES; j++) total += lane[j];
    for (; i < n; i++) total += exp_approx(x[i] - shift);
    return total;
}

// y ← exp(y − shift) through one pointer: with separate x and y pointers that may be equal, the
// vectoriser's overlap check fails for the in-place case and it falls back to scalar code.
static inline __attribute__((always_inline)) void exp_in_place(float *restrict y, long n, float shift) {
    for (long i = 0; i < n; i++) y[i] = exp_approx(y[i] - shift);
}

static inline __attribute__((always_inline)) void scale_in_place(float *restrict y, long n, float factor) {
    for (long i = 0; i < n; i++) y[i] *= factor;
}

// tanh(u) = 1 − 2/(e^{2u} + 1): absolute error ~1e-7, which is what GELU needs (its output
// multiplies tanh by 0.5·x after adding 1).
static inline __attribute__((always_inline)) float tanh_approx(float u) {
    return 1.0f - 2.0f / (exp_approx(2.0f * u) + 1.0f);
}

// GELU, tanh form (PyTorch approximate="tanh"): 0.5x(1 + tanh(√(2/π)(x + 0.044715x³))).
CLONES void snp_gelu_tanh(const float *restrict x, float *restrict y, long n) {
    for (long i = 0; i < n; i++) {
        float v = x[i], u = 0.79788456080286536f * (v + 0.044715f * v * v * v);
        y[i] = 0.5f * v * (1.0f + tanh_approx(u));
    }
}

CLONES void snp_gelu_tanh_backward(const float *restrict g, const float *restrict x, float *restrict dx, long n) {
    for (long i = 0; i < n; i++) {
        float v = x[i], u = 0.79788456080286536f * (v + 0.044715f * v * v * v), t = tanh_approx(u);
        float du = 0.79788456080286536f * (1.0f + 3.0f * 0.044715f * v * v);
        dx[i] = g[i] * (0.5f * (1.0f + t) + 0.5f * v * (1.0f - t * t) * du);
    }
}

CLONES void snp_softmax_rows(const float *x, float *y, long rows, long n, int log) {
    for (long r = 0; r < rows; r++) {
        const float *xr = x + r * n;
        float *yr = y + r * n;
        if (n <= 0) continue;
        float m = row_max(xr, n);
        // A row of −inf has no finite maximum: subtracting 0 keeps exp(−inf) = 0 and gives NaN, as PyTorch.
        float shift = isinf(m) ? 0.0f : m;
        if (log) {
            float lse = logf(row_sum_exp(xr, n, shift));
            for (long i = 0; i < n; i++) yr[i] = xr[i] - shift - lse;
        } else {
            if (yr != xr) memcpy(yr, xr, (size_t)n * sizeof(float));
            exp_in_place(yr, n, shift);
            scale_in_place(yr, n, 1.0f / row_sum(yr, n));
        }
    }
}

static inline __attribute__((always_inline)) float row_dot(const float *restrict a, const float *restrict b, long n) {
    float lane[LANES] = {0};
    long i = 0;
    for (; i + LANES <= n; i += LANES)
        for (int j = 0; j < LANES; j++) lane[j] += a[i + j] * b[i + j];
    float total = 0.0f;
    for (int j = 0; j < LANES; j++) total += lane[j];
    for (; i < n; i++) total += a[i] * b[i];
    return total;
}

static inline __attribute__((always_inline)) void softmax_grad_in_place(const float *restrict y, float *restrict d, long n, float dot) {
    for (long i = 0; i < n; i++) d[i] = y[i] * (d[i] - dot);
}

static inline __attribute__((always_inline)) void log_softmax_grad_in_place(const float *restrict y, float *restrict d, long n, float total) {
    for (long i = 0; i < n; i++) d[i] = d[i] - exp_approx(y[i]) * total;
}

CLONES void snp_softmax_backward_rows(const float *y, const float *g, float *dx, long rows, long n, int log) {
    for (long r = 0; r < rows; r++) {
        const float *yr = y + r * n, *gr = g + r * n;
        float *dr = dx + r * n;
        if (dr != gr) memcpy(dr, gr, (size_t)n * sizeof(float));
        if (log) log_softmax_grad_in_place(yr, dr, n, row_sum(dr, n));
        else softmax_grad_in_place(yr, dr, n, row_dot(dr, yr, n));
    }
}

CLONES void snp_adam_update(float *restrict p, const float *restrict g, float *restrict m, float *restrict v, long n,
                            float b1, float b2, float eps, float stepSize, float correction2, float decay, float l2) {
    for (long i = 0; i < n; i++) {
        float grad = g[i] + l2 * p[i];
        float mi = b1 * m[i] + (1.0f - b1) * grad;
        float vi = b2 * v[i] + (1.0f - b2) * grad * grad;
        m[i] = mi;
        v[i] = vi;
        p[i] = p[i] * decay - stepSize * mi / (sqrtf(vi) / correction2 + eps);
    }
}

// ---- Normalisation ------------------------------------------------------------------------
// Statistics are accumulated in double over fixed lanes (deterministic, vectorised).

static inline __attribute__((always_inline)) double sum_double(const float *restrict x, long n) {
    double lane[8] = {0};
    long i = 0;
    for (; i + 8 <= n; i += 8)
        for (int j = 0; j < 8; j++) lane[j] += x[i + j];
    double total = 0;
    for (int j = 0; j < 8; j++) total += lane[j];
    for (; i < n; i++) total += x[i];
    return total;
}

static inline __attribute__((always_inline)) double centered_squares(const float *restrict x, long n, double mean) {
    double lane[8] = {0};
    long i = 0;
    for (; i + 8 <= n; i += 8)
        for (int j = 0; j < 8; j++) { double d = x[i + j] - mean; lane[j] += d * d; }
    double total = 0;
    for (int j = 0; j < 8; j++) total += lane[j];
    for (; i < n; i++) { double d = x[i] - mean; total += d * d; }
    return total;
}

static inline __attribute__((always_inline)) void normalize_affine(const float *restrict x, float *restrict y, long n, float mean, float rstd, float w, float b) {
    float scale = rstd * w, shift = b - mean * rstd * w;
    for (long i = 0; i < n; i++) y[i] = x[i] * scale + shift;
}

CLONES void snp_group_norm_forward(const float *x, const float *w, const float *b, float *y, float *mean, float *rstd,
                                   long channels, long spatial, long groups, float eps, long row0, long row1) {
    long per = channels / groups, n = per * spatial;
    for (long r = row0; r < row1; r++) {
        const float *xr = x + r * n;
        double mu = sum_double(xr, n) / (double)n;
        double var = centered_squares(xr, n, mu) / (double)n;
        float inv = (float)(1.0 / sqrt(var + (double)eps));
        mean[r] = (float)mu;
        rstd[r] = inv;
        long g = r % groups;
        for (long k = 0; k < per; k++) {
            long c = g * per + k;
            normalize_affine(xr + k * spatial, y + r * n + k * spatial, spatial, (float)mu, inv, w ? w[c] : 1.0f, b ? b[c] : 0.0f);
        }
    }
}

static inline __attribute__((always_inline)) void dual_sums(const float *restrict dy, const float *restrict x, long n, double *s1, double *s2) {
    double a[8] = {0}, c[8] = {0};
    long i = 0;
    for (; i + 8 <= n; i += 8)
        for (int j = 0; j < 8; j++) { a[j] += dy[i + j]; c[j] += (double)dy[i + j] * x[i + j]; }
    double ta = 0, tc = 0;
    for (int j = 0; j < 8; j++) { ta += a[j]; tc += c[j]; }
    for (; i < n; i++) { ta += dy[i]; tc += (double)dy[i] * x[i]; }
    *s1 = ta; *s2 = tc;
}

static inline __attribute__((always_inline)) void group_norm_dx(const float *restrict dy, const float *restrict x, float *restrict dx, long n,
                                 float a, float b, float c) {
    for (long i = 0; i < n; i++) dx[i] = a * dy[i] + b * x[i] + c;
}

// With xhat = (x − μ)·rstd and dxhat = dy·w[c]:
//   dx = rstd·(dxhat − mean(dxhat) − xhat·mean(dxhat·xhat)),  per (sample, group);
//   dwPart[s, c] = Σ dy·xhat and dbPart[s, c] = Σ dy over the channel's positions.
CLONES void snp_group_norm_backward(const float *dy, const float *x, const float *w, const float *mean, const float *rstd,
                                    float *dx, float *dwPart, float *dbPart, long channels, long spatial, long groups,
                                    long row0, long row1) {
    long per = channels / groups, n = per * spatial;
    for (long r = row0; r < row1; r++) {
        long g = r % groups, sample = r / groups;
        double mu = mean[r], inv = rstd[r];
        double meanD = 0, meanDX = 0;  // Σ dxhat, Σ dxhat·xhat
        for (long k = 0; k < per; k++) {
            long c = g * per + k, off = r * n + k * spatial;
            double s1, s2;
            dual_sums(dy + off, x + off, spatial, &s1, &s2);
            double wc = w ? w[c] : 1.0;
            double dyXhat = inv * (s2 - mu * s1);
            dwPart[sample * channels + c] = (float)dyXhat;
            dbPart[sample * channels + c] = (float)s1;
            meanD += wc * s1;
            meanDX += wc * dyXhat;
        }
        meanD /= (double)n;
        meanDX /= (double)n;
        for (long k = 0; k < per; k++) {
            long c = g * per + k, off = r * n + k * spatial;
            double wc = w ? w[c] : 1.0;
            // dx = rstd·(w·dy − meanD − (x − μ)·rstd·meanDX) = A·dy + B·x + C
            double A = inv * wc, B = -inv * inv * meanDX, C = inv * (inv * mu * meanDX - meanD);
            group_norm_dx(dy + off, x + off, dx + off, spatial, (float)A, (float)B, (float)C);
        }
    }
}

// Layer norm over rows of n: weight/bias per position.
CLONES void snp_layer_norm_forward(const float *x, const float *w, const float *b, float *y, float *mean, float *rstd,
                                   long n, float eps, long row0, long row1) {
    for (long r = row0; r < row1; r++) {
        const float *xr = x + r * n;
        float *yr = y + r * n;
        double mu = sum_double(xr, n) / (double)n;
        double var = centered_squares(xr, n, mu) / (double)n;
        float inv = (float)(1.0 / sqrt(var + (double)eps)), m = (float)mu;
        mean[r] = m;
        rstd[r] = inv;
        if (w && b) for (long i = 0; i < n; i++) yr[i] = (xr[i] - m) * inv * w[i] + b[i];
        else if (w) for (long i = 0; i < n; i++) yr[i] = (xr[i] - m) * inv * w[i];
        else if (b) for (long i = 0; i < n; i++) yr[i] = (xr[i] - m) * inv + b[i];
        else for (long i = 0; i < n; i++) yr[i] = (xr[i] - m) * inv;
    }
}

// dx per row; dw/db accumulated (+=) into this call's own partial rows dwAcc/dbAcc of length n.
CLONES void snp_layer_norm_backward(const float *dy, const float *x, const float *w, const float *mean, const float *rstd,
                                    float *dx, float *dwAcc, float *dbAcc, long n, long row0, long row1) {
    for (long r = row0; r < row1; r++) {
        const float *g = dy + r * n, *xr = x + r * n;
        float *o = dx + r * n;
        float m = mean[r], inv = rstd[r];
        double sd = 0, sdx = 0;
        for (long i = 0; i < n; i++) {
            float xhat = (xr[i] - m) * inv, d = g[i] * (w ? w[i] : 1.0f);
            sd += d;
            sdx += (double)d * xhat;
            if (dwAcc) dwAcc[i] += g[i] * xhat;
            if (dbAcc) dbAcc[i] += g[i];
        }
        float md = (float)(sd / (double)n), mdx = (float)(sdx / (double)n);
        for (long i = 0; i < n; i++) {
            float xhat = (xr[i] - m) * inv, d = g[i] * (w ? w[i] : 1.0f);
            o[i] = inv * (d - md - xhat * mdx);
        }
    }
}

// ---- Attention rows ----------------------------------------------------------------------
// Softmax of score rows in place, also returning each row's log-sum-exp (so the backward can
// rebuild the probabilities from the scores without having stored them).
CLONES void snp_softmax_rows_lse(float *scores, float *lse, long rows, long n) {
    for (long r = 0; r < rows; r++) {
        float *y = scores + r * n;
        float m = row_max(y, n);
        float shift = isinf(m) ? 0.0f : m;
        exp_in_place(y, n, shift);
        float total = row_sum(y, n);
        scale_in_place(y, n, 1.0f / total);
        lse[r] = shift + logf(total);
    }
}

// Probabilities from scores and their log-sum-exp: p = exp(s − lse), in place.
CLONES void snp_probabilities_from_lse(float *scores, const float *lse, long rows, long n) {
    for (long r = 0; r < rows; r++) exp_in_place(scores + r * n, n, lse[r]);
}

// ---- Attention for small head sizes --------------------------------------------------------
// With d ≤ 32 an sgemm spends its time packing, not multiplying. These kernels work one query
// row at a time on keys and values stored transposed (kt: [d, lk], vt: [dv, lk]), so every inner
// loop runs over the lk keys with full vectors, and all of a head's data stays in L1/L2.

// s[j] = mask[j] + α Σ_c q[c]·kt[c, j], sixteen keys at a time with the sum in registers (one
// store per key instead of one load and store per key and dimension).
static inline __attribute__((always_inline)) void row_scores(const float *restrict q, const float *restrict kt, float *restrict s,
                                                             long lk, long d, float alpha, const float *restrict mask) {
    float qa[64];
    for (long c = 0; c < d; c++) qa[c] = alpha * q[c];
    long j0 = 0;
    for (; j0 + 16 <= lk; j0 += 16) {
        float acc[16];
        for (int t = 0; t < 16; t++) acc[t] = mask ? mask[j0 + t] : 0.0f;
        for (long c = 0; c < d; c++) {
            const float *k = kt + c * lk + j0;
            for (int t = 0; t < 16; t++) acc[t] += qa[c] * k[t];
        }
        for (int t = 0; t < 16; t++) s[j0 + t] = acc[t];
    }
    for (long j = j0; j < lk; j++) {
        float acc = mask ? mask[j] : 0.0f;
        for (long c = 0; c < d; c++) acc += qa[c] * kt[c * lk + j];
        s[j] = acc;
    }
}

CLONES void snp_attention_small_forward(const float *q, const float *kt, const float *vt, const float *mask,
                                        float *out, float *lse, float *scratch, long lq, long lk, long d, long dv, float alpha) {
    for (long i = 0; i < lq; i++) {
        float *s = scratch;
        row_scores(q + i * d, kt, s, lk, d, alpha, mask ? mask + i * lk : 0);
        float m = row_max(s, lk);
        float shift = isinf(m) ? 0.0f : m;
        exp_in_place(s, lk, shift);
        float total = row_sum(s, lk), inv = 1.0f / total;
        lse[i] = shift + logf(total);
        for (long c = 0; c < dv; c++) out[i * dv + c] = row_dot(s, vt + c * lk, lk) * inv;
    }
}

static inline __attribute__((always_inline)) void axpy(float *restrict y, const float *restrict x, float a, long n) {
    for (long j = 0; j < n; j++) y[j] += a * x[j];
}

// dq: [lq, d]; dkt: [d, lk] and dvt: [dv, lk] are accumulated (+=, zero them first); ds (if not
// NULL) receives dS row by row [lq, lk] for a mask gradient. scratch: 2·lk floats.
CLONES void snp_attention_small_backward(const float *q, const float *kt, const float *vt, const float *mask,
                                         const float *dout, const float *lse, float *dq, float *dkt, float *dvt, float *ds,
                                         float *scratch, long lq, long lk, long d, long dv, float alpha) {
    float *p = scratch, *dp = scratch + lk;
    for (long i = 0; i < lq; i++) {
        row_scores(q + i * d, kt, p, lk, d, alpha, mask ? mask + i * lk : 0);
        exp_in_place(p, lk, lse[i]);
        const float *go = dout + i * dv;
        // dP = dO Vᵀ, and dV += Pᵀ dO
        for (long j = 0; j < lk; j++) dp[j] = 0.0f;
        for (long c = 0; c < dv; c++) {
            axpy(dp, vt + c * lk, go[c], lk);
            axpy(dvt + c * lk, p, go[c], lk);
        }
        // dS = P ⊙ (dP − Σ dP⊙P)
        float dot = row_dot(dp, p, lk);
        softmax_grad_in_place(p, dp, lk, dot);
        if (ds) memcpy(ds + i * lk, dp, (size_t)lk * sizeof(float));
        // dQ = α dS K, dK += α dSᵀ q
        const float *qi = q + i * d;
        for (long c = 0; c < d; c++) {
            dq[i * d + c] = alpha * row_dot(dp, kt + c * lk, lk);
            axpy(dkt + c * lk, dp, alpha * qi[c], lk);
        }
    }
}
