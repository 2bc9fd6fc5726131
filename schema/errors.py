"""The one base of the errors citehub raises on purpose.

Every room raises its own subclasses (a bad seed line, an archive that cannot be replayed, a busy run lock,
a malformed items file, ...); the CLI maps any `CitehubError` to one line on stderr and the class's exit
code in one place (`flows/cli`). Anything else escaping a command is a bug and keeps its traceback.
It sits at the bottom of the stack, beside the tables, so that the pure parsers can use it too.
"""

from __future__ import annotations


class CitehubError(Exception):
    """An error citehub raises on purpose, with a message fit for one line of a terminal."""

    exit_code: int = 2  # bad input, the common case; subclasses name their own


class NotFound(CitehubError):
    """What was asked for is not in the warehouse or the archive."""

    exit_code = 1
