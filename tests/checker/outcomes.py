"""How a check reports what it found. Standard library only."""


class Fail(AssertionError):
    """The learner's work does not meet the criterion (exit 1)."""

    def __init__(self, found: object, expected: object, detail: str = "") -> None:
        super().__init__(f"found {found}; expected {expected}")
        self.found = str(found)
        self.expected = str(expected)
        self.detail = detail


class Stop(Exception):
    """A precondition is missing: later checks cannot run (exit 2)."""

    def __init__(self, message: str, detail: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.detail = detail


class NotRun(Exception):
    """This check could not run here, for example no Docker daemon (exit 2)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class Needs(Exception):
    """This check depends on something an earlier check found missing.

    Shown as "not run"; the earlier failure already decides the exit code.
    """

    def __init__(self, what: str) -> None:
        super().__init__(what)
        self.what = what


class Unavailable(Exception):
    """Something the course needs is missing from this machine (exit 2).

    Unlike Stop, the remaining checks still run, so the learner sees every
    missing piece at once.
    """

    def __init__(self, missing: str, how: str) -> None:
        super().__init__(f"{missing}: {how}")
        self.missing = missing
        self.how = how


def expect(condition: object, found: object, expected: object, detail: str = "") -> None:
    if not condition:
        raise Fail(found, expected, detail)


class Soft:
    """Collects several independent problems and reports them as one failure."""

    def __init__(self) -> None:
        self.problems: list[tuple[str, str]] = []

    def check(self, condition: object, found: object, expected: object) -> bool:
        if not condition:
            self.problems.append((str(found), str(expected)))
        return bool(condition)

    def raise_if_any(self) -> None:
        if not self.problems:
            return
        if len(self.problems) == 1:
            raise Fail(*self.problems[0])
        found = "; ".join(f for f, _ in self.problems)
        expected = "; ".join(e for _, e in self.problems)
        raise Fail(f"{len(self.problems)} problems: {found}", expected)
