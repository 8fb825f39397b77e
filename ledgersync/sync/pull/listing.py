"""Run a list stream: retry last run's bad records, then keyset-page each mode to its end.

Every page is applied and the cursor saved in ONE transaction (with the run's counters and the
lease renewal), so a crash at any point resumes from the last committed page: nothing is lost
(the next query starts at the committed bookmark, inclusive) and nothing is duplicated
(records are upserted by Zoho id).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from ledgersync.domain.pull_rules import format_zoho_timestamp, parse_zoho_timestamp
from ledgersync.sync.pull import leases
from ledgersync.sync.pull.context import PullRun, now_of, recent_cutoff
from ledgersync.sync.pull.read_ahead import CallThread
from ledgersync.sync.pull.runlog import record_error, resolve_errors, write_counters
from ledgersync.sync.pull.upserts import DB_REFUSALS, apply_rows, refusal_reason
from ledgersync.zoho.errors import ZohoNotFound

if TYPE_CHECKING:  # the declarations call this reader; the reader only reads their fields
    from ledgersync.sync.pull.streams import ListStream


class RetryStillBad(Exception):
    """A record that was bad last run is still bad (its reason was recorded again)."""


def _max_lmt(rows: list[dict[str, Any]], key: str) -> str | None:
    best: tuple[Any, str] | None = None
    for row in rows:
        raw = row.get(key) if isinstance(row, dict) else None
        if not raw:
            continue
        try:
            moment = parse_zoho_timestamp(str(raw))
        except ValueError:
            continue
        if best is None or moment > best[0]:
            best = (moment, str(raw))
    return best[1] if best else None


def _later(a: str | None, b: str | None) -> str | None:
    if a is None:
        return b
    if b is None:
        return a
    return b if parse_zoho_timestamp(b) > parse_zoho_timestamp(a) else a


def _commit(run: PullRun, session: Any, state: dict[str, Any]) -> None:
    leases.save_state(session, run.connection_id, run.stream, run.owner, state)
    write_counters(session, run)
    run.fault("before_commit")
    session.commit()
    run.pages += 1
    run.fault("page_committed")


def retry_bad_records(run: PullRun, stream: ListStream, state: dict[str, Any]) -> dict[str, Any]:
    """Records that were bad last run are fetched one by one (a call each, only for them)."""
    pending = list(state.get("retry_ids") or [])
    if not pending:
        return state
    still_bad: list[str] = []
    for zoho_id in pending:
        try:
            body = run.books.record(stream.path, zoho_id, priority="pull")
        except ZohoNotFound:
            with run.container.uow() as uow:
                resolve_errors(uow.session, run.connection_id, stream.name, [zoho_id])
                uow.commit()
            continue
        record = body.get(stream.detail_key) if isinstance(body, dict) else None
        record = record if isinstance(record, dict) else {}
        stream.prepare(run, [record])
        saved = replace(run.stats)
        with run.container.uow() as uow:
            try:
                stream.apply_one(uow.session, run, record)
                uow.session.flush()
                resolve_errors(uow.session, run.connection_id, stream.name, [zoho_id])
            except RetryStillBad:  # the page's rules recorded the reason already
                still_bad.append(zoho_id)
            except DB_REFUSALS as exc:  # a BadRecord (a ValueError) or a refused write
                uow.session.rollback()
                run.stats = saved
                record_error(uow.session, run, zoho_id, f"retry: {refusal_reason(exc)}", stream=stream.name)
                still_bad.append(zoho_id)
            uow.commit()
    state = {**state, "retry_ids": still_bad}
    with run.container.uow() as uow:
        _commit(run, uow.session, state)
    return state


def run_list_stream(run: PullRun, stream: ListStream, state: dict[str, Any], *, stop_after: str | None = None) -> dict[str, Any]:
    """Advance the stream through its modes; returns the final cursor state.

    `stop_after="recent"` stops once the recent mode is complete (initial sync, phase 1).
    """
    state = retry_bad_records(run, stream, state)
    cutoff = recent_cutoff(run.container)
    mode_names = [m.name for m in stream.modes]
    while True:
        mode_name = state.get("mode") or mode_names[0]
        mode = stream.modes[mode_names.index(mode_name)]
        base = stream.params(mode_name, cutoff)
        since: str | None = state.get("since")
        page: int = int(state.get("page") or 1)

        def fetch(page: int, since: str | None, base: dict[str, Any] = base,
                  priority: str = mode.priority) -> dict[str, Any]:
            params = {**base, "page": page, "per_page": run.options.per_page}
            if since:
                params[stream.replication_key] = since
            return run.books.list_page(stream.path, params, priority=priority)

        with CallThread() as calls:  # the next page is asked for while this one is applied
            pending = calls.submit(fetch, page, since)
            while True:
                body = pending.result()
                rows = [r for r in (body.get(stream.records_key) or []) if isinstance(r, dict)]
                has_more = _has_more(body) and bool(rows)
                new_since = _later(since, _max_lmt(rows, stream.replication_key))
                if has_more:
                    # a whole page in one second: move by page number
                    since, page = (new_since, 1) if new_since != since else (since, page + 1)
                    pending = calls.submit(fetch, page, since)
                state = _apply_page(run, stream, state, rows, mode_name, mode_names,
                                    (since, page) if has_more else None, new_since)
                if not has_more:
                    break
        if stop_after == mode_name or state.get("mode") == mode_name:
            return state


def _has_more(body: dict[str, Any]) -> bool:
    context = body.get("page_context") or {}
    if isinstance(context, list):
        context = context[0] if context else {}
    return bool(context.get("has_more_page"))


def _apply_page(run: PullRun, stream: ListStream, state: dict[str, Any], rows: list[dict[str, Any]],
                mode_name: str, mode_names: list[str], next_page: tuple[str | None, int] | None,
                new_since: str | None) -> dict[str, Any]:
    """Apply one page and save the cursor with it: at `next_page` ((since, page)) or, when the
    mode ended, at the mode's end (`new_since` the newest modification seen)."""
    stream.prepare(run, rows)
    with run.container.uow() as uow:
        outcome = apply_rows(uow.session, run, rows, stream.name, stream.primary_key, stream.apply_page)
        resolve_errors(uow.session, run.connection_id, stream.name, outcome.ok_ids)
        retry = sorted(set(state.get("retry_ids") or []) | set(outcome.bad_ids))
        if next_page is not None:
            since, page = next_page
            state = {**state, "mode": mode_name, "since": since, "page": page, "retry_ids": retry}
        else:
            state = _finish_mode(state, mode_name, mode_names, new_since, retry)
            if state.get("mode") == "incremental":
                state["since"] = settle(state.get("since"), now_of(run.container))
        _commit(run, uow.session, state)
    return state


