// Small C helpers the Swift engine needs: CPU features and process memory.
#pragma once
#include <stddef.h>

/// 1 when the CPU runs the AVX-512 (F, BW, DQ, VL) instructions OpenBLAS's SkylakeX kernels use.
int snp_cpu_has_avx512(void);
/// Resident set size of this process in bytes (from /proc/self/statm), 0 if unknown.
size_t snp_resident_bytes(void);
