"""Emails: written to an outbox in the transaction that causes them, sent by a background job."""
