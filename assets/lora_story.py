"""What a LoRA's safetensors header says about how it was trained, read into one bounded story.

kohya sd-scripts writes `ss_*` keys (dataset folders, tag counts, dates, hyper-parameters, its base model's name and
hash), Stability's model spec `modelspec.*` (title, author, architecture, licence), ai-toolkit `software` and
`training_info` (JSON) beside some of kohya's, and a LoRA Seed exported `seed.training_set` (its training images by
sha256). Each value is a stranger's claim in a file from outside: strings are cut and made storable, numbers are
checked against a plausible range, JSON that does not parse is kept as text under `unreadable`, and nothing here can
refuse a registration.
"""

from __future__ import annotations

import heapq
import json
import math
import re
from datetime import UTC, datetime
from itertools import islice

from assets.models import ModelWeights
from assets.operations import text_storable

MAX_TEXT = 500
MAX_NAME = 200  # a folder, a trainer's name, a base model's name
MAX_TAG = 100
MAX_FOLDERS = 20
MAX_TAGS = 50  # per folder, the most frequent
MAX_TRAINING_SET = 1000
MAX_COUNT = 10**9  # images, repeats, epochs, steps, tag counts
MAX_RANK = 65536  # network dim and alpha
MAX_LEARNING_RATE = 10.0
MAX_SEED = 2**64 - 1
MAX_SIDE = 16384
# A trainer's clock outside 2000–2100 is wrong, and a date past 9999 would not even convert.
EARLIEST, LATEST = 946684800, 4102444800
# What kohya writes for a value it does not have.
_UNSET = frozenset({"", "none", "null"})
# kohya's words for a base model it could not hash (a diffusers folder, a hub name): no hash, but nothing unreadable.
_NOT_HASHED = frozenset({"nofile", "isadirectory"})
_DIGITS = re.compile(r"\d{1,20}")
_DECIMAL = re.compile(r"[+-]?(?:\d{1,20}(?:\.\d{0,20})?|\.\d{1,20})(?:[eE][+-]?\d{1,3})?")
_RESOLUTION = re.compile(r"[\s(\[]*(\d{1,5})(?:\s*[,x×]\s*(\d{1,5}))?[\s)\]]*")
_SHA256 = re.compile(r"[0-9a-f]{64}")
# The architecture a header names (modelspec.architecture such as "stable-diffusion-xl-v1-base/lora", kohya's
# ss_base_model_version such as "sdxl_base_v1-0", "sd_v1", "flux1"), first match wins. SD 2.x and models Seed does not
# run match nothing: the page says the file names one Seed does not know.
_NAMED_ARCHITECTURES = (
    (re.compile(r"kontext"), ModelWeights.Architecture.FLUX1_KONTEXT),
    (re.compile(r"flux.?1.*fill"), ModelWeights.Architecture.FLUX1_FILL),
    (re.compile(r"klein"), ModelWeights.Architecture.FLUX2_KLEIN),
    (re.compile(r"flux.?2"), ModelWeights.Architecture.OTHER),  # FLUX.2 [dev], registered as "other"
    (re.compile(r"flux"), ModelWeights.Architecture.FLUX1),
    (re.compile(r"qwen.*edit"), ModelWeights.Architecture.QWEN_IMAGE_EDIT),
    (re.compile(r"qwen"), ModelWeights.Architecture.QWEN_IMAGE),
    (re.compile(r"sd.?3|stable-diffusion-3"), ModelWeights.Architecture.SD35),
    (re.compile(r"xl"), ModelWeights.Architecture.SDXL),
    (re.compile(r"sd.?v?1|stable-diffusion-v1"), ModelWeights.Architecture.SD15),
)


