"""Larger than memory: peak RSS of a fit, from memory, a memmap and a dask array; the cost
of a cluster.

1. Memory.  ``make_blobs`` rows (float32, 16 features, 10 components, ``full``)
   are saved to a ``.npy`` file; each fit runs in a fresh child process (5 fixed
   EM iterations from the same starting values) that reports its own peak RSS
   (``ru_maxrss``), for emlearn on the array loaded in memory, on a read-only
   ``np.memmap`` of the file, and on a dask array over that memmap (threaded
   scheduler, in the same process), and for scikit-learn on the array in memory.
   The peak is VmHWM, which includes Python and the libraries (about 175 MiB)
   and, for a memmap, the file's pages the kernel keeps mapped.
2. Cluster overhead.  Per-iteration time of the same fit on a dask array on a
   ``LocalCluster`` of 2 single-threaded worker processes, against the in-memory
   fit, in one process; and the same for ``EMImputer`` with 20% missing values.

    python benchmarks/bench_scale.py            # the recorded configuration
    python benchmarks/bench_scale.py --quick    # a seconds-long smoke run
"""

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
import warnings

import numpy as np

warnings.simplefilter("ignore")
N_FEATURES, N_COMPONENTS, N_ITER = 16, 10, 5


def make_data(n_samples, seed=0):
    from sklearn.datasets import make_blobs

    X, _ = make_blobs(n_samples=n_samples, n_features=N_FEATURES, centers=N_COMPONENTS,
                      random_state=seed)
    return X.astype(np.float32)


def starting_values(X):
    """Weights, means and precisions from 20,000 rows, shared by every fit."""
    from emlearn import GaussianMixtureEM

    start = GaussianMixtureEM(N_COMPONENTS, max_iter=2, random_state=0).fit(X[:20_000])
    weights = start.weights_.astype(np.float64)
    return dict(weights_init=weights / weights.sum(),
                means_init=start.means_.astype(np.float64),
                precisions_init=start.precisions_.astype(np.float64))


def options(start):
    return dict(n_components=N_COMPONENTS, max_iter=N_ITER, tol=0.0, **start)


# -- 1. memory, one child process per fit ----------------------------------------------------
def peak_rss_mib():
    """Peak resident memory of this process's image (VmHWM): unlike ``ru_maxrss``, it
    starts afresh at exec, so it does not inherit the parent's."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

def child(mode, path, start_path):
    """Runs in a child: load, fit, print the peak RSS in MiB (json)."""
    start = dict(np.load(start_path))
    if mode == "sklearn":
        from sklearn.mixture import GaussianMixture

        X = np.load(path)
        fit = lambda: GaussianMixture(**options(start)).fit(X)  # noqa: E731
    else:
        from emlearn import GaussianMixtureEM

        X = np.load(path, mmap_mode="r" if mode in ("memmap", "dask") else None)
        if mode == "dask":
            import dask
            import dask.array as da

            dask.config.set(scheduler="threads")
            X = da.from_array(X, chunks=(250_000, N_FEATURES))
        fit = lambda: GaussianMixtureEM(**options(start)).fit(X)  # noqa: E731
    before = peak_rss_mib()
    seconds = time.perf_counter()
    fit()
    seconds = time.perf_counter() - seconds
    peak = peak_rss_mib()
    print(json.dumps({"before": before, "peak": peak, "seconds": seconds}))


def run_child(mode, path, start_path):
    result = subprocess.run([sys.executable, __file__, "--child", mode, path, start_path],
                            capture_output=True, text=True)
    if result.returncode != 0:
        return {"error": result.stderr.strip().splitlines()[-1]}
    return json.loads(result.stdout.strip().splitlines()[-1])


def memory(n_samples):
    X = make_data(n_samples)
    input_mib = X.nbytes / 2**20
    with tempfile.TemporaryDirectory() as folder:
        path, start_path = os.path.join(folder, "X.npy"), os.path.join(folder, "start.npz")
        np.save(path, X)
        np.savez(start_path, **starting_values(X))
        del X
        print(f"1. peak RSS of a fit: make_blobs {n_samples:,} x {N_FEATURES} float32 "
              f"({input_mib:.0f} MiB), {N_COMPONENTS} components, full, {N_ITER} iterations")
        print(f"{'fit':28} {'peak MiB':>9} {'peak/input':>11} {'seconds':>8}")
        figures = {}
        for mode, label in (("memory", "emlearn, array in memory"),
                            ("memmap", "emlearn, np.memmap"),
                            ("dask", "emlearn, dask array (threads)"),
                            ("sklearn", "scikit-learn, array in memory")):
            figures[mode] = run_child(mode, path, start_path)
            result = figures[mode]
            if "error" in result:
                print(f"{label:28} failed: {result['error']}")
                continue
            print(f"{label:28} {result['peak']:9.0f} {result['peak'] / input_mib:11.2f} "
                  f"{result['seconds']:8.2f}")
        ours, theirs = figures["memory"], figures["sklearn"]
        if "error" not in ours and "error" not in theirs:
            extra = ours["peak"] - ours["before"]
            print(f"ratio of peak RSS emlearn/scikit-learn (in memory): "
                  f"{ours['peak'] / theirs['peak']:.2f}; emlearn's fit added {extra:.0f} MiB "
                  f"({extra / input_mib:.2f}x the input) to the RSS of the loaded process "
                  f"({ours['before']:.0f} MiB: Python, numpy, scipy, scikit-learn and the "
                  "data)")


# -- 2. the cost of a cluster ------------------------------------------------------------------
def per_iteration(fit, repeats):
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fit()
        times.append((time.perf_counter() - start) / N_ITER)
    return float(np.median(times))


def cluster_overhead(n_samples, repeats):
    import dask.array as da
    from distributed import Client, LocalCluster

    from emlearn import EMImputer, GaussianMixtureEM

    X = make_data(n_samples, seed=1).astype(np.float64)
    start = starting_values(X)
    holes = X.copy()
    holes[np.random.RandomState(0).uniform(size=X.shape) < 0.2] = np.nan
    chunks = (max(n_samples // 8, 1000), N_FEATURES)
    print(f"\n2. per-iteration time: {n_samples:,} x {N_FEATURES}, {N_COMPONENTS} components, "
          f"median of {repeats}; LocalCluster of 2 single-threaded worker processes")
    print(f"{'fit':28} {'in memory s':>12} {'cluster s':>10} {'ratio':>6}")
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                      dashboard_address=":0") as cluster, Client(cluster):
        cases = (
            ("GaussianMixtureEM, full", X,
             lambda data: GaussianMixtureEM(**options(start)).fit(data)),
            ("EMImputer, 20% missing", holes,
             lambda data: EMImputer(1, max_iter=N_ITER, tol=0.0).fit(data)),
        )
        for label, data, fit in cases:
            blocks = da.from_array(data, chunks=chunks).persist()
            local = per_iteration(lambda: fit(data), repeats)
            remote = per_iteration(lambda: fit(blocks), repeats)
            print(f"{label:28} {local:12.3f} {remote:10.3f} {remote / local:6.2f}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--child", nargs=3, metavar=("MODE", "DATA", "START"))
    args = parser.parse_args()
    if args.child:
        child(*args.child)
        return
    memory(20_000 if args.quick else 5_000_000)
    cluster_overhead(20_000 if args.quick else 2_000_000, 1 if args.quick else 3)


if __name__ == "__main__":
    main()
