"""Reads of delivery: what a file on someone's desk is (verify), deliveries a user may see, and what an input went into
down to the deliveries (impact)."""

from __future__ import annotations

import hashlib
import io
from collections import Counter
from dataclasses import asdict, dataclass, field, replace

from django.db.models import Count, QuerySet
from django.urls import reverse

from assets.access import versions_visible_to, visible
from assets.c2pa_reading import APPROVAL_LABEL, TRUST_ONLY_CODES
from assets.errors import ApplicationError
from assets.images import ACCEPTED_MODES, extension_check, image_inspect
from assets.models import Credential, Version
from assets.rights import versions_inheriting
from assets.services.blobs import blob_staged
from delivery import provenance, renditions
from delivery.file_matching import lineage_match
from delivery.keys import trust_anchors_problem
from delivery.marks import file_marks
from delivery.models import ChannelPreset, Delivery, DeliveryItem, FocalPoint
from review.selectors import (
    approval_attestation,
    approval_statement,
    version_final_approval,
)

# What Seed delivers, print files (TIFF, CMYK) included: a copy of any of them can be checked.
VERIFY_FORMATS = ("JPEG", "PNG", "WEBP", "AVIF", "TIFF")
VERIFY_MODES = (*ACCEPTED_MODES, "CMYK")


@dataclass
class Verification:
    manifest: str  # trusted | valid_untrusted | unverifiable | invalid | absent
    match: str  # exact | soft_binding | perceptual | none
    distance: int | None
    version_id: int | None
    delivery_id: int | None
    sha256: str
    media_type: str
    preset: str | None = None
    file_name: str | None = None
    # The AI marks it carries: C2PA manifest (its state), soft binding, IPTC AI fields, the visible label recorded.
    marks: dict = field(default_factory=dict)
    manifest_codes: list[str] = field(default_factory=list)
    claimed: dict | None = None  # what a manifest that is not trusted says about itself
    approval: dict | None = None  # the sign-off the file carries (com.seed.approval) or its delivery's, and `pixels`
    approval_statement: str | None = None
    repository_manifest: str | None = None  # the manifest Seed keeps for the file found (Soft Binding Resolution API)
    lineage_page: str | None = None
    alike: list[int] = field(default_factory=list)  # versions of files delivered alike: same crop at another size
    # Each ingredient of the manifest: {title, relationship, manifest (its own manifest's label), state, codes}.
    ingredients: list[dict] = field(default_factory=list)
    # Said in words for each ingredient whose own manifest fails, which the SDK's verdict on this file leaves out.
    ingredient_statements: list[str] = field(init=False)

    def __post_init__(self):
        self.ingredient_statements = [
            f"ingredient '{ingredient['title'] or 'untitled'}' does not validate: "
            + ", ".join(code for code in ingredient["codes"] if code not in TRUST_ONLY_CODES)
            for ingredient in self.ingredients
            if ingredient["state"] == "invalid"
        ]

    def as_dict(self) -> dict:
        return asdict(self)


def deliveries_visible_to(*, user) -> QuerySet[Delivery]:
    return visible(Delivery.objects.select_related("version", "approval"), user=user)


def _manifest_report(*, data: bytes, media_type: str) -> provenance.ManifestReport:
    """The manifest's verdict; with unusable trust anchors, trust cannot be decided and the answer says so.

    Integrity is still checked: a tampered file is invalid whatever the anchors, an intact one is
    `unverifiable` with the setting to fix, never `invalid`.
    """
    problem = trust_anchors_problem()
    if problem is None:
        return provenance.manifest_read_isolated(data=data, media_type=media_type)
    report = provenance.manifest_read_isolated(data=data, media_type=media_type, trust=False)
    if report.state != "valid_untrusted":
        return report
    return replace(
        report,
        state="unverifiable",
        codes=[f"SEED_C2PA_TRUST_ANCHORS: {problem}; trust cannot be decided until it names readable PEM certificates"],
    )


