"""Turns registered model weights into loaded pipelines: the registry says what exists, this loads it.

Worker-only (imports torch and diffusers). One process keeps one budgeted cache of loaded models
keyed by sha256; LoRAs are attached as peft adapters per job and removed afterwards.
"""

from __future__ import annotations

import os
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from django.conf import settings

from assets.errors import ApplicationError
from assets.models import ModelWeights
from generation.local_copies import blob_local_path, links_layout
from generation.transformer_files import TRANSFORMER_CLASSES, cpu_offloaded, transformer_file_load


@dataclass(frozen=True)
class Placement:
    device: str
    dtype_name: str

    @property
    def torch_dtype(self):
        import torch

        return getattr(torch, self.dtype_name)


def placement_pick() -> Placement:
    """CUDA in half precision when there is a GPU, CPU in full precision otherwise."""
    import torch

    if torch.cuda.is_available():
        return Placement(device="cuda", dtype_name="float16")
    return Placement(device="cpu", dtype_name="float32")


def weights_path(*, weights: ModelWeights) -> Path:
    """A local path diffusers can read: the file itself, or a folder of links laid out as registered."""
    since = time.time()
    if weights.format != ModelWeights.Format.DIFFUSERS:
        # diffusers picks the reader by file extension: link the blob under its format's name.
        source = blob_local_path(sha256=weights.blob_id, weights=weights, since=since)
        link = Path(settings.SEED_MODEL_CACHE) / f"{weights.sha256}.{weights.format}"
        if not link.exists():
            link.parent.mkdir(parents=True, exist_ok=True)
            if link.is_symlink():
                link.unlink()  # points into a store that moved
            temporary = link.with_name(f".{link.name}.{os.getpid()}")
            os.symlink(source, temporary)
            os.replace(temporary, link)
        return link
    return links_layout(weights=weights, files=weights.files, folder=weights.sha256, since=since)


def config_path(*, weights: ModelWeights) -> Path:
    """The diffusers config a single-file checkpoint loads with: registered beside it, else the project's own."""
    files = {rel.removeprefix("config/"): sha for rel, sha in weights.files.items() if rel.startswith("config/")}
    if files:
        return links_layout(weights=weights, files=files, folder=f"{weights.sha256}-config", since=time.time())
    path = Path(settings.SEED_MODEL_CONFIGS) / weights.architecture
    if not (path / "model_index.json").exists():
        raise ApplicationError(
            f"no local diffusers config for the {weights.get_architecture_display()} checkpoint {weights.name}: "
            f"register it with --config FOLDER, or put the architecture's config folder at {path}",
            extra={"code": "missing_config", "architecture": weights.architecture},
        )
    return path


# The diffusers pipeline each base architecture loads as; any other architecture loads as SD 1.x.
_PIPELINE_CLASSES = {
    ModelWeights.Architecture.SD15: "StableDiffusionPipeline",
    ModelWeights.Architecture.SDXL: "StableDiffusionXLPipeline",
    ModelWeights.Architecture.FLUX1: "FluxPipeline",
    ModelWeights.Architecture.FLUX1_KONTEXT: "FluxKontextPipeline",
    ModelWeights.Architecture.FLUX1_FILL: "FluxFillPipeline",
    ModelWeights.Architecture.SD35: "StableDiffusion3Pipeline",
    ModelWeights.Architecture.QWEN_IMAGE: "QwenImagePipeline",
    ModelWeights.Architecture.QWEN_IMAGE_EDIT: "QwenImageEditPipeline",
    ModelWeights.Architecture.FLUX2_KLEIN: "Flux2KleinPipeline",
}


def _pipeline_class(architecture: str):
    import diffusers

    return getattr(diffusers, _PIPELINE_CLASSES.get(architecture, "StableDiffusionPipeline"))


def model_bytes(model) -> int:
    """Parameter and buffer bytes of a torch module, or of every module a diffusers pipeline holds."""
    import torch

    modules = (
        [model]
        if isinstance(model, torch.nn.Module)
        else [
            component
            for component in getattr(model, "components", {}).values()
            if isinstance(component, torch.nn.Module)
        ]
    )
    return sum(
        tensor.numel() * tensor.element_size()
        for module in modules
        for tensor in (*module.parameters(), *module.buffers())
    )