def lora_story_read(*, metadata: dict) -> dict:
    """The story a LoRA's `__metadata__` tells, empty parts left out; {} where it tells none."""
    header = _Header(metadata)
    story = {
        "trainer": _trainer(header),
        "title": header.text("modelspec.title"),
        "author": header.text("modelspec.author"),
        "description": header.text("modelspec.description"),
        "licence": header.text("modelspec.license"),
        "trigger_phrase": header.text("modelspec.trigger_phrase"),
        "output_name": header.text("ss_output_name", limit=MAX_NAME) or header.text("name", limit=MAX_NAME),
        "session_id": header.text("ss_session_id", limit=MAX_NAME),
        "base_model": _base_model(header),
        "training": _training(header),
        "network": _network(header),
        # The LoRA's own tensors as its trainer hashed them (A1111's LoRA hash is its first 12 hex): not the base's.
        "tensors_sha256": header.hex("sshs_model_hash") or header.hex("modelspec.hash_sha256"),
        **_datasets(header),
        **_training_set(header),
    }
    story["unreadable"] = header.unreadable
    return _pruned(story)


def _storable(value: str, *, limit: int = MAX_TEXT) -> str:
    """At most `limit` characters of `value` that Postgres can keep (no NUL, no lone surrogate)."""
    value = value[:limit].strip()
    if text_storable(value):
        return value
    return value.replace("\x00", "").encode("utf-8", "replace").decode("utf-8")


class _Header:
    """The metadata's values as text, numbers or JSON; a value that cannot be read is kept, cut, in `unreadable`."""

    def __init__(self, metadata: dict):
        self.metadata = metadata
        self.unreadable: dict[str, str] = {}

    def text(self, key: str, *, limit: int = MAX_TEXT) -> str | None:
        value = self.metadata.get(key)
        if value is None:
            return None
        if not isinstance(value, str):
            self.unreadable[key] = "(not text)"  # the format allows strings only; the safetensors library refuses it
            return None
        return _storable(value, limit=limit) or None

    def present(self, key: str) -> str | None:
        """The value's text, where the trainer wrote one (kohya writes "None" for a setting left out)."""
        text = self.text(key)
        return None if text is None or text.lower() in _UNSET else text

    def unread(self, key: str, text: str) -> None:
        self.unreadable[key] = _storable(text)

    def integer(self, key: str, *, maximum: int) -> int | None:
        text = self.present(key)
        number = None if text is None else _count_of(text, maximum=maximum)
        if text is not None and number is None:
            self.unread(key, text)
        return number

    def number(self, key: str, *, maximum: float) -> float | None:
        text = self.present(key)
        number = None if text is None else _decimal(text, maximum=maximum)
        if text is not None and number is None:
            self.unread(key, text)
        return number

    def moment(self, key: str) -> str | None:
        """kohya's unix seconds, as an ISO date in UTC."""
        text = self.present(key)
        seconds = None if text is None else _decimal(text, maximum=LATEST)
        if seconds is None or seconds < EARLIEST:
            if text is not None:
                self.unread(key, text)
            return None
        return datetime.fromtimestamp(seconds, tz=UTC).isoformat(timespec="seconds")

    def hex(self, key: str) -> str | None:
        text = self.present(key)
        if text is None or text.lower() in _NOT_HASHED:
            return None
        digest = text.lower().removeprefix("0x")  # modelspec writes its hash as 0x…
        if not _SHA256.fullmatch(digest):
            self.unread(key, text)
            return None
        return digest

    def document(self, key: str, *, kind: type) -> dict | list | None:
        """A value that holds JSON (kohya's folders and tags, ai-toolkit's software): parsed, or None and kept."""
        text = self.present(key)
        if text is None:
            return None
        raw = self.metadata[key]  # whole: the text kept for display is cut, the JSON is not
        try:
            value = json.loads(raw)
        # RecursionError: nesting deeper than the parser's stack, which no trainer writes.
        except (json.JSONDecodeError, RecursionError):
            value = None
        if not isinstance(value, kind):
            self.unread(key, text)
            return None
        return value


def _count_of(value: object, *, maximum: int) -> int | None:
    """A whole number from 0 to `maximum`, given as one or as digits; None for anything else."""
    if isinstance(value, str) and _DIGITS.fullmatch(value.strip()):
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= maximum:
        return None
    return value


