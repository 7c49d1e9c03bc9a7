"""HTTP schemas of the documents joined to a request."""

from __future__ import annotations

from marshmallow import fields

from ..schemas import StrictSchema


class DocumentUploadSchema(StrictSchema):
    """The multipart body: one ``file``."""

    file = fields.Raw(
        required=True,
        metadata={
            "type": "string",
            "format": "binary",
            "description": "Un fichier PDF, PNG ou JPEG d'au plus 10 Mo (le type est lu dans "
            "son contenu ; le nom ne sert qu'à l'affichage)",
        },
    )


class DocumentSchema(StrictSchema):
    """A document joined to a request."""

    id = fields.Integer(required=True)
    name = fields.String(required=True, metadata={"description": "Nom affiché (nettoyé)"})
    media_type = fields.String(
        required=True, metadata={"description": "application/pdf | image/png | image/jpeg"}
    )
    size = fields.Integer(required=True, metadata={"description": "Taille en octets"})
    uploaded_at = fields.String(required=True, metadata={"format": "date-time"})
    uploaded_by = fields.String(required=True)
    url = fields.String(required=True, metadata={"description": "Son téléchargement"})