@dataclass
class PipelineCache:
    """Loaded base pipelines, ControlNets and VAEs of one worker process, keyed by sha256.

    Held to a budget (SEED_PIPELINE_CACHE models, SEED_PIPELINE_CACHE_BYTES bytes; 0 is no byte limit):
    past it, the least recently used go first, never the model just loaded.
    """

    placement: Placement = field(default_factory=placement_pick)
    max_models: int = field(default_factory=lambda: settings.SEED_PIPELINE_CACHE)
    max_bytes: int = field(default_factory=lambda: settings.SEED_PIPELINE_CACHE_BYTES)
    entries: OrderedDict = field(default_factory=OrderedDict)
    loads: int = 0
    evictions: int = 0

    @property
    def held_bytes(self) -> int:
        return sum(size for _, size in self.entries.values())

    def _get(self, key: tuple[str, str], load: Callable):
        entry = self.entries.get(key)
        if entry is not None:
            self.entries.move_to_end(key)
            return entry[0]
        model = load()
        self.loads += 1
        self.entries[key] = (model, model_bytes(model))
        # The model just loaded is the newest entry, so evicting from the oldest end never drops it.
        while len(self.entries) > 1 and (
            len(self.entries) > max(self.max_models, 1) or (self.max_bytes and self.held_bytes > self.max_bytes)
        ):
            del self.entries[next(iter(self.entries))]
            self.evictions += 1
        return model

    def clear(self) -> int:
        """Drop every loaded model and give their memory back (after running out of it); returns how many went."""
        import gc

        import torch

        dropped = len(self.entries)
        self.entries.clear()
        gc.collect()
        if torch.cuda.is_available():
            torch.cuda.empty_cache()
        return dropped

    def base(self, *, weights: ModelWeights):
        if weights.kind != ModelWeights.Kind.BASE:
            raise ApplicationError(f"{weights.name} is a {weights.get_kind_display()}, not a base model")
        return self._get(("base", weights.sha256), lambda: self._load(weights))

    def _dtype(self, weights: ModelWeights):
        """The placement's dtype, or on a GPU the architecture's own half precision (generation.architectures)."""
        import torch

        from generation.architectures import model_dtype

        placement = self.placement
        return getattr(
            torch, model_dtype(device=placement.device, default=placement.dtype_name, architecture=weights.architecture)
        )

    def _load(self, weights: ModelWeights):
        pipeline_class = _pipeline_class(weights.architecture)
        common = {"dtype": self._dtype(weights), "local_files_only": True}
        if pipeline_class.__name__ == "StableDiffusionPipeline":
            common.update(safety_checker=None, requires_safety_checker=False)
        if weights.format == ModelWeights.Format.DIFFUSERS:
            pipeline = pipeline_class.from_pretrained(weights_path(weights=weights), **common)
        elif weights.architecture in TRANSFORMER_CLASSES:
            # The file is the transformer alone (FLUX.1 .safetensors or GGUF): the rest comes from its config folder.
            config = config_path(weights=weights)
            transformer = transformer_file_load(
                weights=weights, path=weights_path(weights=weights), config=config, dtype=self._dtype(weights)
            )
            pipeline = pipeline_class.from_pretrained(str(config), transformer=transformer, **common)
        elif not hasattr(pipeline_class, "from_single_file"):
            raise ApplicationError(
                f"{weights.name} is a {weights.get_architecture_display()} {weights.get_format_display()}: Seed loads "
                f"{weights.get_architecture_display()} from a diffusers folder; register the model's folder",
                extra={"code": "unsupported_format", "architecture": weights.architecture, "format": weights.format},
            )
        else:
            # The config first: fetching it may evict older cache files, never the checkpoint fetched last.
            config = config_path(weights=weights)
            pipeline = pipeline_class.from_single_file(str(weights_path(weights=weights)), config=str(config), **common)
        pipeline.set_progress_bar_config(disable=True)
        if cpu_offloaded(device=self.placement.device):
            # Each model moves to the GPU when it runs and back after, so the card holds one model at a time.
            pipeline.enable_model_cpu_offload(device=self.placement.device)
            return pipeline
        return pipeline.to(self.placement.device)

    def controlnet(self, *, weights: ModelWeights):
        import diffusers

        if weights.kind != ModelWeights.Kind.CONTROLNET:
            raise ApplicationError(f"{weights.name} is not a ControlNet")

        def load():
            path = weights_path(weights=weights)
            model_class = (
                diffusers.FluxControlNetModel
                if weights.architecture == ModelWeights.Architecture.FLUX1
                else diffusers.ControlNetModel
            )
            loader = model_class.from_pretrained if path.is_dir() else model_class.from_single_file
            return loader(path, dtype=self._dtype(weights), local_files_only=True).to(self.placement.device)

        return self._get(("controlnet", weights.sha256), load)

    def vae(self, *, weights: ModelWeights):
        import diffusers

        if weights.kind != ModelWeights.Kind.VAE:
            raise ApplicationError(f"{weights.name} is not a VAE")

        def load():
            path = weights_path(weights=weights)
            loader = (
                diffusers.AutoencoderKL.from_pretrained if path.is_dir() else diffusers.AutoencoderKL.from_single_file
            )
            return loader(str(path), dtype=self.placement.torch_dtype, local_files_only=True).to(self.placement.device)

        return self._get(("vae", weights.sha256), load)

    def image_encoder(self, *, weights: ModelWeights):
        """The vision model image prompts are read with (a transformers folder): CLIP for an IP-Adapter, SigLIP for
        FLUX's Redux."""
        import json

        from transformers import CLIPVisionModelWithProjection, SiglipVisionModel

        if weights.kind != ModelWeights.Kind.IMAGE_ENCODER:
            raise ApplicationError(f"{weights.name} is not an image encoder")

        def load():
            path = weights_path(weights=weights)
            siglip = "siglip" in json.loads((path / "config.json").read_text()).get("model_type", "")
            model_class = SiglipVisionModel if siglip else CLIPVisionModelWithProjection
            return model_class.from_pretrained(str(path), dtype=self.placement.torch_dtype, local_files_only=True).to(
                self.placement.device
            )

        return self._get(("image_encoder", weights.sha256), load)

    def redux(self, *, weights: ModelWeights):
        from generation.redux import redux_embedder

        return self._get(
            ("redux", weights.sha256),
            lambda: redux_embedder(weights=weights, device=self.placement.device, dtype=self._dtype(weights)),
        )


