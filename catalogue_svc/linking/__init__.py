"""Linking credentials (*coordonnées de liaison*) and migrated legacy credentials."""
