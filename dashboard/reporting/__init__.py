"""Reports: the team over time, aggregated from the timeline's log (`facts`, `figures`), and the
backlog's history, taken every few minutes while the dashboard observes (`snapshots`)."""
