"""Celery tasks of the claims app: thin, ids only (no patient data in the broker)."""

from __future__ import annotations
