"""A prompt turned into what the pipeline conditions on, in the syntax its recipe records. Worker-only (torch).

In A1111's syntax (SD 1.x and SDXL) the text is read for emphasis and BREAK (assets.prompt_syntax), cut into chunks
of 75 tokens, each framed by start and end tokens and encoded on its own, the chunks' states joined end to end, so a
long prompt is read whole instead of cut at 77 tokens. Each token's state is scaled by its weight and the chunk's mean
restored afterwards, as A1111 does by default. A recipe in diffusers' syntax is handed to the pipeline as text.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from assets.errors import ApplicationError
from assets.prompt_syntax import BREAK, SYNTAX_A1111, attention_parse
from assets.recipes import Recipe
from generation.architectures import architecture_of, negative_prompt_of

CHUNK_TOKENS = 75
# Each chunk is one pass of the text encoders: a cap keeps a hostile prompt from holding a worker (1,500 tokens is ten
# times the longest prompts people write).
MAX_CHUNKS = 20
# A chunk that fills up moves its words since the last comma, if within this many tokens, to the next chunk: A1111's
# default, so a phrase is not split across two chunks.
COMMA_BACKTRACK = 20


@dataclass
class PromptChunk:
    tokens: list[int] = field(default_factory=list)
    weights: list[float] = field(default_factory=list)


def prompt_chunks(*, tokenizer, text: str) -> list[PromptChunk]:
    """The token ids and weights of each 77-token chunk of `text` (start, 75 tokens padded with the end token, end)."""
    parsed = attention_parse(text)
    fragment_ids = tokenizer([fragment for fragment, _ in parsed], truncation=False, add_special_tokens=False)
    comma = tokenizer.get_vocab().get(",</w>")
    start, end = tokenizer.bos_token_id, tokenizer.eos_token_id
    chunks: list[PromptChunk] = []
    current = PromptChunk()
    last_comma = -1

    def close() -> None:
        nonlocal current, last_comma
        padding = CHUNK_TOKENS - len(current.tokens)
        chunks.append(
            PromptChunk(
                tokens=[start, *current.tokens, *[end] * padding, end],
                weights=[1.0, *current.weights, *[1.0] * padding, 1.0],
            )
        )
        current, last_comma = PromptChunk(), -1

    for (fragment, weight), ids in zip(parsed, fragment_ids["input_ids"], strict=True):
        if fragment == BREAK and weight == -1:
            close()
            continue
        for token in ids:
            if token == comma:
                last_comma = len(current.tokens)
            elif len(current.tokens) == CHUNK_TOKENS and 0 <= CHUNK_TOKENS - last_comma <= COMMA_BACKTRACK:
                split = last_comma + 1
                moved = PromptChunk(tokens=current.tokens[split:], weights=current.weights[split:])
                del current.tokens[split:], current.weights[split:]
                close()
                current = moved
            if len(current.tokens) == CHUNK_TOKENS:
                close()
            current.tokens.append(token)
            current.weights.append(weight)
    if current.tokens or not chunks:
        close()
    return chunks


@dataclass(frozen=True)
class _Encoder:
    tokenizer: object
    model: object
    penultimate: bool  # SDXL reads the layer before last, unnormalised; SD 1.x the normalised last layer
    pooled: bool  # SDXL's second encoder also gives the pooled embedding its UNet conditions on


def _encoders(pipeline) -> list[_Encoder]:
    if getattr(pipeline, "text_encoder_2", None) is None:
        return [_Encoder(pipeline.tokenizer, pipeline.text_encoder, penultimate=False, pooled=False)]
    return [
        _Encoder(pipeline.tokenizer, pipeline.text_encoder, penultimate=True, pooled=False),
        _Encoder(pipeline.tokenizer_2, pipeline.text_encoder_2, penultimate=True, pooled=True),
    ]


def _chunk_encode(encoder: _Encoder, chunk: PromptChunk):
    import torch

    device = encoder.model.device
    tokens = list(chunk.tokens)
    pad = encoder.tokenizer.pad_token_id
    if pad is not None and pad != encoder.tokenizer.eos_token_id:
        # A tokenizer with a pad token of its own (SDXL's second) pads after the first end token with it.
        first_end = tokens.index(encoder.tokenizer.eos_token_id, 1)
        tokens[first_end + 1 :] = [pad] * (len(tokens) - first_end - 1)
    output = encoder.model(torch.tensor([tokens], device=device), output_hidden_states=True)
    states = output.hidden_states[-2] if encoder.penultimate else output.last_hidden_state
    pooled = output.text_embeds if encoder.pooled else None
    if all(weight == 1.0 for weight in chunk.weights):
        # Nothing to weigh, and the mean of normalised states can be exactly zero (0/0 on some CPU kernels).
        return states, pooled
    weights = torch.tensor(chunk.weights, device=states.device, dtype=states.dtype).reshape(1, -1, 1)
    mean = states.mean()
    weighted = states * weights
    weighted_mean = weighted.mean()
    return (weighted * (mean / weighted_mean) if weighted_mean != 0 else weighted), pooled


def _text_encode(pipeline, text: str) -> tuple[list, object]:
    """Each chunk's states (the encoders' side by side) and the pooled embedding of the first chunk, if any."""
    import torch

    encoders = _encoders(pipeline)
    per_encoder = [prompt_chunks(tokenizer=encoder.tokenizer, text=text) for encoder in encoders]
    if len(per_encoder[0]) > MAX_CHUNKS:
        raise ApplicationError(
            f"the prompt is {len(per_encoder[0])} chunks of {CHUNK_TOKENS} tokens; at most {MAX_CHUNKS} are encoded",
            extra={"code": "prompt_too_long"},
        )
    if len({len(chunks) for chunks in per_encoder}) != 1:
        raise ApplicationError("the two text encoders' tokenizers cut this prompt into different numbers of chunks")
    states, pooled = [], None
    for position in range(len(per_encoder[0])):
        encoded = [
            _chunk_encode(encoder, chunks[position]) for encoder, chunks in zip(encoders, per_encoder, strict=True)
        ]
        states.append(torch.cat([hidden for hidden, _ in encoded], dim=-1))
        if position == 0:
            pooled = next((pool for _, pool in encoded if pool is not None), None)
    return states, pooled


def prompt_inputs(*, pipeline, recipe: Recipe) -> dict:
    """The pipeline's prompt arguments for this recipe: its text (plain and diffusers' syntax), or A1111's chunked and
    weighted embeddings; computed once per run, after the run's LoRAs are attached (they may change the encoders)."""
    negative = negative_prompt_of(base=recipe.base, negative_text=recipe.prompt.negative_text)
    architecture = architecture_of(base=recipe.base)
    if architecture.cfg_argument is None:
        # No guidance to steer away from anything: FLUX.1 Fill's pipeline takes no negative prompt.
        return {"prompt": recipe.prompt_text}
    import torch

    if not architecture.negative_prompt_text:
        with torch.no_grad():
            states = pipeline.encode_prompt(prompt=negative)[0] if negative else None
        return {"prompt": recipe.prompt_text, "negative_prompt_embeds": states}
    if recipe.prompt_syntax != SYNTAX_A1111:
        return {"prompt": recipe.prompt_text, "negative_prompt": negative}

    with torch.no_grad():
        positive, pooled = _text_encode(pipeline, recipe.prompt_text)
        negative_states, negative_pooled = _text_encode(pipeline, negative or "")
        if len(positive) != len(negative_states):
            # The UNet reads both in one batch, so the shorter is padded with chunks of the empty prompt (A1111's
            # "pad prompt/negative prompt" option; without it A1111 runs them in separate batches).
            empty, _ = _text_encode(pipeline, "")
            shorter = positive if len(positive) < len(negative_states) else negative_states
            shorter += empty * (max(len(positive), len(negative_states)) - len(shorter))
        inputs = {
            "prompt_embeds": torch.cat(positive, dim=1),
            "negative_prompt_embeds": torch.cat(negative_states, dim=1),
        }
        if pooled is not None:
            inputs.update(pooled_prompt_embeds=pooled, negative_pooled_prompt_embeds=negative_pooled)
    return inputs
