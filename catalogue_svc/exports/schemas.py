"""HTTP arguments of the exports."""

from __future__ import annotations

from marshmallow import fields, validate

from ..requests.schemas import RequestListArgs
from ..schemas import StrictSchema, lang_arg

FORMAT = fields.String(
    load_default="csv",
    validate=validate.OneOf(["csv", "json"]),
    metadata={"description": "csv (UTF-8 avec BOM, séparateur ;) ou json (le JSON de l'API)"},
)


class ExportArgs(StrictSchema):
    format = FORMAT
    lang = lang_arg()


class RequestExportArgs(RequestListArgs):
    """The filters of the firm's requests (no page: every request)."""

    format = FORMAT

    class Meta(RequestListArgs.Meta):
        exclude = ("page", "per_page")
