"""Import of the legacy site's dossiers."""
