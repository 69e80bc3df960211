"""How a check reports what it found. Standard library only."""


class Fail(AssertionError):
    """The learner's work does not meet the criterion (exit 1). Where a check can fail
    for several causes, hint (and see, its README section) name the one observed,
    instead of the check's usual hint from labs.toml."""

    def __init__(
        self, found: object, expected: object, detail: str = "", hint: str = "", see: str = ""
    ) -> None:
        super().__init__(f"found {found}; expected {expected}")
        self.found = str(found)
        self.expected = str(expected)
        self.detail = detail
        self.hint, self.see = hint, see


class Stop(Exception):
    """A precondition is missing: later checks cannot run (exit 2). hint and see, as
    for Fail, name what to do about this cause."""

    def __init__(self, message: str, detail: str = "", hint: str = "", see: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.detail = detail
        self.hint, self.see = hint, see


class NotRun(Exception):
    """This check could not run here, for example no Docker daemon (exit 2)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class Unjudged(Exception):
    """A timing check whose evidence points at the machine, not at the folder: client
    time-outs rather than refusals, a load generator that sent less than asked, a
    clean exit that came late. Neither a pass nor a ✗: "could not judge" (exit 2),
    with what was measured and why that says the machine was too busy."""

    def __init__(self, found: str, evidence: str, expected: str = "", hint: str = "") -> None:
        super().__init__(f"could not judge: {found} ({evidence})")
        self.found, self.evidence, self.expected = found, evidence, expected
        self.hint = hint or ("nothing to change in your folder for this: run the check "
                             "again when the machine is quieter (close other work)")  # fmt: skip


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


def expect(
    condition: object,
    found: object,
    expected: object,
    detail: str = "",
    hint: str = "",
    see: str = "",
) -> None:
    if not condition:
        raise Fail(found, expected, detail, hint, see)


class Soft:
    """Collects several independent problems and reports them as one failure."""

    def __init__(self) -> None:
        self.problems: list[tuple[str, str]] = []
        self.hints: list[tuple[str, str]] = []  # (hint, see) of the causes observed

    def check(
        self, condition: object, found: object, expected: object, hint: str = "", see: str = ""
    ) -> bool:
        if not condition:
            self.problems.append((str(found), str(expected)))
            if hint:
                self.hints.append((hint, see))
        return bool(condition)

    def raise_if_any(self) -> None:
        if not self.problems:
            return
        # The first cause that has its own hint speaks for the failure.
        hint, see = self.hints[0] if self.hints else ("", "")
        if len(self.problems) == 1:
            raise Fail(*self.problems[0], hint=hint, see=see)
        found = "; ".join(f for f, _ in self.problems)
        expected = "; ".join(e for _, e in self.problems)
        raise Fail(f"{len(self.problems)} problems: {found}", expected, hint=hint, see=see)
