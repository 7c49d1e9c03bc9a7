"""The pipeline's outbox topics: one for the duplicate check, one for the apply."""

CHECK_TOPIC = "request.check"
APPLY_TOPIC = "request.apply"
