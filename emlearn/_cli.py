"""Command line: ``python -m emlearn [impute|cluster] ...`` for CSV files.

Without a subcommand, ``python -m emlearn`` runs the demo.  Errors in the
user's input (a missing file, no numeric column, a ragged row, an output that
cannot be written or already exists) print one line on stderr and exit with
status 1, never a traceback.
"""

import argparse
import contextlib
import csv
import math
import os
import sys
import threading
import time

import numpy as np

MISSING = {"", "na", "nan", "n/a", "null"}
PROG = "python -m emlearn"


class InputError(Exception):
    """A problem with the user's files or options, reported in one line."""


# -- CSV ------------------------------------------------------------------------------
class Table:
    """A CSV file: header, rows of strings, and which columns are numeric."""

    def __init__(self, header, rows):
        self.header = header
        self.rows = rows
        self.numeric = [i for i in range(len(header)) if self._is_numeric(i)]
        if not self.numeric:
            raise InputError("no numeric column: every column holds text that is not a "
                             "number (empty cells and NA/NaN count as missing)")

    def _is_numeric(self, column):
        cells = [row[column].strip() for row in self.rows]
        present = [c for c in cells if c.lower() not in MISSING]
        return bool(present) and all(_parses(c) for c in present)

    def matrix(self):
        """The numeric columns as floats, NaN where a cell is missing."""
        values = np.full((len(self.rows), len(self.numeric)), np.nan)
        for r, row in enumerate(self.rows):
            for j, column in enumerate(self.numeric):
                cell = row[column].strip()
                if cell.lower() not in MISSING:
                    values[r, j] = float(cell)
        return values


def _parses(cell):
    try:
        return math.isfinite(float(cell))
    except ValueError:
        return False


def read_table(path):
    if not os.path.isfile(path):
        raise InputError(f"cannot read {path}: no such file")
    try:
        with open(path, newline="", encoding="utf-8-sig") as handle:
            records = list(csv.reader(handle))
    except (OSError, UnicodeDecodeError, csv.Error) as error:
        raise InputError(f"cannot read {path}: {error}") from None
    records = [r for r in records if r]  # blank lines carry nothing
    if len(records) < 2:
        raise InputError(f"{path} needs a header row and at least one data row")
    header = records[0]
    for line, row in enumerate(records[1:], start=2):
        if len(row) != len(header):
            raise InputError(f"{path}: row {line} has {len(row)} fields, the header has "
                             f"{len(header)}")
    return Table(header, records[1:])


def check_output(path, force, input_path):
    """Refuse, before any work, an output that exists (without --force) or can't be written."""
    if os.path.exists(path) and os.path.samefile(path, input_path):
        raise InputError(f"{path} is the input file; the input is never overwritten")
    if os.path.isdir(path):
        raise InputError(f"cannot write {path}: it is a directory")
    if os.path.exists(path) and not force:
        raise InputError(f"{path} exists; pass --force to overwrite it")
    directory = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(directory):
        raise InputError(f"cannot write {path}: no such directory")
    if not os.access(directory, os.W_OK) or (os.path.exists(path)
                                               and not os.access(path, os.W_OK)):
        raise InputError(f"cannot write {path}: permission denied")


