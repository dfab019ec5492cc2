"""Request bodies parsed by hand for hot routes, with the same errors and OpenAPI as the rest."""

from __future__ import annotations

from typing import Any, TypeVar

from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ValidationError

M = TypeVar("M", bound=BaseModel)

# Models whose JSON schema must be added to OpenAPI's components (see ``add_schemas``).
_DOCUMENTED: list[type[BaseModel]] = []


def parse_body(model: type[M], raw: bytes) -> M:
    """Parse and validate JSON in one pass; failures raise as FastAPI's own validation would."""
    try:
        return model.model_validate_json(raw)
    except ValidationError as exc:
        errors = [{**error, "loc": ("body", *error["loc"])} for error in exc.errors()]
        if not raw.strip():
            errors = [{"type": "json_invalid", "loc": ("body",), "msg": "empty body"}]
        raise RequestValidationError(errors) from None


def request_body_schema(model: type[BaseModel]) -> dict[str, Any]:
    """An OpenAPI requestBody for ``model``; its schema is registered by ``add_schemas``."""
    _DOCUMENTED.append(model)
    return {
        "required": True,
        "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{model.__name__}"}}},
    }


def add_schemas(openapi: dict[str, Any]) -> dict[str, Any]:
    """Put the hand-parsed models (and the models they nest) into ``components.schemas``."""
    schemas = openapi.setdefault("components", {}).setdefault("schemas", {})
    for model in _DOCUMENTED:
        schema = model.model_json_schema(ref_template="#/components/schemas/{model}", by_alias=True)
        schemas.update(schema.pop("$defs", {}))
        schemas[model.__name__] = schema
    return openapi
