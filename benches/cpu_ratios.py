"""CPU-time ratios of the linear and logistic benchmarks, on serial plans.

Wall-clock ratios on a shared two-core machine move by ±20 % from run to run; the CPU time a
backend spends (its user + system time, threads included, read from /proc/self/stat) moves far
less. With parallel plans off, each query runs in one backend, so

  train_linear / the nine-sum scan, predict / the formula in SQL, train_logistic / its scan

compare the work done for the same rows. Runs after benches/linear.sh and benches/classify.sh
(their tables bench_linear and big_logit). Usage: python3 benches/cpu_ratios.py [PORT [REPS]]."""
import sys
import time

import psycopg

PORT = int(sys.argv[1]) if len(sys.argv) > 1 else 5499
REPS = int(sys.argv[2]) if len(sys.argv) > 2 else 3
QUERIES = {
    "scan": "SELECT sum(y)+sum(x1)+sum(x2)+sum(x3)+sum(x4)+sum(x5)+sum(x6)+sum(x7)+sum(x8) FROM bench_linear",
    "train_linear": "SELECT n_train FROM shopml.train_linear('cpu_linear', 'bench_linear', 'y', options => '{\"deploy\": false}')",
    "formula": "SELECT sum(1.5 + 1.0*x1 - 2.0*x2 + 0.5*x3 + 3.0*x4 - 1.0*x5 + 0.25*x6 + 2.0*x7 - 0.75*x8) FROM bench_linear",
    "predict": "SELECT sum(shopml.predict('cpu_linear', ARRAY[x1,x2,x3,x4,x5,x6,x7,x8])) FROM bench_linear",
    "logistic_scan": "SELECT sum(x1)+sum(x2)+sum(x3)+sum(x4)+sum(x5)+sum(x6)+sum(x7)+sum(x8)+sum(y::int) FROM big_logit",
    "train_logistic": "SELECT n_train FROM shopml.train_logistic('cpu_logistic', 'big_logit', 'y', options => '{\"test_fraction\": 0, \"deploy\": false}')",
}

c = psycopg.connect(host="localhost", port=PORT, user="postgres", dbname="shopml_bench", autocommit=True)
c.execute("SET client_min_messages = warning")
c.execute("SELECT version FROM shopml.train_linear('cpu_linear', 'bench_linear', 'y')")
c.execute("SET max_parallel_workers_per_gather = 0")


def cpu_seconds():
    fields = c.execute("SELECT pg_read_file('/proc/self/stat')").fetchone()[0].rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / 100.0  # utime + stime, in clock ticks of 10 ms


best = {}
for _ in range(REPS):
    for name, query in QUERIES.items():
        before, t0 = cpu_seconds(), time.monotonic()
        c.execute(query).fetchall()
        wall, used = time.monotonic() - t0, cpu_seconds() - before
        b = best.setdefault(name, [used, wall])
        b[0], b[1] = min(b[0], used), min(b[1], wall)
c.execute("SELECT shopml.drop_model('cpu_linear')")
c.execute("SELECT shopml.drop_model('cpu_logistic')")

print(f"shopml CPU-time ratios (serial plans, least of {REPS} runs; CPU seconds of the backend)")
for name, base in (("train_linear", "scan"), ("predict", "formula"), ("train_logistic", "logistic_scan")):
    (cu, wu), (cb, wb) = best[name], best[base]
    print(f"  {name:15s} {cu:6.2f} s CPU ({wu:6.3f} s wall)   / {base:13s} {cb:6.2f} s CPU   ratio {cu / cb:.2f}")
