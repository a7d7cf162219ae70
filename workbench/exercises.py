"""One way for a notebook exercise to say whether an answer is right.

A check is a function that asserts what a right answer does and returns a sentence
for it. `verdict` runs it and gives one line an attendee can act on:

    Correct: <the check's sentence>
    Not yet: <what the assertion says is still wrong>
    Hint: <the hint>

An answer that raises (a typo, a handler that fails) is "Not yet" too, with the error
named, so a check cell never ends in a traceback. Pure Python: no widgets.

Example::

    >>> def check():
    ...     assert facts == {"RoomBooked"}, "one name is missing"
    ...     return "every name is a fact"
    >>> facts = set()
    >>> print(verdict(check, hint="a fact is in the past tense"))
    Not yet: one name is missing
    Hint: a fact is in the past tense
"""

from __future__ import annotations

from collections.abc import Callable

CORRECT = "Correct:"
NOT_YET = "Not yet:"
HINT = "Hint:"


def verdict(check: Callable[[], str], *, hint: str) -> str:
    """Run `check`; "Correct: ..." when it passes, else "Not yet: ..." and the hint."""
    try:
        return f"{CORRECT} {check()}"
    except AssertionError as wrong:
        reason = str(wrong) or "the answer does not pass the check"
    except Exception as error:  # the attendee's code failed: say so, do not crash the cell
        reason = f"your answer raised {type(error).__name__}: {error}"
    return f"{NOT_YET} {reason}\n{HINT} {hint}"
