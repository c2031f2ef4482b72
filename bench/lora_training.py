"""LoRA training: seconds per step of the worker's loop (generation.training.lora_train) against a plain peft +
diffusers loop, measured in one run.

The peer is diffusers' train_text_to_image_lora recipe without accelerate: `unet.add_adapter(LoraConfig(...))`, then
every step the VAE encodes the batch, DDPMScheduler adds noise, the text encoder embeds the captions, the UNet
predicts the noise, MSE, AdamW. (Its gradient clipping is left out: the worker does not clip, and the comparison is
of the same work.) Both train a copy of the same random-weight SD-1.5-shaped pipeline, wider than the tiny one so the
UNet's compute is the cost (CrossAttn blocks of 128/256 channels; a narrow 8x VAE and a small CLIP), on the same
images, captions, rank, batch size and resolution, on the same thread count, interleaved so the machine's drift falls
on both. The worker encodes each image and caption once, where the recipe encodes them every step; so besides the
recipe's whole step this also reports the recipe's step less its encoding (timed inside it): the headline ratio is
against that, the same UNet forward, backward and optimiser work on both sides. Each side's figure is its fastest
run's median step, in wall seconds and in CPU seconds (the latter moves less when other work shares the cores).

    python -m bench.lora_training [--resolution 128] [--batch-size 2] [--rank 16] [--steps 10] [--warmup 2]
                                  [--repeats 3] [--threads N]
"""

from __future__ import annotations

import argparse
import copy
import statistics
import time

from bench._result import result_print

CAPTIONS = ["a red kettle on a stove", "a blue bicycle by a wall", "a green door, morning", "a cat on a mat"]


def _pipeline():
    """SD 1.5's layout at a width a CPU trains in seconds a step; random weights, nothing downloaded."""
    import torch
    from diffusers import AutoencoderKL, DDPMScheduler, StableDiffusionPipeline, UNet2DConditionModel
    from transformers import CLIPTextConfig, CLIPTextModel

    from generation.tiny import _tokenizer

    torch.manual_seed(0)
    unet = UNet2DConditionModel(
        block_out_channels=(128, 256),
        layers_per_block=2,
        in_channels=4,
        out_channels=4,
        down_block_types=("CrossAttnDownBlock2D", "CrossAttnDownBlock2D"),
        up_block_types=("CrossAttnUpBlock2D", "CrossAttnUpBlock2D"),
        cross_attention_dim=256,
        attention_head_dim=8,
    )
    # Four blocks, so latents are an eighth of the image's side as in SD; narrow, as its cost is the same on both.
    vae = AutoencoderKL(
        block_out_channels=(16, 32, 32, 32),
        in_channels=3,
        out_channels=3,
        down_block_types=("DownEncoderBlock2D",) * 4,
        up_block_types=("UpDecoderBlock2D",) * 4,
        latent_channels=4,
        norm_num_groups=8,
    )
    text_encoder = CLIPTextModel(
        CLIPTextConfig(
            bos_token_id=0,
            eos_token_id=2,
            pad_token_id=1,
            hidden_size=256,
            intermediate_size=512,
            num_attention_heads=4,
            num_hidden_layers=2,
            vocab_size=128,
        )
    )
    scheduler = DDPMScheduler(
        beta_start=0.00085, beta_end=0.012, beta_schedule="scaled_linear", steps_offset=1, clip_sample=False
    )
    return StableDiffusionPipeline(
        unet=unet,
        vae=vae,
        text_encoder=text_encoder,
        tokenizer=_tokenizer(),
        scheduler=scheduler,
        safety_checker=None,
        feature_extractor=None,
        requires_safety_checker=False,
    )


def _examples(resolution: int) -> list:
    """Square images already at the training size, so neither side's preprocessing differs in what it does."""
    import numpy as np
    from PIL import Image

    from generation.training import Example

    y, x = np.mgrid[0:resolution, 0:resolution]
    examples = []
    for index, caption in enumerate(CAPTIONS):
        pixels = np.stack([(x * (index + 1)) % 256, (y * 3) % 256, ((x + y) * (index + 2)) % 256], axis=-1)
        examples.append(Example(image=Image.fromarray(pixels.astype(np.uint8)), caption=caption))
    return examples


def _clock() -> tuple[float, float]:
    """Wall and CPU seconds: the CPU time of a compute-bound step barely moves when other work shares the cores."""
    return time.perf_counter(), time.process_time()


def _since(earlier: tuple[float, float], later: tuple[float, float]) -> tuple[float, float]:
    return later[0] - earlier[0], later[1] - earlier[1]


