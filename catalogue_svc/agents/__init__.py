"""Agents: validation queues, claims, approval (with merge) and rejection."""
