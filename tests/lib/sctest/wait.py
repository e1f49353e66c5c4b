"""Bounded waits. Every wait in a test ends, and when it gives up it says what it was
waiting for and how long it waited: "timed out after 10 s waiting for SYNCED token 7"."""
import asyncio
import time

from .errors import WaitTimeout


def timeout_message(seconds, what, detail=None):
    """The one wording of a timeout: 'timed out after N s waiting for WHAT[; DETAIL]'."""
    msg = f"timed out after {seconds:g} s waiting for {what}"
    return f"{msg}; {detail}" if detail else msg


def _detail(detail):
    return detail() if callable(detail) else detail


def _expired(deadline, timeout, what, detail):
    """Raises WaitTimeout once the deadline has passed."""
    if time.monotonic() >= deadline:
        raise WaitTimeout(timeout_message(timeout, what, _detail(detail)))


def until_sync(pred, what, timeout=15.0, step=0.05, detail=None, ignore=(OSError,)):
    """Polls pred() every step seconds until it returns a true value, which is returned.
    Exceptions of the types in ignore count as "not yet" (a server still starting).
    Raises WaitTimeout (a TestFailure) naming `what` (and detail, a string or a function
    returning one) after timeout seconds."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            v = pred()
        except ignore:
            v = None
        if v:
            return v
        _expired(deadline, timeout, what, detail)
        time.sleep(step)


async def until(pred, what, timeout=15.0, step=0.05, detail=None, ignore=(OSError,)):
    """As until_sync, in asyncio: pred() may return a value or an awaitable."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            v = pred()
            if asyncio.iscoroutine(v) or isinstance(v, asyncio.Future):
                v = await v
        except ignore:
            v = None
        if v:
            return v
        _expired(deadline, timeout, what, detail)
        await asyncio.sleep(step)


async def bounded(aw, timeout, what, detail=None):
    """Awaits aw for at most timeout seconds; returns its result or raises TestFailure
    naming `what` (asyncio.wait_for with a message)."""
    try:
        return await asyncio.wait_for(aw, timeout)
    except asyncio.TimeoutError:
        raise WaitTimeout(timeout_message(timeout, what, _detail(detail))) from None
