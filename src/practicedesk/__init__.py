"""Practice Desk: medical practice management."""
