// Small C helpers the Swift engine needs: CPU features and process memory.
#pragma once
#include <stddef.h>

/// 1 when the CPU runs the AVX-512 (F, BW, DQ, VL) instructions OpenBLAS's SkylakeX kernels use.
int snp_cpu_has_avx512(void);
/// Resident set size of this process in bytes (from /proc/self/statm), 0 if unknown.
size_t snp_resident_bytes(void);

/// Ctrl-C as a request, not a kill: the handler counts SIGINTs; long computations poll the count
/// at safe points (the end of a training step) and stop cleanly.
/// Installs the counting SIGINT handler (SA_RESTART off, so a blocking read returns EINTR).
void snp_install_interrupt_handler(void);
/// Restores the default SIGINT action (the process dies on Ctrl-C again).
void snp_remove_interrupt_handler(void);
/// SIGINTs received since the last clear.
int snp_interrupt_count(void);
/// Sets the count (0 clears; tests and the REPL's own key handling set it directly).
void snp_interrupt_set(int count);

/// Asks for SIGTERM when the parent process dies (Linux prctl PR_SET_PDEATHSIG), and raises it now
/// if the parent is no longer `parent`: a batch job never outlives its runner. -1 if refused.
int snp_die_with_parent(int parent);
