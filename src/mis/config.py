"""Config loading and validation with errors that name the offending key."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import jsonschema
import yaml


class ConfigError(ValueError):
    """A config value is missing or invalid; the message names the key."""


def _key_path(error: jsonschema.ValidationError) -> str:
    parts = [str(p) for p in error.absolute_path]
    if error.validator == "required":
        missing = error.message.split("'")[1]
        parts.append(missing)
    if error.validator == "additionalProperties" and "'" in error.message:
        parts.append(error.message.split("'")[1])
    return ".".join(parts) or "<root>"


# Keys renamed since a release, so that an older config fails saying what to write instead.
RENAMED_KEYS = {"tasks.n_references": "tasks.n_refs"}


def validate_config(config: dict[str, Any], schema_path: str | Path) -> dict[str, Any]:
    """Validate ``config`` in place (filling schema defaults) and return it.

    Raises ConfigError naming the first invalid key, e.g. ``config key 'tasks.n_tasks': ...``.
    """
    for old, new in RENAMED_KEYS.items():
        section, key = old.rsplit(".", 1)
        if key in (config.get(section) or {}):
            raise ConfigError(f"config key '{old}' is now called '{new}'")
    schema = yaml.safe_load(Path(schema_path).read_text())
    _typed_strings(config, schema, schema)
    validator_cls = jsonschema.validators.validator_for(schema)
    validator = _with_defaults(validator_cls)(schema, format_checker=jsonschema.FormatChecker(["regex"]))
    errors = sorted(validator.iter_errors(config), key=lambda e: list(e.absolute_path))
    if errors:
        error = errors[0]
        raise ConfigError(f"config key '{_key_path(error)}': {error.message} (schema: {schema_path})")
    return config


# JSON types a string is read as YAML for, and what the YAML must give
_TYPES = {"number": (int, float), "integer": (int,), "boolean": (bool,), "null": (type(None),)}


def _typed_strings(instance: Any, node: dict[str, Any], schema: dict[str, Any]) -> Any:
    """``instance`` with each string that stands where the schema wants a number, integer, boolean
    or null read as YAML, where that gives such a value: Snakemake passes the values of a block
    given on the command line (``--config 'mis={alpha: 8}'``) as strings. Dicts and lists are
    changed in place."""
    node = _resolve(node, schema)
    if isinstance(instance, dict):
        extra = node.get("additionalProperties")
        for key, value in instance.items():
            sub = node.get("properties", {}).get(key, extra if isinstance(extra, dict) else None)
            if sub is not None:
                instance[key] = _typed_strings(value, sub, schema)
    elif isinstance(instance, list) and isinstance(node.get("items"), dict):
        instance[:] = [_typed_strings(value, node["items"], schema) for value in instance]
    elif isinstance(instance, str):
        types = [node["type"]] if isinstance(node.get("type"), str) else node.get("type", [])
        wanted = tuple(t for name in types if name != "string" for t in _TYPES.get(name, ()))
        if wanted and "string" not in types:
            try:
                value = yaml.safe_load(instance)
            except yaml.YAMLError:
                return instance
            if isinstance(value, str) and "number" in types:  # YAML 1.1 reads 1e-6 as a string
                try:
                    value = float(value)
                except ValueError:
                    return instance
            if isinstance(value, wanted) and not (isinstance(value, bool) and bool not in wanted):
                return value
    return instance


def load_config(config_path: str | Path, schema_path: str | Path) -> dict[str, Any]:
    """Read a YAML config file and validate it."""
    path = Path(config_path)
    if not path.is_file():
        raise ConfigError(f"config file not found: {path}")
    return validate_config(read_yaml(path), schema_path)


def read_yaml(path: str | Path) -> dict[str, Any]:
    """A YAML config file's content; a syntax error names the file, line and column."""
    try:
        content = yaml.safe_load(Path(path).read_text()) or {}
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f", line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(error, "problem", None) or str(error)
        raise ConfigError(f"config file {path}{where}: not valid YAML: {problem}") from None
    if not isinstance(content, dict):
        raise ConfigError(f"config file {path}: holds a {type(content).__name__}, not a mapping of config keys")
    return content


