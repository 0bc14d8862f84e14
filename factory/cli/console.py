"""The one way commands make a rich ``Console`` (shared/DESIGN.md, "Output").

* ``NO_COLOR`` (any non-empty value, https://no-color.org) turns colour off;
* not a terminal (a pipe, a file, CI's log): no colour, and no wrapping or truncation (a
  line is as long as its content, so ``grep`` and diffs see whole lines);
* ``stderr=True`` for tables, progress and messages around a command's data; the data itself
  (``--output json``) is printed with ``click.echo`` on stdout.
"""

from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rich.console import Console

#: Width used when the output is not a terminal: wide enough that nothing wraps.
UNWRAPPED_WIDTH = 10_000


def no_color() -> bool:
    """True when the user asked for no colour (``NO_COLOR`` set and not empty)."""
    return bool(os.environ.get("NO_COLOR"))


def is_terminal(stderr: bool = False) -> bool:
    stream = sys.stderr if stderr else sys.stdout
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):  # replaced or closed streams
        return False


def console(*, stderr: bool = False, **options: Any) -> Console:
    """A ``rich.console.Console`` on stdout (or stderr) that honours ``NO_COLOR`` and does not
    wrap or truncate when it is not a terminal. ``options`` go to ``Console`` as they are."""
    from rich.console import Console

    settings: dict[str, Any] = {"stderr": stderr, "highlight": False, "no_color": no_color()}
    if not is_terminal(stderr):
        settings.update(width=UNWRAPPED_WIDTH, soft_wrap=True, color_system=None)
    settings.update(options)
    return Console(**settings)
