"""Command line: ``python -m emlearn [impute|cluster] ...`` for CSV files.

Without a subcommand, ``python -m emlearn`` runs the demo.  Errors in the
user's input (a missing file, no numeric column, a ragged row, an output that
cannot be written or already exists) print one line on stderr and exit with
status 1, never a traceback; Ctrl-C prints one line and exits with status 130.

- ``table.py``: reading the CSV, the kinds of its columns, choosing them.
- ``files.py``: writing results atomically, never over a file that appeared.
- ``progress.py``: progress on stderr while fitting.
"""

import argparse
import os
import sys
import warnings

import numpy as np

from .files import check_output, output_paths, write_output
from .progress import fitting, progress
from .table import InputError, choose_columns, delimiter_option, read_table, unique_name

PROG = "python -m emlearn"
COVARIANCE_TYPES = ("full", "tied", "diag", "spherical")

__all__ = ["InputError", "build_parser", "main", "progress"]


class Console:
    """Where a command's messages go: stdout, or stderr when the result goes to stdout."""

    def __init__(self, command, output):
        self.command = command
        self.stream = sys.stderr if output == "-" else sys.stdout

    def say(self, text):
        print(text, file=self.stream, flush=True)

    def warn(self, text):
        print(f"{PROG} {self.command}: warning: {text}", file=sys.stderr, flush=True)


def prepare(args, console, outputs):
    """Read the input, choose its columns and check the outputs, before any fitting."""
    table = read_table(args.input, args.sep, args.na_values or ())
    columns = choose_columns(table, args.columns, args.exclude, warn=console.warn)
    for path in outputs:
        check_output(path, args.force, args.input)
    others = [c.name for c in table.columns if c not in columns]
    console.say(f"modeling {len(columns)} column{'s' * (len(columns) > 1)}: "
                f"{', '.join(c.name for c in columns)}"
                + (f" (not modeled: {', '.join(others)})" if others else ""))
    return table, columns


# -- impute ---------------------------------------------------------------------------
def run_impute(args, console):
    for option, value, minimum in [("--components", args.components, 1),
                                   ("--n-init", args.n_init, 1), ("--m", args.m, 1),
                                   ("--precision", args.precision, 0)]:
        if value is not None and value < minimum:
            raise InputError(f"{option} must be at least {minimum}")
    outputs = output_paths(args.output, args.m)
    table, columns = prepare(args, console, outputs)
    from ..impute import EMImputer

    X = table.matrix(columns)
    missing = np.isnan(X)
    imputer = EMImputer(n_components=args.components, n_init=args.n_init,
                        random_state=args.seed, keep_empty_features=True,
                        n_jobs=args.n_jobs, verbose=max(args.verbose, 1))
    with fitting("imputing", args.verbose):
        if args.m is None:
            completed = [imputer.fit_transform(X)]
        else:
            completed = imputer.multiple_impute(X, args.m, n_jobs=args.n_jobs)
    for path, filled in zip(outputs, completed):
        rows = [list(row) for row in table.rows]
        for r, j in zip(*np.nonzero(missing)):
            rows[r][columns[j].index] = columns[j].format(filled[r, j], args.precision)
        write_output(path, lambda handle: table.write(handle, table.header, rows), args.force)
    console.say(f"filled {int(missing.sum())} missing cells in {len(columns)} numeric "
                f"columns ({len(table.rows)} rows) -> {', '.join(outputs)}")


# -- cluster --------------------------------------------------------------------------
def run_cluster(args, console):
    if args.n_init < 1:
        raise InputError("--n-init must be at least 1")
    if args.covariance_types and args.covariance_type:
        raise InputError("give --covariance-type or --covariance-types, not both")
    table, columns = prepare(args, console, [args.output])
    X = table.matrix(columns)
    low, high = args.components
    if high > len(X):
        raise InputError(f"--components goes up to {high} but the file has {len(X)} rows")
    if args.covariance_types:
        model, description = search_grid(X, args, console)
    else:
        model, description = choose_by_bic(X, args, console)
    labels = model.predict(X)
    probabilities = model.predict_proba(X)
    k = probabilities.shape[1]
    sizes = np.bincount(labels, minlength=k)
    console.say("cluster sizes: " + ", ".join(f"{i}: {n}" for i, n in enumerate(sizes)))
    taken = set(table.header)
    header = table.header + [unique_name("cluster", taken)] + [
        unique_name(f"p_cluster{i}", taken) for i in range(k)]
    rows = [row + [str(label)] + [f"{p:.6g}" for p in probs]
            for row, label, probs in zip(table.rows, labels, probabilities)]
    write_output(args.output, lambda handle: table.write(handle, header, rows), args.force)
    console.say(f"{k} clusters ({description}) -> {args.output}")


