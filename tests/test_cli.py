"""``python -m emlearn``: the CSV commands end to end, in a subprocess."""

import csv
import hashlib
import io
import os
import pathlib
import re
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]


def environment(**extra):
    return dict(os.environ, PYTHONPATH=str(ROOT), **extra)


def input_files(args, cwd):
    """The existing files among the arguments, other than the output."""
    paths = []
    for previous, arg in zip(("",) + args, args):
        path = pathlib.Path(cwd) / arg
        if previous not in ("-o", "--output") and arg != "-" and path.is_file():
            paths.append(path)
    return paths


def emlearn(*args, cwd, stdin=None, env=None):
    """Run ``python -m emlearn ARGS``; every input file must come out byte-identical."""
    before = {path: digest(path) for path in input_files(args, cwd)}
    result = subprocess.run([sys.executable, "-m", "emlearn", *args], cwd=cwd,
                            env=env or environment(), input=stdin, capture_output=True,
                            text=True, timeout=300)
    assert {path: digest(path) for path in before} == before, "an input file was modified"
    return result


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
    assert "cluster sizes: 0: 40, 1: 40" in result.stdout
    assert "modeling 2 columns: x, y (not modeled: name)" in result.stdout
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


# -- 1. column choice is explicit --------------------------------------------------------------
@pytest.fixture
def id_csv(tmp_path):
    """Two blobs in (x, y), rows sorted by blob, a row_id 1..n and a text column."""
    rng = np.random.RandomState(2)
    X = np.vstack([rng.normal(0, 1, size=(30, 2)), rng.normal(6, 1, size=(30, 2))])
    rows = [[str(i + 1), f"{a:.3f}", f"{b:.3f}", f"n{i}"] for i, (a, b) in enumerate(X)]
    rows[5][1] = ""
    path = tmp_path / "ids.csv"
    write_csv(path, ["row_id", "x", "y", "name"], rows)
    return path


def test_columns_and_exclude_choose_by_name_or_position(id_csv, tmp_path):
    outputs = {}
    for i, choice in enumerate([["--columns", "2", "--columns", "y"],
                                ["--exclude", "1"], ["--exclude", "row_id,name"]]):
        result = emlearn("impute", id_csv.name, "-o", f"out{i}.csv", *choice, cwd=tmp_path)
        assert result.returncode == 0, result.stderr
        assert "modeling 2 columns: x, y (not modeled: row_id, name)" in result.stdout
        assert "identifier" not in result.stderr
        outputs[i] = (tmp_path / f"out{i}.csv").read_bytes()
    assert len(set(outputs.values())) == 1


@pytest.mark.parametrize("command, choice, fragment", [
    ("impute", ["--columns", "x,nope"], "--columns: no column 'nope'"),
    ("cluster", ["--columns", "7"], "--columns: no column '7'"),
    ("impute", ["--columns", "name"], "column 'name' is not numeric (it holds 'n0')"),
    ("cluster", ["--exclude", "zzz"], "--exclude: no column 'zzz'"),
])
def test_bad_column_choice_is_one_line(id_csv, tmp_path, command, choice, fragment):
    result = emlearn(command, id_csv.name, "-o", "out.csv", *choice, cwd=tmp_path)
    assert_one_line_error(result, fragment)
    assert not (tmp_path / "out.csv").exists()


def test_identifier_column_warned_unless_chosen(id_csv, tmp_path):
    default = emlearn("cluster", id_csv.name, "-o", "a.csv", "--components", "2",
                      cwd=tmp_path)
    assert default.returncode == 0, default.stderr
    assert "modeling 3 columns: row_id, x, y" in default.stdout
    warning = [line for line in default.stderr.splitlines() if "identifier" in line]
    assert len(warning) == 1 and "'row_id'" in warning[0] and "--exclude row_id" in warning[0]
    chosen = emlearn("cluster", id_csv.name, "-o", "b.csv", "--components", "2",
                     "--columns", "row_id,x,y", cwd=tmp_path)
    assert chosen.returncode == 0 and "identifier" not in chosen.stderr
    excluded = emlearn("cluster", id_csv.name, "-o", "c.csv", "--components", "2",
                       "--exclude", "row_id", cwd=tmp_path)
    assert excluded.returncode == 0 and "identifier" not in excluded.stderr
    _, rows = read_csv(tmp_path / "c.csv")
    labels = np.array([int(r[4]) for r in rows])
    assert len(set(labels[:30])) == 1 and len(set(labels[30:])) == 1
    assert labels[0] != labels[-1]


