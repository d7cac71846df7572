"""mpi4py.futures side of `cargo bench --bench compare` in backend-mpi: the same workloads
as compare.rs, run with `mpirun -n 5 python3 -m mpi4py.futures mpi4py_compare.py ROUNDS`.
Prints `key value` lines, each the median over the rounds."""

import statistics
import sys
import time

from mpi4py.futures import MPIPoolExecutor

N_TINY = 20000
BURN_TASKS = 32


def noop(x):
    return x


def burn(n):
    """CPU-bound work: `n` iterations of arithmetic."""
    acc = 0
    for i in range(n):
        acc = (acc * 31 + i) % 1000003
    return acc


def main():
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 3
    figures = {}

    def add(key, value):
        figures.setdefault(key, []).append(value)

    # Iterations for a ~40 ms task here.
    t = time.perf_counter()
    burn(200000)
    per_iter = (time.perf_counter() - t) / 200000
    iters = int(0.040 / per_iter)
    for _ in range(rounds):
        t = time.perf_counter()
        with MPIPoolExecutor() as ex:
            ex.submit(noop, 0).result()
            add("startup_first_result_ms", (time.perf_counter() - t) * 1e3)
            list(ex.map(noop, range(100)))
            samples = []
            for i in range(300):
                t = time.perf_counter()
                ex.submit(noop, i).result()
                samples.append(time.perf_counter() - t)
            add("apply_rtt_us", statistics.median(samples) * 1e6)
            t = time.perf_counter()
            list(ex.map(noop, range(N_TINY)))
            add("map_default_us_per_task", (time.perf_counter() - t) / N_TINY * 1e6)
            t = time.perf_counter()
            futures = [ex.submit(noop, i) for i in range(N_TINY)]
            for f in futures:
                f.result()
            add("chunk1_tasks_per_s", N_TINY / (time.perf_counter() - t))
            t = time.perf_counter()
            for _ in range(BURN_TASKS // 4):
                burn(iters)
            serial = (time.perf_counter() - t) * 4
            t = time.perf_counter()
            list(ex.map(burn, [iters] * BURN_TASKS))
            add("cpu_speedup", serial / (time.perf_counter() - t))
    for key, values in figures.items():
        print(key, statistics.median(values))


if __name__ == "__main__":
    main()
