"""Frozen copies of the claims writers before perf2-claims, for the byte-identity test."""
