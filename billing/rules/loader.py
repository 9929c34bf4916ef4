"""Which engine runs: the compiled one (mypyc) or the pure-Python sources.

`scripts/build_engine.py` (run by `make install` where a C compiler is present) compiles
every module of this package but this one and `__init__`, from the same sources, into
`_compiled/`, and writes there the digest of the sources it compiled. The compiled modules
never sit next to the sources: `billing.rules` puts `_compiled/` first on its `__path__`
only when `compiled_dir` says so, so a stale build can never shadow an edited source.

`CCM_ENGINE` chooses: unset or "auto" runs the compiled engine when its build matches the
sources and the pure one otherwise (with a RuntimeWarning for a stale build: the sources
are the truth, a stale build is a speed problem, never a reason to bill by old rules);
"pure" always runs the sources; "compiled" requires the compiled engine (ImportError
otherwise: for a deployment that must not run slow without saying so).

Pure Python, stdlib only: it runs before any other module of the engine is imported.
"""

from __future__ import annotations

import hashlib
import os
import warnings
from pathlib import Path
from typing import Final

PACKAGE_DIR: Final = Path(__file__).resolve().parent
COMPILED_DIR: Final = PACKAGE_DIR / "_compiled"
DIGEST_FILE: Final = COMPILED_DIR / "SOURCES.sha256"
#: The modules that stay Python: the package itself and this guard.
NOT_COMPILED: Final = frozenset({"__init__.py", "loader.py"})
#: The mypyc group's shared library, a module of this package (`_native__mypyc`).
GROUP_NAME: Final = "billing.rules._native"
MODES: Final = ("auto", "pure", "compiled")


def compiled_sources(package_dir: Path = PACKAGE_DIR) -> list[Path]:
    """The engine's modules that the build compiles, by name."""
    return sorted(p for p in package_dir.glob("*.py") if p.name not in NOT_COMPILED)


def sources_digest(package_dir: Path = PACKAGE_DIR) -> str:
    """sha256 over the name and bytes of every compiled module's source: what the build
    records and what the import checks (a source edited, added or removed changes it)."""
    digest = hashlib.sha256()
    for path in compiled_sources(package_dir):
        digest.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


def engine_mode() -> str:
    mode = os.environ.get("CCM_ENGINE", "").strip().lower() or "auto"
    if mode not in MODES:
        raise ImportError(f"CCM_ENGINE={mode!r}: expected one of {', '.join(MODES)}")
    return mode


def refuse(mode: str, reason: str) -> None:
    """Say why the compiled engine does not run: an error when it was required, a warning
    when a build exists but cannot be used, nothing when there is simply none."""
    if mode == "compiled":
        raise ImportError(f"CCM_ENGINE=compiled, but {reason}")
    if DIGEST_FILE.exists():
        warnings.warn(
            f"billing.rules runs the pure-Python engine: {reason} (make install rebuilds it)",
            RuntimeWarning,
            stacklevel=3,
        )


def compiled_dir() -> Path | None:
    """The directory of a compiled build of exactly these sources, or None (run pure)."""
    mode = engine_mode()
    if mode == "pure":
        return None
    try:
        built = DIGEST_FILE.read_text().strip()
    except OSError:
        refuse(mode, "no compiled engine is built")
        return None
    if built != sources_digest():
        refuse(mode, "the compiled engine was built from other sources than billing/rules/*.py")
        return None
    return COMPILED_DIR