def ip_adapter_state(*, weights: ModelWeights) -> dict:
    """An IP-Adapter file as diffusers' loader takes it: {"image_proj": …, "ip_adapter": …}, from the layout the
    original releases use (one .safetensors with prefixed keys, or a .bin holding the two dicts)."""
    import torch
    from safetensors.torch import load_file

    path = weights_path(weights=weights)
    if weights.format == ModelWeights.Format.SAFETENSORS:
        state = {"image_proj": {}, "ip_adapter": {}}
        for key, tensor in load_file(str(path)).items():
            group, _, name = key.partition(".")
            if group in state:
                state[group][name] = tensor
    else:
        state = torch.load(str(path), map_location="cpu", weights_only=True)
    if not isinstance(state, dict) or not state.get("image_proj") or not state.get("ip_adapter"):
        raise ApplicationError(
            f"{weights.name} is not an IP-Adapter file (no image_proj and ip_adapter weights)",
            extra={"code": "not_ip_adapter"},
        )
    return state


_PROCESS_CACHE: PipelineCache | None = None


def process_cache() -> PipelineCache:
    """The one cache of this worker process (one process per GPU)."""
    global _PROCESS_CACHE
    if _PROCESS_CACHE is None:
        import diffusers
        import transformers

        # Worker logs are read by people: no download-style progress bars for local files.
        diffusers.utils.logging.disable_progress_bar()
        transformers.utils.logging.disable_progress_bar()
        _PROCESS_CACHE = PipelineCache()
    return _PROCESS_CACHE
