"""A Pilot that waits for the app's messages instead of for the CPU to go quiet, for
the tests and the screenshots.

Textual's ``Pilot.press`` and ``Pilot.pause()`` wait "until the process is idle": they
sleep in 20 ms steps until one step passes with under 1 ms of CPU time in the whole
process (an emulator's thread included), up to a second a wait, twice for every key.
That is a clock, not an event: it made each key cost about 100 ms, most of the test
suite's time, and what it waited for depended on how busy the machine was.

:class:`Pilot` here sends the same key events, then waits until every message queued
in the app (and every message those post in turn) has been handled, and the screen
has been drawn. Whatever happens later (a worker's answer, a timer) is waited for by
polling what it changes (the tests' and the screenshots' ``wait_until``).

Usage: ``async with drive(app, size=(80, 24)) as pilot:`` instead of ``app.run_test``.
"""

from __future__ import annotations

import asyncio
import unicodedata
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from typing import Any, TypeVar

from textual import events
from textual.app import App
from textual.keys import REPLACED_KEYS, _character_to_key, _get_unicode_name_from_key
from textual.message_pump import MessagePump
from textual.pilot import Pilot as TextualPilot
from textual.pilot import WaitForScreenTimeout

R = TypeVar("R")

#: How often a wait for what a worker or a timer changes looks again (the tests' and the
#: screenshots' ``wait_until``): a look costs little, and a step is seen within 10 ms.
POLL = 0.01

#: Rounds of "handle what is queued" before giving up on the queues emptying: a chain
#: of messages (a key bubbling up from a focused input to the screen, then the
#: messages its action posts) takes one round a hop.
MAX_ROUNDS = 50


def key_event(key: str) -> events.Key:
    """The event a terminal's key press makes: what ``App._press_keys`` sends."""
    if len(key) == 1 and not key.isalnum():
        key = _character_to_key(key)
    try:
        char: str | None = unicodedata.lookup(
            _get_unicode_name_from_key(REPLACED_KEYS.get(key, key))
        )
    except KeyError:
        char = key if len(key) == 1 else None
    return events.Key(key, char)


def _waiting(pump: MessagePump) -> bool:
    """Whether ``pump`` is idle: no message queued, and its task waiting for one (on
    its queue's ready event). Anything else (a message being handled, its task not
    started) counts as busy. Textual's queue has no count of messages in hand, so the
    event's waiters (an asyncio internal) tell; without them, every node is waited
    for, as Textual does."""
    if pump.message_queue_size:
        return False
    waiters = getattr(pump._message_queue.ready_event, "_waiters", None)
    return bool(waiters)


class Pilot(TextualPilot[R]):
    """Textual's Pilot, with ``press`` and ``pause()`` waiting for messages (above)."""

    async def press(self, *keys: str) -> None:
        for key in keys:
            event = key_event(key)
            event.set_sender(self.app)
            self.app.post_message(event)
            await self.settle()

    async def pause(self, delay: float | None = None) -> None:
        """``pause()``: until the app has handled what it was sent; ``pause(s)``: as
        Textual's (its queues handled, then ``s`` seconds)."""
        if delay is None:
            await self.settle()
        else:
            await super().pause(delay)

    async def settle(self) -> None:
        """Until no message is waiting in the app, then draw the screen.

        A round is Textual's ``pause(0)`` (every node of the screen handles what it
        holds) without its drawing, which comes once nothing is queued: a key bubbling
        up from a focused widget takes a round a hop, and drawing the screen after each
        hop drew it five or six times a key. Drawing may queue more (after-refresh
        callbacks): then another round."""
        for _ in range(MAX_ROUNDS):
            await self._wait_for_screen()
            if any(pump.message_queue_size for pump in self._pumps()):
                continue
            self.app.screen._on_timer_update()
            await asyncio.sleep(0)
            if not any(pump.message_queue_size for pump in self._pumps()):
                return

    async def _wait_for_screen(self, timeout: float = 30.0) -> bool:
        """Until the app and every node of its screen have handled what they were sent
        so far: Textual's wait, sent only to the nodes that may be busy.

        Textual's Pilot sends each node a callback and waits for them all: about 80
        messages, and as many tasks woken, every time a test looks, for most of the
        suite's message traffic. A node waiting for its next message with none queued
        has nothing to finish: it is skipped (:func:`_waiting`)."""
        try:
            screen = self.app.screen
        except Exception:
            return False
        busy = [
            pump for pump in (self.app, *screen.walk_children(with_self=True)) if not _waiting(pump)
        ]
        count = 0
        handled = asyncio.Event()

        def one_handled() -> None:
            nonlocal count
            count -= 1
            if count == 0:
                handled.set()

        for pump in busy:
            if pump.call_later(one_handled):
                count += 1
        if not count:
            return True
        waits = [
            asyncio.ensure_future(handled.wait()),
            asyncio.ensure_future(self.app._exception_event.wait()),
        ]
        done, pending = await asyncio.wait(
            waits, timeout=timeout, return_when=asyncio.FIRST_COMPLETED
        )
        for task in pending:
            task.cancel()
        if not done:
            raise WaitForScreenTimeout("the app's messages were not handled in time")
        return count == 0

    async def wait_for_scheduled_animations(self) -> None:
        """Until every animation under way or scheduled has ended, and what that set
        off is handled and drawn (Textual's then also waits for an idle CPU)."""
        await self._wait_for_screen()
        await self.app.animator.wait_until_complete()
        await self.settle()

    def _pumps(self) -> Iterator[MessagePump]:
        yield self.app
        for screen in self.app.screen_stack:
            yield from screen.walk_children(with_self=True)


@asynccontextmanager
async def drive(app: App[R], **options: Any) -> AsyncIterator[Pilot[R]]:
    """``drive(app, **options)``, with this module's :class:`Pilot`."""
    async with app.run_test(**options):
        yield Pilot(app)
