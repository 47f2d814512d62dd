"""Larger than memory: peak RSS of a fit, from memory, a memmap and a dask array; the cost
of a cluster.

1. Memory.  ``make_blobs`` rows (float32, 16 features, 10 components) are saved
   to a ``.npy`` file, and a copy with 20% of the entries missing (NaN) to
   another; each fit runs in a fresh child process (5 fixed EM iterations from
   the same starting values) that reports its own peak resident memory
   (VmHWM): GaussianMixtureEM (``full``) on the array loaded in memory, on a
   read-only ``np.memmap`` of the file and on a dask array over that memmap
   (threaded scheduler, in the same process), and scikit-learn's
   GaussianMixture on the array in memory; then, on memmaps, GaussianMixtureEM
   on the rows with missing values, EMImputer's fit and transform, and HMMEM
   (``full``, the rows as one sequence).  Each child also reports its memory
   after importing the libraries (before loading the data) and after loading
   them (before the fit), so that the table separates the interpreter and
   libraries (about 175 MiB), the data, and what the fit itself adds.  For a
   memmap, the file's pages the kernel keeps mapped count in the peak.
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
from concurrent.futures import ThreadPoolExecutor

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


def _current_rss_mib():
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def _emission_start(start):
    """HMMEM's starting values from the mixture's: the chain starts sticky (its default)."""
    from emlearn.hmm import sticky_transmat

    return dict(startprob_init=np.full(N_COMPONENTS, 1.0 / N_COMPONENTS),
                transmat_init=sticky_transmat(N_COMPONENTS), means_init=start["means_init"],
                covariances_init=np.linalg.inv(start["precisions_init"]))


# Each mode: (label, which file, how it is read, the fit).
MODES = {
    "memory": ("GaussianMixtureEM, in memory", "complete", "memory"),
    "memmap": ("GaussianMixtureEM, np.memmap", "complete", "memmap"),
    "dask": ("GaussianMixtureEM, dask (threads)", "complete", "memmap"),
    "sklearn": ("scikit-learn, in memory", "complete", "memory"),
    "nan": ("GaussianMixtureEM, 20% NaN, memmap", "missing", "memmap"),
    "impute-fit": ("EMImputer.fit, 20% NaN, memmap", "missing", "memmap"),
    "impute-transform": ("EMImputer.transform (beyond output)", "missing", "memmap"),
    "hmm": ("HMMEM, one sequence, memmap", "complete", "memmap"),
}


def make_fit(mode, X, start):
    """The fit of ``mode`` on ``X`` as a function of no argument, and the bytes of its output."""
    if mode == "sklearn":
        from sklearn.mixture import GaussianMixture

        return (lambda: GaussianMixture(**options(start)).fit(X)), 0  # noqa: E731
    from emlearn import HMMEM, EMImputer, GaussianMixtureEM

    if mode == "dask":
        import dask
        import dask.array as da

        dask.config.set(scheduler="threads")
        X = da.from_array(X, chunks=(250_000, N_FEATURES))
    if mode == "impute-fit":
        return (lambda: EMImputer(max_iter=N_ITER, tol=0.0).fit(X)), 0  # noqa: E731
    if mode == "impute-transform":
        imputer = EMImputer(max_iter=N_ITER, tol=0.0).fit(X[:20_000])
        return (lambda: imputer.transform(X)), X.shape[0] * X.shape[1] * X.itemsize
    if mode == "hmm":
        hmm = HMMEM(N_COMPONENTS, covariance_type="full", max_iter=N_ITER, tol=0.0,
                    **_emission_start(start))
        return (lambda: hmm.fit(X)), 0  # noqa: E731
    return (lambda: GaussianMixtureEM(**options(start)).fit(X)), 0  # noqa: E731


def child(mode, folder):
    """Runs in a child: import, load, fit; prints its memory in MiB at each stage (json)."""
    import emlearn  # noqa: F401  (the libraries every mode imports)
    import sklearn.mixture  # noqa: F401

    libraries = _current_rss_mib()
    start = dict(np.load(os.path.join(folder, "start.npz")))
    _, which, how = MODES[mode]
    X = np.load(os.path.join(folder, f"{which}.npy"), mmap_mode="r" if how == "memmap" else None)
    fit, output_bytes = make_fit(mode, X, start)
    before = peak_rss_mib()
    seconds = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit()
    seconds = time.perf_counter() - seconds
    print(json.dumps({"libraries": libraries, "before": before, "peak": peak_rss_mib(),
                      "output": output_bytes / 2**20, "seconds": seconds}))


def run_child(mode, folder):
    result = subprocess.run([sys.executable, __file__, "--child", mode, folder],
                            capture_output=True, text=True)
    if result.returncode != 0:
        return {"error": result.stderr.strip().splitlines()[-1]}
    return json.loads(result.stdout.strip().splitlines()[-1])


def memory(n_samples, concurrent_children=1):
    X = make_data(n_samples)
    input_mib = X.nbytes / 2**20
    with tempfile.TemporaryDirectory() as folder:
        np.save(os.path.join(folder, "complete.npy"), X)
        np.savez(os.path.join(folder, "start.npz"), **starting_values(X))
        X[np.random.RandomState(0).uniform(size=X.shape) < 0.2] = np.nan
        np.save(os.path.join(folder, "missing.npy"), X)
        del X
        print(f"1. peak RSS of a fit: make_blobs {n_samples:,} x {N_FEATURES} float32 "
              f"({input_mib:.0f} MiB), {N_COMPONENTS} components, full, {N_ITER} iterations")
        print("   peak/input: the whole process; data+fit: peak minus the interpreter and "
              "libraries;\n   fit adds: peak minus the process before the fit (loaded data "
              "included), all over the input")
        print(f"{'fit':38} {'peak MiB':>9} {'peak/input':>11} {'data+fit':>9} {'fit adds':>9} "
              f"{'seconds':>8}")
        figures = {}
        # The recorded run measures one child at a time (the times are comparable); a
        # smoke run runs two at once.
        with ThreadPoolExecutor(concurrent_children) as pool:
            results = list(pool.map(lambda mode: run_child(mode, folder), MODES))
        for (mode, (label, _, _)), result in zip(MODES.items(), results):
            figures[mode] = result
            if "error" in result:
                print(f"{label:38} failed: {result['error']}")
                continue
            peak = result["peak"] - result["output"]  # transform: beyond its output
            print(f"{label:38} {peak:9.0f} {peak / input_mib:11.2f} "
                  f"{(peak - result['libraries']) / input_mib:9.2f} "
                  f"{(peak - result['before']) / input_mib:9.2f} {result['seconds']:8.2f}")
        ours, theirs = figures["memory"], figures["sklearn"]
        if "error" not in ours and "error" not in theirs:
            print(f"ratio of peak RSS emlearn/scikit-learn (in memory): "
                  f"{ours['peak'] / theirs['peak']:.2f}; time ratio "
                  f"{ours['seconds'] / theirs['seconds']:.2f}")


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
    parser.add_argument("--child", nargs=2, metavar=("MODE", "FOLDER"))
    args = parser.parse_args()
    if args.child:
        child(*args.child)
        return
    if args.quick:
        memory(20_000, concurrent_children=2)
    else:
        memory(5_000_000)
    cluster_overhead(20_000 if args.quick else 2_000_000, 1 if args.quick else 3)


if __name__ == "__main__":
    main()
