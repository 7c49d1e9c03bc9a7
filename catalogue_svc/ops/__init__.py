"""Operational endpoints: health, readiness, metrics, the embedded mode's dev mailbox."""
