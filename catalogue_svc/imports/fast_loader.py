"""The fast path of row validation (:class:`FastLoader`): the row schemas' own fields, validators
and checks run without marshmallow's per-field loop, any row it cannot vouch for handed to
``schema.load`` for its errors in marshmallow's words.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from marshmallow import (
    ValidationError,
    fields,
    missing,
    validate,
)

from forms.fields import (
    find_hostile,
)

from ..clock import now
from .schema_fields import EARLIEST, Text, _birth_date
from .schemas import _Row


class _Slow(Exception):
    """The fast path cannot vouch for this row."""


def _inline_test(validator: Any, name: str) -> str | None:
    """A Python condition, true when ``validator`` would fail on the string ``v`` (the same test
    as its ``__call__``), for the validators the schemas use; None for any other."""
    kind = type(validator)
    if kind is validate.Length:
        if validator.equal is not None:
            return f"len(v) != {validator.equal!r}"
        tests = []
        if validator.min is not None:
            tests.append(f"len(v) < {validator.min!r}")
        if validator.max is not None:
            tests.append(f"len(v) > {validator.max!r}")
        return " or ".join(tests) or "False"
    if kind is validate.Regexp:
        return f"{name}.regex.match(v) is None"
    if kind is validate.OneOf:
        return f"v not in {name}.choices"
    return None


class FastLoader:
    """``schema.load`` without marshmallow's per-field machinery, for rows that are valid.

    On 100,000 contacts, marshmallow's own loop costs about five times the work the fields and
    validators do. This runs the same fields' ``_deserialize``, the same validators and the same
    :meth:`_Row.check`/:meth:`_Row.finish`, and hands any row it cannot vouch for (an error, an
    unknown key, a shape it does not know) to ``schema.load``, which then reports the errors in
    its own words. A test checks that both give the same rows.
    """

    def __init__(self, schema: _Row) -> None:
        self.schema = schema
        self.names = frozenset(schema.load_fields)
        # Everything the loop needs, looked up once: (name, required, default, allow_none,
        # deserialize, validators, nested loader, is a list of nested rows).
        self.fields: list[tuple[Any, ...]] = []
        for name, field in schema.load_fields.items():
            if field.data_key not in (None, name):
                raise TypeError("FastLoader does not handle data_key")
            inner, many = None, False
            if isinstance(field, fields.Nested):
                inner = FastLoader(field.schema)  # type: ignore[arg-type]
            elif isinstance(field, fields.List) and isinstance(field.inner, fields.Nested):
                inner, many = FastLoader(field.inner.schema), True  # type: ignore[arg-type]
            self.fields.append(
                (
                    name,
                    field.required,
                    field.load_default,
                    field.allow_none,
                    field._deserialize,
                    tuple(field.validators),
                    inner,
                    many,
                )
            )

        self._fast: Callable[[Any], dict[str, Any]] = self._compile()

    def load(self, item: Any) -> dict[str, Any]:
        """The loaded row; raises marshmallow's ValidationError for an invalid one."""
        try:
            return self._fast(item)
        except (_Slow, ValidationError):
            return self.schema.load(item)  # type: ignore[no-any-return]

    def _compile(self) -> Callable[[Any], dict[str, Any]]:
        """The loop over the fields, unrolled into one function made for this schema.

        A generic loop over the fields costs about twice the fields' own work on 300,000 rows
        (a tuple unpacked and six branches a field); the function written here holds only the
        branches each field needs, and inlines :class:`Text` for a ``str`` (strip, blank as
        absent), which is what ``Text._deserialize`` does then.
        """
        env: dict[str, Any] = {
            "_Slow": _Slow,
            "missing": missing,
            "names": self.names,
            "check": self.schema.check,
            "finish": self.schema.finish,
            "hostile": find_hostile,
        }
        code = [
            "def fast(item):",
            "    if type(item) is not dict or not item.keys() <= names:",
            "        raise _Slow",
            "    out = {}",
            "    get = item.get",
        ]
        for i, (
            name,
            required,
            default,
            allow_none,
            deserialize,
            validators,
            inner,
            many,
        ) in enumerate(self.fields):
            key = repr(name)
            code += [f"    v = get({key}, missing)", "    if v is missing:"]
            if required:
                code.append("        raise _Slow")
            elif default is missing:
                code.append("        pass")
            else:
                env[f"d{i}"] = default
                code.append(
                    f"        out[{key}] = d{i}()"
                    if callable(default)
                    else f"        out[{key}] = d{i}"
                )
            code.append("    elif v is None:")
            code.append(f"        out[{key}] = None" if allow_none else "        raise _Slow")
            code.append("    else:")
            if inner is not None:
                env[f"i{i}"] = inner._fast
                if many:
                    code += [
                        "        if type(v) is not list:",
                        "            raise _Slow",
                        f"        v = [i{i}(e) for e in v]",
                    ]
                else:
                    code.append(f"        v = i{i}(v)")
            else:
                env[f"f{i}"] = deserialize
                field = self.schema.load_fields[name]
                if type(field) is Text:
                    code += [
                        "        if type(v) is str:",
                        "            v = v.strip()",
                        "            if hostile(v) is not None:",  # as Text._deserialize
                        "                raise _Slow",
                        *(
                            ["            if not v:", "                v = None"]
                            if field.blank_as_none
                            else []
                        ),
                        "        else:",
                        f"            v = f{i}(v, {key}, item)",
                    ]
                else:
                    code.append(f"        v = f{i}(v, {key}, item)")
            field = self.schema.load_fields[name]
            indent = "        "
            if validators and type(field) is Text and field.blank_as_none:
                code.append("        if v is not None:")  # blank: absent, as Text._validate
                indent += "    "
            for j, validator in enumerate(validators):
                env[f"v{i}_{j}"] = validator
                test = _inline_test(validator, f"v{i}_{j}") if type(field) is Text else None
                if validator is _birth_date:
                    env["EARLIEST"], env["today"] = EARLIEST, now().date()
                    test = "v < EARLIEST or v > today"
                code += [
                    f"{indent}if {test or f'v{i}_{j}(v) is False'}:",
                    f"{indent}    raise _Slow",
                ]
            code.append(f"        out[{key}] = v")
        if type(self.schema).check is not _Row.check:
            code.append("    check(out)")
        code.append(
            "    return finish(out)"
            if type(self.schema).finish is not _Row.finish
            else "    return out"
        )
        exec("\n".join(code), env)  # noqa: S102 - source written above from the schema's fields
        return env["fast"]  # type: ignore[no-any-return]
