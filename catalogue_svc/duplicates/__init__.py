"""Duplicate detection for new contacts: pure normalisation, blocking keys and scoring."""
