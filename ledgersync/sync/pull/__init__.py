"""Pull sync, Zoho Books -> platform: streams (declarations), an engine that owns cursors,
leases and the run log, the initial sync with budget planning, deletion detection by counts,
and lazily cached PDFs. See docs/sync.md for the method."""
