"""Live updates: WapiKit's event stream read once per deployment (`listen_events`), applied to
the shared reads, and pushed to open browsers."""
