"""Every pull stream is a declaration in one catalog, and the engine runs nothing else."""

from __future__ import annotations

import pytest

from ledgersync.sync.pull.service import INCREMENTAL_STREAMS
from ledgersync.sync.pull.streams import STREAMS, ListStream, Stream


def test_every_stream_declares_where_its_records_are_and_how_it_pages() -> None:
    assert list(STREAMS) == ["customers", "invoices", "invoice_details", "invoice_deletions", "customer_deletions",
                             "invoice_details_sweep"]
    for name, stream in STREAMS.items():
        assert isinstance(stream, Stream) and stream.name == name
        assert stream.path.startswith("/") and stream.records_key and stream.primary_key and stream.paging
        assert type(stream).run is not Stream.run, f"{name} does not say how it runs"
    listed = {name for name, s in STREAMS.items() if isinstance(s, ListStream)}
    assert listed == {"customers", "invoices"}
    assert all(STREAMS[n].replication_key == "last_modified_time" for n in listed)
    assert tuple(INCREMENTAL_STREAMS) == tuple(STREAMS)


def test_the_engine_refuses_a_stream_it_has_no_declaration_for() -> None:
    from ledgersync.sync.pull.engine import run_stream

    with pytest.raises(ValueError, match="unknown stream"):
        run_stream(object(), "c-1", "payments")  # type: ignore[arg-type]
