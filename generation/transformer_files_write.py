"""A FLUX.1 transformer written as studios download one: a single .safetensors file, or a GGUF file quantised as city96
quantises FLUX.1 (`flux1-dev-Q8_0.gguf`), with the diffusers folder it is registered with as its config. For the tests
and benches, from a transformer built in code.

The tensors keep diffusers' names, which diffusers' from_single_file loads as they are: its converter from Black Forest
Labs' names assumes FLUX.1's full width (3072), so it cannot convert a tiny transformer's.

Worker-only: imports torch, safetensors and gguf.
"""

from __future__ import annotations

import shutil
from pathlib import Path


def transformer_safetensors_write(*, transformer, path: Path) -> Path:
    from safetensors.torch import save_file

    save_file({name: tensor.contiguous() for name, tensor in transformer.state_dict().items()}, str(path))
    return path


def transformer_gguf_write(*, transformer, path: Path, quantisation: str = "Q8_0") -> Path:
    """Each weight matrix quantised to `quantisation`; 1-D tensors (biases, norm scales) stay F32, as in city96's."""
    import gguf
    from gguf.quants import quantize

    kind = gguf.GGMLQuantizationType[quantisation]
    writer = gguf.GGUFWriter(str(path), arch="flux")
    for name, tensor in transformer.state_dict().items():
        values = tensor.float().numpy()
        if values.ndim == 1:
            writer.add_tensor(name, values)
        else:
            packed = quantize(values, kind)
            writer.add_tensor(name, packed, raw_shape=packed.shape, raw_dtype=kind)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return path


def flux_config_write(*, source: Path, path: Path) -> Path:
    """A FLUX.1 diffusers folder without its transformer's weights (its config.json stays): what a transformer file is
    registered with, as a studio keeps FLUX.1-dev's folder beside the fine-tunes it downloads."""
    shutil.copytree(source, path, dirs_exist_ok=True)
    for weights in (path / "transformer").glob("diffusion_pytorch_model*"):
        weights.unlink()
    return path
