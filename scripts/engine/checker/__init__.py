"""The workshop's checker engine.

Lab suites (tests/labs/labNN) are pytest modules whose test functions are the
checks. They signal results with the outcomes below; the engine's pytest plugin
turns them into one friendly line per check.
"""

from checker.outcomes import Fail, Needs, NotRun, Soft, Stop, Unavailable, Unjudged, expect

__all__ = ["Fail", "Needs", "NotRun", "Soft", "Stop", "Unavailable", "Unjudged", "expect"]
