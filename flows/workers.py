"""Set-up of the processes that compute the enrichment; kept free of Prefect, so that the bench's
direct way can use it too."""

from __future__ import annotations

import os
import threading
import time


def exit_with_parent(parent: int) -> None:
    """Worker initializer: end this worker once the flow process that started it is gone.

    A flow process killed outright (SIGKILL, the OOM killer) cannot stop its pool, and an idle
    worker waits for work forever, holding its memory and the run's output pipes. A thread here
    notices within a second that the worker's parent has changed.
    """

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(1.0)
        os._exit(1)

    threading.Thread(target=watch, name="exit-with-parent", daemon=True).start()
