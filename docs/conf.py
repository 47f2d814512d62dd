"""Sphinx configuration of the emlearn documentation.

Build from the repository root, warnings as errors::

    python -m sphinx -W --keep-going -b html docs docs/_build/html

The API reference lists every public name of ``emlearn.__all__`` (one page each,
written below into ``docs/generated/``).
"""

import sys
from pathlib import Path

from threadpoolctl import threadpool_limits

DOCS = Path(__file__).resolve().parent
sys.path.insert(0, str(DOCS.parent))  # the emlearn of this checkout, not an installed one
sys.path.insert(0, str(DOCS / "_ext"))

import emlearn  # noqa: E402

# The examples and the user guide's code run inside this process, on small data.
# Threaded BLAS and OpenMP (scikit-learn's k-means start) gain nothing there and
# lose much when another process holds a core: each parallel region then waits
# for a descheduled thread (measured: k-means on 600 rows 5x to 30x slower on a
# busy two-core machine).  One thread each keeps the build's time steady.  The
# limit applies to the libraries loaded so far, hence after importing emlearn
# (numpy's and scipy's BLAS, scikit-learn's OpenMP runtime).
_THREAD_LIMITS = threadpool_limits(limits=1)

project = "emlearn"
author = "the emlearn developers"
copyright = "the emlearn developers"
version = release = emlearn.__version__

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.mathjax",
    "numpydoc",
    "sphinx_gallery.gen_gallery",
    "page_doctests",
]

exclude_patterns = ["_build", "examples"]
suppress_warnings = []

# -- optional parts: EMImputer and NaN-aware mixtures ---------------------------------
# -- API reference: one page per public name -------------------------------------------
def _write_if_changed(path, text):
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists() or path.read_text() != text:
        path.write_text(text)


def _write_api_pages():
    names = [name for name in emlearn.__all__ if not name.startswith("_")]
    generated = DOCS / "generated"
    for name in names:
        title = f"emlearn.{name}"
        directive = (f".. autoclass:: {name}\n   :members:\n\n"
                     if isinstance(getattr(emlearn, name), type)
                     else f".. autofunction:: {name}\n\n")
        _write_if_changed(
            generated / f"{title}.rst",
            f"{title}\n{'=' * len(title)}\n\n"
            ".. currentmodule:: emlearn\n\n"
            + directive +
            f".. minigallery:: emlearn.{name}\n   :add-heading: Examples using {name}\n",
        )
    table = "\n".join(f"   {name}" for name in names)
    pages = "\n".join(f"   generated/emlearn.{name}" for name in names)
    _write_if_changed(
        generated / "api_names.inc",
        f".. autosummary::\n   :nosignatures:\n\n{table}\n\n"
        f".. toctree::\n   :hidden:\n\n{pages}\n",
    )


_write_api_pages()


# -- autodoc and numpydoc --------------------------------------------------------------
def _skip_metadata_requests(app, what, name, obj, skip, options):
    """Leave out the ``set_*_request`` methods scikit-learn generates on every estimator.

    They are scikit-learn's (documented there, with its cross-references); the
    API pages document the methods emlearn defines.
    """
    if name.startswith("set_") and name.endswith("_request"):
        return True
    return None


def setup(app):
    app.connect("autodoc-skip-member", _skip_metadata_requests)


autosummary_generate = False
autodoc_default_options = {"member-order": "bysource"}
numpydoc_show_class_members = False
numpydoc_attributes_as_param_list = True

# -- gallery ---------------------------------------------------------------------------
sphinx_gallery_conf = {
    "examples_dirs": "examples",
    "gallery_dirs": "auto_examples",
    "filename_pattern": r"plot_",
    "ignore_pattern": r"__init__\.py",
    "doc_module": ("emlearn",),
    "backreferences_dir": "generated/backreferences",
    "download_all_examples": False,
    "remove_config_comments": True,
    "within_subsection_order": "gallery_order.ExampleOrder",
    "min_reported_time": 1,
    # No timing tables: they would be written into the source tree (docs/).
    "write_computation_times": False,
}

# -- pages -----------------------------------------------------------------------------
page_doctests_exclude = ["generated/*", "auto_examples/*"]
root_doc = "index"
html_theme = "pydata_sphinx_theme"
html_title = f"emlearn {release}"
html_theme_options = {
    "navigation_with_keys": False,
    "show_toc_level": 2,
}
html_sidebars = {"index": []}
html_show_sourcelink = False
