"""kvtui's screens, and the two helpers every screen uses: ``literal`` for text that
comes from outside (vaults, the identity platform, the user's flags), and
``ReportWorkerErrors`` so no worker's exception ever reaches the terminal as a
traceback."""

from __future__ import annotations

import logging
import re

from rich.text import Text
from textual.worker import Worker, WorkerState

log = logging.getLogger("kvtui.ui")

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def literal(value: object, style: str = "") -> Text:
    """``value`` shown as it is: never parsed as markup; control characters (escape
    sequences included) shown as U+FFFD."""
    return Text(_CONTROL.sub("\ufffd", str(value)), style=style, end="")


class ReportWorkerErrors:
    """Mixin for screens (and the app): a worker that ends in an unexpected exception
    becomes an error notification and a log entry with its traceback; the app lives on.
    Workers are started with ``exit_on_error=False`` for this."""

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        worker = event.worker
        if event.state is WorkerState.ERROR and worker.error is not None:
            error = worker.error
            log.error("worker %s failed", worker.name, exc_info=error)
            notify = getattr(self, "notify", None)
            if notify is not None:
                notify(
                    literal(f"{type(error).__name__}: {error}").plain,
                    title="Something went wrong",
                    severity="error",
                    markup=False,
                    timeout=10,
                )
