"""The reports page: the team over time, each number one click from its conversations."""
