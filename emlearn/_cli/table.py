"""Reading a CSV file, telling its columns apart, choosing and formatting them."""

import argparse
import collections
import csv
import io
import math
import os
import sys

import numpy as np

MISSING = frozenset({"", "na", "nan", "n/a", "null"})
DELIMITERS = (",", ";", "\t", "|")
SNIFF_LINES = 50
ID_MIN_ROWS = 10  # fewer rows than this are never flagged as identifiers


class InputError(Exception):
    """A problem with the user's files or options, reported in one line."""


class Column:
    """One column of a table: its kind, and how its numbers are written.

    ``kind`` is ``"numeric"`` (every present cell a finite number), ``"mixed"``
    (mostly numbers, with some other tokens, listed in ``tokens``) or ``"text"``.
    """

    def __init__(self, index, name, cells, missing_tokens):
        self.index, self.name = index, name
        present = [c for c in cells if c.lower() not in missing_tokens]
        numbers = [c for c in present if _parses(c)]
        self.tokens = collections.Counter(c for c in present if not _parses(c))
        if numbers and not self.tokens:
            self.kind = "numeric"
        elif numbers and len(numbers) >= len(present) / 2:
            self.kind = "mixed"
        else:
            self.kind = "text"
        self.exponent = any("e" in c.lower() for c in numbers)
        self.decimals = max((len(c.partition(".")[2]) for c in numbers), default=0)
        self.identifier = (self.kind == "numeric" and len(present) == len(cells) >= ID_MIN_ROWS
                           and all(float(c).is_integer() for c in numbers)
                           and len({float(c) for c in numbers}) == len(numbers))

    def describe_tokens(self):
        return ", ".join(f"{token!r} ({count} cell{'s' * (count > 1)})"
                         for token, count in self.tokens.most_common(5)) + (
            ", ..." if len(self.tokens) > 5 else "")

    def format(self, value, precision=None):
        """An imputed value written as the column writes its numbers."""
        if precision is None and self.exponent:
            text = repr(float(value)) if not float(value).is_integer() else str(int(value))
        else:
            text = f"{value:.{self.decimals if precision is None else precision}f}"
        return text[1:] if text.startswith("-") and not text.strip("-0.") else text


class Table:
    """A CSV file: header, rows of strings, its columns, delimiter and line ending."""

    def __init__(self, name, header, rows, delimiter, newline, na_values=()):
        self.name, self.header, self.rows = name, header, rows
        self.delimiter, self.newline = delimiter, newline
        self.missing_tokens = MISSING | {token.lower() for token in na_values}
        self.columns = [Column(i, h, [row[i].strip() for row in rows], self.missing_tokens)
                        for i, h in enumerate(header)]

    def matrix(self, columns):
        """The chosen columns as floats, NaN where a cell is missing."""
        values = np.full((len(self.rows), len(columns)), np.nan)
        for r, row in enumerate(self.rows):
            for j, column in enumerate(columns):
                cell = row[column.index].strip()
                if cell.lower() not in self.missing_tokens:
                    values[r, j] = float(cell)
        return values

    def write(self, handle, header, rows):
        writer = csv.writer(handle, delimiter=self.delimiter, lineterminator=self.newline)
        writer.writerow(header)
        writer.writerows(rows)


def _parses(cell):
    try:
        return math.isfinite(float(cell))
    except ValueError:
        return False


# -- reading --------------------------------------------------------------------------
def read_table(path, sep=None, na_values=()):
    """The table in ``path`` (``-``: standard input), its delimiter ``sep`` or detected."""
    name = "standard input" if path == "-" else path
    text = _read_text(path)
    delimiter = sep or detect_delimiter(text)
    first_line = text.split("\n", 1)[0]
    newline = "\r\n" if first_line.endswith("\r") else "\n"
    try:
        records = [r for r in csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
                   if r]  # blank lines carry nothing
    except csv.Error as error:
        raise InputError(f"cannot read {name}: {error}") from None
    if len(records) < 2:
        raise InputError(f"{name} needs a header row and at least one data row")
    header = records[0]
    for line, row in enumerate(records[1:], start=2):
        if len(row) != len(header):
            raise InputError(f"{name}: row {line} has {len(row)} fields, the header has "
                             f"{len(header)}")
    return Table(name, header, records[1:], delimiter, newline, na_values)


def _read_text(path):
    try:
        if path == "-":
            return sys.stdin.buffer.read().decode("utf-8-sig")
        if not os.path.isfile(path):
            raise InputError(f"cannot read {path}: no such file")
        with open(path, "rb") as handle:
            return handle.read().decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise InputError(f"cannot read {path}: not UTF-8 text ({error.reason} at byte "
                         f"{error.start})") from None
    except OSError as error:
        raise InputError(f"cannot read {path}: {error.strerror or error}") from None


