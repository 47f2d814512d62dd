"""Smoke runs of the benchmark scripts in their --quick mode."""

import pathlib
import subprocess
import sys

import pytest

BENCHMARKS = sorted(
    (pathlib.Path(__file__).resolve().parents[1] / "benchmarks").glob("bench_*.py"))


@pytest.mark.parametrize("script", BENCHMARKS, ids=[p.stem for p in BENCHMARKS])
def test_benchmark_quick_mode_runs(script):
    if script.stem == "bench_hmm":
        pytest.importorskip("hmmlearn")
    result = subprocess.run([sys.executable, str(script), "--quick"], capture_output=True,
                            text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert "ratio" in result.stdout
