"""Python's multiprocessing side of forkpool's comparison (benches/compare).

Runs the same workloads as benches/compare/figures.rs and prints one JSON object of
figures. Usage: python3 mp_compare.py ROUNDS (or --seed: each seed variant's seconds over
the ideal, in order)
"""
import json
import multiprocessing as mp
import os
import resource
import subprocess
import sys
import time


def inc(x):
    return x + 1


def spin(n):
    acc = n
    for i in range(n):
        acc = (acc * 6364136223846793005 + i) & 0xFFFFFFFFFFFFFFFF
    return acc


def big(n):
    return bytes(n)


def f(x, conn, t0, step):
    x0 = x
    conn.send('factorial of %d: start@%.2fs' % (x0, time.time() - t0))
    ans = 1
    while x > 1:
        ans *= x
        time.sleep(step)
        x -= 1
    conn.send('factorial of %d: finish@%.2fs, res = %d' % (x0, time.time() - t0, ans))
    return ans


def f_packed(args):
    return f(*args)


VAR = (4, 8, 12, 20, 16)
VARIANTS = ["process", "apply", "apply_async", "map", "map_async", "imap",
            "imap_unordered", "starmap", "starmap_async"]


def seed(name, step=0.05):
    """Seconds over the ideal for one seed variant (as in the article)."""
    p_conn, c_conn = mp.Pipe()
    pool = None if name == "process" else mp.Pool(4)
    t0 = time.time()
    params = [(x, c_conn, t0, step) for x in VAR]
    if name == "process":
        ps = [mp.Process(target=f, args=a) for a in params]
        for p in ps:
            p.start()
        for p in ps:
            p.join()
    elif name == "apply":
        [pool.apply(f, a) for a in params]
    elif name == "apply_async":
        [r.get() for r in [pool.apply_async(f, a) for a in params]]
    elif name == "map":
        pool.map(f_packed, params)
    elif name == "map_async":
        pool.map_async(f_packed, params).get()
    elif name == "imap":
        list(pool.imap(f_packed, params))
    elif name == "imap_unordered":
        list(pool.imap_unordered(f_packed, params))
    elif name == "starmap":
        pool.starmap(f, params)
    elif name == "starmap_async":
        pool.starmap_async(f, params).get()
    total = time.time() - t0
    if pool is not None:
        pool.close()
        pool.join()
    while p_conn.poll():
        p_conn.recv()
    return total - (2.75 if name == "apply" else 0.95)


