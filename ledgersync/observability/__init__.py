"""Metrics, JSON logs and health checks: used by every process, importing only store and zoho."""
