"""Talks to Certyn: the transport, the client and its endpoints, the models of the answers."""
