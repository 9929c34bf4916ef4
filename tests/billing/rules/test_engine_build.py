"""The compiled engine (mypyc, scripts/build_engine.py) and the pure one decide alike, and
a build of other sources never runs (billing/rules/loader.py).

Where a C compiler is present, `make install` builds the compiled engine and the suite
runs it; the pure-Python engine is run here in subprocesses (CCM_ENGINE=pure) and must
give byte-identical decisions. Without a compiler only the pure engine exists: the
comparisons with the compiled one are skipped, everything else runs.
"""

from __future__ import annotations

import ast
import dataclasses
import inspect
import json
import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import billing.rules
from billing.rules import decision, evaluate_json, facts, findings, loader
from tests.billing.rules.test_properties import month_facts

ROOT = Path(__file__).resolve().parents[3]
CASES = sorted((Path(__file__).parent / "cases").glob("*.json"))
HAS_COMPILER = shutil.which((sysconfig.get_config_var("CC") or "cc").split()[0]) is not None
needs_build = pytest.mark.skipif(
    not loader.DIGEST_FILE.exists(),
    reason="no compiled engine built (make install builds it where a C compiler is present)",
)

#: The frozen dataclasses whose __init__ is spelled out so that mypyc compiles it.
SPELLED_OUT = [
    facts.Month,
    facts.ChronicCondition,
    facts.Consent,
    facts.InitiatingVisit,
    facts.CarePlan,
    facts.Patient,
    facts.Mdm,
    facts.OtherService,
    facts.InpatientStay,
    facts.Facts,
    findings.Finding,
    decision.Line,
    decision.CountedSeconds,
    decision.NextThreshold,
    decision.Decision,
]


