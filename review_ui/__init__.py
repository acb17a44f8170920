"""The review web screen (issue 8)."""
