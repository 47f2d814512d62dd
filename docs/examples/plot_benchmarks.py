"""
Speed against scikit-learn and hmmlearn
=======================================

The benchmark scripts in ``benchmarks/`` run emlearn and its peer library on the
same data, in the same process, and record the ratio of their times (emlearn /
peer, median of several repeats) in ``benchmarks/RESULTS.md``.  This example reads
every ratio recorded in that file and plots them: a bar shorter than 1 means
emlearn is faster.

The figures are those of the last recorded benchmark run, not measured while this
page was built; ``benchmarks/RESULTS.md`` gives the commands, the machine and the
details of each case.
"""

# %%
# Reading the results
# -------------------
# Each ``## `` section of the file is one estimator against its peer.  Ratios
# appear in two forms inside its code blocks: tables whose header has a ``ratio``
# column (columns separated by two or more spaces, a label first), and lines such
# as ``sklearn 6.06s  emlearn (n_jobs=2) 1.09s  ratio 0.18``.  Markdown pipe
# tables with a ``ratio`` column are read too.  Each ratio is matched with the
# peer's time column it divides: the nearest column to its left that is neither
# emlearn's time nor another ratio.
import re
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np

try:
    HERE = Path(__file__).resolve().parent
except NameError:  # pasted into an interactive session
    HERE = Path.cwd()
CANDIDATES = [HERE.parents[1] / "benchmarks" / "RESULTS.md", Path.cwd() / "benchmarks" / "RESULTS.md"]
RESULTS = next((path for path in CANDIDATES if path.exists()), None)
if RESULTS is None:
    raise SystemExit("benchmarks/RESULTS.md not found: run this script from the repository root.")


def number(text):
    """``float(text)`` for a plain number (thousands separators allowed), else None."""
    text = text.strip().replace(",", "")
    return float(text) if re.fullmatch(r"-?\d+(\.\d+)?", text) else None


def peer_name(columns, ratio_index):
    """The time column a ratio divides by, without its unit (``"log s"`` -> ``"log"``)."""
    for column in reversed(columns[1:ratio_index]):
        lowered = column.lower()
        if "ratio" not in lowered and "emlearn" not in lowered:
            return re.sub(r"\s+(s|ms|us|MiB|GiB)$", "", column)
    return "peer"


def table_ratios(columns, label, values):
    """``(label, peer, ratio)`` for every ratio column of one table row.

    ``values`` are the row's numbers, aligned with the last columns.
    """
    offset = len(columns) - len(values)
    return [
        (label, peer_name(columns, i), values[i - offset])
        for i, column in enumerate(columns)
        if i >= max(offset, 1) and "ratio" in column.lower() and values[i - offset] is not None
    ]


def code_block_ratios(lines):
    """Ratios of a fixed-width code block, and the captions above its tables."""
    found, captions, columns, previous = [], [], None, ""
    for line in lines:
        cells = re.split(r"\s{2,}", line.strip())
        tokens = line.split()
        values = [number(token) for token in tokens]
        n_numbers = next(n for n in range(len(values) + 1)
                         if n == len(values) or values[len(values) - 1 - n] is None)
        inline = re.search(r"\bratio\s+(\d+(?:\.\d+)?)\s*$", line)
        if columns and 0 < n_numbers < len(columns) and n_numbers < len(tokens):
            label = " ".join(tokens[: len(tokens) - n_numbers])
            found += table_ratios(columns, label, values[len(tokens) - n_numbers:])
        elif len(cells) > 2 and n_numbers == 0 and any("ratio" in c.lower() for c in cells):
            columns = cells
            if previous:
                captions.append(previous)
        elif inline:
            columns = None
            found.append((previous or "end to end", tokens[0], float(inline.group(1))))
        else:
            columns = None
        if line.strip():
            previous = line.strip()
    return found, captions