def _ours(pipeline, examples: list, params: dict) -> list[tuple[float, float]]:
    """The worker's loop; each step's (wall, CPU) seconds from one on_step call to the next."""
    from generation import training

    marks = []

    def on_step(step: int, loss: float) -> bool:
        marks.append(_clock())
        return True

    # The loop reports at most every PROGRESS_EVERY_SECONDS; every step is needed to time each one.
    every = training.PROGRESS_EVERY_SECONDS
    training.PROGRESS_EVERY_SECONDS = 0.0
    try:
        training.lora_train(base=pipeline, examples=examples, params=params, device="cpu", on_step=on_step)
    finally:
        training.PROGRESS_EVERY_SECONDS = every
    return [_since(earlier, later) for earlier, later in zip(marks, marks[1:], strict=False)]


def _peer_setup(pipeline, examples: list, params: dict) -> dict:
    """The recipe's adapter, optimiser (its own AdamW settings), transformed images and tokenised captions."""
    import torch
    from diffusers import DDPMScheduler
    from peft import LoraConfig
    from torchvision import transforms

    torch.manual_seed(params["seed"])
    unet = copy.deepcopy(pipeline.unet).requires_grad_(False)
    pipeline.vae.requires_grad_(False)
    pipeline.text_encoder.requires_grad_(False)
    unet.add_adapter(
        LoraConfig(
            r=params["rank"],
            lora_alpha=params["alpha"],
            init_lora_weights="gaussian",
            target_modules=["to_k", "to_q", "to_v", "to_out.0"],
        )
    )
    optimizer = torch.optim.AdamW(
        [p for p in unet.parameters() if p.requires_grad],
        lr=params["learning_rate"],
        betas=(0.9, 0.999),
        weight_decay=1e-2,
        eps=1e-08,
    )
    resolution = params["resolution"]
    # The recipe's dataset transforms, applied once here as its DataLoader's workers would do off the clock.
    transform = transforms.Compose(
        [
            transforms.Resize(resolution, interpolation=transforms.InterpolationMode.BILINEAR),
            transforms.CenterCrop(resolution),
            transforms.ToTensor(),
            transforms.Normalize([0.5], [0.5]),
        ]
    )
    tokenizer = pipeline.tokenizer
    ids = tokenizer(
        [example.caption for example in examples],
        max_length=tokenizer.model_max_length,
        padding="max_length",
        truncation=True,
        return_tensors="pt",
    ).input_ids
    pixels = torch.stack([transform(example.image.convert("RGB")) for example in examples])
    noise_scheduler = DDPMScheduler.from_config(pipeline.scheduler.config)
    return {"unet": unet, "optimizer": optimizer, "pixels": pixels, "ids": ids, "noise_scheduler": noise_scheduler}


def _peer(pipeline, examples: list, params: dict) -> tuple[list, list]:
    """The recipe's loop; each step's (wall, CPU) seconds, and those of it spent encoding images and captions."""
    import torch
    import torch.nn.functional as functional

    setup = _peer_setup(pipeline, examples, params)
    unet, optimizer, noise_scheduler = setup["unet"], setup["optimizer"], setup["noise_scheduler"]
    vae, text_encoder = pipeline.vae, pipeline.text_encoder
    batch_size, order = params["batch_size"], []
    steps, encodes = [], []
    for _ in range(params["steps"]):
        started = _clock()
        if len(order) < batch_size:
            order = torch.randperm(len(examples)).tolist()
        batch, order = order[:batch_size], order[batch_size:]
        latents = vae.encode(setup["pixels"][batch]).latent_dist.sample() * vae.config.scaling_factor
        encoding = _since(started, _clock())
        noise = torch.randn_like(latents)
        timesteps = torch.randint(0, noise_scheduler.config.num_train_timesteps, (len(batch),)).long()
        noisy = noise_scheduler.add_noise(latents, noise, timesteps)
        texts = _clock()
        hidden = text_encoder(setup["ids"][batch], return_dict=False)[0]
        encoding = tuple(map(sum, zip(encoding, _since(texts, _clock()), strict=True)))
        predicted = unet(noisy, timesteps, hidden, return_dict=False)[0]
        loss = functional.mse_loss(predicted.float(), noise.float(), reduction="mean")
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()
        loss.item()
        steps.append(_since(started, _clock()))
        encodes.append(encoding)
    return steps, encodes


def _medians(timings: list) -> tuple[float, float]:
    return statistics.median(wall for wall, _ in timings), statistics.median(cpu for _, cpu in timings)


