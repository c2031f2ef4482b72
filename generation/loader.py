"""Turns registered model weights into loaded pipelines: the registry says what exists, this loads it.

Worker-only (imports torch and diffusers). One process keeps one cache of base pipelines keyed
by the base model's sha256; LoRAs are attached as peft adapters per job and removed afterwards.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from django.conf import settings
from django.core.files.storage import FileSystemStorage, storages

from assets.errors import ApplicationError
from assets.models import ModelWeights, blob_storage_name


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


def _blob_local_path(sha256: str, *, weights: ModelWeights, relative: str | None = None) -> Path:
    storage = storages["blobs"]
    name = blob_storage_name(sha256)
    if not storage.exists(name):
        what = f"{weights.name} ({weights.get_kind_display()})" + (f", file {relative}" if relative else "")
        raise ApplicationError(
            f"model file missing from the store: sha256 {sha256} for {what}; register it again with manage.py register_model",
            extra={"code": "missing_weights", "sha256": sha256, "weights_sha256": weights.sha256},
        )
    if isinstance(storage, FileSystemStorage):
        return Path(storage.path(name))
    local = Path(settings.SEED_MODEL_CACHE) / "blobs" / sha256
    if not local.exists():
        local.parent.mkdir(parents=True, exist_ok=True)
        fd, temp = tempfile.mkstemp(dir=local.parent, prefix=".download-")
        with os.fdopen(fd, "wb") as out, storage.open(name, "rb") as source:
            shutil.copyfileobj(source, out, 8 * 1024 * 1024)
        os.replace(temp, local)
    return local


def weights_path(*, weights: ModelWeights) -> Path:
    """A local path diffusers can read: the file itself, or a folder of links laid out as registered."""
    if weights.format != ModelWeights.Format.DIFFUSERS:
        # diffusers picks the reader by file extension: link the blob under its format's name.
        source = _blob_local_path(weights.blob_id, weights=weights)
        link = Path(settings.SEED_MODEL_CACHE) / f"{weights.sha256}.{weights.format}"
        if not link.exists():
            link.parent.mkdir(parents=True, exist_ok=True)
            if link.is_symlink():
                link.unlink()  # points into a store that moved
            temporary = link.with_name(f".{link.name}.{os.getpid()}")
            os.symlink(source, temporary)
            os.replace(temporary, link)
        return link
    return _layout(weights=weights, files=weights.files, folder=weights.sha256)


def _layout(*, weights: ModelWeights, files: dict[str, str], folder: str) -> Path:
    target = Path(settings.SEED_MODEL_CACHE) / folder
    sources = {rel: _blob_local_path(sha, weights=weights, relative=rel) for rel, sha in files.items()}
    if target.exists():
        if all((target / relative).exists() for relative in sources):
            return target
        shutil.rmtree(target, ignore_errors=True)  # links into a store that moved: lay it out again
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=target.parent, prefix=".layout-"))
    for relative, source in sources.items():
        link = staging / relative
        link.parent.mkdir(parents=True, exist_ok=True)
        os.symlink(source, link)
    try:
        os.rename(staging, target)
    except OSError:
        shutil.rmtree(staging, ignore_errors=True)  # another worker laid it out first
    return target


def config_path(*, weights: ModelWeights) -> Path:
    """The diffusers config a single-file checkpoint loads with: registered beside it, else the project's own."""
    files = {rel.removeprefix("config/"): sha for rel, sha in weights.files.items() if rel.startswith("config/")}
    if files:
        return _layout(weights=weights, files=files, folder=f"{weights.sha256}-config")
    path = Path(settings.SEED_MODEL_CONFIGS) / weights.architecture
    if not (path / "model_index.json").exists():
        raise ApplicationError(
            f"no local diffusers config for the {weights.get_architecture_display()} checkpoint {weights.name}: register it "
            f"with --config FOLDER, or put the architecture's config folder at {path}",
            extra={"code": "missing_config", "architecture": weights.architecture},
        )
    return path


def _pipeline_class(architecture: str):
    import diffusers

    return diffusers.StableDiffusionXLPipeline if architecture == ModelWeights.Architecture.SDXL else diffusers.StableDiffusionPipeline


@dataclass
class PipelineCache:
    """Loaded base pipelines of one worker process, keyed by the base model's sha256."""

    placement: Placement = field(default_factory=placement_pick)
    pipelines: dict = field(default_factory=dict)
    controlnets: dict = field(default_factory=dict)
    vaes: dict = field(default_factory=dict)
    loads: int = 0

    def base(self, *, weights: ModelWeights):
        if weights.kind != ModelWeights.Kind.BASE:
            raise ApplicationError(f"{weights.name} is a {weights.get_kind_display()}, not a base model")
        pipeline = self.pipelines.get(weights.sha256)
        if pipeline is None:
            pipeline = self._load(weights)
            self.pipelines[weights.sha256] = pipeline
            self.loads += 1
        return pipeline

    def _load(self, weights: ModelWeights):
        pipeline_class = _pipeline_class(weights.architecture)
        path = weights_path(weights=weights)
        common = {"dtype": self.placement.torch_dtype, "local_files_only": True}
        if pipeline_class.__name__ == "StableDiffusionPipeline":
            common.update(safety_checker=None, requires_safety_checker=False)
        if weights.format == ModelWeights.Format.DIFFUSERS:
            pipeline = pipeline_class.from_pretrained(path, **common)
        else:
            pipeline = pipeline_class.from_single_file(str(path), config=str(config_path(weights=weights)), **common)
        pipeline.set_progress_bar_config(disable=True)
        return pipeline.to(self.placement.device)

    def controlnet(self, *, weights: ModelWeights):
        import diffusers

        if weights.kind != ModelWeights.Kind.CONTROLNET:
            raise ApplicationError(f"{weights.name} is not a ControlNet")
        model = self.controlnets.get(weights.sha256)
        if model is None:
            path = weights_path(weights=weights)
            loader = diffusers.ControlNetModel.from_pretrained if path.is_dir() else diffusers.ControlNetModel.from_single_file
            model = loader(path, dtype=self.placement.torch_dtype, local_files_only=True).to(self.placement.device)
            self.controlnets[weights.sha256] = model
        return model


    def vae(self, *, weights: ModelWeights):
        import diffusers

        if weights.kind != ModelWeights.Kind.VAE:
            raise ApplicationError(f"{weights.name} is not a VAE")
        model = self.vaes.get(weights.sha256)
        if model is None:
            path = weights_path(weights=weights)
            loader = diffusers.AutoencoderKL.from_pretrained if path.is_dir() else diffusers.AutoencoderKL.from_single_file
            model = loader(str(path), dtype=self.placement.torch_dtype, local_files_only=True).to(self.placement.device)
            self.vaes[weights.sha256] = model
        return model


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