def pipe_table_ratios(lines):
    """Ratios of Markdown tables; a row's label joins its non-numeric cells."""
    found, columns = [], None
    for line in lines + [""]:
        if line.strip().startswith("|"):
            cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
            if columns is None:
                columns = cells
            elif not all(re.fullmatch(r":?-+:?", cell) for cell in cells):
                values = [number(cell) for cell in cells]
                label = ", ".join(c for c, v in zip(cells, values) if v is None and c)
                found += table_ratios(columns, label, values)
        else:
            columns = None
    return found


def peer_label(title, peer):
    """``"hmmlearn log"`` for the ``log`` column of the section "HMMEM vs hmmlearn ..."."""
    library = title.split(" vs ", 1)[1].split()[0] if " vs " in title else ""
    return library if peer.lower() in library.lower() else f"{library} {peer}".strip()


def read_ratios(markdown):
    """``{section title: (captions, [(label, peer, ratio), ...])}``, sections with ratios."""
    sections = {}
    for section in re.split(r"^## +", markdown, flags=re.M)[1:]:
        title, _, body = section.partition("\n")
        ratios, captions, code, text, in_code = [], [], [], [], False
        for line in body.splitlines():
            if line.startswith("```"):
                if in_code:
                    found, found_captions = code_block_ratios(code)
                    ratios += found
                    captions += found_captions
                    code = []
                in_code = not in_code
            elif in_code:
                code.append(line)
            else:
                text.append(line)
        ratios += pipe_table_ratios(text)
        if ratios:
            sections[title.strip()] = (captions, ratios)
    return sections


sections = read_ratios(RESULTS.read_text())
for title, (captions, ratios) in sections.items():
    print(title)
    for label, peer, ratio in ratios:
        print(f"    {label:<45} vs {peer_label(title, peer):<16} {ratio:5.2f}")

# %%
# The ratios
# ----------
# For hmmlearn, ``log`` and ``scaling`` are its two implementations (``log`` is
# its default).  The axis is logarithmic, so 0.5 and 2 sit at the same distance
# from 1.
fig, axes = plt.subplots(
    len(sections), 1, squeeze=False,
    figsize=(9, 1.2 + sum(0.35 * len({label for label, _, _ in r}) + 0.9
                          for _, r in sections.values())),
    gridspec_kw={"height_ratios": [len({label for label, _, _ in r}) + 2
                                   for _, r in sections.values()]},
)
for ax, (title, (captions, ratios)) in zip(axes[:, 0], sections.items()):
    labels = list(dict.fromkeys(label for label, _, _ in ratios))
    peers = list(dict.fromkeys(peer for _, peer, _ in ratios))
    height = 0.8 / len(peers)
    for p, peer in enumerate(peers):
        by_label = {label: ratio for label, other, ratio in ratios if other == peer}
        y = [i + p * height for i, label in enumerate(labels) if label in by_label]
        values = [by_label[label] for label in labels if label in by_label]
        bars = ax.barh(y, values, height=height, label=f"vs {peer_label(title, peer)}", color=f"C{p}")
        ax.bar_label(bars, fmt="%.2f", padding=2, fontsize="small")
    ax.axvline(1.0, color="k", lw=1)
    ax.set_yticks(np.arange(len(labels)) + height * (len(peers) - 1) / 2, labels)
    ax.invert_yaxis()
    ax.set_xscale("log")
    ax.set_xlim(0.01, 10)
    ax.set_title(title + ("\n" + "; ".join(captions) if captions else ""), fontsize="medium")
    ax.legend(fontsize="small", loc="best")
axes[-1, 0].set_xlabel("time of emlearn / time of the peer (below 1: emlearn is faster)")
fig.tight_layout()

# %%
# Where the peer stays ahead
# --------------------------
# ``benchmarks/RESULTS.md`` explains each case; the ones where emlearn is slower
# than its peer are listed here from the same figures.
behind = [(title, label, peer, ratio) for title, (_, ratios) in sections.items()
          for label, peer, ratio in ratios if ratio > 1]
for title, label, peer, ratio in behind:
    print(f"{title.split()[0]}, {label}: {ratio:.2f}x the time of {peer_label(title, peer)}")
if not behind:
    print("emlearn is faster in every recorded case")
