"""Compile the billing engine with mypyc into billing/rules/_compiled/ (`make install`).

    .venv/bin/python scripts/build_engine.py

The engine (billing/rules/, mypy-strict, pure) is compiled from the same sources into C
extension modules: every module but `__init__` and `loader` (billing/rules/loader.py says
how the package picks the compiled or the pure engine at import). The modules are built
in a temporary directory and moved into `_compiled/` with the digest of the sources they
were compiled from, written last: `billing.rules` runs them only while that digest is the
one of the sources on disk.

Where there is no C compiler, no Python.h or no mypyc, or CCM_ENGINE=pure, nothing is
built, any old build is removed, and the engine runs as pure Python: exit 0. A failed
build is reported, leaves no build behind and exits 0 too (the pure engine is the same
engine, only slower); CCM_ENGINE=compiled makes it exit 1 instead.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import sys
import sysconfig
import tempfile
import time
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parent.parent


def load_guard() -> ModuleType:
    """billing/rules/loader.py by path: the digest the import checks, without importing
    the engine (which would load the build being replaced)."""
    path = ROOT / "billing/rules/loader.py"
    spec = importlib.util.spec_from_file_location("ccm_engine_loader", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def missing_toolchain() -> str | None:
    """Why the engine cannot be compiled here, or None when it can."""
    compiler = (os.environ.get("CC") or sysconfig.get_config_var("CC") or "cc").split()[0]
    if shutil.which(compiler) is None:
        return f"no C compiler ({compiler})"
    if not (Path(sysconfig.get_paths()["include"]) / "Python.h").is_file():
        return "no Python.h (the Python development headers)"
    for module in ("mypyc.build", "setuptools"):
        if importlib.util.find_spec(module.split(".")[0]) is None:
            return f"no {module.split('.')[0]} (make install installs the dev dependencies)"
    return None


def compile_into(target: Path, guard: ModuleType, work: Path) -> None:
    """Build the extension modules in `work` and copy them into `target`."""
    from mypyc.build import mypycify
    from setuptools import setup

    config = work / "mypy.ini"
    # The project's mypy settings load the Django plugin; the engine needs none of it.
    config.write_text("[mypy]\nstrict = True\n")
    sources = [str(path.relative_to(ROOT)) for path in guard.compiled_sources()]
    options = ["--config-file", str(config), "--cache-dir", str(work / "mypy-cache")]
    os.chdir(ROOT)  # module names follow from the paths (billing/rules/x.py: billing.rules.x)
    extensions = mypycify(
        [*options, *sources],
        opt_level="3",
        group_name=guard.GROUP_NAME,
        target_dir=str(work / "c"),
    )
    lib = work / "lib"
    os.chdir(work)  # setuptools would read the project's pyproject.toml
    setup(
        name="ccm-engine",
        ext_modules=extensions,
        script_args=["-q", "build_ext", "--build-lib", str(lib), "--build-temp", str(work / "o")],
    )
    built = sorted((lib / "billing" / "rules").glob("*" + sysconfig.get_config_var("EXT_SUFFIX")))
    if len(built) != len(sources) + 1:  # a module each and the group's shared library
        raise RuntimeError(f"expected {len(sources) + 1} extension modules, built {len(built)}")
    target.mkdir()
    for path in built:
        shutil.copy2(path, target / path.name)


def main() -> int:
    guard = load_guard()
    compiled: Path = guard.COMPILED_DIR
    staging = compiled.with_name("_compiled.new")
    shutil.rmtree(staging, ignore_errors=True)
    mode = os.environ.get("CCM_ENGINE", "").strip().lower()
    why_not = "CCM_ENGINE=pure" if mode == "pure" else missing_toolchain()
    if why_not is not None:
        shutil.rmtree(compiled, ignore_errors=True)
        print(f"build_engine: {why_not}: the billing engine runs as pure Python")
        return 1 if mode == "compiled" else 0
    digest = guard.sources_digest()
    began = time.monotonic()
    try:
        with tempfile.TemporaryDirectory(prefix="ccm-engine-") as work:
            compile_into(staging, guard, Path(work))
        if guard.sources_digest() != digest:
            raise RuntimeError("billing/rules/*.py changed during the build")
        (staging / guard.DIGEST_FILE.name).write_text(digest + "\n")
    except (Exception, SystemExit) as error:  # any failure: the engine stays pure
        shutil.rmtree(staging, ignore_errors=True)
        shutil.rmtree(compiled, ignore_errors=True)
        print(f"build_engine: the build failed ({error}): the billing engine runs as pure Python")
        return 1 if mode == "compiled" else 0
    shutil.rmtree(compiled, ignore_errors=True)
    staging.rename(compiled)
    print(f"build_engine: compiled the billing engine in {time.monotonic() - began:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