def file_verify(*, data: bytes, user=None, name: str | None = None) -> Verification:
    """Check a file's C2PA manifest and find it in the lineage: by its bytes, else by how it looks.

    With `user`, only versions that user may see can be matched (a client learns nothing of others).
    """
    if not data:
        raise ApplicationError("the file is empty", extra={"code": "empty"})
    with blob_staged(source=io.BytesIO(data)) as staged:
        info = image_inspect(path=staged.path, formats=VERIFY_FORMATS, modes=VERIFY_MODES)
    extension_check(name=name, image_format=info.format)
    report = _manifest_report(data=data, media_type=info.media_type)
    sha256 = hashlib.sha256(data).hexdigest()
    versions = Version.objects.all() if user is None else versions_visible_to(user=user)
    credentials = Credential.objects.all() if user is None else visible(Credential.objects.all(), user=user)
    found = lineage_match(data=data, sha256=sha256, versions=versions, credentials=credentials)
    match, distance, version_id = found.match, found.distance, found.version_id
    item = (
        DeliveryItem.objects.filter(version_id=version_id)
        .select_related("preset", "delivery__approval__review_round")
        .first()
        if version_id
        else None
    )
    lineage = report.lineage or {}
    trusted = report.state == "trusted"
    delivery_id = item.delivery_id if item else None
    if version_id is None and trusted and versions.filter(pk=lineage.get("version_id")).exists():
        # A trusted manifest of a file we never stored (signed elsewhere from our master): believe what it says.
        version_id, delivery_id = lineage.get("version_id"), lineage.get("delivery_id")
    approval = _approval_found(report=report, item=item, version_id=version_id, match=match)
    return Verification(
        approval=approval,
        approval_statement=_approval_sentence(approval),
        manifest=report.state,
        match=match,
        distance=distance,
        version_id=version_id,
        delivery_id=delivery_id,
        sha256=sha256,
        media_type=info.media_type,
        preset=item.preset.slug if item else None,
        file_name=item.file_name if item else None,
        marks=file_marks(
            data=data,
            manifest=report.state,
            assertions=(report.manifest or {}).get("assertions", []),
            qc=item.qc if item else None,
        ),
        manifest_codes=report.codes,
        repository_manifest=found.manifest_id,
        lineage_page=reverse("admin:assets_version_change", args=[version_id]) if version_id else None,
        alike=list(found.alike),
        ingredients=report.ingredients,
        claimed={"version_id": lineage.get("version_id"), "delivery_id": lineage.get("delivery_id")}
        if lineage and not trusted
        else None,
    )


def _approval_found(
    *, report: provenance.ManifestReport, item: DeliveryItem | None, version_id: int | None, match: str
) -> dict | None:
    """Whose sign-off the file carries, and whether its pixels are still the ones delivered from the approved master.

    Our records speak for a file we can place (a delivered variant, or an approved master itself); a trusted
    manifest speaks for a file signed from our master that we never stored. Pixels are `exact` only for the very
    bytes we delivered (or a trusted manifest's intact hard binding); anything else that looks like them is `changed`.
    """
    recorded = item.delivery.approval if item is not None else None
    if recorded is None and version_id is not None:
        recorded = version_final_approval(version=Version.objects.get(pk=version_id))
    if recorded is not None:
        attestation = approval_attestation(approval=recorded)
    elif report.state == "trusted" and report.manifest:
        attestation = next(
            (a.get("data") for a in report.manifest.get("assertions", []) if a.get("label") == APPROVAL_LABEL),
            None,
        )
        attestation = attestation if isinstance(attestation, dict) else None
    else:
        attestation = None
    if attestation is None:
        return None
    intact = match == "exact" or (report.state == "trusted" and recorded is None)
    return {**attestation, "pixels": "exact" if intact else "changed"}


def _approval_sentence(approval: dict | None) -> str | None:
    if approval is None:
        return None
    if approval["pixels"] == "exact":
        return f"{approval_statement(approval)} for these exact pixels"
    return (
        f"{approval_statement(approval)}, but this file's pixels no longer match what was delivered from the approved "
        f"master (sha256 {approval['master_sha256'][:12]}…)"
    )


def deliveries_inheriting(*, licences: list[int]) -> QuerySet[Delivery]:
    """Delivered masters made with anything under `licences`, however far up: one query."""
    return Delivery.objects.filter(
        state=Delivery.State.SUCCEEDED, version__in=versions_inheriting(licences=licences).order_by().values("pk")
    )


