// One wall-clock window shared by every thread of a measurement (fma_peak.c, read_bandwidth.c). The threads are let
// go together at `start`, warm up until start + warmup (clocks ramp up), then count the pieces of work that start
// in the window [start + warmup, start + warmup + seconds). The figure is all the threads' work over that one window:
// no more than the cores did together when the threads took turns on them (more threads than CPUs, or a host running
// the vCPUs on fewer cores). A sum of each thread's rate over its own window, as these measurements took before, read
// up to several times too high then (16 threads on 2 CPUs: 1.4–1.6× the FMA peak of 2).
#ifndef QK_TIMED_WINDOW_H
#define QK_TIMED_WINDOW_H

#include <time.h>

static inline double qk_window_now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

/// The warm-up before a window of `seconds`: a quarter of it, at least 50 ms. Clocks ramp up and the scheduler
/// spreads new threads over the CPUs in the first milliseconds: on a Zen 4 whose two cores give 232 GFLOP/s, a 10 ms
/// window on 2 threads read 116–164 after a 2.5 ms warm-up, 221–234 after 50 ms.
static inline double qk_window_warmup(double seconds) { return seconds / 4 > 0.05 ? seconds / 4 : 0.05; }

/// When the threads were let go, and the phases after it (seconds).
typedef struct {
    double start, warmup, seconds;
} qk_window;

/// One thread's count: the work it finished in the window (in the caller's units: iterations, bytes), and when its
/// last piece finished.
typedef struct {
    double amount;
    double last;
} qk_window_count;

/// Runs `work(arg)`, a piece of `amount` units, through the warm-up and the window, counting the pieces that start at
/// or after the window's opening and before its close (so the last may end past the close, by at most one piece).
static inline qk_window_count qk_window_run(const qk_window *w, void (*work)(void *), void *arg, double amount) {
    const double open = w->start + w->warmup, close = open + w->seconds;
    double now = qk_window_now();
    while (now < open) {
        work(arg);
        now = qk_window_now();
    }
    qk_window_count c = { 0, open };
    while (now < close) {
        work(arg);
        now = qk_window_now();
        c.amount += amount;
        c.last = now;
    }
    return c;
}

/// Adds one thread's count to `all` (start from a zeroed count): the work summed, the last piece any finished.
static inline void qk_window_join(qk_window_count *all, qk_window_count c) {
    all->amount += c.amount;
    if (c.last > all->last) all->last = c.last;
}

/// All threads' units per second over the common window (`all`, their counts joined): from its opening to the last
/// piece any thread finished. 0 when no piece finished in it.
static inline double qk_window_rate(const qk_window *w, qk_window_count all) {
    const double open = w->start + w->warmup;
    return all.last > open ? all.amount / (all.last - open) : 0;
}

#endif
