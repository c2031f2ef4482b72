"""Pages for studio staff about one version as delivery will make it: its soft proof through a print preset's profile,
and its slots at the sizes the presets deliver, with the print at physical size. A client user sees none of them."""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib import admin
from django.contrib.auth.decorators import login_required
from django.core.files.storage import storages
from django.http import FileResponse, Http404, HttpResponseBadRequest
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.http import urlencode
from django.views.decorators.http import require_GET

from assets.access import versions_visible_to, viewer_of
from assets.errors import ApplicationError
from assets.models import Version
from delivery import proofing
from delivery.models import ChannelPreset
from delivery.selectors import proof_presets, slots_plan
from delivery.services.proofs import ProofFiles, proof_ensure, slot_ensure

# The pixels of a name never change; the page's addresses carry everything they depend on.
_CACHE = "private, max-age=86400"


@dataclass(frozen=True)
class ProofChoice:
    preset: ChannelPreset
    intent: str
    black_point: bool
    paper_white: bool

    def query(self, **extra) -> str:
        values = {"preset": self.preset.slug, "intent": self.intent, "bpc": int(self.black_point)}
        return urlencode({**values, "paper": int(self.paper_white), **extra})


def _version(request, version_id: int) -> Version:
    """A version the signed-in studio member may see; anyone else is told there is no such page."""
    if not viewer_of(user=request.user).studio:
        raise Http404("no such version")
    return get_object_or_404(versions_visible_to(user=request.user).select_related("blob", "brief"), pk=version_id)


def _proof_choice(query, presets: list[ChannelPreset]) -> ProofChoice:
    """The preset (the first when none is named), intent (the preset's own by default) and options asked for."""
    slug = query.get("preset") or presets[0].slug
    preset = next((preset for preset in presets if preset.slug == slug), None)
    if preset is None:
        raise Http404("no such print preset")
    intent = query.get("intent") or preset.rendering_intent
    if intent not in proofing.INTENTS:
        raise ApplicationError(f"intent must be one of {', '.join(proofing.INTENTS)}, not {intent!r}")
    flags = {}
    for name, default in (("bpc", True), ("paper", False)):
        value = query.get(name, str(int(default)))
        if value not in ("0", "1"):
            raise ApplicationError(f"{name} is 0 or 1, not {value!r}")
        flags[name] = value == "1"
    return ProofChoice(preset=preset, intent=intent, black_point=flags["bpc"], paper_white=flags["paper"])


def _proof_made(request, version: Version, presets: list[ChannelPreset]) -> tuple[ProofChoice, ProofFiles]:
    """The proof the query asks for, made on first asking; ApplicationError on a bad intent or option."""
    choice = _proof_choice(request.GET, presets)
    files = proof_ensure(
        version=version,
        preset=choice.preset,
        intent=choice.intent,
        black_point=choice.black_point,
        paper_white=choice.paper_white,
    )
    return choice, files


def _title(page: str, version: Version) -> str:
    return f"{page} of v{version.pk}" + (f" · {version.label}" if version.label else "")


def _png(name: str) -> FileResponse:
    response = FileResponse(storages["derived"].open(name, "rb"), content_type="image/png")
    response["Cache-Control"] = _CACHE
    return response


@require_GET
@login_required
def proof_page(request, version_id: int):
    version = _version(request, version_id)
    presets = proof_presets()
    context = {
        **admin.site.each_context(request),
        "version": version,
        "presets": presets,
        "title": _title("Soft proof", version),
    }
    if presets:
        try:
            choice, files = _proof_made(request, version, presets)
        except ApplicationError as exc:
            return HttpResponseBadRequest(exc.message)
        base = reverse("version-proof-image", args=[version.pk])
        context |= {
            "choice": choice,
            "intents": ChannelPreset.Intent.choices,
            "percent": files.out_of_gamut_percent,
            "threshold": proofing.GAMUT_DELTA_E,
            "screen_url": reverse("blob-image", args=[version.blob_id]),
            "proof_url": f"{base}?{choice.query(layer='proof')}",
            "gamut_url": f"{base}?{choice.query(layer='gamut')}",
        }
    return TemplateResponse(request, "delivery/proof.html", context)


@require_GET
@login_required
def proof_image(request, version_id: int):
    version = _version(request, version_id)
    presets = proof_presets()
    if not presets:
        raise Http404("no print preset to proof with")
    layer = request.GET.get("layer", "proof")
    if layer not in ("proof", "gamut"):
        return HttpResponseBadRequest("layer is proof or gamut")
    try:
        _, files = _proof_made(request, version, presets)
    except ApplicationError as exc:
        return HttpResponseBadRequest(exc.message)
    return _png(files.gamut if layer == "gamut" else files.proof)


@require_GET
@login_required
def slots_page(request, version_id: int):
    version = _version(request, version_id)
    slots = [
        {
            "slot": slot,
            "url": reverse("version-slot-image", args=[version.pk, slot.preset.slug]),
            "print_height_mm": (
                slot.preset.print_width_mm * slot.preset.height / slot.preset.width
                if slot.preset.print_width_mm
                else None
            ),
        }
        for slot in slots_plan(version=version)
    ]
    context = {
        **admin.site.each_context(request),
        "version": version,
        "slots": slots,
        "title": _title("Slots", version),
    }
    # Prints are seen at their size in millimetres, screens at one file pixel per device pixel.
    context["prints"] = [entry for entry in slots if entry["slot"].ppi is not None]
    context["screens"] = [entry for entry in slots if entry["slot"].ppi is None]
    return TemplateResponse(request, "delivery/slots.html", context)


@require_GET
@login_required
def slot_image(request, version_id: int, slug: str):
    version = _version(request, version_id)
    preset = get_object_or_404(ChannelPreset, slug=slug, active=True, kind=ChannelPreset.Kind.IMAGE)
    return _png(slot_ensure(version=version, preset=preset))


def proof_url(version: Version) -> str:
    return reverse("version-proof", args=[version.pk])


def slots_url(version: Version) -> str:
    return reverse("version-slots", args=[version.pk])
