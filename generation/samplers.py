"""Sampler names as studios say them, mapped to diffusers schedulers. Worker-only: imports diffusers."""

from __future__ import annotations

from assets.errors import ApplicationError

# name -> (scheduler class name, config overrides); the names are assets.params.SAMPLERS
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
}

A1111_NAMES = {
    "dpmpp_2m_karras": ("DPM++ 2M", "Karras"), "dpmpp_2m": ("DPM++ 2M", "Automatic"),
    "dpmpp_sde_karras": ("DPM++ SDE", "Karras"), "euler_a": ("Euler a", "Automatic"), "euler": ("Euler", "Automatic"),
    "ddim": ("DDIM", "Automatic"), "pndm": ("PLMS", "Automatic"), "lms": ("LMS", "Automatic"), "heun": ("Heun", "Automatic"),
}


def scheduler_build(*, name: str, base_config, seed: int):
    """A fresh scheduler per image: schedulers keep state, and the SDE one seeds its noise from `seed`."""
    import diffusers

    try:
        class_name, overrides = SCHEDULERS[name]
    except KeyError as exc:
        raise ApplicationError(f"unknown sampler {name!r}; choose one of {', '.join(SCHEDULERS)}") from exc
    scheduler_class = getattr(diffusers, class_name)
    if class_name == "DPMSolverSDEScheduler":
        overrides = {**overrides, "noise_sampler_seed": seed}
    return scheduler_class.from_config(base_config, **overrides)