def choose_by_bic(X, args, console):
    """One covariance type, each number of components fitted; the lowest BIC wins."""
    from ..mixture import GaussianMixtureEM

    covariance_type = args.covariance_type or "full"
    low, high = args.components
    bics = {}
    with fitting("clustering", args.verbose) as status:
        for k in range(low, high + 1):
            status.step = f"{k} components ({k - low + 1} of {high - low + 1})"
            model = GaussianMixtureEM(k, covariance_type=covariance_type, n_init=args.n_init,
                                      random_state=args.seed, n_jobs=args.n_jobs,
                                      verbose=max(args.verbose, 1)).fit(X)
            bics[k] = (model.bic(X), model)
    best = min(bics, key=lambda k: bics[k][0])
    console.say(f"{'components':>10} {'BIC':>14}")
    for k, (bic, _) in bics.items():
        console.say(f"{k:>10} {bic:14.2f}" + ("  <- chosen" if k == best else ""))
    return bics[best][1], f"covariance_type={covariance_type!r}"


def search_grid(X, args, console):
    """Components x covariance types, searched by GaussianMixtureSearch (BIC)."""
    from ..search import GaussianMixtureSearch  # imported when used: it starts slower

    low, high = args.components
    search = GaussianMixtureSearch(
        n_components=tuple(range(low, high + 1)), covariance_type=tuple(args.covariance_types),
        criterion="bic", n_init=args.n_init, random_state=args.seed, n_jobs=args.n_jobs,
        verbose=max(args.verbose, 1))
    with fitting("clustering", args.verbose):
        search.fit(X)
    console.say(search.summary())
    chosen = ", ".join(f"{key}={value!r}" for key, value in search.best_params_.items())
    return search, chosen


# -- options --------------------------------------------------------------------------
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


def covariance_list(text):
    """``"full,diag"`` -> ["full", "diag"]."""
    types = [t.strip() for t in text.split(",") if t.strip()]
    wrong = [t for t in types if t not in COVARIANCE_TYPES]
    if wrong or not types:
        raise argparse.ArgumentTypeError(
            f"expected a comma-separated list of {', '.join(COVARIANCE_TYPES)}; got {text!r}")
    return list(dict.fromkeys(types))


def na_list(text):
    return [token.strip() for token in text.split(",") if token.strip()]


def n_jobs_option(text):
    value = int(text)
    if value == 0:
        raise argparse.ArgumentTypeError("expected a positive count or -1 (all cores), got 0")
    return value


def common_options():
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("input", metavar="IN.csv",
                        help="CSV file with a header row, or - for standard input; it is "
                             "never modified")
    common.add_argument("-o", "--output", metavar="OUT.csv", required=True,
                        help="where to write the result, or - for standard output; written "
                             "completely or not at all")
    common.add_argument("--columns", action="append", metavar="COLS",
                        help="the columns to model: names or 1-based positions, comma "
                             "separated (default: every numeric column)")
    common.add_argument("--exclude", action="append", metavar="COLS",
                        help="columns not to model (names or 1-based positions)")
    common.add_argument("--na-values", type=na_list, action="extend", metavar="TOKENS",
                        help="more tokens that mark a missing cell, comma separated, "
                             "e.g. '?,-99' (always missing: empty, NA, NaN, N/A, null)")
    common.add_argument("--sep", type=delimiter_option, metavar="CHAR",
                        help="the delimiter (',' ';' 'tab' '|' ...; default: detected); the "
                             "output uses the same")
    common.add_argument("--seed", type=int, default=0,
                        help="random seed, for reproducible results (default: 0)")
    common.add_argument("--n-jobs", type=n_jobs_option, default=None, metavar="N",
                        help="parallel jobs for restarts and imputations (-1: all cores)")
    common.add_argument("-v", "--verbose", action="count", default=0,
                        help="print EM's progress on stderr (repeat for timings)")
    common.add_argument("--force", action="store_true",
                        help="overwrite OUT.csv if it exists (atomically)")
    return common