def deliveries_of_versions(*, versions: QuerySet[Version]) -> list[dict]:
    """Deliveries whose master is one of `versions`, newest first, in one query."""
    rows = (
        Delivery.objects.filter(version__in=versions.order_by().values("pk"))
        .select_related("version__brief__campaign")
        .annotate(files=Count("items"))
        .order_by("-id")
    )
    return [
        {
            "id": d.pk,
            "version": d.version_id,
            "brief": d.version.brief_id,
            "client": d.version.brief.campaign.client_id,
            "state": d.state,
            "files": d.files,
            "created_at": d.created_at.isoformat(),
        }
        for d in rows
    ]


IMPACT_LIST_LIMIT = 1000


def impact_summary(*, versions: QuerySet[Version]) -> dict:
    """What an input went into ("which deliveries inherit this LoRA?"): counts per client and brief, the versions
    (the newest IMPACT_LIST_LIMIT of them) and every delivery of any of them. Four queries, whatever the numbers."""
    by_brief = list(
        versions.order_by()
        .values("brief_id", "brief__title", "brief__campaign__client_id", "brief__campaign__client__name")
        .annotate(versions=Count("id"))
    )
    deliveries = deliveries_of_versions(versions=versions)
    delivered = Counter(delivery["brief"] for delivery in deliveries)
    briefs = [
        {
            "brief": row["brief_id"],
            "title": row["brief__title"],
            "client": row["brief__campaign__client_id"],
            "client_name": row["brief__campaign__client__name"],
            "versions": row["versions"],
            "deliveries": delivered[row["brief_id"]],
        }
        for row in sorted(by_brief, key=lambda row: -row["versions"])
    ]
    clients: dict[int, dict] = {}
    for row in briefs:
        client = clients.setdefault(
            row["client"],
            {"client": row["client"], "name": row["client_name"], "briefs": 0, "versions": 0, "deliveries": 0},
        )
        client["briefs"] += 1
        client["versions"] += row["versions"]
        client["deliveries"] += row["deliveries"]
    listed = list(versions.select_related("generated_by__derivation").order_by("-id")[:IMPACT_LIST_LIMIT])
    return {
        "versions_total": sum(row["versions"] for row in briefs),
        "deliveries_total": len(deliveries),
        "clients": sorted(clients.values(), key=lambda client: -client["versions"]),
        "briefs": briefs,
        "versions": [
            {
                "id": v.pk,
                "brief": v.brief_id,
                "label": v.label,
                "sha256": v.blob_id,
                "status": v.status,
                "op": v.generated_by.derivation.op,
            }
            for v in listed
        ],
        "deliveries": deliveries,
    }


def version_focal(*, version: Version) -> tuple[float, float]:
    """Where crops of the version centre: its focal point, or the middle when none was set."""
    point = FocalPoint.objects.filter(version_id=version.pk).first()
    return (point.x, point.y) if point is not None else (0.5, 0.5)


def proof_presets() -> list[ChannelPreset]:
    """The active presets a soft proof can show: CMYK through a print profile."""
    return list(
        ChannelPreset.objects.filter(
            active=True, colour_profile=ChannelPreset.Profile.CMYK, print_profile__isnull=False
        ).select_related("print_profile")
    )


@dataclass(frozen=True)
class Slot:
    """A preset as it would deliver a version: the crop of the master, how far it is stretched, what that holds."""

    preset: ChannelPreset
    crop: tuple[int, int, int, int]
    enlargement: float
    ppi: float | None  # real pixels per inch at the print width, for a printed preset

    @property
    def source_per_output(self) -> float:
        """The master's pixels behind each delivered pixel, across: below 1, the slot is upscaled."""
        return 1.0 / self.enlargement

    @property
    def upscaled(self) -> bool:
        return self.enlargement > 1.0 + 1e-6


def slots_plan(*, version: Version) -> list[Slot]:
    """Every active image preset's slot for the version, measured from its size and focal point (no pixels read).
    Presentation slates are left out: they are the studio's decks, not a place the picture is used."""
    focal = version_focal(version=version)
    slots = []
    for preset in ChannelPreset.objects.filter(active=True, kind=ChannelPreset.Kind.IMAGE):
        size = (preset.width, preset.height)
        box = renditions.focal_crop_box(size=(version.width, version.height), aspect=size, focal=focal)
        enlargement = renditions.crop_enlargement(box=box, size=size)
        ppi = renditions.print_ppi(preset=preset, enlargement=enlargement)
        slots.append(Slot(preset=preset, crop=box, enlargement=enlargement, ppi=ppi))
    return slots
