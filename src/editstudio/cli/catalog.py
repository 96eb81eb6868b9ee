"""Catalogue commands: models, recommend, estimate (filled in with the catalogue)."""
