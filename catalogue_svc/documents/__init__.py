"""Documents joined to a request (issue 18, item 2)."""
