"""Routing: new conversations reach someone who can take them, and work that sits with a silent
assignee comes back. Between the faces and the conversations domain (.importlinter)."""
