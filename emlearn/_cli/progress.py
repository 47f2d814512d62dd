"""Progress of long fits on stderr: elapsed time, restarts and EM iterations.

The estimators print their progress (``verbose``) on standard output, from
worker processes too.  While a command fits, file descriptor 1 goes to a pipe
read by a thread: it keeps the latest restart and iteration counts for the
progress line and, with ``--verbose``, copies the messages to stderr.  So
standard output carries nothing but the results (``-o -``).
"""

import contextlib
import os
import re
import sys
import threading
import time


class Status:
    """What a fit is doing, from the command (``step``) and from EM's messages."""

    def __init__(self):
        self.step = ""
        self.restart = ""
        self.iteration = ""
        self.runs_done = 0

    def feed(self, line):
        restart = re.search(r"\[init (\d+/\d+)\]", line)
        if restart:
            self.restart = f"restart {restart.group(1)}"
        iteration = re.search(r"iteration (\d+)", line) or re.search(r"after (\d+) iter", line)
        if iteration:
            self.iteration = f"iteration {iteration.group(1)}"
        if re.search(r"EM (converged|did not converge)", line):
            self.runs_done += 1

    def __str__(self):
        parts = [self.step, self.restart, self.iteration]
        if self.runs_done:
            parts.append(f"{self.runs_done} EM run{'s' * (self.runs_done > 1)} done")
        return ", ".join(part for part in parts if part)


@contextlib.contextmanager
def progress(label, stream=None, delay=1.0, status=None):
    """Report elapsed time (and ``status``) on stderr while a fit takes over ``delay`` s.

    The tests shorten ``delay`` with the environment variable
    ``_EMLEARN_CLI_PROGRESS_DELAY`` (a hook, not an option: machines differ in
    how long a fit takes).
    """
    hook = os.environ.get("_EMLEARN_CLI_PROGRESS_DELAY")
    delay = delay if hook is None else float(hook)
    stream = stream or sys.stderr
    done = threading.Event()
    interactive = stream.isatty()

    def line(elapsed):
        detail = str(status) if status is not None else ""
        return f"{label}... {elapsed:.0f}s" + (f" ({detail})" if detail else "")

    def report():
        start = time.perf_counter()
        if done.wait(delay):
            return
        while True:
            text = line(time.perf_counter() - start)
            stream.write(f"\r{text}\033[K" if interactive else f"{text}\n")
            stream.flush()
            if done.wait(0.5 if interactive else 5.0 if hook is None else delay):
                break
        if interactive:
            stream.write(f"\r{label}... done in {time.perf_counter() - start:.1f}s\033[K\n")

    thread = threading.Thread(target=report, daemon=True)
    thread.start()
    try:
        yield
    finally:
        done.set()
        thread.join()


@contextlib.contextmanager
def em_messages(status, echo):
    """Send what is printed on fd 1 (EM's messages) to ``status``, and to stderr if ``echo``."""
    sys.stdout.flush()
    saved = os.dup(1)
    read, write = os.pipe()
    os.dup2(write, 1)
    os.close(write)

    end = f"-- end of the fit {os.getpid()} --\n"

    def pump():
        with open(read, encoding="utf-8", errors="replace") as lines:
            for text in lines:
                if text == end:
                    break
                status.feed(text)
                if echo:
                    sys.stderr.write(text)
                    sys.stderr.flush()

    thread = threading.Thread(target=pump, daemon=True)
    thread.start()
    try:
        yield status
    finally:
        sys.stdout.flush()
        os.write(1, end.encode())  # worker processes may hold the pipe open: no end of file
        os.dup2(saved, 1)
        os.close(saved)
        thread.join(timeout=5.0)


@contextlib.contextmanager
def fitting(label, verbose):
    """While fitting: EM's messages captured, and a progress line unless ``verbose``."""
    status = Status()
    with em_messages(status, echo=bool(verbose)):
        if verbose:
            yield status
        else:
            with progress(label, status=status):
                yield status
