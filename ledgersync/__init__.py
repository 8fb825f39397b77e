"""ledgersync: Zoho Books integration of a B2B payments platform."""
