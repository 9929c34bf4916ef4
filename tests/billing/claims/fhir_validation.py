"""fhir.resources' R4B models over a Bundle: the Bundle and each of its resources."""

from __future__ import annotations

from typing import Any

from fhir.resources.R4B import get_fhir_model_class


def fhir_problems(bundle: dict[str, Any]) -> list[str]:
    """Every resource that does not validate (with why), and every reference in the
    Bundle that names no entry of it."""
    problems = []
    try:
        get_fhir_model_class("Bundle").model_validate(bundle)
    except ValueError as error:
        problems.append(f"Bundle: {error}")
    urls = {entry["fullUrl"] for entry in bundle.get("entry", [])}
    for index, entry in enumerate(bundle.get("entry", [])):
        resource = entry["resource"]
        try:
            get_fhir_model_class(resource["resourceType"]).model_validate(resource)
        except ValueError as error:
            problems.append(f"entry {index} {resource['resourceType']}: {error}")
        for reference in _references(resource):
            if reference not in urls:
                problems.append(f"entry {index}: {reference} is not in the Bundle")
    return problems


def _references(node: Any) -> list[str]:
    if isinstance(node, dict):
        found = [node["reference"]] if isinstance(node.get("reference"), str) else []
        return found + [ref for value in node.values() for ref in _references(value)]
    if isinstance(node, list):
        return [ref for item in node for ref in _references(item)]
    return []
