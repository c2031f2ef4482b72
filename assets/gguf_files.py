"""What a GGUF file holds, read without loading it: its tensors' names, shapes and quantisation types.

GGUF is llama.cpp's format; city96 publishes FLUX.1 transformers in it (`flux1-dev-Q8_0.gguf`), each weight matrix
quantised and the 1-D tensors (biases, norm scales) kept in F32.
"""

from __future__ import annotations

import struct
from collections import Counter
from pathlib import Path

from assets.errors import ApplicationError


def gguf_header(*, path: Path) -> dict[str, dict]:
    """Tensor names with their type (as `dtype`: Q8_0, F32 …) and shape, as safetensors_header gives a safetensors
    file's; refuses a file that is not GGUF."""
    # Imported here: only registering a GGUF file needs it, not the web process's start.
    from gguf import GGUFReader

    try:
        reader = GGUFReader(str(path))
    # The reader's words for a bad magic number, an empty file, or a header cut short (an interrupted download).
    except (ValueError, IndexError, OverflowError, struct.error) as exc:
        raise ApplicationError(f"{path.name} is not a GGUF file ({exc})", extra={"code": "not_gguf"}) from exc
    # ggml lists a tensor's dimensions innermost first; torch and safetensors outermost first.
    return {
        tensor.name: {"dtype": tensor.tensor_type.name, "shape": [int(size) for size in reversed(tensor.shape)]}
        for tensor in reader.tensors
    }


def gguf_tensor_types(*, header: dict[str, dict]) -> dict[str, int]:
    """How many tensors each type holds, most first: {"Q8_0": 58, "F32": 40}."""
    return dict(Counter(entry["dtype"] for entry in header.values()).most_common())


def gguf_notes(*, header: dict[str, dict]) -> str:
    """The registry's line for a GGUF file's quantisation, e.g. "GGUF tensor types: Q8_0 ×58, F32 ×40"."""
    types = gguf_tensor_types(header=header)
    return "GGUF tensor types: " + ", ".join(f"{name} ×{count}" for name, count in types.items())
