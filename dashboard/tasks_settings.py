"""The settings of background work on Django's Tasks framework (the timeline's reads, alerts
before a breach, routing) and of the timeline's retention, read by dashboard/settings.py."""

import os

# Background work, on Django's Tasks framework: the reads that teach the timeline what WapiKit's
# list answers leave out (dashboard/conversations/backfill.py). By default the tasks are rows of
# this database (django-tasks-db), run by `manage.py db_worker` (`make run` starts one); TASKS_BACKEND
# names another backend (the README's production notes). Background reads spend at most
# WAPIKIT_BACKGROUND_READ_SHARE of the messages route's limit in each of WapiKit's rate-limit windows.
TASKS = {"default": {"BACKEND": os.environ.get("TASKS_BACKEND", "django_tasks_db.DatabaseBackend")}}
WAPIKIT_BACKGROUND_READ_SHARE = float(os.environ.get("WAPIKIT_BACKGROUND_READ_SHARE", "0.25"))
# Their timing, in seconds (fractions allowed, for `make bench-day`'s compressed day): a waiting
# conversation is re-read this long after news, the wait doubling with each read that finds none,
# up to the longest; and this often a run looks through the Active list for unknown conversations.
WAPIKIT_REREAD_FIRST_SECONDS = float(os.environ.get("WAPIKIT_REREAD_FIRST_SECONDS", "120"))
WAPIKIT_REREAD_LONGEST_SECONDS = float(os.environ.get("WAPIKIT_REREAD_LONGEST_SECONDS", "3600"))
WAPIKIT_SWEEP_SECONDS = float(os.environ.get("WAPIKIT_SWEEP_SECONDS", "600"))
# How long the timeline keeps its log of what happened (new, messages, assignments, closes): the
# reports look this far back. Older entries are deleted once a day; each conversation's current
# facts (who is waiting, since when) are kept.
TIMELINE_RETENTION_DAYS = int(os.environ.get("TIMELINE_RETENTION_DAYS", "400"))
# Routing (dashboard/routing/): the part of the assign route's limit it may spend in each of
# WapiKit's windows (past it, routing waits for the window's reset and the status page says so),
# and how often it sweeps the unassigned backlog, in seconds.
ROUTING_ASSIGN_SHARE = float(os.environ.get("ROUTING_ASSIGN_SHARE", "0.5"))
ROUTING_SWEEP_SECONDS = float(os.environ.get("ROUTING_SWEEP_SECONDS", "180"))
# How long a conversation routing claimed waits for its worker before another finishes the
# claim (the worker died mid-call). Longer than one assignment's calls with their timeouts
# (WAPIKIT_TIMEOUT), so a slow worker that is still alive is never overtaken.
ROUTING_CLAIM_LEASE_SECONDS = float(os.environ.get("ROUTING_CLAIM_LEASE_SECONDS", "120"))

# Reports (dashboard/reporting/): how often the backlog (active, unassigned, waiting, overdue) is
# counted into its history, in seconds; a time without snapshots while the events stream was
# connected is shown as a gap.
REPORT_SNAPSHOT_SECONDS = float(os.environ.get("REPORT_SNAPSHOT_SECONDS", "300"))
