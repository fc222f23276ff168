"""When the event store starts its next commit: group commit, as a pure decision.

An event is acknowledged only once its commit is fsynced, and one fsync per event
would cap ingress at the disk's fsync rate. So at most one commit runs at a time and
the next takes *every* operation gathered while the last one ran: many producers share
one fsync, and the batch grows by itself with the load (group commit, as PostgreSQL's
and InnoDB's logs do).

Taken alone, that splits 16 producers into two halves that alternate: those a commit
answers send again about a round trip later, after the next commit has already begun
with the other half. So the next commit waits for as many appends as the last one
answered, plus those gathered while it ran, for :data:`COMMIT_DELAY` at most
(PostgreSQL's ``commit_delay``, made adaptive): then it carries every producer. A lone
producer is answered, sends, and its append is the one expected: it waits for nothing
but its fsync. Whatever the last commit answered, no append waits for others more than
:data:`COMMIT_DELAY` from when it came, or from the end of the commit under way then.

Operations nobody waits for (deletes, attempt counts) wait up to
:data:`WRITE_BEHIND_DELAY` to ride along with the next append's commit instead of
costing one of their own.

:class:`Pace` holds the counts and times; the store's writer thread asks
:meth:`Pace.start_at`, sleeps until :meth:`Pace.wake_at` and is woken sooner only by a
gather that moves the start before that.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

COMMIT_DELAY: Final = 0.002
"""The longest a synced commit waits for the producers the last one answered."""
WRITE_BEHIND_DELAY: Final = 0.02
"""The longest an operation nobody waits for waits for a commit to ride along with."""


@dataclass
class Pace:
    """What is gathered for the next commit, and what the last commit answered.

    ``waited`` counts appends (a producer waits for their commit); ``gathered`` counts
    every operation. Times are the caller's clock (``time.monotonic``)."""

    gathered: int = 0
    waited: int = 0
    expected: int = 0  # appends the next commit waits for (COMMIT_DELAY at most)
    first: float = 0.0  # when the first operation was gathered
    due_from: float = 0.0  # when the first append was gathered, or the last commit ended
    answering: int = 0  # appends in the commit under way
    committing: bool = False
    ended: float = float("-inf")  # when the last commit ended

    def gather(self, now: float, *, waited: bool) -> None:
        if not self.gathered:
            self.first = now
        self.gathered += 1
        if waited:
            if not self.waited:
                self.due_from = now
            self.waited += 1

    def start_at(self) -> float | None:
        """When to start the next commit (a time in the past: now), or ``None``: not
        while one runs, nor before anything is gathered."""
        if self.committing or not self.gathered:
            return None
        if self.waited:
            if self.waited >= self.expected:
                return self.due_from
            return self.due_from + COMMIT_DELAY
        return self.first + WRITE_BEHIND_DELAY

    def wake_at(self, now: float) -> float | None:
        """When the writer should look again (``None``: only when woken): the start,
        or, with nothing gathered, the time the deletes of the events the last commit
        stored (on their way: filtered, delivered) would be due anyway, so that
        gathering them need not wake the writer only to be told to wait."""
        start = self.start_at()
        if start is not None or self.committing:
            return start
        behind = self.ended + WRITE_BEHIND_DELAY
        return behind if now < behind else None

    def started(self) -> None:
        """The writer took everything gathered into a commit."""
        self.answering, self.committing = self.waited, True
        self.gathered = self.waited = 0

    def committed(self, now: float) -> None:
        """The commit under way ended at ``now``. The producers it answered send again
        about a round trip from now: the next commit waits for them, and for what
        gathered meanwhile (whose wait counts from now)."""
        self.expected = self.answering + self.waited
        self.answering, self.committing, self.ended = 0, False, now
        if self.waited:
            self.due_from = now
