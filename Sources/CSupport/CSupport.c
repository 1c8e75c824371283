#include "CSupport.h"
#include <stdio.h>
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

size_t snp_resident_bytes(void) {
    FILE *f = fopen("/proc/self/statm", "r");
    if (!f) return 0;
    unsigned long size = 0, resident = 0;
    int n = fscanf(f, "%lu %lu", &size, &resident);
    fclose(f);
    if (n != 2) return 0;
    return (size_t)resident * (size_t)sysconf(_SC_PAGESIZE);
}

#include <pthread.h>
#include <signal.h>
#include <string.h>

static volatile sig_atomic_t interrupt_count = 0;

static void on_interrupt(int signal_number) {
    (void)signal_number;
    if (interrupt_count < 1000) interrupt_count = interrupt_count + 1;
}

void snp_install_interrupt_handler(void) {
    struct sigaction action;
    memset(&action, 0, sizeof action);
    action.sa_handler = on_interrupt;
    sigemptyset(&action.sa_mask);
    action.sa_flags = 0;
    sigaction(SIGINT, &action, NULL);
    // A parent may have started us with SIGINT blocked (the mask survives exec): unblock it here.
    sigset_t interrupt;
    sigemptyset(&interrupt);
    sigaddset(&interrupt, SIGINT);
    pthread_sigmask(SIG_UNBLOCK, &interrupt, NULL);
}

void snp_remove_interrupt_handler(void) {
    struct sigaction action;
    memset(&action, 0, sizeof action);
    action.sa_handler = SIG_DFL;
    sigemptyset(&action.sa_mask);
    sigaction(SIGINT, &action, NULL);
}

int snp_interrupt_count(void) { return interrupt_count; }

void snp_interrupt_set(int count) { interrupt_count = count; }

#if defined(__linux__)
#include <sys/prctl.h>
#endif

int snp_die_with_parent(int parent) {
#if defined(__linux__)
    if (prctl(PR_SET_PDEATHSIG, SIGTERM) != 0) return -1;
#endif
    // The parent may have died before the request was made: then it is already gone.
    if (getppid() != (pid_t)parent) raise(SIGTERM);
    return 0;
}
