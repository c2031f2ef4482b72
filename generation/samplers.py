"""Sampler names as studios say them, mapped to diffusers schedulers. Worker-only: imports diffusers."""

from __future__ import annotations

import copy
import json

from assets.errors import ApplicationError

# The samplers as studios say them, in the order forms offer them.
# flow_euler is the flow-matching sampler FLUX-class models are made for (Forge's "Euler" with the "Simple" schedule).
SAMPLERS = (
    "dpmpp_2m_karras", "euler_a", "euler", "ddim", "dpmpp_sde_karras", "dpmpp_2m", "pndm", "lms", "heun", "flow_euler",
)  # fmt: skip
# name -> (scheduler class name, config overrides)
SCHEDULERS = {
    "dpmpp_2m_karras": ("DPMSolverMultistepScheduler", {"use_karras_sigmas": True, "algorithm_type": "dpmsolver++"}),
    "dpmpp_2m": ("DPMSolverMultistepScheduler", {"use_karras_sigmas": False, "algorithm_type": "dpmsolver++"}),
    "dpmpp_sde_karras": ("DPMSolverSDEScheduler", {"use_karras_sigmas": True}),
    "euler_a": ("EulerAncestralDiscreteScheduler", {}),
    "euler": ("EulerDiscreteScheduler", {}),
    "ddim": ("DDIMScheduler", {}),
    "pndm": ("PNDMScheduler", {}),
    "lms": ("LMSDiscreteScheduler", {}),
    "heun": ("HeunDiscreteScheduler", {}),
    "flow_euler": ("FlowMatchEulerDiscreteScheduler", {}),
}


_PROTOTYPES: dict = {}


def scheduler_build(*, name: str, base_config, seed: int):
    """A fresh scheduler per image: schedulers keep state, and the SDE one seeds its noise from `seed`.

    Building from a config costs milliseconds, so each (sampler, model config) is built once and copied.
    """
    import diffusers

    try:
        class_name, overrides = SCHEDULERS[name]
    except KeyError as exc:
        raise ApplicationError(f"unknown sampler {name!r}; choose one of {', '.join(SCHEDULERS)}") from exc
    if class_name == "DPMSolverSDEScheduler":
        return diffusers.DPMSolverSDEScheduler.from_config(base_config, **overrides, noise_sampler_seed=seed)
    key = (name, json.dumps(dict(base_config), sort_keys=True, default=str))
    if key not in _PROTOTYPES:
        _PROTOTYPES[key] = getattr(diffusers, class_name).from_config(base_config, **overrides)
    return copy.deepcopy(_PROTOTYPES[key])
