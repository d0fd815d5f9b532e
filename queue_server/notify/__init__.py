"""Alerts that reach people: the outbox (in the database) and the sender (webhook,
e-mail over SMTP, SMS through an HTTP gateway), with retries and a dead letter.

Exceptions::

    SendError          one delivery attempt failed; ``retry`` says whether to try again
"""