def _decimal(text: str, *, maximum: float) -> float | None:
    if not _DECIMAL.fullmatch(text.strip()):
        return None
    value = float(text)
    return value if math.isfinite(value) and 0 <= value <= maximum else None


def _named(value: object, *, limit: int = MAX_NAME) -> str | None:
    """A name or version inside a JSON value, which may be given as a number."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        value = str(value)
    return _storable(value, limit=limit) or None if isinstance(value, str) else None


def _trainer(header: _Header) -> dict:
    software = header.document("software", kind=dict)  # ai-toolkit: {"name": "ai-toolkit", "version": …}
    if software and _named(software.get("name")):
        return {"name": _named(software.get("name")), "version": _named(software.get("version"))}
    if any(key.startswith("ss_") for key in header.metadata):
        # kohya records no version of its own; newer releases record the commit they ran.
        return {"name": "kohya sd-scripts", "version": header.text("ss_sd_scripts_commit_hash", limit=MAX_NAME)}
    return {}


def _architecture_named(text: str | None) -> str | None:
    """The Seed architecture a header's architecture or base model version names."""
    lowered = (text or "").lower()
    return next((value for pattern, value in _NAMED_ARCHITECTURES if pattern.search(lowered)), None)


def _base_model(header: _Header) -> dict:
    spec = header.text("modelspec.architecture", limit=MAX_NAME)
    version = header.text("ss_base_model_version", limit=MAX_NAME)
    legacy = header.present("ss_sd_model_hash")
    return {
        "name": header.text("ss_sd_model_name", limit=MAX_NAME),
        "version": version,
        "modelspec_architecture": spec,
        "implementation": header.text("modelspec.implementation", limit=MAX_NAME),
        "architecture": _architecture_named(spec) or _architecture_named(version),
        # kohya's hash of the whole base model file: what Seed's sha256 of a single-file model is.
        "sha256": header.hex("ss_new_sd_model_hash"),
        # A1111's old hash (8 hex of 64 KiB of the file): shown, never matched.
        "legacy_hash": legacy.lower() if legacy and re.fullmatch(r"[0-9a-fA-F]{8}", legacy) else None,
    }


def _training(header: _Header) -> dict:
    info = header.document("training_info", kind=dict) or {}  # ai-toolkit: {"step": …, "epoch": …}
    epochs = header.integer("ss_num_epochs", maximum=MAX_COUNT)
    steps = header.integer("ss_steps", maximum=MAX_COUNT)
    return {
        "started_at": header.moment("ss_training_started_at"),
        "finished_at": header.moment("ss_training_finished_at"),
        "date": header.text("modelspec.date", limit=MAX_NAME),
        "images": header.integer("ss_num_train_images", maximum=MAX_COUNT),
        "epochs": epochs if epochs is not None else _count_of(info.get("epoch"), maximum=MAX_COUNT),
        "steps": steps if steps is not None else _count_of(info.get("step"), maximum=MAX_COUNT),
        "max_steps": header.integer("ss_max_train_steps", maximum=MAX_COUNT),
    }


def _network(header: _Header) -> dict:
    return {
        "module": header.text("ss_network_module", limit=MAX_NAME),
        "rank": header.integer("ss_network_dim", maximum=MAX_RANK),
        "alpha": header.number("ss_network_alpha", maximum=MAX_RANK),
        "learning_rate": header.number("ss_learning_rate", maximum=MAX_LEARNING_RATE),
        "optimizer": header.text("ss_optimizer", limit=MAX_NAME),
        "seed": header.integer("ss_seed", maximum=MAX_SEED),
        "resolution": _resolution(header),
    }


