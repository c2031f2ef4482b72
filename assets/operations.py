"""What an operation is, and the registry of those the worker declares.

The core records derivations of any operation, so it owns the shape of a declaration: label and phase, typed
parameters, the input roles it reads, how it reads in C2PA, whether `reproduce` re-runs it and how people start
it. Which operations exist is the worker's to say: each is one module under `generation/operations/` that calls
`operation_register` when generation loads (a higher app declaring into the core, never the core calling up).
The derivation's `op` column is checked against this registry, so a new operation needs no migration.
"""

from __future__ import annotations

import math
import re
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from assets.errors import ApplicationError

# IPTC's digital source types, as C2PA and the XMP stamp name how the pixels came to be.
IPTC = "http://cv.iptc.org/newscodes/digitalsourcetype/"
TRAINED = IPTC + "trainedAlgorithmicMedia"
COMPOSITE_TRAINED = IPTC + "compositeWithTrainedAlgorithmicMedia"
ENHANCED = IPTC + "algorithmicallyEnhanced"
# A file with generative AI elements and other work in it (an AI image retouched by hand outside Seed).
COMPOSITE_SYNTHETIC = IPTC + "compositeSynthetic"
HEX_COLOUR = (r"#[0-9A-Fa-f]{6}", "a colour like #FE2C54")

# How `reproduce` treats a recorded step: through the diffusion pipeline, by rendering its image or file again
# from the recorded inputs, by training its model again (a LoRA), or by using the recorded bytes (an outside file,
# a delivery, a bookkeeping step).
RERUNS = ("pipeline", "image", "file", "training", "recorded")
# How people start an operation on a version: the finishing endpoint, the version admin's action, `manage.py finish`.
STARTS = frozenset({"api", "admin", "cli"})


def text_storable(text: str) -> bool:
    """Postgres keeps neither NUL nor unpaired surrogates in text or JSON."""
    if "\x00" in text:
        return False
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


@dataclass(frozen=True)
class Param:
    name: str
    kind: type
    required: bool = True
    choices: tuple | None = None
    minimum: float | None = None
    maximum: float | None = None
    key: bool = False  # shown on lineage pictures and summaries
    # A text parameter's form, and how a person is told it: (regular expression, "a colour like #FE2C54").
    pattern: tuple[str, str] | None = None

    def clean(self, value: Any) -> Any:
        if self.kind is float and isinstance(value, int) and not isinstance(value, bool):
            try:
                value = float(value)
            except OverflowError:
                raise ApplicationError(
                    f"parameter {self.name!r} is too large a number", extra={"param": self.name}
                ) from None
        if isinstance(value, str) and not text_storable(value):
            raise ApplicationError(
                f"parameter {self.name!r} holds a character text cannot carry (NUL or a lone surrogate)",
                extra={"param": self.name},
            )
        if not isinstance(value, self.kind) or isinstance(value, bool) and self.kind is not bool:
            raise ApplicationError(
                f"parameter {self.name!r} must be {self.kind.__name__}, got {value!r}", extra={"param": self.name}
            )
        if self.kind is float and not math.isfinite(value):
            # NaN passes every bound below, and neither JSON nor Postgres keeps it (nor infinity).
            raise ApplicationError(
                f"parameter {self.name!r} must be a finite number; got {value!r}", extra={"param": self.name}
            )
        if self.choices is not None and value not in self.choices:
            raise ApplicationError(
                f"parameter {self.name!r} must be one of {', '.join(map(str, self.choices))}; got {value!r}",
                extra={"param": self.name, "choices": list(self.choices)},
            )
        if self.pattern is not None and not re.fullmatch(self.pattern[0], value):
            raise ApplicationError(
                f"parameter {self.name!r} must be {self.pattern[1]}; got {value!r}", extra={"param": self.name}
            )
        if self.minimum is not None and value < self.minimum:
            raise ApplicationError(
                f"parameter {self.name!r} must be at least {self.minimum}; got {value}", extra={"param": self.name}
            )
        if self.maximum is not None and value > self.maximum:
            raise ApplicationError(
                f"parameter {self.name!r} must be at most {self.maximum}; got {value}", extra={"param": self.name}
            )
        return value

    def hint(self) -> str:
        """The parameter as a form's help text names it: "radius (0.0–50.0)", "position (top|center|bottom)"."""
        if self.choices:
            bounds = "|".join(map(str, self.choices))
        elif self.pattern:
            bounds = self.pattern[1]
        elif self.minimum is not None or self.maximum is not None:
            bounds = f"{'' if self.minimum is None else self.minimum}–{'' if self.maximum is None else self.maximum}"
        else:
            bounds = ""
        return f"{self.name}{'' if self.required else '?'}{f' ({bounds})' if bounds else ''}"

    def describe(self) -> dict:
        """The parameter as the operations endpoint lists it."""
        kinds = {int: "integer", float: "number", str: "string", bool: "boolean", list: "array", dict: "object"}
        described = {"name": self.name, "type": kinds[self.kind], "required": self.required, "key": self.key}
        if self.pattern:
            described["pattern"] = self.pattern[0]
        described.update(
            {
                name: value
                for name, value in (("choices", self.choices), ("minimum", self.minimum), ("maximum", self.maximum))
                if value is not None
            }
        )
        return described


@dataclass(frozen=True)
class SideFile:
    """A file a person gives with the operation: checked before anything is written, then stored and recorded as
    used under `role`, its sha256 in parameter `param`."""

    role: str
    media_type: str
    check: Callable[[bytes], Any]
    param: str = ""
    required: bool = True
    missing: str = ""  # what a person is told when a required file is not given


