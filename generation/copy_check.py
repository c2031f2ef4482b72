"""Text legibility: the brief's required copy read back from the image by OCR (RapidOCR: PP-OCR models that ship in
its wheel, on onnxruntime; nothing is downloaded). Imported by the worker's checks only: the web process never loads
onnxruntime."""

from __future__ import annotations

import difflib
import logging
import re
import threading
import unicodedata
from dataclasses import dataclass

from PIL import Image

from assets.machine_checks import Finding, version_pixels
from assets.models import VersionCheck

Verdict = VersionCheck.Verdict

# Lines read with less confidence than this are not readings at all (a texture taken for a letter).
MIN_SCORE = 0.5
# A required string spans at most this many lines once wrapped (the text overlay wraps to the safe area).
MAX_LINES = 4
_engine = None
_engine_lock = threading.Lock()


@dataclass(frozen=True)
class Reading:
    text: str
    score: float
    box: tuple[float, float, float, float]  # x, y, w, h as shares of the image


def ocr_engine():
    """One engine per process, made on first use: loading its three models takes a second. One thread per session,
    so the same image reads the same way on every machine."""
    global _engine
    with _engine_lock:
        if _engine is None:
            from rapidocr import RapidOCR

            _engine = RapidOCR(
                params={
                    "Global.log_level": "error",
                    "EngineConfig.onnxruntime.intra_op_num_threads": 1,
                    "EngineConfig.onnxruntime.inter_op_num_threads": 1,
                }
            )
            # RapidOCR logs every call at INFO on a logger of its own; the worker's log is for our work.
            logging.getLogger("RapidOCR").setLevel(logging.ERROR)
        return _engine


def ocr_read(image: Image.Image) -> list[Reading]:
    """The lines of text in the image, top to bottom then left to right."""
    rgba = image.convert("RGBA")
    # A cut-out's transparent pixels read as mid grey, so neither white nor black copy vanishes against them.
    flat = Image.alpha_composite(Image.new("RGBA", rgba.size, (128, 128, 128, 255)), rgba).convert("RGB")
    engine = ocr_engine()
    with _engine_lock:
        result = engine(flat)
    if result.boxes is None or result.txts is None:
        return []
    readings = []
    for text, score, box in zip(result.txts, result.scores, result.boxes, strict=True):
        if score < MIN_SCORE:
            continue
        xs, ys = [float(point[0]) for point in box], [float(point[1]) for point in box]
        left, top = max(0.0, min(xs)), max(0.0, min(ys))
        readings.append(
            Reading(
                text=text,
                score=float(score),
                box=(
                    round(left / flat.width, 4),
                    round(top / flat.height, 4),
                    round((min(flat.width, max(xs)) - left) / flat.width, 4),
                    round((min(flat.height, max(ys)) - top) / flat.height, 4),
                ),
            )
        )
    return sorted(readings, key=lambda reading: (round(reading.box[1], 2), reading.box[0]))


def copy_normalised(text: str) -> str:
    """Case, spacing and typographic variants aside: what a reader would call the same words. Spaces go altogether:
    OCR reads "SALE 50%" set in a tight font as "SALE50%", and wrapped copy comes back as separate lines."""
    text = unicodedata.normalize("NFKC", text).casefold()
    text = text.translate(str.maketrans({"’": "'", "‘": "'", "“": '"', "”": '"', "–": "-", "—": "-"}))
    return re.sub(r"\s+", "", text)


def _similarity(wanted: str, read: str) -> float:
    """1.0 when the wanted copy appears in the reading as it is; otherwise how much of it the closest stretch of the
    reading holds (twice the matched characters over the copy's length plus the stretch's), so a misspelling scores
    below 1 wherever it sits in a longer line. One alignment per reading: a page of text costs milliseconds."""
    if wanted in read:
        return 1.0
    matcher = difflib.SequenceMatcher(None, read, wanted, autojunk=False)
    blocks = [block for block in matcher.get_matching_blocks() if block.size]
    if not blocks:
        return 0.0
    matched = sum(block.size for block in blocks)
    stretch = blocks[-1].a + blocks[-1].size - blocks[0].a
    return 2.0 * matched / (len(wanted) + stretch)


def copy_find(wanted: str, readings: list[Reading]) -> dict:
    """The best reading of `wanted`: a line, or consecutive lines joined (copy wrapped over several lines)."""
    target = copy_normalised(wanted)
    best = {"read": "", "similarity": 0.0, "confidence": 0.0, "box": None}
    for start in range(len(readings)):
        for end in range(start + 1, min(len(readings), start + MAX_LINES) + 1):
            lines = readings[start:end]
            read = " ".join(reading.text for reading in lines)
            similarity = round(_similarity(target, copy_normalised(read)), 4)
            if similarity > best["similarity"]:
                best = {
                    "read": read,
                    "similarity": similarity,
                    "confidence": round(min(reading.score for reading in lines), 4),
                    "box": _union([reading.box for reading in lines]),
                }
    return best


def _union(boxes) -> list[float]:
    left, top = min(box[0] for box in boxes), min(box[1] for box in boxes)
    right, bottom = max(box[0] + box[2] for box in boxes), max(box[1] + box[3] for box in boxes)
    return [round(left, 4), round(top, 4), round(right - left, 4), round(bottom - top, 4)]


def copy_check(version) -> list[Finding]:
    """The brief's required copy, read back by OCR"""
    wanted = [text for text in version.brief.required_copy if text.strip()]
    if not wanted:
        return []
    readings = ocr_read(version_pixels(version))
    findings = []
    for text in wanted:
        found = copy_find(text, readings)
        legible = found["similarity"] == 1.0
        if legible:
            detail = f"reads “{found['read']}”"
        elif found["read"]:
            detail = f"not as written: the closest reading is “{found['read']}” ({found['similarity']:.0%} alike)"
        else:
            detail = "no legible text found"
        findings.append(
            Finding(
                key=f"copy:{text}",
                kind="copy",
                label=f"Copy legible: “{text}”",
                verdict=Verdict.PASS if legible else Verdict.FAIL,
                detail=detail,
                measure=found,
            )
        )
    return findings
