"""The edit and ops commands (filled in with the CLI)."""
