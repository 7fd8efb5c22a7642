"""The one exception type the dataset builder raises for problems a user can fix."""

from __future__ import annotations


class DatasetError(RuntimeError):
    """A corpus, file or option problem; the message says what happened and what to do."""
