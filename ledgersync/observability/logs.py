"""JSON logs (structlog) with the ids of what is being worked on bound on every line.

`configure_logging("json")` routes the standard library's records (every `log.info(...)` in the
product, Celery's, uvicorn's) through structlog's formatter: one JSON object per line with the
timestamp, level, logger, message and whatever is bound in the current context —
`partner_id`, `connection_id`, `task`, `task_id`, `run_id`, `intent_id`. Binding uses context
variables, so threads of one worker never mix their ids. Messages pass through the connector's
`redact` (tokens, `Zoho-oauthtoken …`, refresh/client secrets) before they are written.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterator, MutableMapping
from contextlib import contextmanager
from typing import Any

import structlog
from structlog.contextvars import bind_contextvars, bound_contextvars, clear_contextvars, merge_contextvars

__all__ = ["configure_logging", "bind", "bound", "clear", "JsonFormatterFactory"]


def _redact(_: Any, __: str, event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    from ledgersync.zoho.tokens import redact

    for key, value in list(event.items()):
        if isinstance(value, str):
            event[key] = redact(value)
    return event


def json_formatter() -> logging.Formatter:
    pre_chain: list[Any] = [merge_contextvars, structlog.stdlib.add_log_level, structlog.stdlib.add_logger_name,
                 structlog.processors.TimeStamper(fmt="iso", utc=True)]
    return structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=pre_chain,
        processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, _redact,
                    structlog.processors.format_exc_info, structlog.processors.JSONRenderer(sort_keys=True)],
    )


def configure_logging(fmt: str = "json", level: int = logging.INFO, stream: Any = None) -> None:
    """Root logging for a process: `json` (deployments) or `text` (the demo's console)."""
    handler = logging.StreamHandler(stream or sys.stderr)
    if fmt == "json":
        handler.setFormatter(json_formatter())
        structlog.configure(
            processors=[merge_contextvars, structlog.stdlib.add_log_level,
                        structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
            logger_factory=structlog.stdlib.LoggerFactory(), cache_logger_on_first_use=True)
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    logging.getLogger("httpx").setLevel(logging.WARNING)


def bind(**ids: Any) -> None:
    """Bind ids (None values skipped) to every following line of this thread/task."""
    bind_contextvars(**{k: v for k, v in ids.items() if v is not None})


def clear() -> None:
    clear_contextvars()


@contextmanager
def bound(**ids: Any) -> Iterator[None]:
    with bound_contextvars(**{k: v for k, v in ids.items() if v is not None}):
        yield


JsonFormatterFactory = json_formatter
