"""Service levels of the validation queue: the business calendar's settings, each request's due
time (started, paused, resumed and stopped with its lifecycle) and what the queue says of it."""
