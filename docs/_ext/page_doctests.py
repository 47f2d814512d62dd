"""Run the ``>>>`` examples of the hand-written pages while the site builds.

The docstrings' examples run in the test suite (``--doctest-modules``); the
user guide's run here, so that ``python -m sphinx -W ...`` fails when a page
shows code that no longer works or output that is no longer produced.

Every page runs in a fresh namespace, its blocks in page order (a block sees
what the blocks above it defined).  Blocks inside an ``.. only::`` directive
whose condition is false for this build are skipped, as they are not shown.
Pages matching ``page_doctests_exclude`` (generated API pages, whose examples
come from docstrings, and the gallery) are not run.  A failing example is
reported as a Sphinx warning at its block, which ``-W`` turns into an error;
so is a Python warning that an example lets escape (an example that means to
show one catches it).
"""

import doctest
import fnmatch
import io
import warnings

from docutils import nodes
from sphinx import addnodes
from sphinx.util import logging

logger = logging.getLogger(__name__)

OPTIONFLAGS = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE


def _shown(node, tags):
    """Whether ``node`` survives the ``.. only::`` filtering of this build."""
    parent = node.parent
    while parent is not None:
        if isinstance(parent, addnodes.only) and not tags.eval_condition(parent["expr"]):
            return False
        parent = parent.parent
    return True


def run_page_doctests(app, doctree):
    docname = app.env.docname
    if any(fnmatch.fnmatch(docname, pattern) for pattern in app.config.page_doctests_exclude):
        return
    blocks = [
        block
        for block in doctree.findall(nodes.doctest_block)
        if _shown(block, app.tags)
    ]
    if not blocks:
        return
    parser = doctest.DocTestParser()
    runner = doctest.DocTestRunner(optionflags=OPTIONFLAGS)
    namespace = {"__name__": "__main__"}
    for block in blocks:
        test = parser.get_doctest(block.astext(), namespace, docname, docname, block.line)
        report = io.StringIO()
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            failed, _ = runner.run(test, out=report.write, clear_globs=False)
        namespace = test.globs  # the next block sees what this one defined
        if failed:
            logger.warning("example failed on page %r:\n%s", docname, report.getvalue(),
                           location=block)
        for warning in caught:
            logger.warning("example on page %r raised %s: %s", docname,
                           warning.category.__name__, warning.message, location=block)


def setup(app):
    app.add_config_value("page_doctests_exclude", [], "env")
    app.connect("doctree-read", run_page_doctests)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
