"""Writing results so that no file is ever lost or left half written.

A result is written to a file in the target directory that has no name yet
(``O_TMPFILE`` on Linux, so that even a killed process leaves nothing behind;
elsewhere a hidden temporary file, removed on any error or Ctrl-C) and given
its name only once complete.  Without ``--force`` the name is created
exclusively (a hard link fails if the name exists), so a file that appeared
during the fit is kept; with ``--force`` the complete file is renamed over the
old one, atomically.  ``-`` is standard output.
"""

import contextlib
import os
import sys
import tempfile
import time

from .table import InputError

# Test hook: seconds to pause half way through writing a file (to kill the process there).
PAUSE_VARIABLE = "_EMLEARN_CLI_PAUSE_MID_WRITE"


def output_paths(output, m):
    """``OUT.csv`` or, for ``m`` imputations, ``OUT_1.csv`` ... ``OUT_m.csv``."""
    if m is None:
        return [output]
    if output == "-":
        raise InputError("--m writes several files; give -o a file name, not -")
    stem, extension = os.path.splitext(output)
    return [f"{stem}_{i}{extension}" for i in range(1, m + 1)]


def check_output(path, force, input_path):
    """Refuse, before any work, an output that exists (without --force) or can't be written."""
    if path == "-":
        return
    if input_path != "-" and os.path.exists(path) and os.path.samefile(path, input_path):
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


def write_output(path, write, force):
    """Call ``write(handle)`` into ``path`` (``-``: standard output), all or nothing."""
    if path == "-":
        write(sys.stdout)
        sys.stdout.flush()
        return
    directory = os.path.dirname(os.path.abspath(path))
    try:
        with _unnamed_file(directory) as (handle, publish):
            write(_Pausing(handle) if os.environ.get(PAUSE_VARIABLE) else handle)
            handle.flush()
            os.fsync(handle.fileno())
            _copy_mode(path, handle.fileno())
            publish(path, force)
    except FileExistsError:
        raise InputError(f"{path} appeared while the model was fitted; it is kept, pass "
                         f"--force to overwrite it") from None
    except OSError as error:
        raise InputError(f"cannot write {path}: {error.strerror or error}") from None


@contextlib.contextmanager
def _unnamed_file(directory):
    """A text file in ``directory`` without a name, and the function that names it."""
    try:
        fd = os.open(directory, os.O_TMPFILE | os.O_WRONLY, 0o666)
    except (AttributeError, OSError):  # no O_TMPFILE here: a hidden named file
        fd = None
    if fd is not None:
        with open(fd, "w", newline="", encoding="utf-8") as handle:
            yield handle, lambda path, force: _link_unnamed(fd, path, force)
        return
    fd, temporary = tempfile.mkstemp(dir=directory, prefix=".emlearn-", suffix=".tmp")
    try:
        with open(fd, "w", newline="", encoding="utf-8") as handle:
            yield handle, lambda path, force: _rename_named(temporary, path, force)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)


def _link_unnamed(fd, path, force):
    proc = os.open("/proc/self/fd", os.O_RDONLY | os.O_DIRECTORY)
    try:
        if not force:
            os.link(str(fd), path, src_dir_fd=proc, follow_symlinks=True)
            return
        temporary = _free_name(os.path.dirname(os.path.abspath(path)))
        os.link(str(fd), temporary, src_dir_fd=proc, follow_symlinks=True)
    finally:
        os.close(proc)
    try:
        os.replace(temporary, path)
    except BaseException:
        os.unlink(temporary)
        raise


def _rename_named(temporary, path, force):
    if force:
        os.replace(temporary, path)
    else:
        os.link(temporary, path)  # fails if path exists; the finally removes temporary


def _free_name(directory):
    for attempt in range(100):
        candidate = os.path.join(directory, f".emlearn-{os.getpid()}-{attempt}.tmp")
        if not os.path.lexists(candidate):
            return candidate
    raise OSError("no free temporary name")


def _copy_mode(path, fd):
    """An overwritten file keeps its permissions; a new one gets 0o666 less the umask."""
    if os.path.exists(path):
        os.chmod(fd, os.stat(path).st_mode & 0o7777)
    else:
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(fd, 0o666 & ~umask)


class _Pausing:
    """Writes through to ``handle``, pausing once half way (see PAUSE_VARIABLE)."""

    def __init__(self, handle):
        self.handle, self.written = handle, 0

    def write(self, text):
        self.written += 1
        if self.written == 50:
            self.handle.flush()
            sys.stderr.write("paused mid-write\n")
            sys.stderr.flush()
            time.sleep(float(os.environ[PAUSE_VARIABLE]))
        return self.handle.write(text)