# -- 2. no column is silently dropped ---------------------------------------------------------
def test_numeric_columns_with_odd_tokens_are_named_and_na_values_reads_them(
        gappy_csv, tmp_path):
    path, gaps = gappy_csv
    header, rows = read_csv(path)
    odd_cells = {(30, 1): "?", (40, 1): "?", (31, 2): "inf", (41, 2): "-nan",
                 (32, 0): "None", (42, 0): "."}
    for (r, c), token in odd_cells.items():
        rows[r][c] = token
    odd = tmp_path / "odd.csv"
    write_csv(odd, header, rows)
    for command in ("impute", "cluster"):
        result = emlearn(command, odd.name, "-o", "out.csv", cwd=tmp_path)
        assert_one_line_error(result, "column 'a' holds numbers and 'None' (1 cell), '.' (1 ")
        for fragment in ("column 'b' holds numbers and '?' (2 cells)",
                         "column 'c' holds numbers and 'inf' (1 cell), '-nan' (1 cell)",
                         "--na-values='-nan,.,?,None,inf' reads them", "--exclude a,b,c"):
            assert fragment in result.stderr
    filled = emlearn("impute", odd.name, "-o", "out.csv", "--na-values=?,inf,-nan",
                     "--na-values", "None,.", cwd=tmp_path)
    assert filled.returncode == 0, filled.stderr
    assert f"filled {len(gaps) + 6} missing cells in 3 numeric columns" in filled.stdout
    _, out = read_csv(tmp_path / "out.csv")
    assert all(np.isfinite(float(out[r][c])) for r, c in odd_cells)
    excluded = emlearn("impute", odd.name, "-o", "kept.csv", "--exclude", "a,b,c",
                       "--columns", "a,b,c", cwd=tmp_path)
    assert_one_line_error(excluded, "--columns leaves no column")


# -- 3. files are never lost ------------------------------------------------------------------
@pytest.fixture
def large_csv(tmp_path):
    """30,000 rows in three blobs with 30% of the cells missing: a fit of a few seconds."""
    rng = np.random.RandomState(0)
    X = np.vstack([rng.normal(c, 1, size=(10000, 5)) for c in (0, 3, 6)])
    X[rng.uniform(size=X.shape) < 0.3] = np.nan
    path = tmp_path / "large.csv"
    np.savetxt(path, X, delimiter=",", header="a,b,c,d,e", comments="", fmt="%.3f")
    return path


