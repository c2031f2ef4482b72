"""Text overlay: a line of copy inside the safe area (a margin kept clear of platform UI), wrapped, and shrunk until
it fits."""

from PIL import Image, ImageDraw

from assets.colour import hex_rgb
from assets.operations import HEX_COLOUR, OperationSpec, Param, SideFile, operation_register
from generation.finishing import blob_bytes
from generation.finishing_ops import font_load, wrap_text


def text_overlay(
    image: Image.Image,
    *,
    text: str,
    font_data: bytes | None,
    size: int,
    colour: str,
    position: str,
    safe_area: float = 0.1,
) -> Image.Image:
    result = image.convert("RGB")
    draw = ImageDraw.Draw(result)
    margin_x, margin_y = round(result.width * safe_area), round(result.height * safe_area)
    box_w, box_h = result.width - 2 * margin_x, result.height - 2 * margin_y
    while True:
        font = font_load(font_data, size)
        wrapped = wrap_text(draw, text, font, box_w)
        left, top, right, bottom = draw.multiline_textbbox((0, 0), wrapped, font=font, align="center")
        if (right - left <= box_w and bottom - top <= box_h) or size <= 4:
            break
        size = max(4, int(size * 0.9))
    text_w, text_h = right - left, bottom - top
    x = margin_x + (box_w - text_w) / 2 - left
    y = {"top": margin_y, "center": margin_y + (box_h - text_h) / 2, "bottom": margin_y + box_h - text_h}[
        position
    ] - top
    draw.multiline_text((x, y), wrapped, font=font, fill=hex_rgb(colour), align="center")
    return result


def prepare(*, version, params, models):
    return {"position": "bottom", "colour": "#FFFFFF", "size": max(12, version.height // 12), **params}


def render(source, *, params, inputs, image_of):
    return text_overlay(
        source,
        text=params["text"],
        font_data=blob_bytes(inputs["font"][0]) if inputs.get("font") else None,
        size=params["size"],
        colour=params["colour"],
        position=params["position"],
        safe_area=params.get("safe_area", 0.1),
    )


operation_register(
    OperationSpec(
        name="text_overlay",
        label="Text overlay",
        phase="finishing",
        params=(
            Param("text", str, key=True),
            Param("font_sha256", str, required=False),
            Param("size", int, minimum=4, maximum=2000),
            Param("colour", str, pattern=HEX_COLOUR),
            Param("position", str, choices=("top", "center", "bottom")),
            Param("safe_area", float, required=False, minimum=0.0, maximum=0.4),
        ),
        roles=frozenset({"parent", "font"}),
        c2pa_action="c2pa.edited",
        digital_source_type=None,
        rerun="image",
        queue="cpu",
        starts=frozenset({"api", "admin", "cli"}),
        files=(
            SideFile(
                role="font",
                media_type="font/ttf",
                check=lambda data: font_load(data, 12),
                param="font_sha256",
                required=False,
            ),
        ),
        prepare=prepare,
        render=render,
    )
)