@dataclass(frozen=True)
class OperationSpec:
    name: str
    label: str
    phase: str
    params: tuple[Param, ...]
    roles: frozenset[str]  # the input roles its derivations record
    c2pa_action: str
    digital_source_type: str | None
    rerun: str
    # The worker queue a queued derivation waits on ("gpu" or "cpu"); none for steps no worker runs here.
    queue: str = ""
    starts: frozenset[str] = frozenset()
    files: tuple[SideFile, ...] = ()
    # For "pipeline" operations, (base=, recipe=, cache=) -> the diffusers pipeline made from the cached base, and
    # (recipe=, image_of=) -> what it adds to the prompt and sampling (its images, mask, strength, control).
    pipeline: Callable | None = None
    pipeline_inputs: Callable | None = None
    # (version=, params=, models={role: ModelWeights}) -> params with what depends on the version or the models
    # filled in, or a refusal.
    prepare: Callable[..., dict] | None = None
    # (source, params=, inputs={role: [Used]}, image_of=) -> image, or (image, icc profile bytes).
    render: Callable | None = None
    # (derivation=, inputs={role: [Used]}) -> the one file (assets.services.derivations.OutputFile) it makes.
    render_file: Callable | None = None
    # The rendered image's alpha is kept as a mask file of its own beside the version (a matte's cut-out).
    mask_output: bool = False
    # Whether a version it made exports as a ComfyUI workflow (generation.comfyui). Every "pipeline" operation
    # writes A1111's infotext into its PNGs (generation.runner.infotext).
    comfyui: bool = False
    module: str = field(default="", compare=False)

    def __post_init__(self):
        from assets.models import Phase

        if self.phase not in Phase.values:
            raise ValueError(f"operation {self.name}: phase {self.phase!r} is not one of {Phase.values}")
        if self.rerun not in RERUNS:
            raise ValueError(f"operation {self.name}: rerun {self.rerun!r} is not one of {RERUNS}")
        if self.starts - STARTS:
            raise ValueError(f"operation {self.name}: unknown ways to start it {sorted(self.starts - STARTS)}")

    @property
    def given_params(self) -> tuple[Param, ...]:
        """The parameters a person gives: a side file's hash is recorded from the file itself."""
        recorded = {side.param for side in self.files}
        return tuple(param for param in self.params if param.name not in recorded)

    def describe(self) -> dict:
        return {
            "name": self.name,
            "label": self.label,
            "phase": self.phase,
            "params": [param.describe() for param in self.params],
            "roles": sorted(self.roles),
            "files": [{"role": side.role, "required": side.required} for side in self.files],
            "c2pa_action": self.c2pa_action,
            "digital_source_type": self.digital_source_type,
            "rerun": self.rerun,
            "starts": sorted(self.starts),
        }


_registry: dict[str, OperationSpec] = {}


def operation_register(spec: OperationSpec) -> OperationSpec:
    """Declare an operation from its module; the same name declared by two modules is a mistake worth stopping on."""
    if not spec.module:
        spec = replace(spec, module=sys._getframe(1).f_globals.get("__name__", ""))
    existing = _registry.get(spec.name)
    if existing is not None and existing.module != spec.module:
        raise ValueError(f"operation {spec.name!r} is declared twice: in {existing.module} and {spec.module}")
    _registry[spec.name] = spec
    return spec


def operation_unregister(name: str) -> None:
    _registry.pop(name, None)


def operation_get(name: str) -> OperationSpec:
    try:
        return _registry[name]
    except KeyError as exc:
        raise ApplicationError(f"unknown operation {name!r}", extra={"choices": sorted(_registry)}) from exc


def operation_find(name: str) -> OperationSpec | None:
    """The declaration of a recorded step, or None for an operation this install no longer declares."""
    return _registry.get(name)


def operations_all() -> list[OperationSpec]:
    from assets.models import Phase

    return sorted(_registry.values(), key=lambda spec: (Phase.values.index(spec.phase), spec.name))


def operation_names(*, rerun: str | None = None, starts: str | None = None, phase: str | None = None) -> tuple:
    return tuple(
        spec.name
        for spec in operations_all()
        if (rerun is None or spec.rerun == rerun)
        and (starts is None or starts in spec.starts)
        and (phase is None or spec.phase == phase)
    )


def operation_label(name: str) -> str:
    """How people read an operation; a step recorded by an operation this install no longer declares keeps its
    recorded name."""
    spec = operation_find(name)
    return spec.label if spec is not None else name


def operation_choices() -> list[tuple[str, str]]:
    return [(spec.name, spec.label) for spec in operations_all()]


def params_clean(*, op: str, params: dict) -> dict:
    """Validate and normalise parameters for `op`; unknown keys are refused so recipes stay complete and exact."""
    schema = operation_get(op).params
    if not isinstance(params, dict):
        raise ApplicationError("parameters must be an object")
    known = {param.name for param in schema}
    unknown = sorted(set(params) - known)
    if unknown:
        raise ApplicationError(
            f"unknown parameter(s) for {op}: {', '.join(unknown)}", extra={"unknown": unknown, "allowed": sorted(known)}
        )
    cleaned = {}
    for param in schema:
        if param.name in params:
            cleaned[param.name] = param.clean(params[param.name])
        elif param.required:
            raise ApplicationError(f"parameter {param.name!r} is required for {op}", extra={"param": param.name})
    return cleaned


def params_key_summary(*, op: str, params: Mapping) -> str:
    """A short label such as "steps 25 · cfg 7.0 · seed 1234" for lineage pictures."""
    spec = operation_find(op)
    keys = [param.name for param in spec.params if param.key and param.name in params] if spec else []
    return " · ".join(f"{name} {params[name]}" for name in keys)
