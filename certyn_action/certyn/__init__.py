"""Talking to Certyn: the HTTP transport, error classification, the retrying client and the waiter."""