def _resolution(header: _Header) -> str | None:
    """kohya writes "(1024, 1024)", "512,768" or "512"."""
    text = header.present("ss_resolution")
    if text is None:
        return None
    found = _RESOLUTION.fullmatch(text)
    sides = [int(side) for side in found.groups() if side] if found else []
    if not sides or not all(0 < side <= MAX_SIDE for side in sides):
        header.unread("ss_resolution", text)
        return None
    return f"{sides[0]}×{sides[-1]}"


def _datasets(header: _Header) -> dict:
    """The dataset folders with their repeats and image counts, and each folder's most frequent caption tags."""
    folders = header.document("ss_dataset_dirs", kind=dict)
    frequencies = header.document("ss_tag_frequency", kind=dict)
    if folders is None and frequencies is None:
        folders, frequencies = _from_dataset_config(header.document("ss_datasets", kind=list))
    folders, frequencies = folders or {}, frequencies or {}
    return {
        "datasets": [
            {
                "folder": _storable(str(name), limit=MAX_NAME),
                "repeats": _count_of(entry.get("n_repeats"), maximum=MAX_COUNT) if isinstance(entry, dict) else None,
                "images": _count_of(entry.get("img_count"), maximum=MAX_COUNT) if isinstance(entry, dict) else None,
            }
            for name, entry in islice(folders.items(), MAX_FOLDERS)
        ],
        "datasets_total": len(folders),
        "tags": [_top_tags(name, counts) for name, counts in islice(frequencies.items(), MAX_FOLDERS)],
        "tag_folders_total": len(frequencies),
    }


def _from_dataset_config(datasets: list | None) -> tuple[dict, dict]:
    """kohya's layout when a dataset config was used: `ss_datasets`, a list of datasets, each with its subsets (folder,
    repeats, images) and tag counts, in place of the two keys above."""
    folders, frequencies = {}, {}
    for dataset in datasets or ():
        if not isinstance(dataset, dict):
            continue
        subsets = dataset.get("subsets")
        for subset in subsets if isinstance(subsets, list) else ():
            if isinstance(subset, dict):
                folders[str(subset.get("image_dir") or "")] = {
                    "n_repeats": subset.get("num_repeats"),
                    "img_count": subset.get("img_count"),
                }
        if isinstance(dataset.get("tag_frequency"), dict):
            frequencies.update(dataset["tag_frequency"])
    return folders, frequencies


def _top_tags(folder: object, counts: object) -> dict:
    counts = counts if isinstance(counts, dict) else {}
    valid = ((tag, _count_of(number, maximum=MAX_COUNT)) for tag, number in counts.items())
    # Ties keep the trainer's order, as sorting would.
    top = heapq.nlargest(
        MAX_TAGS,
        ((tag, number) for tag, number in valid if number is not None and tag.strip()),
        key=lambda pair: pair[1],
    )
    return {
        "folder": _storable(str(folder), limit=MAX_NAME),
        "tags": [[_storable(tag, limit=MAX_TAG), number] for tag, number in top],
        "tags_total": len(counts),
    }


def _training_set(header: _Header) -> dict:
    """The training images a LoRA Seed exported lists: [{sha256, version_id}], the id being the exporting install's."""
    entries = header.document("seed.training_set", kind=list)
    if entries is None:
        return {}
    images: dict[str, int | None] = {}
    for entry in entries:
        if len(images) == MAX_TRAINING_SET:
            break
        digest = entry.get("sha256") if isinstance(entry, dict) else None
        if isinstance(digest, str) and _SHA256.fullmatch(digest.lower()):
            images.setdefault(digest.lower(), _count_of(entry.get("version_id"), maximum=2**63 - 1))
    return {
        "training_set": [{"sha256": digest, "version_id": version} for digest, version in images.items()],
        "training_set_total": len(entries),
    }


def _pruned(value):
    """The story without the parts the header left empty."""
    if isinstance(value, list):
        return [_pruned(item) for item in value]
    if not isinstance(value, dict):
        return value
    kept = {key: _pruned(item) for key, item in value.items()}
    return {key: item for key, item in kept.items() if item is not None and item != "" and item != {} and item != []}