SETTLE_SECONDS = 300


def settle(since: str | None, now: Any) -> str | None:
    """After a completed pass, a bookmark second older than a few minutes can never receive
    another modification: move it one second on (exclusive), so a no-change run returns an
    empty page in ONE call even when hundreds of records share that second. A recent second
    stays inclusive (a record may still be modified within it)."""
    if not since:
        return since
    moment = parse_zoho_timestamp(since)
    if moment < now - timedelta(seconds=SETTLE_SECONDS):
        return format_zoho_timestamp(moment + timedelta(seconds=1))
    return since


def _finish_mode(state: dict[str, Any], mode: str, modes: list[str], since: str | None, retry: list[str]) -> dict[str, Any]:
    """Cursor after a mode ends. recent -> history (remember the recent bookmark) ->
    incremental (starting at the recent bookmark: anything modified since the initial listing
    began has a later `last_modified_time`)."""
    if mode == "incremental" or mode == modes[-1]:
        return {**state, "mode": mode, "since": since, "page": 1, "retry_ids": retry}
    nxt = modes[modes.index(mode) + 1]
    out = {**state, "mode": nxt, "page": 1, "retry_ids": retry}
    if mode == "recent":
        out["recent_max"] = since
        out["since"] = None
    if nxt == "incremental":
        out["since"] = state.get("recent_max") or since
    return out
