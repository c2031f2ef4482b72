"""Import of an external file: its bytes are the record; a recipe another tool wrote into it
(assets.foreign_recipes) is kept as ours, so it can be regenerated here."""

from assets.operations import OperationSpec, Param, operation_register
from generation.operations._sampling import HIRES_UPSCALERS
from generation.samplers import SAMPLERS

operation_register(
    OperationSpec(
        name="import",
        label="Import of an external file",
        phase="ideation",
        params=(
            Param("source", str, required=False, key=True),
            Param("note", str, required=False),
            Param(
                "generator", str, required=False, key=True, choices=("automatic1111", "comfyui", "invokeai", "fooocus")
            ),
            Param("sampler", str, required=False, choices=SAMPLERS),
            Param("sampler_source", str, required=False),
            Param("steps", int, required=False),
            Param("cfg", float, required=False),
            Param("distilled_cfg", float, required=False),
            Param("seed", int, required=False, minimum=0, maximum=2**63 - 1),
            Param("width", int, required=False),
            Param("height", int, required=False),
            Param("strength", float, required=False),
            Param("models", list, required=False),
            Param("hires_scale", float, required=False),
            Param("hires_steps", int, required=False),
            Param("hires_upscaler", str, required=False, choices=HIRES_UPSCALERS),
            Param("hires_upscaler_source", str, required=False),
            Param("metadata", dict, required=False),
        ),
        roles=frozenset({"parent", "reference", "prompt", "base_model", "lora", "vae"}),
        c2pa_action="c2pa.opened",
        digital_source_type=None,
        rerun="recorded",
    )
)
