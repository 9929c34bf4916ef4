"""The engine as it was before billing rules revision 2 (main at REVISION1_COMMIT), read
from git into a package of its own: the oracle for "facts without revision 2's optional
fields decide as they did, except where a rule of revision 2 now blocks" (issue 12)."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path
from types import ModuleType

REVISION1_COMMIT = "206e3f09b68fda80d77df1ffb293c5a440b74272"
PACKAGE = "billing_rules_revision1"
ROOT = Path(__file__).resolve().parents[3]


def _git(*args: str) -> str:
    return subprocess.run(
        ["git", "-C", str(ROOT), *args], capture_output=True, text=True, check=True, timeout=60
    ).stdout


def load_revision1(directory: Path) -> ModuleType | None:
    """The revision-1 engine as package PACKAGE, written under `directory`; None when git
    or the commit is not at hand (a shallow clone, an export without history)."""
    if PACKAGE in sys.modules:
        return sys.modules[PACKAGE]
    try:
        paths = _git("ls-tree", "--name-only", REVISION1_COMMIT, "billing/rules/").split()
        sources = {path: _git("show", f"{REVISION1_COMMIT}:{path}") for path in paths}
    except (OSError, subprocess.SubprocessError):
        return None
    package = directory / PACKAGE
    package.mkdir(parents=True, exist_ok=True)
    for path, text in sources.items():
        if path.endswith(".py"):
            (package / Path(path).name).write_text(text.replace("billing.rules", PACKAGE))
    spec = importlib.util.spec_from_file_location(
        PACKAGE, package / "__init__.py", submodule_search_locations=[str(package)]
    )
    if spec is None or spec.loader is None:
        return None
    module = importlib.util.module_from_spec(spec)
    sys.modules[PACKAGE] = module
    spec.loader.exec_module(module)
    return module
