"""The catalogue of authorized subjects as the API serves it (issue 18, item 5)."""
