#include "CSupport.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int snp_cpu_has_avx512(void) {
#if defined(__x86_64__)
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
           __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vl");
#else
    return 0;
#endif
}

static int hook_result = 0;
int snp_coretype_hook_result(void) { return hook_result; }

// NOTE: OpenBLAS picks its kernels in its own library constructor, before main() runs, from
// OPENBLAS_CORETYPE. Debian's 0.3.21 does not recognise newer Xeons and falls back to Haswell
// (AVX2) kernels at about half the speed. Functions in the executable's .preinit_array run before
// any shared library's constructor (glibc's _dl_init), so this is the one place early enough to
// choose SkylakeX for every Snoopi executable that links this target (snp, snp-bench, the tests).
// A value the user set is left alone; SNP_THREADS, if set, also becomes OpenBLAS's thread count.
static void snp_preinit(int argc, char **argv, char **envp) {
    (void)argc; (void)argv; (void)envp;
    if (getenv("OPENBLAS_CORETYPE") != NULL) {
        hook_result = 2;
    } else if (snp_cpu_has_avx512()) {
        setenv("OPENBLAS_CORETYPE", "SkylakeX", 0);
        hook_result = 1;
    }
    const char *threads = getenv("SNP_THREADS");
    if (threads != NULL && atoi(threads) > 0) setenv("OPENBLAS_NUM_THREADS", threads, 1);
}

__attribute__((section(".preinit_array"), used))
static void (*const snp_preinit_entry)(int, char **, char **) = snp_preinit;

size_t snp_resident_bytes(void) {
    FILE *f = fopen("/proc/self/statm", "r");
    if (!f) return 0;
    unsigned long size = 0, resident = 0;
    int n = fscanf(f, "%lu %lu", &size, &resident);
    fclose(f);
    if (n != 2) return 0;
    return (size_t)resident * (size_t)sysconf(_SC_PAGESIZE);
}
