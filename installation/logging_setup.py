"""Rotating file log for the kiosk (plus the console), so a gallery can send us what happened."""

from __future__ import annotations

import logging
import logging.handlers
from pathlib import Path

LOG_FORMAT = "%(asctime)s %(levelname)-7s %(threadName)-14s %(name)s: %(message)s"
_HANDLER_TAG = "_art2music_kiosk"


def setup_logging(log_dir: str | Path | None, level: int = logging.INFO,
                  max_bytes: int = 2_000_000, backups: int = 5) -> Path | None:
    """Logs to ``<log_dir>/kiosk.log`` (rotated at ``max_bytes``, ``backups`` old files kept).

    Returns the log file path, or None when the directory cannot be written (console only).
    Calling it again replaces the kiosk's handlers instead of adding duplicates.
    """
    root = logging.getLogger()
    root.setLevel(level)
    for handler in [h for h in root.handlers if getattr(h, _HANDLER_TAG, False)]:
        root.removeHandler(handler)
        handler.close()
    formatter = logging.Formatter(LOG_FORMAT)
    console = logging.StreamHandler()
    console.setFormatter(formatter)
    setattr(console, _HANDLER_TAG, True)
    root.addHandler(console)
    if log_dir is None:
        return None
    log_path = Path(log_dir) / "kiosk.log"
    try:
        log_path.parent.mkdir(parents=True, exist_ok=True)
        file_handler = logging.handlers.RotatingFileHandler(
            log_path, maxBytes=max_bytes, backupCount=backups, encoding="utf-8")
    except OSError as error:
        logging.getLogger(__name__).warning(
            "Cannot write the kiosk log in %s (%s); logging to the console only.", log_dir, error)
        return None
    file_handler.setFormatter(formatter)
    setattr(file_handler, _HANDLER_TAG, True)
    root.addHandler(file_handler)
    return log_path


class HeldRecords(logging.Handler):
    """Holds the records of one logger while the kiosk log is not set up yet (the config's own
    warnings, e.g. a clamped volume), so that ``replay`` writes them into kiosk.log once it is.

    Used as a context manager: while inside, the logger does not pass records on to the console.
    """

    def __init__(self, logger: logging.Logger) -> None:
        super().__init__(logging.DEBUG)
        self.logger = logger
        self.records: list[logging.LogRecord] = []
        self._propagate = logger.propagate

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)

    def __enter__(self) -> HeldRecords:
        self._propagate = self.logger.propagate
        self.logger.addHandler(self)
        self.logger.propagate = False
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.logger.removeHandler(self)
        self.logger.propagate = self._propagate

    def replay(self) -> None:
        """Hands the held records to the logging handlers now in place (once)."""
        records, self.records = self.records, []
        for record in records:
            self.logger.handle(record)
