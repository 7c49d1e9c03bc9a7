"""Requests (*demandes*): one catalogue form submission each, with its lifecycle and history."""
