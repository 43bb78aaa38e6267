"""Secrets and personal data: the token's wrapper and keyed pseudonyms for emails."""