def _measure(args, pipeline, examples: list, params: dict) -> dict:
    """Each run's median (wall, CPU) seconds a step after its warm-up steps; runs alternate which side goes first.

    A side's figure is its fastest run: other work on the machine only ever adds time, and falls on either side.
    """
    from generation.environment import torch_threads_pinned

    runs = {"ours": [], "peer": [], "encoding": []}
    with torch_threads_pinned(threads=args.threads):
        for repeat in range(args.repeats):
            for side in ("ours", "peer") if repeat % 2 == 0 else ("peer", "ours"):
                if side == "ours":
                    # The first mark is after step 1, so step k's time is index k - 2.
                    runs["ours"].append(_medians(_ours(pipeline, examples, params)[args.warmup - 1 :]))
                else:
                    steps, encodes = _peer(pipeline, examples, params)
                    runs["peer"].append(_medians(steps[args.warmup :]))
                    runs["encoding"].append(_medians(encodes[args.warmup :]))
                wall, cpu = runs[side][-1]
                print(f"  run {repeat + 1} {side}: {wall:.3f} s/step ({cpu:.3f} CPU s)", flush=True)
    measured = {"runs": runs}
    for index, clock in enumerate(("wall", "cpu")):
        fastest = min(range(args.repeats), key=lambda run: runs["peer"][run][index])
        measured[clock] = {
            "ours": min(run[index] for run in runs["ours"]),
            "peer": runs["peer"][fastest][index],
            "encoding": runs["encoding"][fastest][index],
        }
    return measured


def main() -> None:
    import os

    import django

    # training.py reads the model classes; no database is touched.
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")
    django.setup()
    from django.conf import settings

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--resolution", type=int, default=128)
    parser.add_argument("--batch-size", type=int, default=2)
    parser.add_argument("--rank", type=int, default=16)
    parser.add_argument("--steps", type=int, default=10, help="timed steps of each run, after the warm-up steps")
    parser.add_argument("--warmup", type=int, default=2, help="steps of each run left out of its timing (>= 1)")
    parser.add_argument("--repeats", type=int, default=3, help="runs of each side, interleaved")
    parser.add_argument("--threads", type=int, default=settings.SEED_TORCH_THREADS)
    args = parser.parse_args()
    args.warmup = max(args.warmup, 1)
    _report(args, _run(args))


def _run(args) -> dict:
    from generation.operations.train_lora import prepare

    pipeline = _pipeline()
    params = prepare(
        params={
            "name": "bench",
            "rank": args.rank,
            "steps": args.warmup + args.steps,
            "seed": 0,
            "resolution": args.resolution,
            "batch_size": args.batch_size,
            "captions": list(CAPTIONS),
        },
        models={},
    )
    parameters = sum(p.numel() for p in pipeline.unet.parameters())
    print(
        f"LoRA training, SD-1.5-shaped UNet {parameters / 1e6:.1f}M parameters (random weights), "
        f"{args.resolution}², batch {args.batch_size}, rank {args.rank}, CPU {args.threads} thread(s); "
        f"{args.warmup} warm-up + {args.steps} timed steps a run, {args.repeats} runs a side",
        flush=True,
    )
    return _measure(args, pipeline, _examples(args.resolution), params)


def _report(args, measured: dict) -> None:
    ratios = {}
    for clock, unit in (("wall", "s"), ("cpu", "CPU s")):
        ours, peer, encoding = (measured[clock][key] for key in ("ours", "peer", "encoding"))
        ratios[clock] = (ours / (peer - encoding), ours / peer)
        print(
            f"  {clock}: ours (lora_train) {ours:.3f} {unit}/step; peer (diffusers recipe) {peer:.3f}, of which "
            f"{encoding:.3f} encoding images and captions, {peer - encoding:.3f} without: "
            f"ratio {ratios[clock][0]:.3f}x ({ratios[clock][1]:.3f}x the whole recipe)"
        )
    ratio = ratios["wall"][0]
    wall = measured["wall"]
    print(
        f"RESULT lora_train / recipe less encoding = {ratio:.3f}x wall, {ratios['cpu'][0]:.3f}x CPU (target <= 1.1x); "
        f"/ whole recipe = {ratios['wall'][1]:.3f}x wall"
    )
    result_print(
        name="lora training",
        ratio=ratio,
        meaning="lora_train / diffusers LoRA recipe s/step, the recipe's per-step VAE and text encoding left out",
        target="<= 1.1x",
        met=ratio <= 1.1,
        details=f"CPU {args.threads} thread(s), {args.resolution}² batch {args.batch_size} rank {args.rank}; "
        f"ours {wall['ours']:.3f}, recipe {wall['peer']:.3f} (encoding {wall['encoding']:.3f}) s/step; "
        f"CPU-time ratio {ratios['cpu'][0]:.2f}x; vs whole recipe {ratios['wall'][1]:.2f}x",
    )


if __name__ == "__main__":
    main()
