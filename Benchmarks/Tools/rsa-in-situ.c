// Preloaded into laboratory-server by scripts/rsa-in-situ: times every RSA private operation the
// server does (EVP_PKEY_decrypt with an output buffer: the handshake's OAEP decryption), in the
// calling thread's CPU time and in wall time, so a handshake's CPU can be split into the RSA
// operation as it runs under load and everything else.
//
// The running totals live in a file, $LABORATORY_RSA_IN_SITU/rsa.PID (/tmp without the variable):
// three little-endian uint64, operations, CPU nanoseconds and wall nanoseconds, mapped shared so
// that a reader sees them current at any moment. Only a process named laboratory-server counts;
// any other that loads the library (the load generator, openssl) passes straight through.
#define _GNU_SOURCE
#include <dlfcn.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

typedef int (*decrypt_function)(void *, unsigned char *, size_t *, const unsigned char *, size_t);
static decrypt_function real_decrypt;
static _Atomic uint64_t *totals;
static pthread_once_t once = PTHREAD_ONCE_INIT;

static void set_up(void) {
    real_decrypt = (decrypt_function)dlsym(RTLD_NEXT, "EVP_PKEY_decrypt");
    char name[32] = {0};
    FILE *comm = fopen("/proc/self/comm", "r");
    if (comm) {
        if (!fgets(name, sizeof name, comm)) name[0] = 0;
        fclose(comm);
    }
    // comm holds at most 15 characters: "laboratory-serv".
    if (strncmp(name, "laboratory-serv", 15) != 0) return;
    char path[64];
    const char *directory = getenv("LABORATORY_RSA_IN_SITU");
    snprintf(path, sizeof path, "%.40s/rsa.%d", directory ? directory : "/tmp", (int)getpid());
    int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
    if (fd < 0) return;
    if (ftruncate(fd, 3 * sizeof(uint64_t)) == 0) {
        void *mapped = mmap(NULL, 3 * sizeof(uint64_t), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
        if (mapped != MAP_FAILED) totals = mapped;
    }
    close(fd);
}

static uint64_t nanoseconds(clockid_t clock) {
    struct timespec now;
    clock_gettime(clock, &now);
    return (uint64_t)now.tv_sec * 1000000000u + (uint64_t)now.tv_nsec;
}

int EVP_PKEY_decrypt(void *context, unsigned char *out, size_t *out_length, const unsigned char *in,
                     size_t in_length) {
    pthread_once(&once, set_up);
    // Without an output buffer the call only asks for the output's size.
    if (!out || !totals) return real_decrypt(context, out, out_length, in, in_length);
    uint64_t cpu = nanoseconds(CLOCK_THREAD_CPUTIME_ID), wall = nanoseconds(CLOCK_MONOTONIC);
    int result = real_decrypt(context, out, out_length, in, in_length);
    uint64_t cpu_end = nanoseconds(CLOCK_THREAD_CPUTIME_ID), wall_end = nanoseconds(CLOCK_MONOTONIC);
    atomic_fetch_add(&totals[0], 1);
    atomic_fetch_add(&totals[1], cpu_end - cpu);
    atomic_fetch_add(&totals[2], wall_end - wall);
    return result;
}
