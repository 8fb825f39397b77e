"""Validate sandbox replies against Zoho's official OpenAPI files (``shared/zoho-openapi``).

The files are Zoho's, quirks included (SOURCE.md). A pre-pass makes the schemas say what the
real API does, and nothing looser:

* amounts typed ``string`` (``total``, ``balance``, …) also accept JSON numbers;
* an ``integer`` field accepts any number (amounts are typed ``integer`` with examples like
  ``1369.66``), numeric fields also accept a numeric string, and ``boolean`` the strings
  ``"true"``/``"false"`` (Zoho is inconsistent across endpoints);
* ``page_context`` typed as an array also accepts an object;
* a top-level resource key typed ``object`` also accepts an array of it (``GET /creditnotes``
  describes ``creditnotes`` as one object although it is the list);
* the customer-payments list key may be ``customerpayments`` (what Zoho sends) – it is
  validated with the schema of ``customer_payments``.

Error replies (4xx/5xx) are checked against Zoho's error envelope (non-zero integer ``code``,
string ``message``); 2xx replies against the documented schema of (path template, method,
status). A 2xx status the file does not document for the operation is a violation.
"""
from __future__ import annotations

import copy
import functools
import json
import os
import re
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import yaml
from openapi_schema_validator import OAS30Validator

ERROR_SCHEMA = {
    "type": "object", "required": ["code", "message"],
    "properties": {"code": {"type": "integer", "not": {"enum": [0]}}, "message": {"type": "string"}},
}
_PREFIX = re.compile(r"^(?:/[a-z]{2})?/books/v3")


def openapi_dir() -> Path:
    env = os.environ.get("ZOHO_OPENAPI_DIR")
    if env:
        return Path(env)
    return Path(__file__).parents[2].parent / "shared" / "zoho-openapi"


def _deref(node: Any, schemas: dict[str, Any], seen: tuple[str, ...] = ()) -> Any:
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/components/schemas/"):
            name = ref.rsplit("/", 1)[1]
            if name in seen:
                return {}
            return _deref(schemas[name], schemas, seen + (name,))
        return {k: _deref(v, schemas, seen) for k, v in node.items()}
    if isinstance(node, list):
        return [_deref(v, schemas, seen) for v in node]
    return node


def _widen(node: Any) -> Any:
    """The pre-pass described in the module docstring."""
    if isinstance(node, list):
        return [_widen(v) for v in node]
    if not isinstance(node, dict):
        return node
    out = {k: _widen(v) for k, v in node.items() if k not in ("readOnly", "writeOnly", "example", "x-values")}
    props = out.get("properties")
    if isinstance(props, dict):
        if "page_context" in props:
            props["page_context"] = {"anyOf": [props["page_context"], {"type": "object"}]}
        if "customer_payments" in props and "customerpayments" not in props:
            props["customerpayments"] = props["customer_payments"]
    kind = out.get("type")
    if kind == "string" and "format" not in out and "enum" not in out:
        return {"anyOf": [out, {"type": "number"}]}
    if kind in ("integer", "number"):
        # amounts typed integer although the file's own example is 1369.66; numeric strings
        return {"anyOf": [{**out, "type": "number"}, {"type": "string", "pattern": r"^-?[0-9]+(\.[0-9]+)?$"}]}
    if kind == "boolean":
        return {"anyOf": [out, {"type": "string", "enum": ["true", "false"]}]}
    if kind == "string":
        out.pop("format", None)  # Zoho's "date"/"date-time" strings are not RFC 3339
        return {"anyOf": [out, {"type": "number"}]} if "enum" not in out else out
    return out


def _lists_as_arrays(schema: Any) -> Any:
    """A top-level resource key typed ``object`` also accepts an array of that object: some
    list operations (e.g. ``GET /creditnotes`` → ``creditnotes``) describe one row as the list."""
    props = schema.get("properties") if isinstance(schema, dict) else None
    if isinstance(props, dict):
        for key, sub in list(props.items()):
            if key != "page_context" and isinstance(sub, dict) and sub.get("type") == "object":
                props[key] = {"anyOf": [sub, {"type": "array", "items": sub}]}
    return schema


@dataclass
class Operation:
    file: str
    method: str
    template: str
    regex: re.Pattern[str]
    responses: dict[str, Any]  # status -> widened schema (or None when undocumented body)

    @property
    def key(self) -> str:
        return f"{self.method.upper()} {self.template}"


