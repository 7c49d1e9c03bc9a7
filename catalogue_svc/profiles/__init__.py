"""The profile store: organisations, contacts, relations, subjects and grants."""
