"""The inbox's pages, one module a capability; `answers` holds what they share."""
