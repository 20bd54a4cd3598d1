"""What the live API refuses because of the model a request names, with its wording, `param` and `code`.

- an unknown model: 400 `model_not_found` (capture `error-400-model-not-found.rig.json`). Known are the catalog's
  models and their dated snapshots, the models the loaded scenarios name (`models:` lists, exact `match.model` names,
  `model:` answers, and any name a non-exact `match.model` condition such as a regex accepts), and `--model` names;
  `--any-model` knows every name.
- `reasoning.effort` on a model that does not reason: "Unsupported parameter: 'reasoning.effort' is not supported
  with this model." (BoundaryML/baml#2708, RageAgainstThePixel/OpenAI-DotNet#500, both quoting the live 400).
- an effort the model does not take: "Unsupported value: 'minimal' is not supported with the 'gpt-5.1' model.
  Supported values are: 'none', 'low', 'medium', and 'high'." (openai/openai-agents-python#2089,
  openai/codex#6647), param `reasoning.effort`, code `unsupported_value`.
- a sampling parameter other than its default on a reasoning model (with an effort other than `none` where the
  model takes `none`): "Unsupported parameter: 'temperature' is not supported with this model." (ai-christianson/
  RA.Aid#70 for o3-mini, OpenHands/software-agent-sdk#992 for gpt-5 on the Responses API, which also saw
  `temperature: 1` accepted). `top_p` gets the same wording (not confirmed by a quote: the same template).
- a hosted tool the model does not offer: "Hosted tool 'web_search_preview' is not supported with
  gpt-4.1-2025-04-14." (QuantumNous/new-api#1586), param `tools`.

A model outside the catalog that the scenarios or `--model` make known has no per-model rules (lenient).
"""

from __future__ import annotations

from ..core.errors import APIError, invalid_request
from ..core.models import ModelInfo, catalog, model_info, reported_model
from ..core.types import JSON, JSONObject
from ..engine.scenarios import ScenarioSet
from ..faults.config import Settings
from ..faults.http_errors import MODEL_PLACEHOLDER, PRESETS

_DEFAULT_SAMPLING = 1  # temperature and top_p both default to 1; the live API accepts the default everywhere


def is_known_model(model: str, settings: Settings, scenarios: ScenarioSet) -> bool:
    """Whether the server answers requests for `model` (see the module docstring)."""
    return (
        settings.any_model or model_info(model) is not None or model in settings.models or scenarios.knows_model(model)
    )


def model_not_found(model: str) -> APIError:
    """The live 400 for a model that does not exist (the same body as the `model_not_found` preset)."""
    preset = PRESETS["model_not_found"]
    message = preset.message.replace(MODEL_PLACEHOLDER, model)
    return APIError(preset.status, message, type=preset.type, param=preset.param, code=preset.code)


def check_known_model(body: JSONObject, settings: Settings, scenarios: ScenarioSet) -> None:
    """Raise the live 400 when the body names a model the server does not know."""
    model = body.get("model")
    if isinstance(model, str) and not is_known_model(model, settings, scenarios):
        raise model_not_found(model)


def check_model_parameters(body: JSONObject) -> None:
    """Raise the live 400 for a parameter or value the requested catalog model does not take."""
    model = body.get("model")
    info = model_info(model if isinstance(model, str) else None)
    if info is None or not isinstance(model, str):
        return
    reasoning = body.get("reasoning")
    effort = reasoning.get("effort") if isinstance(reasoning, dict) else None
    _check_effort(model, info, effort)
    _check_sampling(body, info, effort if isinstance(effort, str) else info.default_effort)
    _check_tools(body.get("tools"), info)


def _check_effort(model: str, info: ModelInfo, effort: JSON) -> None:
    if effort is None:
        return
    if not info.reasoning:
        raise invalid_request(
            "Unsupported parameter: 'reasoning.effort' is not supported with this model.",
            param="reasoning.effort",
            code="unsupported_parameter",
        )
    if isinstance(effort, str) and effort not in info.efforts:
        raise invalid_request(
            f"Unsupported value: '{effort}' is not supported with the '{model}' model. "
            f"Supported values are: {_listed(info.efforts)}.",
            param="reasoning.effort",
            code="unsupported_value",
        )


def _check_sampling(body: JSONObject, info: ModelInfo, effort: str | None) -> None:
    if info.sampling == "always" or (info.sampling == "effort_none" and effort == "none"):
        return
    for name in catalog().sampling_parameters:
        value = body.get(name)
        if value is not None and value != _DEFAULT_SAMPLING:
            raise invalid_request(
                f"Unsupported parameter: '{name}' is not supported with this model.",
                param=name,
                code="unsupported_parameter",
            )


def _check_tools(tools: JSON, info: ModelInfo) -> None:
    if not isinstance(tools, list):
        return
    for tool in tools:
        kind = tool.get("type") if isinstance(tool, dict) else None
        if kind in info.unsupported_tools:
            raise invalid_request(
                f"Hosted tool '{kind}' is not supported with {reported_model(info.name)}.", param="tools"
            )


def _listed(values: tuple[str, ...]) -> str:
    """`'a', 'b', and 'c'` as the live messages list them (`'high'` alone for one)."""
    quoted = [f"'{value}'" for value in values]
    if len(quoted) <= 2:
        return " and ".join(quoted)
    return ", ".join(quoted[:-1]) + f", and {quoted[-1]}"