class ZohoOpenAPI:
    """Every operation of every file, with widened response schemas."""

    def __init__(self, operations: list[Operation]) -> None:
        # literal segments first: /invoices/pdf before /invoices/{invoice_id}
        self.operations = sorted(operations, key=lambda o: (o.template.count("{"), -len(o.template)))

    @classmethod
    def load(cls, directory: Path | None = None) -> ZohoOpenAPI | None:
        """The parsed files of ``directory`` (default :func:`openapi_dir`), parsed once per process."""
        directory = (directory or openapi_dir()).resolve()
        if not directory.is_dir():
            return None
        return _load_cached(cls, directory)

    @classmethod
    def _parse(cls, directory: Path) -> ZohoOpenAPI:
        ops: list[Operation] = []
        for path in sorted(directory.glob("*.yml")):
            doc = yaml.safe_load(path.read_text())
            schemas = (doc.get("components") or {}).get("schemas") or {}
            for template, item in (doc.get("paths") or {}).items():
                regex = re.compile("^" + re.sub(r"\{[^}]+\}", "[^/]+", template) + "$")
                for method, op in item.items():
                    if method not in ("get", "post", "put", "delete", "patch"):
                        continue
                    responses = {}
                    for status, resp in (op.get("responses") or {}).items():
                        schema = (((resp or {}).get("content") or {}).get("application/json") or {}).get("schema")
                        responses[str(status)] = _lists_as_arrays(_widen(_deref(schema, schemas))) if schema else None
                    ops.append(Operation(path.name, method, template, regex, responses))
        return cls(ops)

    def find(self, method: str, path: str) -> Operation | None:
        rest = _PREFIX.sub("", path).rstrip("/") or "/"
        for op in self.operations:
            if op.method == method.lower() and op.regex.match(rest):
                return op
        return None

    def validate(self, method: str, path: str, status: int, body: bytes, content_type: str = "") -> list[str]:
        """Problems of one reply (empty = conforms)."""
        where = f"{method} {path} -> {status}"
        if "json" not in content_type and not body.lstrip().startswith(b"{"):
            return []  # PDFs and other documented non-JSON replies
        try:
            data = json.loads(body, parse_float=Decimal)
        except ValueError:
            return [f"{where}: body is not JSON"]
        data = _plain(data)
        if status >= 400:
            return [f"{where}: {e.message}" for e in OAS30Validator(ERROR_SCHEMA).iter_errors(data)]
        op = self.find(method, path)
        if op is None:
            return []  # an endpoint Zoho's files do not describe (sandbox extras)
        if str(status) not in op.responses:
            return [f"{where}: status {status} not documented for {op.key} ({sorted(op.responses)})"]
        schema = op.responses[str(status)]
        if not schema:
            return []
        errors = sorted(OAS30Validator(schema).iter_errors(data), key=lambda e: list(e.absolute_path))
        return [f"{where}: {'/'.join(map(str, e.absolute_path)) or '<root>'}: {e.message[:200]}" for e in errors[:5]]

    def summarize(self, problems: list[str]) -> list[str]:
        """Distinct problems: array indices, ids and values folded so one bug is one line."""
        seen: dict[str, int] = {}
        for p in problems:
            key = re.sub(r"/[0-9]+(?=/|:| )", "/*", p)
            key = re.sub(r"(?<=/)[0-9]{6,}(?=/| )", "{id}", key)
            key = re.sub(r": .* (is not|does not|is too|is a|was expected)", r": … \1", key)
            seen[key] = seen.get(key, 0) + 1
        return [f"{k} (x{n})" for k, n in seen.items()]

    def validate_all(self, records: Iterable[Any]) -> list[str]:
        problems: list[str] = []
        for r in records:
            problems += self.validate(r.method, r.path, r.status, r.body, r.content_type)
        return problems

    def covered(self, records: Iterable[Any]) -> set[str]:
        """Documented operations hit by at least one 2xx reply."""
        keys = set()
        for r in records:
            if 200 <= r.status < 300:
                op = self.find(r.method, r.path)
                if op is not None:
                    keys.add(op.key)
        return keys


@functools.lru_cache(maxsize=4)
def _load_cached(cls: type, directory: Path) -> ZohoOpenAPI:
    return cls._parse(directory)


def _plain(value: Any) -> Any:
    """Decimals → float for the validator (type checks only; exact money is checked elsewhere)."""
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return copy.copy(value)
