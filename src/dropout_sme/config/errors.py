"""Readable messages for a config that fails the JSON schema of
``workflow/schemas/config.schema.yaml``: ``explain`` turns the schema error into one line naming
the key and the allowed values."""

from __future__ import annotations


class ConfigError(ValueError):
    """The configuration is invalid; the message names the key and what is allowed."""


def key_path(parts) -> str:
    out = ""
    for p in parts:
        out += f"[{p}]" if isinstance(p, int) else (f".{p}" if out else str(p))
    return out or "(top level)"


def _allowed(schema: dict) -> str:
    """Describe what a (sub)schema accepts, in words."""
    if "enum" in schema:
        return "one of " + ", ".join(repr(v) for v in schema["enum"])
    if "const" in schema:
        return repr(schema["const"])
    lo = ("(", schema["exclusiveMinimum"]) if "exclusiveMinimum" in schema else \
        ("[", schema.get("minimum"))
    hi = (")", schema["exclusiveMaximum"]) if "exclusiveMaximum" in schema else \
        ("]", schema.get("maximum"))
    types = schema.get("type")
    types = " or ".join(types) if isinstance(types, list) else types
    if lo[1] is not None or hi[1] is not None:
        lo_txt = f"{lo[0]}{lo[1]}" if lo[1] is not None else "(-inf"
        hi_txt = f"{hi[1]}{hi[0]}" if hi[1] is not None else "inf)"
        return f"a {types or 'number'} in {lo_txt}, {hi_txt}"
    if "properties" in schema:
        return "keys " + ", ".join(k for k in schema["properties"])
    return f"a value of type {types}" if types else "see config/README.md"


def schema_error(exc):
    """The ``jsonschema.ValidationError`` behind an exception of ``snakemake.utils.validate``."""
    seen = exc
    while seen is not None:
        if hasattr(seen, "absolute_path") and hasattr(seen, "validator"):
            return seen
        seen = seen.__cause__ or seen.__context__
    return next((a for a in getattr(exc, "args", ()) if hasattr(a, "absolute_path")), None)


def explain(error) -> str:
    """One line for a ``jsonschema.ValidationError``: the key, what it got, what is allowed."""
    path = list(error.absolute_path)
    schema = error.schema if isinstance(error.schema, dict) else {}
    note = f" ({schema['description']})" if "description" in schema else ""
    if error.validator == "required":
        missing = error.message.split("'")[1] if "'" in error.message else error.message
        return f"config key {key_path([*path, missing])} is missing; it is required"
    if error.validator == "additionalProperties":
        allowed = ", ".join(sorted(schema.get("properties", {})))
        return (f"config key {key_path(path)}: {error.message}; "
                f"allowed keys: {allowed or 'none'}")
    got = repr(error.instance)
    if error.validator in ("oneOf", "anyOf"):
        return f"config key {key_path(path)}: got {got}, which matches none of the allowed forms" \
               f"{note}; see config/README.md"
    return f"config key {key_path(path)}: got {got}; allowed: {_allowed(schema)}{note}"