def detect_delimiter(text):
    """The delimiter that splits the first lines into one same number (> 1) of fields.

    Among those that do, the one giving the most fields; a comma when none does.
    """
    lines = [line for line in text.splitlines()[:SNIFF_LINES] if line.strip()]
    best, best_fields = ",", 1
    for delimiter in DELIMITERS:
        try:
            counts = {len(row) for row in csv.reader(lines, delimiter=delimiter)}
        except csv.Error:
            continue
        fields = counts.pop() if len(counts) == 1 else 0
        if fields > best_fields:
            best, best_fields = delimiter, fields
    return best


def delimiter_option(text):
    """``--sep``: one character, or ``tab`` / ``\\t``."""
    text = {"tab": "\t", "\\t": "\t", "semicolon": ";", "comma": ","}.get(text.lower(), text)
    if len(text) != 1 or text in "\"\r\n":
        raise argparse.ArgumentTypeError(f"expected one character or 'tab', got {text!r}")
    return text


# -- choosing columns -----------------------------------------------------------------
def choose_columns(table, columns=None, exclude=None, warn=print):
    """The columns to model: ``--columns`` if given, else the numeric ones, less ``--exclude``.

    A column chosen by name or position must be numeric.  When the columns are
    not given, a column of numbers with a few other tokens is an error (it would
    otherwise be left out unnoticed); a column that looks like an identifier (a
    distinct integer in every row) is modeled with a warning.
    """
    excluded = {c.index for c in _resolve(table, exclude or [], "--exclude")}
    if columns:
        chosen = [c for c in _resolve(table, columns, "--columns") if c.index not in excluded]
        chosen = list({c.index: c for c in chosen}.values())  # first mention wins
        if any(column.kind != "numeric" for column in chosen):
            raise InputError(_not_numeric([c for c in chosen if c.kind != "numeric"], table))
    else:
        candidates = [c for c in table.columns if c.index not in excluded]
        mixed = [c for c in candidates if c.kind == "mixed"]
        if mixed:
            raise InputError(_not_numeric(mixed, table))
        chosen = [c for c in candidates if c.kind == "numeric"]
        for column in chosen:
            if column.identifier:
                warn(f"column {column.name!r} looks like an identifier (a distinct integer "
                     f"in every row) and is modeled; --exclude {column.name} leaves it out, "
                     f"--columns chooses the columns")
    if not chosen:
        raise InputError(f"no numeric column to model in {table.name} (delimiter "
                         f"{table.delimiter!r}): every column holds text that is not a number "
                         f"(empty cells and NA/NaN count as missing)"
                         if not columns else "--columns leaves no column to model")
    return chosen


def _not_numeric(columns, table):
    """The error for columns that are not (all) numbers: their odd tokens, and the way out."""
    mixed = [c for c in columns if c.kind == "mixed"]
    parts = [f"column {c.name!r} holds numbers and {c.describe_tokens()}" for c in mixed]
    for column in columns:
        if column.kind == "text":
            example = next(iter(column.tokens), "")
            parts.append(f"column {column.name!r} is not numeric (it holds {example!r})"
                         if example else f"column {column.name!r} has no value in {table.name}")
    if mixed:
        tokens = ",".join(sorted({token for c in mixed for token in c.tokens}))
        names = ",".join(c.name for c in mixed)
        parts[len(mixed) - 1] += (f"; --na-values={tokens!r} reads them as missing, "
                                  f"--exclude {names} leaves {'them' if len(mixed) > 1 else 'it'} "
                                  f"out")
    return "; ".join(parts)


def _resolve(table, specs, option):
    """Columns named by ``specs`` (names, or 1-based positions, comma separated)."""
    names = collections.defaultdict(list)
    for column in table.columns:
        names[column.name.strip()].append(column)
    resolved = []
    for spec in (part.strip() for text in specs for part in text.split(",")):
        if not spec:
            continue
        if spec in names:
            if len(names[spec]) > 1:
                raise InputError(f"{option}: several columns are named {spec!r}; give the "
                                 f"position instead")
            resolved.append(names[spec][0])
        elif spec.isdigit() and 1 <= int(spec) <= len(table.columns):
            resolved.append(table.columns[int(spec) - 1])
        else:
            raise InputError(f"{option}: no column {spec!r} in {table.name} (columns: "
                             f"{', '.join(table.header)}; or positions 1 to "
                             f"{len(table.header)})")
    return resolved


def unique_name(name, taken):
    """``name``, or ``name_1``, ``name_2``, ... if it is already a column."""
    candidate, suffix = name, 0
    while candidate in taken:
        suffix += 1
        candidate = f"{name}_{suffix}"
    taken.add(candidate)
    return candidate