def start(*args, cwd, **extra):
    return subprocess.Popen([sys.executable, "-m", "emlearn", *args], cwd=cwd,
                            env=environment(**extra), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


PAUSE = "_EMLEARN_CLI_PAUSE_MID_WRITE"


@pytest.mark.parametrize("existing", [True, False])
def test_kill_mid_write_leaves_old_file_and_no_temporary(gappy_csv, tmp_path, existing):
    path, _ = gappy_csv
    before = digest(path)
    output = tmp_path / "out.csv"
    if existing:
        output.write_text("old contents\n")
    listing = sorted(p.name for p in tmp_path.iterdir())
    process = start("impute", path.name, "-o", "out.csv", "--force", cwd=tmp_path,
                    **{PAUSE: "60"})
    assert process.stderr.readline() == "paused mid-write\n"  # half the rows written
    process.send_signal(signal.SIGKILL)
    process.communicate(timeout=30)
    assert process.returncode == -signal.SIGKILL
    assert sorted(p.name for p in tmp_path.iterdir()) == listing  # no temporary file
    if existing:
        assert output.read_text() == "old contents\n"
    assert digest(path) == before


def test_output_that_appears_during_the_run_is_not_overwritten(gappy_csv, tmp_path):
    path, _ = gappy_csv
    process = start("impute", path.name, "-o", "out.csv", cwd=tmp_path, **{PAUSE: "1"})
    assert process.stderr.readline() == "paused mid-write\n"
    (tmp_path / "out.csv").write_text("written by someone else\n")
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 1
    assert "out.csv appeared while the model was fitted" in stderr
    assert "Traceback" not in stderr and len(stderr.strip().splitlines()) == 1
    assert (tmp_path / "out.csv").read_text() == "written by someone else\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["gappy.csv", "out.csv"]


def test_ctrl_c_during_the_fit_exits_130_with_one_line_and_no_file(large_csv, tmp_path):
    before = digest(large_csv)
    process = start("impute", large_csv.name, "-o", "out.csv", "--components", "4",
                    "--n-init", "8", cwd=tmp_path)
    assert process.stdout.readline().startswith("modeling 5 columns")  # reading is done
    time.sleep(0.3)
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 130
    lines = [line for line in stderr.splitlines() if not line.startswith("imputing... ")]
    assert lines == ["python -m emlearn impute: interrupted"], stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["large.csv"]
    assert digest(large_csv) == before


def test_output_column_names_that_clash_get_a_suffix(tmp_path):
    rng = np.random.RandomState(3)
    X = np.vstack([rng.normal(0, 1, size=(20, 2)), rng.normal(5, 1, size=(20, 2))])
    rows = [[f"{a:.2f}", f"{b:.2f}", "old", "0.5"] for a, b in X]
    path = tmp_path / "clash.csv"
    write_csv(path, ["x", "y", "cluster", "p_cluster0"], rows)
    result = emlearn("cluster", path.name, "-o", "out.csv", "--components", "2",
                     "--columns", "x,y", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    header, out = read_csv(tmp_path / "out.csv")
    assert header == ["x", "y", "cluster", "p_cluster0", "cluster_1", "p_cluster0_1",
                      "p_cluster1"]
    assert [r[:4] for r in out] == rows


# -- 4. output a person wants -----------------------------------------------------------------
@pytest.fixture
def mixed_precision_csv(tmp_path):
    rng = np.random.RandomState(4)
    X = rng.multivariate_normal([40, 170, 2], [[100, 30, 1], [30, 80, 1], [1, 1, 1]], size=50)
    rows = [[str(int(round(a))), f"{b:.1f}", f"{c:.3f}"] for a, b, c in X]
    for r in range(0, 50, 6):
        rows[r][r % 3] = ""
    path = tmp_path / "precision.csv"
    write_csv(path, ["age", "height", "score"], rows)
    return path


def test_imputed_cells_use_the_precision_of_their_column(mixed_precision_csv, tmp_path):
    import re

    result = emlearn("impute", mixed_precision_csv.name, "-o", "out.csv", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    _, rows = read_csv(tmp_path / "out.csv")
    patterns = [r"-?\d+", r"-?\d+\.\d", r"-?\d+\.\d{3}"]
    for row in rows:
        for cell, pattern in zip(row, patterns):
            assert re.fullmatch(pattern, cell), (cell, pattern)
    fixed = emlearn("impute", mixed_precision_csv.name, "-o", "two.csv", "--precision", "2",
                    cwd=tmp_path)
    assert fixed.returncode == 0, fixed.stderr
    _, two = read_csv(tmp_path / "two.csv")
    _, original = read_csv(mixed_precision_csv)
    for new, old in zip(two, original):
        for cell, before in zip(new, old):
            assert cell == before or re.fullmatch(r"-?\d+\.\d\d", cell)


@pytest.mark.parametrize("delimiter, option", [(";", []), ("\t", []), ("|", ["--sep", "|"]),
                                               ("\t", ["--sep", "tab"])])
def test_delimiter_is_detected_or_given_and_kept(gappy_csv, tmp_path, delimiter, option):
    path, gaps = gappy_csv
    header, rows = read_csv(path)
    source = tmp_path / "other.csv"
    source.write_text("\n".join(delimiter.join(r) for r in [header] + rows) + "\n")
    result = emlearn("impute", source.name, "-o", "out.csv", *option, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert f"filled {len(gaps)} missing cells in 3 numeric columns" in result.stdout
    lines = (tmp_path / "out.csv").read_text().splitlines()
    assert lines[0] == delimiter.join(header)
    assert all(len(line.split(delimiter)) == 4 for line in lines)


def test_dash_reads_standard_input_and_writes_standard_output(gappy_csv, tmp_path):
    path, gaps = gappy_csv
    text = path.read_text()
    result = emlearn("impute", "-", "-o", "-", "--verbose", cwd=tmp_path, stdin=text)
    assert result.returncode == 0, result.stderr
    records = list(csv.reader(io.StringIO(result.stdout)))  # nothing but the CSV
    assert records[0] == ["a", "b", "c", "label"] and len(records) == 61
    assert "filled 5 missing cells" in result.stderr and "EM converged" in result.stderr
    from_file = emlearn("impute", path.name, "-o", "file.csv", cwd=tmp_path)
    assert from_file.returncode == 0
    assert (tmp_path / "file.csv").read_text() == result.stdout
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file.csv", "gappy.csv"]


def test_m_imputations_write_m_files_independent_of_n_jobs(gappy_csv, tmp_path):
    path, gaps = gappy_csv
    result = emlearn("impute", path.name, "-o", "out.csv", "--m", "3", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "-> out_1.csv, out_2.csv, out_3.csv" in result.stdout
    tables = [read_csv(tmp_path / f"out_{i}.csv")[1] for i in (1, 2, 3)]
    _, original = read_csv(path)
    filled = {(r, c) for r, c, _ in gaps}
    for r, old in enumerate(original):
        for c in range(4):
            cells = {table[r][c] for table in tables}
            assert len(cells) == (3 if (r, c) in filled else 1)
            assert (r, c) in filled or cells == {old[c]}
    parallel = emlearn("impute", path.name, "-o", "par.csv", "--m", "3", "--n-jobs", "2",
                       cwd=tmp_path)
    assert parallel.returncode == 0, parallel.stderr
    for i in (1, 2, 3):
        assert digest(tmp_path / f"par_{i}.csv") == digest(tmp_path / f"out_{i}.csv")
    again = emlearn("impute", path.name, "-o", "out.csv", "--m", "3", cwd=tmp_path)
    assert_one_line_error(again, "out_1.csv exists")


def test_verbose_shows_em_progress_and_long_runs_show_counts(large_csv, gappy_csv, tmp_path):
    path, _ = gappy_csv
    verbose = emlearn("cluster", path.name, "-o", "out.csv", "--components", "2",
                      "--n-init", "2", "--verbose", cwd=tmp_path)
    assert verbose.returncode == 0, verbose.stderr
    assert "[init 2/2] EM converged after" in verbose.stderr
    assert "EM" not in verbose.stdout  # the messages go to stderr
    quiet = emlearn("impute", large_csv.name, "-o", "filled.csv", "--components", "4",
                    "--n-init", "6", cwd=tmp_path,
                    env=environment(_EMLEARN_CLI_PROGRESS_DELAY="0.05"))  # a "long" run
    assert quiet.returncode == 0, quiet.stderr
    progress_lines = [line for line in quiet.stderr.splitlines() if line.startswith("imputing")]
    assert any(re.search(r"imputing\.\.\. \d+s \(restart \d/6, iteration \d+", line)
               for line in progress_lines), quiet.stderr


def test_cluster_covariance_types_searches_the_grid(blobs_csv, tmp_path):
    result = emlearn("cluster", blobs_csv.name, "-o", "out.csv", "--components", "1-3",
                     "--covariance-types", "full,diag", "--n-jobs", "2", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "cluster sizes: 0: 40, 1: 40" in result.stdout
    assert "diag" in result.stdout and "full" in result.stdout  # the summary table
    header, rows = read_csv(tmp_path / "out.csv")
    assert header == ["x", "y", "name", "cluster", "p_cluster0", "p_cluster1"]


def test_bad_covariance_types_and_n_jobs_are_rejected(blobs_csv, tmp_path):
    for option in (["--covariance-types", "full,banana"], ["--n-jobs", "0"]):
        result = emlearn("cluster", blobs_csv.name, "-o", "out.csv", *option, cwd=tmp_path)
        assert result.returncode == 2 and "Traceback" not in result.stderr
    both = emlearn("cluster", blobs_csv.name, "-o", "out.csv", "--covariance-type", "full",
                   "--covariance-types", "full,diag", cwd=tmp_path)
    assert_one_line_error(both, "not both")


@pytest.mark.parametrize("unnamed", [True, False])
def test_write_output_is_exclusive_or_atomic_with_either_kind_of_temporary(
        tmp_path, monkeypatch, unnamed):
    """In process: the O_TMPFILE path, and the named temporary file where it is missing."""
    from emlearn._cli.files import write_output
    from emlearn._cli.table import InputError

    if not unnamed:
        monkeypatch.delattr(os, "O_TMPFILE", raising=False)
    target = tmp_path / "out.csv"
    write_output(str(target), lambda handle: handle.write("first\n"), force=False)
    with pytest.raises(InputError, match="appeared while"):
        write_output(str(target), lambda handle: handle.write("second\n"), force=False)
    assert target.read_text() == "first\n"

    def fail(handle):
        handle.write("half")
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        write_output(str(target), fail, force=True)
    assert target.read_text() == "first\n"
    write_output(str(target), lambda handle: handle.write("third\n"), force=True)
    assert target.read_text() == "third\n"
    assert [p.name for p in tmp_path.iterdir()] == ["out.csv"]
