"""kvtui's screens, and ``ReportWorkerErrors``, so no worker's exception ever reaches
the terminal as a traceback. Text that comes from outside (vaults, the identity
platform, the user's flags) is shown with :func:`kvtui.ui.text.literal`."""

from __future__ import annotations

import logging

from textual.worker import Worker, WorkerState

from kvtui.ui.text import visible

log = logging.getLogger("kvtui.ui")


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
                    visible(f"{type(error).__name__}: {error}"),
                    title="Something went wrong",
                    severity="error",
                    markup=False,
                    timeout=10,
                )