def write_table(path, header, rows):
    try:
        with open(path, "w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow(header)
            writer.writerows(rows)
    except OSError as error:
        raise InputError(f"cannot write {path}: {error.strerror or error}") from None


def format_number(value):
    return repr(float(value)) if not float(value).is_integer() else str(int(value))


# -- progress -------------------------------------------------------------------------
@contextlib.contextmanager
def progress(label, stream=None, delay=1.0):
    """Report elapsed time on stderr while a fit takes longer than ``delay`` seconds."""
    stream = stream or sys.stderr
    done = threading.Event()
    interactive = stream.isatty()

    def report():
        start = time.perf_counter()
        if done.wait(delay):
            return
        while True:
            elapsed = time.perf_counter() - start
            stream.write(f"\r{label}... {elapsed:.0f}s" if interactive
                         else f"{label}... {elapsed:.0f}s\n")
            stream.flush()
            if done.wait(0.5 if interactive else 5.0):
                break
        if interactive:
            stream.write(f"\r{label}... done in {time.perf_counter() - start:.1f}s\n")

    thread = threading.Thread(target=report, daemon=True)
    thread.start()
    try:
        yield
    finally:
        done.set()
        thread.join()


# -- subcommands ----------------------------------------------------------------------
def run_impute(args):
    table = read_table(args.input)
    check_output(args.output, args.force, args.input)
    from .impute import EMImputer

    X = table.matrix()
    missing = np.isnan(X)
    if args.components < 1:
        raise InputError("--components must be at least 1")
    with progress("imputing"):
        imputer = EMImputer(n_components=args.components, random_state=args.seed,
                            keep_empty_features=True)
        filled = imputer.fit_transform(X)
    rows = [list(row) for row in table.rows]
    for r, j in zip(*np.nonzero(missing)):
        rows[r][table.numeric[j]] = format_number(filled[r, j])
    write_table(args.output, table.header, rows)
    print(f"filled {int(missing.sum())} missing cells in {len(table.numeric)} numeric "
          f"columns ({len(rows)} rows) -> {args.output}")


def run_cluster(args):
    table = read_table(args.input)
    check_output(args.output, args.force, args.input)
    from .mixture import GaussianMixtureEM

    X = table.matrix()
    low, high = args.components
    if high > len(X):
        raise InputError(f"--components goes up to {high} but the file has {len(X)} rows")
    bics = {}
    with progress("clustering"):
        for k in range(low, high + 1):
            model = GaussianMixtureEM(k, covariance_type=args.covariance_type, n_init=args.n_init,
                                      random_state=args.seed).fit(X)
            bics[k] = (model.bic(X), model)
    best = min(bics, key=lambda k: bics[k][0])
    print(f"{'components':>10} {'BIC':>14}")
    for k, (bic, _) in bics.items():
        print(f"{k:>10} {bic:14.2f}" + ("  <- chosen" if k == best else ""))
    model = bics[best][1]
    labels = model.predict(X)
    probabilities = model.predict_proba(X)
    header = table.header + ["cluster"] + [f"p_cluster{k}" for k in range(best)]
    rows = [
        row + [str(label)] + [f"{p:.6g}" for p in probs]
        for row, label, probs in zip(table.rows, labels, probabilities)
    ]
    write_table(args.output, header, rows)
    print(f"{best} clusters (covariance_type={args.covariance_type!r}) -> {args.output}")


def component_range(text):
    """``"3"`` or ``"1-8"`` -> (low, high)."""
    try:
        parts = [int(p) for p in text.split("-")]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected K or LOW-HIGH, got {text!r}") from None
    low, high = (parts[0], parts[0]) if len(parts) == 1 else parts if len(parts) == 2 else (0, 0)
    if not 1 <= low <= high:
        raise argparse.ArgumentTypeError(f"expected 1 <= LOW <= HIGH, got {text!r}")
    return low, high


def build_parser():
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Expectation-Maximization for CSV files. Without a command, runs a "
                    "short demo of the three estimators on data bundled with scikit-learn.",
    )
    commands = parser.add_subparsers(dest="command", metavar="{impute,cluster}")
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("input", metavar="IN.csv",
                        help="CSV file with a header row; it is never modified")
    common.add_argument("-o", "--output", metavar="OUT.csv", required=True,
                        help="where to write the result")
    common.add_argument("--seed", type=int, default=0,
                        help="random seed, for reproducible results (default: 0)")
    common.add_argument("--force", action="store_true", help="overwrite OUT.csv if it exists")

    impute = commands.add_parser(
        "impute", parents=[common],
        help="fill missing cells of the numeric columns by EM",
        description="Fill the missing cells of a CSV file by EM under a Gaussian "
                    "(or Gaussian-mixture) model of the numeric columns. A column is numeric "
                    "when every non-empty cell is a number; empty cells and NA/NaN are "
                    "missing. Other columns, the header and every present cell are copied "
                    "unchanged.")
    impute.add_argument("--components", type=int, default=1, metavar="K",
                        help="mixture components of the model (default: 1)")
    impute.set_defaults(run=run_impute)

    cluster = commands.add_parser(
        "cluster", parents=[common],
        help="cluster the rows with a Gaussian mixture chosen by BIC",
        description="Cluster the rows of a CSV file with a Gaussian mixture of its numeric "
                    "columns. Given a range of component counts, fits each and keeps the "
                    "one with the lowest BIC (the table is printed). Writes the input with "
                    "a 'cluster' column and the membership probabilities p_cluster0, ...")
    cluster.add_argument("--components", type=component_range, default=(1, 8),
                         metavar="K|LOW-HIGH",
                         help="number of components, or a range to choose from by BIC "
                              "(default: 1-8)")
    cluster.add_argument("--covariance-type", default="full",
                         choices=["full", "tied", "diag", "spherical"],
                         help="shape of the clusters' covariances (default: full)")
    cluster.add_argument("--n-init", type=int, default=3, metavar="N",
                         help="restarts per model, the best is kept (default: 3)")
    cluster.set_defaults(run=run_cluster)
    return parser


def main(argv=None):
    args = build_parser().parse_args(argv)
    if args.command is None:
        from ._demo import main as demo

        return demo()
    try:
        args.run(args)
    except (InputError, ValueError) as error:  # ValueError: the estimators' input checks
        print(f"{PROG} {args.command}: error: {error}", file=sys.stderr)
        return 1
    return 0
