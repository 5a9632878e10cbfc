"""Progress for the demo build: a bar per phase on a terminal, a line per phase everywhere.

``make demo`` used to sit silent for minutes. Each phase (schema, model load, the world's
stream, the simulated days, the opening work, the alert replay) now prints a line when it
starts and one with its time when it ends (``demo: <phase> done in 12.3 s (CPU 9.8 s)``:
the setup benchmark reads these), and shows a live bar while it runs on a terminal.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from rich.console import Console
from rich.progress import (
    BarColumn,
    Progress,
    SpinnerColumn,
    TaskProgressColumn,
    TextColumn,
    TimeElapsedColumn,
)


@dataclass
class Step:
    """One running phase: ``update(done)`` moves its bar (``done`` out of ``total``)."""

    progress: Progress | None
    task: int | None
    total: float | None

    def update(self, done: float, note: str | None = None) -> None:
        if self.progress is not None and self.task is not None:
            kw = {"description": note} if note else {}
            self.progress.update(self.task, completed=done, **kw)  # type: ignore[arg-type]


@dataclass
class Phases:
    """Phase timings of one build, in order (``name -> seconds``)."""

    console: Console
    seconds: dict[str, float] = field(default_factory=dict)
    cpu_seconds: dict[str, float] = field(default_factory=dict)

    @contextmanager
    def phase(self, name: str, what: str, total: float | None = None) -> Iterator[Step]:
        """Run one phase: a start line, a bar (terminals only), an end line with its time."""
        self.console.print(f"[bold]demo:[/bold] {what} …")
        t0, c0 = time.perf_counter(), time.process_time()
        bar = self.console.is_terminal and not self.console.quiet
        if bar:
            progress = Progress(SpinnerColumn(), TextColumn("{task.description}"), BarColumn(),
                                TaskProgressColumn(), TimeElapsedColumn(),
                                console=self.console, transient=True)
            with progress:
                task = progress.add_task(what, total=total)
                yield Step(progress, task, total)
        else:
            yield Step(None, None, total)
        self.seconds[name] = time.perf_counter() - t0
        self.cpu_seconds[name] = time.process_time() - c0
        # CPU time beside the wall clock: on a busy host the first says what a quiet one takes
        self.console.print(f"[bold]demo:[/bold] {name} done in {self.seconds[name]:.1f} s "
                           f"(CPU {self.cpu_seconds[name]:.1f} s)")


def phases(console: Console | None) -> Phases:
    return Phases(console or Console())
