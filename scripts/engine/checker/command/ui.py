"""Terminal output: symbols, colour when it helps, and progress for long waits."""

import os
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

PASS, FAIL, NOT_RUN = "✓", "✗", "–"
UNJUDGED = "?"  # could not judge: the machine, not the folder, decided the timing


def _use_colour() -> bool:
    return sys.stdout.isatty() and "NO_COLOR" not in os.environ and os.environ.get("TERM") != "dumb"


def paint(text: str, colour: str) -> str:
    codes = {"green": "32", "red": "31", "yellow": "33", "dim": "2", "bold": "1"}
    return f"\033[{codes[colour]}m{text}\033[0m" if _use_colour() else text


def say(line: str = "") -> None:
    # Some Windows consoles cannot encode ✓; fall back rather than crash.
    try:
        print(line, flush=True)
    except UnicodeEncodeError:
        print(line.encode("ascii", "replace").decode("ascii"), flush=True)
    except BrokenPipeError:
        # The reader went away (`| head`): keep running quietly, the exit code still counts.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())


@contextmanager
def waiting(what: str, timeout: float, spent=None) -> Iterator[None]:
    """Shows that a long wait is alive: a ticking line on a terminal, sparse lines otherwise.
    spent: what counts against the timeout when it is not the wall time (CPU seconds)."""
    started = time.monotonic()
    done = threading.Event()
    tty = sys.stdout.isatty()

    def tick() -> None:
        interval = 0.5 if tty else 10.0
        while not done.wait(interval):
            elapsed = time.monotonic() - started
            if spent is None:
                line = f"    … {what} ({elapsed:.0f} s of at most {timeout:.0f} s)"
            else:
                line = (f"    … {what} ({elapsed:.0f} s; {spent():.0f} s of CPU of at most "
                        f"{timeout:.0f} s)")  # fmt: skip
            if tty:
                sys.stdout.write("\r" + paint(line, "dim"))
                sys.stdout.flush()
            else:
                say(line)

    say(paint(f"    … {what} (timeout {timeout:.0f} s)", "dim"))
    thread = threading.Thread(target=tick, daemon=True)
    thread.start()
    try:
        yield
    finally:
        done.set()
        thread.join()
        if tty:
            sys.stdout.write("\r\033[K")
            sys.stdout.flush()


def progress(message: str) -> None:
    say(paint(f"    … {message}", "dim"))


def status(message: str) -> None:
    """Progress that replaces itself on a terminal (one line per step elsewhere)."""
    if sys.stdout.isatty():
        sys.stdout.write("\r\033[K" + paint(f"    … {message}", "dim"))
        sys.stdout.flush()
    else:
        progress(message)


def status_done() -> None:
    if sys.stdout.isatty():
        sys.stdout.write("\r\033[K")
        sys.stdout.flush()