def startup_ms(n=11, with_block=False, pause=0.0):
    """Pool start-up, first result and shut-down, in ms: the median of n pools. Shut down
    with close and join, or (with_block) by a `with` block's exit, which terminates. Each
    pool starts `pause` seconds after the one before ended."""
    v = []
    for _ in range(n):
        time.sleep(pause)
        t = time.perf_counter()
        if with_block:
            with mp.Pool(4) as pool:
                pool.apply(inc, (1,))
        else:
            pool = mp.Pool(4)
            pool.apply(inc, (1,))
            pool.close()
            pool.join()
        v.append((time.perf_counter() - t) * 1e3)
    return sorted(v)[n // 2]


def apply_rtt_us(n=2000):
    with mp.Pool(4) as pool:
        for _ in range(200):
            pool.apply(inc, (1,))
        v = []
        for _ in range(n):
            t = time.perf_counter()
            pool.apply(inc, (1,))
            v.append((time.perf_counter() - t) * 1e6)
    v.sort()
    return v[len(v) // 2]


def trivial_rate(how, n):
    with mp.Pool(4) as pool:
        t = time.perf_counter()
        if how == "map":
            pool.map(inc, range(n), chunksize=1)
        elif how == "imap":
            list(pool.imap(inc, range(n)))
        elif how == "imap_unordered":
            list(pool.imap_unordered(inc, range(n)))
        elif how == "apply_async":
            [r.get() for r in [pool.apply_async(inc, (x,)) for x in range(n)]]
        return n / (time.perf_counter() - t)


def callback_rate(n):
    with mp.Pool(4) as pool:
        total = [0]

        def add(v):
            total[0] += v

        t = time.perf_counter()
        [r.get() for r in [pool.apply_async(inc, (x,), callback=add) for x in range(n)]]
        rate = n / (time.perf_counter() - t)
        assert total[0] == sum(range(1, n + 1))
        return rate


def imap_rate_with(workers, n):
    with mp.Pool(workers) as pool:
        t = time.perf_counter()
        list(pool.imap(inc, range(n)))
        return n / (time.perf_counter() - t)


def sweep_workers():
    cpus = os.cpu_count() or 1
    return sorted(set([1, 2, 4, 8, 16, cpus]))


def map_rate(n, chunk):
    with mp.Pool(4) as pool:
        t = time.perf_counter()
        if chunk == 0:
            pool.map(inc, range(n))
        else:
            pool.map(inc, range(n), chunksize=chunk)
        return n / (time.perf_counter() - t)


def big_result_first_rate(n):
    # The first transfer of that size in a fresh pool, the median of three fresh pools.
    rates = []
    for _ in range(3):
        with mp.Pool(1) as pool:
            t = time.perf_counter()
            pool.apply(big, (n,))
            rates.append(n / (time.perf_counter() - t))
    return sorted(rates)[1]


def program_first_transfer_rate(n):
    """A program's first transfer of n bytes (one task returning them in the first pool of
    a fresh interpreter): the median of three fresh interpreters."""
    rates = []
    for _ in range(3):
        out = subprocess.run([sys.executable, __file__, "--first-transfer", str(n)],
                             capture_output=True, text=True, check=True)
        rates.append(float(out.stdout.split()[0]))
    return sorted(rates)[1]


def byte_len(b):
    return len(b)


def big_argument_first_rate(n):
    # The first task taking an n-byte argument in a fresh pool, the median of three.
    rates = []
    for _ in range(3):
        with mp.Pool(1) as pool:
            arg = bytes([1]) * n
            t = time.perf_counter()
            assert pool.apply(byte_len, (arg,)) == n
            rates.append(n / (time.perf_counter() - t))
    return sorted(rates)[1]


def _pipe_child(conn):
    got = conn.recv()
    conn.send(bytes([len(got) & 255]))


def big_pipe_rate(n):
    # n bytes sent through a Pipe to a child process, which answers with one byte.
    rates = []
    for _ in range(3):
        ours, theirs = mp.Pipe()
        child = mp.Process(target=_pipe_child, args=(theirs,))
        child.start()
        value = bytes([1]) * n
        t = time.perf_counter()
        ours.send(value)
        ours.recv()
        rates.append(n / (time.perf_counter() - t))
        child.join()
    return sorted(rates)[1]


def big_result_rate(n):
    # One transfer of the full size first (buffers grown on both sides), then the median
    # of three: the steady state a task returning large results repeatedly sees.
    with mp.Pool(1) as pool:
        pool.apply(big, (n,))
        rates = []
        for _ in range(3):
            t = time.perf_counter()
            pool.apply(big, (n,))
            rates.append(n / (time.perf_counter() - t))
        return sorted(rates)[1]


def _rss_child(n, q):
    with mp.Pool(4) as pool:
        for _ in pool.imap(inc, range(n), chunksize=256):
            pass
    q.put(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0)


def imap_peak_rss_mib(n):
    q = mp.Queue()
    p = mp.Process(target=_rss_child, args=(n, q))
    p.start()
    v = q.get()
    p.join()
    return v


def cpu_bound_secs(workers):
    with mp.Pool(workers) as pool:
        t = time.perf_counter()
        pool.map(spin, [2_000_000] * 8, chunksize=1)
        return time.perf_counter() - t


def spin_timed(n):
    t = time.perf_counter()
    spin(n)
    return time.perf_counter() - t


def cpu_efficiency(tasks=64, task_secs=0.04):
    """64 CPU-bound tasks of about 40 ms through map (default chunks) on os.cpu_count()
    workers: the time the tasks ran (timed in the workers) over workers x map's time."""
    workers = os.cpu_count() or 1
    probe = 1 << 16
    n = int(probe * task_secs / spin_timed(probe))
    with mp.Pool(workers) as pool:
        t = time.perf_counter()
        ran = pool.map(spin_timed, [n] * tasks)
        took = time.perf_counter() - t
    return sum(ran) / (workers * took)


def _cpu(pid):
    with open("/proc/%d/stat" % pid) as fh:
        fields = fh.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def cpu_per_task_us(n):
    with mp.Pool(4) as pool:
        pool.map(inc, range(1000), chunksize=1)
        pids = [p.pid for p in pool._pool] + [os.getpid()]
        before = sum(_cpu(p) for p in pids)
        pool.map(inc, range(n), chunksize=1)
        after = sum(_cpu(p) for p in pids)
    return (after - before) * 1e6 / n


def thread_pool_rate(n):
    from multiprocessing.pool import ThreadPool
    with ThreadPool(4) as pool:
        t = time.perf_counter()
        list(pool.imap(inc, range(n)))
        return n / (time.perf_counter() - t)


def _echo(a, b, n):
    for _ in range(n):
        b.put(a.get())


def queue_rtt_us(n=2000):
    a, b = mp.Queue(8), mp.Queue(8)
    p = mp.Process(target=_echo, args=(a, b, n + 100))
    p.start()
    for i in range(100):
        a.put(i)
        b.get()
    v = []
    for i in range(n):
        t = time.perf_counter()
        a.put(i)
        b.get()
        v.append((time.perf_counter() - t) * 1e6)
    p.join()
    v.sort()
    return v[n // 2]


def _bump(lock, count, start, n, out):
    start.wait()
    t = time.perf_counter()
    for _ in range(n):
        with lock:
            count.value += 1
    out.put(time.perf_counter() - t)


def lock_handoff_us(n=20_000):
    lock, count = mp.Lock(), mp.Value("q", 0, lock=False)
    start, out = mp.Barrier(2), mp.Queue()
    p = mp.Process(target=_bump, args=(lock, count, start, n, out))
    p.start()
    _bump(lock, count, start, n, out)
    times = [out.get(), out.get()]
    p.join()
    assert count.value == 2 * n
    return max(times) * 1e6 / (2 * n)


def seed_fresh():
    """Each variant's seed(name), run in order in a fresh interpreter: the walk-through is a
    program of its own, and this process grows with the other figures (the Rust side runs
    it the same way)."""
    out = subprocess.run([sys.executable, __file__, "--seed"],
                         capture_output=True, text=True, check=True)
    return [float(x) for x in out.stdout.split()]


def first_pool_ms(n=11):
    """The first pool of a program (start-up, first result, close, join), in ms: the median
    of n fresh interpreters."""
    v = []
    for _ in range(n):
        out = subprocess.run([sys.executable, __file__, "--first-pool"],
                             capture_output=True, text=True, check=True)
        v.append(float(out.stdout.split()[0]))
    return sorted(v)[n // 2]


def main():
    if len(sys.argv) > 1 and sys.argv[1] == "--seed":
        for v in VARIANTS:
            print(seed(v))
        return
    if len(sys.argv) > 2 and sys.argv[1] == "--first-transfer":
        n = int(sys.argv[2])
        with mp.Pool(1) as pool:
            t = time.perf_counter()
            pool.apply(big, (n,))
            print(n / (time.perf_counter() - t))
        return
    if len(sys.argv) > 1 and sys.argv[1] == "--first-pool":
        print(startup_ms(n=1))
        return
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 3
    out = {}

    def add(key, fn):
        out.setdefault(key, []).append(fn())

    for _ in range(rounds):
        for v, over in zip(VARIANTS, seed_fresh()):
            out.setdefault("seed_" + v, []).append(over)
        add("startup_first_ms", first_pool_ms)
        add("startup_ms", startup_ms)
        add("startup_drop_ms", lambda: startup_ms(with_block=True))
        add("startup_paused_ms", lambda: startup_ms(pause=0.02))
        add("apply_rtt_us", apply_rtt_us)
        for how in ["map", "imap", "imap_unordered", "apply_async"]:
            add("trivial_" + how, lambda how=how: trivial_rate(how, 50_000))
        add("callback_apply_async", lambda: callback_rate(50_000))
        add("map_default_1m", lambda: map_rate(1_000_000, 0))
        add("big_result_program_first", lambda: program_first_transfer_rate(64 << 20))
        add("big_result_first", lambda: big_result_first_rate(64 << 20))
        add("big_result", lambda: big_result_rate(64 << 20))
        add("big_arg_first", lambda: big_argument_first_rate(64 << 20))
        add("big_pipe", lambda: big_pipe_rate(64 << 20))
        add("imap_rss_mib", lambda: imap_peak_rss_mib(2_000_000))
        add("cpu_speedup", lambda: cpu_bound_secs(1) / cpu_bound_secs(2))
        add("cpu_efficiency", cpu_efficiency)
        add("cpu_per_task_us", lambda: cpu_per_task_us(50_000))
        for w in sweep_workers():
            add("workers_%d" % w, lambda w=w: imap_rate_with(w, 50_000))
        add("thread_pool", lambda: thread_pool_rate(50_000))
        add("queue_rtt_us", queue_rtt_us)
        add("lock_handoff_us", lock_handoff_us)
        for chunk in [1, 4, 16, 64, 256, 1024]:
            add("sweep_%d" % chunk, lambda chunk=chunk: map_rate(200_000, chunk))
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main()
