"""``/api/subjects``: each authorized subject, its group and what it allows."""

from __future__ import annotations

from typing import Any

from forms.profile import SUBJECT_CATEGORY_LABELS
from forms.subject_descriptions import description

from ..access import require_any
from ..extensions import Blueprint
from ..profiles.service import SUBJECTS
from ..routes import account_read
from ..schemas import LangArgs
from .schemas import SubjectListSchema

blp = Blueprint("subjects", __name__, url_prefix="/api", description="Sujets autorisés")


@account_read(blp, "/subjects", args=LangArgs, answer=SubjectListSchema)
def subjects(args: dict[str, Any]) -> Any:
    """Les sujets autorisés : leur groupe et ce que chacun permet (en français ou en anglais).

    « Quelles sont les autorisations de chaque sujet autorisé? » : la description de chaque
    sujet, à montrer à côté du sujet dans les formulaires et les listes.
    """
    require_any()
    lang = args["lang"]
    en = lang == "en"
    return {
        "subjects": [
            {
                "code": spec.code,
                "name": spec.name_en if en else spec.name_fr,
                "category": str(spec.category),
                "category_label": SUBJECT_CATEGORY_LABELS[str(spec.category)][1 if en else 0],
                "description": description(spec.code, lang) or "",
                "available_in_delegation": not spec.unavailable_in_delegation,
            }
            for spec in SUBJECTS
        ]
    }
