// OpenBLAS's CBLAS interface (Debian: libopenblas-dev, pkg-config "openblas").
// NOTE: OpenBLAS's cblas takes 32-bit ints (blasint), so sizes past 2^31 must be split by the caller.
#pragma once
#include <cblas.h>

/// The number of threads OpenBLAS runs sgemm on.
static inline void snp_blas_set_threads(int n) { openblas_set_num_threads(n); }
static inline int snp_blas_threads(void) { return openblas_get_num_threads(); }
/// The kernel family OpenBLAS chose at load time ("Haswell", "SkylakeX", ...).
static inline const char *snp_blas_core(void) { return openblas_get_corename(); }
static inline const char *snp_blas_config(void) { return openblas_get_config(); }
