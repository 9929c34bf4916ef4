"""First-run settings: `make run` on a fresh clone, no servers needed."""

from __future__ import annotations

from ccm.settings.base import *  # noqa: F403
from ccm.settings.env import env_bool, env_str

DEBUG = env_bool("DEBUG", True)
# A development-only key: production.py refuses to start without SECRET_KEY.
SECRET_KEY = env_str("SECRET_KEY") or "dev-insecure-key-do-not-use-in-production"

# The benchmark's load generator (`generate_load`, bench/): development and tests
# only; production never installs it.
INSTALLED_APPS = [*INSTALLED_APPS, "bench"]  # noqa: F405
