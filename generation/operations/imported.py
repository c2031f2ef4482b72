"""Import of an external file: its bytes are the record; a recipe another tool wrote into it
(assets.foreign_recipes) is kept as ours, so it can be regenerated here, unless that tool's models are no files
anyone can register (Midjourney): then `not_reproducible` says so."""

from assets.foreign_recipes.recipe import GENERATORS
from assets.operations import OperationSpec, Param, operation_register
from assets.parent_matching import RULES
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
            Param("generator", str, required=False, key=True, choices=GENERATORS),
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
            # What a tool Seed cannot run records (Midjourney): its job, its user, its parameters as written.
            Param(
                "job_id",
                str,
                required=False,
                key=True,
                pattern=(r"[0-9a-f]{8}(-[0-9a-f]{4}){3}-[0-9a-f]{12}", "a UUID"),
            ),
            Param("author", str, required=False),
            Param("options", dict, required=False),
            Param("not_reproducible", str, required=False),
            # A retouch brought back: the rule that found its parent, and the sentence that names it.
            Param("matched_by", str, required=False, key=True, choices=tuple(RULES)),
            Param("parent_match", str, required=False),
            # The file's own C2PA manifest (another tool's, a retoucher's): claim generator, actions, ingredients.
            Param("credentials", dict, required=False),
            Param("edits", str, required=False, key=True),
        ),
        roles=frozenset({"parent", "reference", "prompt", "base_model", "lora", "vae"}),
        c2pa_action="c2pa.opened",
        digital_source_type=None,
        rerun="recorded",
    )
)
