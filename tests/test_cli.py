"""``python -m emlearn``: the CSV commands end to end, in a subprocess."""

import csv
import hashlib
import io
import os
import pathlib
import subprocess
import sys

import numpy as np
import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]


def emlearn(*args, cwd):
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    return subprocess.run([sys.executable, "-m", "emlearn", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=300)


def write_csv(path, header, rows):
    with open(path, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)


def read_csv(path):
    with open(path, newline="") as handle:
        records = list(csv.reader(handle))
    return records[0], records[1:]


def digest(path):
    return hashlib.sha256(pathlib.Path(path).read_bytes()).hexdigest()


@pytest.fixture
def blobs_csv(tmp_path):
    rng = np.random.RandomState(0)
    X = np.vstack([rng.normal(0, 1, size=(40, 2)), rng.normal(6, 1, size=(40, 2))])
    rows = [[f"{a:.4f}", f"{b:.4f}", f"id{i}"] for i, (a, b) in enumerate(X)]
    path = tmp_path / "blobs.csv"
    write_csv(path, ["x", "y", "name"], rows)
    return path


def assert_one_line_error(result, fragment):
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and fragment in lines[0], result.stderr


def test_cluster_chooses_by_bic_and_appends_columns(blobs_csv, tmp_path):
    before = digest(blobs_csv)
    result = emlearn("cluster", str(blobs_csv), "-o", "out.csv", "--components", "1-4",
                     cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "BIC" in result.stdout and "<- chosen" in result.stdout
    header, rows = read_csv(tmp_path / "out.csv")
    assert header == ["x", "y", "name", "cluster", "p_cluster0", "p_cluster1"]
    _, original = read_csv(blobs_csv)
    assert [r[:3] for r in rows] == original  # input columns copied unchanged
    probabilities = np.array([[float(p) for p in r[4:]] for r in rows])
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, atol=1e-5)
    labels = np.array([int(r[3]) for r in rows])
    assert len(set(labels[:40])) == 1 and len(set(labels[40:])) == 1
    assert labels[0] != labels[-1]
    assert digest(blobs_csv) == before


def test_cluster_single_count_and_covariance_type(blobs_csv, tmp_path):
    result = emlearn("cluster", str(blobs_csv), "-o", "out.csv", "--components", "3",
                     "--covariance-type", "diag", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    header, _ = read_csv(tmp_path / "out.csv")
    assert header[-3:] == ["p_cluster0", "p_cluster1", "p_cluster2"]


def test_existing_output_needs_force(blobs_csv, tmp_path):
    (tmp_path / "out.csv").write_text("keep me\n")
    result = emlearn("cluster", str(blobs_csv), "-o", "out.csv", "--components", "2",
                     cwd=tmp_path)
    assert_one_line_error(result, "--force")
    assert (tmp_path / "out.csv").read_text() == "keep me\n"
    forced = emlearn("cluster", str(blobs_csv), "-o", "out.csv", "--components", "2",
                     "--force", cwd=tmp_path)
    assert forced.returncode == 0, forced.stderr


@pytest.mark.parametrize("case", ["missing", "no_numeric", "ragged", "unwritable", "input"])
def test_bad_input_is_one_line_and_nonzero(tmp_path, blobs_csv, case):
    output = "out.csv"
    if case == "missing":
        source, fragment = tmp_path / "absent.csv", "no such file"
    elif case == "no_numeric":
        source, fragment = tmp_path / "text.csv", "no numeric column"
        write_csv(source, ["a", "b"], [["x", "y"], ["z", ""]])
    elif case == "ragged":
        source, fragment = tmp_path / "ragged.csv", "row 3 has 1 fields"
        source.write_text("a,b\n1,2\n3\n")
    elif case == "unwritable":
        source, fragment = blobs_csv, "cannot write"
        output = str(tmp_path / "no" / "such" / "dir" / "out.csv")
    else:
        source, fragment, output = blobs_csv, "input file", str(blobs_csv)
    before = digest(source) if source.exists() else None
    for command in ("cluster", "impute"):
        result = emlearn(command, str(source), "-o", output, cwd=tmp_path)
        assert_one_line_error(result, fragment)
    if before is not None:
        assert digest(source) == before


def test_help_explains_every_command(tmp_path):
    main = emlearn("--help", cwd=tmp_path)
    assert main.returncode == 0 and "impute" in main.stdout and "cluster" in main.stdout
    for command, option in [("impute", "--components"), ("cluster", "--covariance-type")]:
        result = emlearn(command, "--help", cwd=tmp_path)
        assert result.returncode == 0
        assert option in result.stdout and "--force" in result.stdout


def test_progress_reports_long_fits_only():
    import time

    from emlearn._cli import progress

    class Stream(io.StringIO):
        def isatty(self):
            return False

    quick, slow = Stream(), Stream()
    with progress("fitting", stream=quick, delay=0.2):
        pass
    with progress("fitting", stream=slow, delay=0.05):
        time.sleep(0.3)
    assert quick.getvalue() == ""
    assert slow.getvalue().startswith("fitting... ")


@pytest.fixture
def gappy_csv(tmp_path):
    rng = np.random.RandomState(1)
    X = rng.multivariate_normal([0, 5, 10], [[1, 0.8, 0.5], [0.8, 1, 0.6], [0.5, 0.6, 1]],
                                size=60)
    rows = [[f"{v:.3f}" for v in row] + [f"name{i}"] for i, row in enumerate(X)]
    gaps = [(0, 0, ""), (3, 1, "NA"), (7, 2, "NaN"), (10, 0, "nan"), (12, 1, "")]
    for r, c, token in gaps:
        rows[r][c] = token
    rows[20][3] = ""  # an empty text cell is not a number to fill
    path = tmp_path / "gappy.csv"
    write_csv(path, ["a", "b", "c", "label"], rows)
    return path, gaps


def test_impute_fills_missing_numeric_cells_only(gappy_csv, tmp_path):
    path, gaps = gappy_csv
    before = digest(path)
    result = emlearn("impute", str(path), "-o", "filled.csv", "--components", "1",
                     "--seed", "3", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "filled 5 missing cells" in result.stdout
    header, rows = read_csv(tmp_path / "filled.csv")
    _, original = read_csv(path)
    assert header == ["a", "b", "c", "label"]
    filled = {(r, c) for r, c, _ in gaps}
    for r, (new, old) in enumerate(zip(rows, original)):
        for c in range(4):
            if (r, c) in filled:
                assert np.isfinite(float(new[c]))
            else:
                assert new[c] == old[c]  # present cells and text copied verbatim
    assert digest(path) == before


def test_cluster_accepts_missing_cells(gappy_csv, tmp_path):
    path, _ = gappy_csv
    result = emlearn("cluster", str(path), "-o", "out.csv", "--components", "1-2",
                     cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    _, rows = read_csv(tmp_path / "out.csv")
    assert all(r[4] in {"0", "1"} for r in rows)