def _with_defaults(validator_cls: type) -> type:
    """Extend a jsonschema validator so that ``default`` values are filled into the instance."""
    validate_properties = validator_cls.VALIDATORS["properties"]

    def set_defaults(validator, properties, instance, schema):
        if isinstance(instance, dict):
            for name, subschema in properties.items():
                if "default" in subschema and name not in instance:
                    instance[name] = copy.deepcopy(subschema["default"])
        yield from validate_properties(validator, properties, instance, schema)

    return jsonschema.validators.extend(validator_cls, {"properties": set_defaults})


CONFIG_README_HEADER = """# Configuration

Every key of the workflow's configuration, generated from the descriptions in
`workflow/schemas/config.schema.yaml` by `make config-docs` (`python -m mis config-docs`): edit the
schema, not this file (`tests/test_config.py` fails when they differ). `config/config.yaml` is the
embedded default, `config/paper.yaml` the paper's setting; a file given with `--configfile`
replaces the default as a whole, `--config key=value` overrides single keys. The Snakefile
validates the config against the schema before any rule runs and names the key of a bad value.
`<name>` stands for a name of your choice. Where the cluster resources of each rule come from:
README "Running on a cluster".

| key | type | default | description |
|---|---|---|---|
"""


def config_reference(schema_path: str | Path) -> str:
    """config/README.md: one table row per key of the schema, in schema order; fails naming a key
    without a description, so that every key stays documented."""
    schema = yaml.safe_load(Path(schema_path).read_text())
    rows = [_row(key, sub, required, schema) for key, sub, required in _keys(schema, schema, "")]
    return CONFIG_README_HEADER + "\n".join(rows) + "\n"


def _resolve(node: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    """A subschema with a local ``$ref`` (``#/$defs/...``) replaced by its target."""
    if "$ref" not in node:
        return node
    target: Any = schema
    for part in node["$ref"].removeprefix("#/").split("/"):
        target = target[part]
    return {**target, **{k: v for k, v in node.items() if k != "$ref"}}


def _keys(node: dict[str, Any], schema: dict[str, Any], prefix: str):
    """(dotted key, subschema, required) of every property below ``node``, depth first."""
    for name, sub in node.get("properties", {}).items():
        key, sub = f"{prefix}{name}", _resolve(sub, schema)
        yield key, sub, name in node.get("required", [])
        yield from _keys(sub, schema, f"{key}.")
        if isinstance(sub.get("additionalProperties"), dict):  # a mapping of named entries (models)
            entry = _resolve(sub["additionalProperties"], schema)
            yield f"{key}.<name>", entry, True
            yield from _keys(entry, schema, f"{key}.<name>.")


def _row(key: str, sub: dict[str, Any], required: bool, schema: dict[str, Any]) -> str:
    if "description" not in sub:
        raise ConfigError(f"config key '{key}' has no description in the schema")
    if "enum" in sub:
        kind = " \\| ".join(f"`{value}`" for value in sub["enum"])
    elif sub.get("type") == "array":
        items = _resolve(sub.get("items", {}), schema)
        kind = "list of " + (
            " \\| ".join(f"`{v}`" for v in items["enum"]) if "enum" in items else items.get("type", "values")
        )
    else:
        kind = " or ".join(
            t for t in ([sub["type"]] if isinstance(sub.get("type"), str) else sub.get("type", [])) if t != "null"
        )
    default = f"`{json.dumps(sub['default'])}`" if "default" in sub else ("required" if required else "")
    description = " ".join(str(sub["description"]).split()).replace("|", "\\|").replace("<", "&lt;")
    return f"| `{key}` | {kind} | {default} | {description} |"