def build_parser():
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Expectation-Maximization for CSV files. Without a command, runs a "
                    "short demo of the three estimators on data bundled with scikit-learn.",
    )
    commands = parser.add_subparsers(dest="command", metavar="{impute,cluster}")
    common = common_options()
    impute = commands.add_parser(
        "impute", parents=[common],
        help="fill missing cells of the numeric columns by EM",
        description="Fill the missing cells of a CSV file by EM under a Gaussian "
                    "(or Gaussian-mixture) model of the numeric columns. A column is numeric "
                    "when every non-empty cell is a number; empty cells, NA, NaN, N/A, null "
                    "and the --na-values tokens are missing. A column of numbers with other "
                    "tokens ('?', 'inf') is an error naming them. Imputed cells are written "
                    "with the decimals of their column. Other columns, the header and every "
                    "present cell are copied unchanged.")
    impute.add_argument("--components", type=int, default=1, metavar="K",
                        help="mixture components of the model (default: 1)")
    impute.add_argument("--n-init", type=int, default=1, metavar="N",
                        help="restarts of EM, the best is kept (default: 1)")
    impute.add_argument("--m", type=int, default=None, metavar="M",
                        help="multiple imputation: write M completed files OUT_1.csv ... "
                             "OUT_M.csv, each from a bootstrap fit with posterior draws "
                             "(default: one file of conditional means)")
    impute.add_argument("--precision", type=int, default=None, metavar="D",
                        help="decimals of imputed cells (default: as many as the column's "
                             "numbers have)")
    impute.set_defaults(run=run_impute)

    cluster = commands.add_parser(
        "cluster", parents=[common],
        help="cluster the rows with a Gaussian mixture chosen by BIC",
        description="Cluster the rows of a CSV file with a Gaussian mixture of its numeric "
                    "columns. Given a range of component counts, fits each and keeps the "
                    "one with the lowest BIC (the table and the cluster sizes are printed). "
                    "Writes the input with a 'cluster' column and the membership "
                    "probabilities p_cluster0, ... (suffixed _1, _2 if the input has "
                    "columns of these names).")
    cluster.add_argument("--components", type=component_range, default=(1, 8),
                         metavar="K|LOW-HIGH",
                         help="number of components, or a range to choose from by BIC "
                              "(default: 1-8)")
    cluster.add_argument("--covariance-type", default=None, choices=COVARIANCE_TYPES,
                         help="shape of the clusters' covariances (default: full)")
    cluster.add_argument("--covariance-types", type=covariance_list, default=None,
                         metavar="TYPES",
                         help="several shapes, e.g. full,diag: searches components x shapes "
                              "by BIC and prints the search's summary table")
    cluster.add_argument("--n-init", type=int, default=3, metavar="N",
                         help="restarts per model, the best is kept (default: 3)")
    cluster.set_defaults(run=run_cluster)
    return parser


def main(argv=None):
    args = build_parser().parse_args(argv)
    if args.command is None:
        from .._demo import main as demo

        return demo()
    console = Console(args.command, args.output)
    previous = warnings.showwarning
    warnings.showwarning = lambda message, *_, **__: console.warn(str(message))
    try:
        args.run(args, console)
    except KeyboardInterrupt:
        print(f"{PROG} {args.command}: interrupted", file=sys.stderr)
        return 130
    except (InputError, ValueError) as error:  # ValueError: the estimators' input checks
        print(f"{PROG} {args.command}: error: {error}", file=sys.stderr)
        return 1
    except BrokenPipeError:  # the reader of standard output went away
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
    finally:
        warnings.showwarning = previous
    return 0
