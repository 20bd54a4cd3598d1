"""`/v1/models`: the catalog's models, every model the scenarios name and the `--model` names (clients and frameworks
probe it)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from ...checks.model_rules import is_known_model
from ...core.errors import APIError
from ...core.models import catalogue, model_object
from .common import JSONBody, authorized


async def list_models(request: Request) -> Response:
    service = authorized(request)
    names = catalogue([*service.scenarios.models(), *service.settings.models])
    return JSONBody({"object": "list", "data": [model_object(name) for name in names]})


async def retrieve_model(request: Request) -> Response:
    model_id = request.path_params["model_id"]
    service = authorized(request)
    if not is_known_model(model_id, service.settings, service.scenarios):
        raise APIError(
            404,
            f"The model `{model_id}` does not exist or you do not have access to it.",
            code="model_not_found",
        )
    return JSONBody(model_object(model_id))
