"""How a test fails: TestFailure carries a sentence saying what was expected."""


class TestFailure(AssertionError):
    """A test's expectation did not hold; str() says which and what was seen instead."""

    __test__ = False  # not a pytest test class


def check(cond, what):
    """Raises TestFailure(what) unless cond holds; returns None."""
    if not cond:
        raise TestFailure(what)


class WaitTimeout(TestFailure, TimeoutError):
    """A bounded wait gave up: a TestFailure that is also a TimeoutError (so code that
    catches asyncio.TimeoutError or socket.timeout to poll keeps working)."""
