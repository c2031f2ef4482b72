"""A version's recipe as a ComfyUI API-format workflow, so a team member can run it again in ComfyUI.

The graph is what ComfyUI's own "Save (API format)" writes: {node id: {class_type, inputs}}, where an input
[id, output] links to another node's output. txt2img and img2img, with the LoRA chain in the order it is
applied; the files are named as the studio registered them (ComfyUI looks them up in its own model folders). A FLUX.1
recipe is written as ComfyUI's FLUX graphs are: the transformer by UNETLoader, CLIP-L and T5 by DualCLIPLoader, the
VAE by name, distilled guidance by FluxGuidance on the positive prompt, and an SD3-style empty latent.
"""

from __future__ import annotations

from assets.errors import ApplicationError
from assets.foreign_recipes import TO_COMFY
from assets.models import ModelWeights, Version
from assets.operations import operations_all
from assets.recipes import Recipe, recipe_of
from assets.selectors import lineage_graph

_EXPORTED_ARCHITECTURES = (
    ModelWeights.Architecture.SD15,
    ModelWeights.Architecture.SDXL,
    ModelWeights.Architecture.FLUX1,
)


def comfyui_workflow(*, version: Version) -> dict:
    """The graph that makes `version` (from the nearest txt2img or img2img in its lineage) in ComfyUI."""
    recipe = _exported_recipe(version)
    params = recipe.params
    sampler_name, scheduler = TO_COMFY[params["sampler"]]
    seed = version.seed if version.seed is not None else params["seed"]
    graph: dict[str, dict] = {}
    model, clip, vae = _loaders(graph, recipe)
    graph["2"] = {"class_type": "CLIPTextEncode", "inputs": {"text": recipe.prompt_text, "clip": clip}}
    graph["3"] = {"class_type": "CLIPTextEncode", "inputs": {"text": recipe.prompt.negative_text, "clip": clip}}
    positive = ["2", 0]
    if "distilled_cfg" in params:
        graph["33"] = {
            "class_type": "FluxGuidance",
            "inputs": {"guidance": params["distilled_cfg"], "conditioning": positive},
        }
        positive = ["33", 0]
    latent, denoise = _latent(graph, recipe, vae)
    graph["7"] = {
        "class_type": "KSampler",
        "inputs": {
            "seed": seed,
            "steps": params["steps"],
            "cfg": params["cfg"],
            "sampler_name": sampler_name,
            "scheduler": scheduler,
            "denoise": denoise,
            "model": model,
            "positive": positive,
            "negative": ["3", 0],
            "latent_image": latent,
        },
    }
    graph["8"] = {"class_type": "VAEDecode", "inputs": {"samples": ["7", 0], "vae": vae}}
    graph["9"] = {"class_type": "SaveImage", "inputs": {"images": ["8", 0], "filename_prefix": f"seed_v{version.pk}"}}
    return graph


def _exported_recipe(version: Version) -> Recipe:
    """The recipe of the nearest exportable step, refused when ComfyUI would make another image from it."""
    exportable = {spec.name for spec in operations_all() if spec.comfyui}
    source = next((d for d in reversed(lineage_graph(version=version).chain()) if d.op in exportable), None)
    if source is None:
        raise ApplicationError(
            f"version {version.pk} has no txt2img or img2img in its lineage to export", extra={"code": "no_recipe"}
        )
    recipe = recipe_of(derivation=source)
    params = recipe.params
    if recipe.base.architecture not in _EXPORTED_ARCHITECTURES:
        raise ApplicationError(
            f"the ComfyUI export writes SD 1.x, SDXL and FLUX.1 graphs; {recipe.base.name} is "
            f"{recipe.base.get_architecture_display()}",
            extra={"code": "no_equivalent"},
        )
    if params["sampler"] not in TO_COMFY:
        raise ApplicationError(f"ComfyUI has no sampler like {params['sampler']!r}", extra={"code": "no_equivalent"})
    # An export without them would make another image while looking like the recipe: refuse, naming what is missing.
    missing = [
        what
        for what, present in (
            ("IP-Adapter image prompts", recipe.ip_adapter is not None),
            ("the hi-res fix's second pass", "hires_scale" in params),
        )
        if present
    ]
    if missing:
        raise ApplicationError(
            f"the ComfyUI export does not carry {' or '.join(missing)}; this recipe has them",
            extra={"code": "no_equivalent"},
        )
    return recipe


def _loaders(graph: dict, recipe: Recipe) -> tuple[list, list, list]:
    """The checkpoint, the LoRA chain in the order it is applied and the VAE: the model, CLIP and VAE outputs to use."""
    if recipe.base.architecture == ModelWeights.Architecture.FLUX1:
        graph["1"] = {
            "class_type": "UNETLoader",
            "inputs": {"unet_name": f"{recipe.base.name}.safetensors", "weight_dtype": "default"},
        }
        graph["31"] = {
            "class_type": "DualCLIPLoader",
            "inputs": {"clip_name1": "clip_l.safetensors", "clip_name2": "t5xxl_fp16.safetensors", "type": "flux"},
        }
        graph["32"] = {"class_type": "VAELoader", "inputs": {"vae_name": "ae.safetensors"}}
        model, clip, vae = ["1", 0], ["31", 0], ["32", 0]
    else:
        graph["1"] = {
            "class_type": "CheckpointLoaderSimple",
            "inputs": {"ckpt_name": f"{recipe.base.name}.safetensors"},
        }
        model, clip, vae = ["1", 0], ["1", 1], ["1", 2]
    for position, (weights, weight) in enumerate(recipe.loras):
        node = str(10 + position)
        graph[node] = {
            "class_type": "LoraLoader",
            "inputs": {
                "lora_name": f"{weights.name}.safetensors",
                "strength_model": weight,
                "strength_clip": weight,
                "model": model,
                "clip": clip,
            },
        }
        model, clip = [node, 0], [node, 1]
    if recipe.vae is not None:
        graph["30"] = {"class_type": "VAELoader", "inputs": {"vae_name": f"{recipe.vae.name}.safetensors"}}
        vae = ["30", 0]
    return model, clip, vae


def _latent(graph: dict, recipe: Recipe, vae: list) -> tuple[list, float]:
    """The sampler's starting latent and denoise: the init image encoded (img2img), else an empty latent."""
    params = recipe.params
    if recipe.op == "img2img":
        init = recipe.init.version if recipe.init.version_id else recipe.init.reference
        graph["4"] = {"class_type": "LoadImage", "inputs": {"image": f"{init.blob_id}.png"}}
        graph["5"] = {
            "class_type": "ImageScale",
            "inputs": {
                "image": ["4", 0],
                "upscale_method": "lanczos",
                "crop": "disabled",
                "width": params["width"],
                "height": params["height"],
            },
        }
        graph["6"] = {"class_type": "VAEEncode", "inputs": {"pixels": ["5", 0], "vae": vae}}
        return ["6", 0], params["strength"]
    graph["6"] = {
        # FLUX's latents have 16 channels, as SD3's: ComfyUI makes them with the SD3 node.
        "class_type": "EmptySD3LatentImage" if "distilled_cfg" in params else "EmptyLatentImage",
        "inputs": {"width": params["width"], "height": params["height"], "batch_size": 1},
    }
    return ["6", 0], 1.0
