"""What operators see of a running dashboard: Prometheus metrics, one JSON log line per request
and per upstream call, and the request id that ties a user's error page to those lines."""