def run_python(code: str, *, engine: str, cwd: Path = ROOT, stdin: str = "") -> str:
    env = {**os.environ, "CCM_ENGINE": engine, "PYTHONPATH": str(cwd)}
    done = subprocess.run(
        [sys.executable, "-c", code],
        input=stdin,
        capture_output=True,
        text=True,
        cwd=cwd,
        env=env,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


def decisions_in_subprocess(facts_list: list[Any], engine: str) -> list[Any]:
    """Each facts' decision JSON, evaluated in a fresh interpreter on the given engine."""
    code = (
        "import json, sys, billing.rules as r\n"
        f"assert r.COMPILED is {engine == 'compiled'}, r.COMPILED\n"
        "print(json.dumps([r.evaluate_json(f) for f in json.load(sys.stdin)]))\n"
    )
    return list(json.loads(run_python(code, engine=engine, stdin=json.dumps(facts_list))))


def spelled_out_init(cls: type) -> list[tuple[str, object]]:
    """(name, default or inspect.Parameter.empty) of each parameter of the class's
    __init__ as its source writes it (a compiled __init__ has no signature to inspect)."""
    module = sys.modules[cls.__module__]
    source = (loader.PACKAGE_DIR / f"{cls.__module__.rsplit('.', 1)[1]}.py").read_text()
    node = next(
        item
        for item in ast.walk(ast.parse(source))
        if isinstance(item, ast.ClassDef) and item.name == cls.__name__
    )
    init = next(
        item for item in node.body if isinstance(item, ast.FunctionDef) and item.name == "__init__"
    )
    names = [arg.arg for arg in init.args.args[1:]]
    empty: list[object] = [inspect.Parameter.empty] * (len(names) - len(init.args.defaults))
    defaults = empty + [eval(ast.unparse(d), vars(module)) for d in init.args.defaults]  # noqa: S307
    return list(zip(names, defaults, strict=True))


@pytest.mark.parametrize("cls", SPELLED_OUT, ids=lambda cls: cls.__name__)
def test_each_spelled_out_init_takes_the_dataclass_fields_and_defaults(cls: type) -> None:
    parameters = spelled_out_init(cls)
    fields = [f for f in dataclasses.fields(cls) if f.init]
    assert [name for name, _ in parameters] == [f.name for f in fields]
    for (_, default), field in zip(parameters, fields, strict=True):
        if field.default is not dataclasses.MISSING:
            assert default == field.default, field.name
        elif field.default_factory is not dataclasses.MISSING:
            assert default == field.default_factory(), field.name
        else:
            assert default is inspect.Parameter.empty, field.name


def test_the_spelled_out_dataclasses_stay_frozen_and_compare_by_value() -> None:
    made = findings.Finding("ENTRY_LATE", "warn", "late", ("a1",))
    assert made == findings.finding("ENTRY_LATE", "late", ["a1"])
    assert hash(made) == hash(findings.Finding("ENTRY_LATE", "warn", "late", ("a1",)))
    assert dataclasses.replace(made, entries=()).entries == ()
    with pytest.raises(dataclasses.FrozenInstanceError):
        made.message = "changed"  # type: ignore[misc]
    month = facts.Month(2026, 3)
    assert (month.first_day.day, month.last_day.day, str(month)) == (1, 31, "2026-03")
    assert facts.Facts(month, "P1", facts.Patient()).names == {}


def test_the_digest_changes_when_a_compiled_source_is_edited_added_or_removed(
    tmp_path: Path,
) -> None:
    for path in loader.compiled_sources():
        shutil.copy2(path, tmp_path / path.name)
    shutil.copy2(loader.PACKAGE_DIR / "__init__.py", tmp_path / "__init__.py")
    digest = loader.sources_digest(tmp_path)
    assert digest == loader.sources_digest()

    (tmp_path / "__init__.py").write_text("# not compiled: not in the digest\n")
    assert loader.sources_digest(tmp_path) == digest
    edited = tmp_path / "counting.py"
    edited.write_text(edited.read_text() + "\n# edited\n")
    assert loader.sources_digest(tmp_path) != digest
    shutil.copy2(loader.PACKAGE_DIR / "counting.py", edited)
    (tmp_path / "extra.py").write_text("X = 1\n")
    assert loader.sources_digest(tmp_path) != digest
    (tmp_path / "extra.py").unlink()
    (tmp_path / "families.py").unlink()
    assert loader.sources_digest(tmp_path) != digest


def copy_of_the_engine(root: Path) -> Path:
    """billing/rules (sources, data and any build) under `root`, importable from there."""
    package = root / "billing"
    package.mkdir()
    (package / "__init__.py").write_text("")
    shutil.copytree(
        loader.PACKAGE_DIR, package / "rules", ignore=shutil.ignore_patterns("__pycache__")
    )
    return package / "rules"


IMPORT = "import billing.rules as r; print(r.COMPILED, r.evaluate.__module__)"


@needs_build
def test_an_edited_source_runs_as_edited_not_the_stale_build(tmp_path: Path) -> None:
    rules = copy_of_the_engine(tmp_path)
    assert run_python(IMPORT, engine="auto", cwd=tmp_path).split()[0] == "True"

    source = rules / "findings.py"
    source.write_text(
        source.read_text().replace('return f"{minutes} min"', 'return f"{minutes} minutes"')
    )
    code = (
        "import warnings; warnings.simplefilter('error', RuntimeWarning)\n"
        "try:\n    import billing.rules\nexcept RuntimeWarning as w:\n    print('warned', w)\n"
    )
    assert "built from other sources" in run_python(code, engine="auto", cwd=tmp_path)
    edited = (
        "import billing.rules as r\n"
        "from billing.rules.findings import duration_text\n"
        "print(r.COMPILED, duration_text(600))\n"
    )
    assert run_python(edited, engine="auto", cwd=tmp_path).split() == ["False", "10", "minutes"]

    env = {**os.environ, "CCM_ENGINE": "compiled", "PYTHONPATH": str(tmp_path)}
    refused = subprocess.run(
        [sys.executable, "-c", IMPORT], capture_output=True, text=True, cwd=tmp_path, env=env,
        timeout=120, check=False,
    )  # fmt: skip
    assert refused.returncode != 0
    assert "CCM_ENGINE=compiled, but the compiled engine was built from other" in refused.stderr


def test_ccm_engine_pure_runs_the_sources_and_an_unknown_mode_is_refused() -> None:
    assert run_python(IMPORT, engine="pure").split() == ["False", "billing.rules.engine"]
    env = {**os.environ, "CCM_ENGINE": "fast"}
    done = subprocess.run(
        [sys.executable, "-c", IMPORT], capture_output=True, text=True, cwd=ROOT, env=env,
        timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode != 0
    assert "CCM_ENGINE='fast': expected one of auto, pure, compiled" in done.stderr


def test_without_a_build_the_engine_is_pure_and_says_nothing(tmp_path: Path) -> None:
    rules = copy_of_the_engine(tmp_path)
    shutil.rmtree(rules / loader.COMPILED_DIR.name, ignore_errors=True)
    code = "import warnings; warnings.simplefilter('error'); " + IMPORT
    assert run_python(code, engine="auto", cwd=tmp_path).split()[0] == "False"


def test_the_suite_runs_the_compiled_engine_where_a_compiler_is_present() -> None:
    if not HAS_COMPILER:
        pytest.skip("no C compiler: the engine is pure Python here")
    if loader.engine_mode() == "pure":
        pytest.skip("CCM_ENGINE=pure: the suite runs the pure engine on purpose")
    assert billing.rules.COMPILED, (
        "make install builds the compiled engine (scripts/build_engine.py)"
    )


def test_the_public_cases_decide_the_same_on_the_pure_engine() -> None:
    data = [json.loads(path.read_text())["facts"] for path in CASES]
    assert decisions_in_subprocess(data, "pure") == [evaluate_json(item) for item in data]


@needs_build
def test_the_public_cases_decide_the_same_on_the_compiled_engine() -> None:
    data = [json.loads(path.read_text())["facts"] for path in CASES]
    assert decisions_in_subprocess(data, "compiled") == decisions_in_subprocess(data, "pure")


@settings(max_examples=3, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.lists(month_facts(), min_size=40, max_size=40))
def test_generated_months_decide_the_same_pure_and_in_process(months: list[Any]) -> None:
    """In process is the compiled engine where one is built (the test above requires it
    where a compiler is present), so this compares the two byte for byte."""
    expected = json.dumps([evaluate_json(item) for item in months], sort_keys=True)
    assert json.dumps(decisions_in_subprocess(months, "pure"), sort_keys=True) == expected


@needs_build
def test_bench_months_decide_the_same_pure_and_compiled() -> None:
    """bench/engine.py's synthetic months (shaped like make bench's load): the digest of
    every decision, on each engine. Speed is printed there, never asserted here."""
    digests = {}
    for engine in ("pure", "compiled"):
        env = {**os.environ, "CCM_ENGINE": engine, "ENGINE_PATIENTS": "300", "ENGINE_RUNS": "1"}
        done = subprocess.run(
            [sys.executable, "bench/engine.py"], capture_output=True, text=True, cwd=ROOT,
            env=env, timeout=300, check=True,
        )  # fmt: skip
        figures = {f["name"]: f["value"] for f in map(json.loads, done.stdout.splitlines())}
        assert figures["engine_compiled"] is (engine == "compiled")
        digests[engine] = (
            figures["engine_decisions_sha256"],
            figures["engine_public_cases_sha256"],
        )
    assert digests["pure"] == digests["compiled"]
