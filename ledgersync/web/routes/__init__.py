"""Dashboard page modules; each exposes `router` and is included by `ledgersync.web.app`."""
