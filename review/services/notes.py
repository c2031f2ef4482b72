"""Comment threads with markup: add a note or a reply, mention people, resolve and reopen.

A note belongs to a version in a round and remembers the sha256 it was drawn on. Unresolved notes travel
forward: a descendant of the version, in a later round, shows them as still open (review.selectors).
"""

from __future__ import annotations

import io
import json
import re

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from assets.access import client_facing, is_client_user
from assets.errors import ApplicationError
from assets.models import Version
from assets.notification_kinds import NotificationKind
from assets.services.audit import audit_event_append
from generation.services.regions import region_inpaint
from review.markup import markup_bounds, markup_clean
from review.models import Note, ReviewRound, ShareLink
from review.selectors import rounds_visible_to
from review.services.notifications import Message, admin_round_link, notify_user

MAX_TEXT = 5000
MENTION = re.compile(r"(?<![\w@])@([\w.+-]{1,150})")


def _can_take_part(review_round: ReviewRound, user) -> bool:
    return (
        user is not None and user.is_authenticated and rounds_visible_to(user=user).filter(pk=review_round.pk).exists()
    )


def note_add(
    *,
    review_round: ReviewRound,
    version: Version,
    text: str,
    markup=(),
    internal: bool = False,
    author=None,
    share_link: ShareLink | None = None,
    guest_name: str = "",
    parent: Note | None = None,
) -> Note:
    """A new thread (with its markup) or a reply to one; mentioned people and the thread's participants are told."""
    text = _text_clean(text)
    shapes = markup_clean(list(markup) if markup else [])
    root = None
    if parent is not None:
        root = parent if parent.parent_id is None else parent.parent
        review_round, version, internal = root.review_round, root.version, root.internal
    _note_allowed_check(
        review_round=review_round,
        version=version,
        internal=internal,
        author=author,
        share_link=share_link,
        reply=root is not None,
    )
    with transaction.atomic():
        note = Note.objects.create(
            review_round=review_round,
            version=version,
            parent=root,
            text=text,
            markup=shapes,
            sha256=version.blob_id,
            internal=internal,
            author=author if share_link is None else None,
            share_link=share_link,
            guest_name=guest_name.strip()[:120],
        )
        mentioned = _mentioned(note)
        note.mentions.set(mentioned)
        _note_added_audit(note=note, root=root, shapes=shapes, mentioned=mentioned)
        _tell(note=note, root=root, mentioned=mentioned)
    return note


def _text_clean(text: str) -> str:
    text = (text or "").strip()
    if not text:
        raise ApplicationError("a note needs some text")
    if len(text) > MAX_TEXT:
        raise ApplicationError(f"a note holds at most {MAX_TEXT} characters, not {len(text)}")
    return text


def _note_allowed_check(
    *, review_round: ReviewRound, version: Version, internal: bool, author, share_link: ShareLink | None, reply: bool
) -> None:
    """Whether the author may write here: a guest only in their link's round and never internally, a user in a round
    they can see; a new thread only while the round is open, and only on one of its versions."""
    if share_link is not None:
        if share_link.review_round_id != review_round.pk:
            raise ApplicationError("this link does not belong to this round")
        if internal:
            raise ApplicationError("guests cannot write internal notes")
    elif not _can_take_part(review_round, author):
        raise ApplicationError("you cannot see this round", extra={"code": "permission"})
    elif internal and is_client_user(user=author):
        raise ApplicationError("client users cannot write internal notes")
    if not reply and review_round.status != ReviewRound.Status.OPEN:
        raise ApplicationError(f"round {review_round.number} is closed: start new threads in the next round")
    if not review_round.items.filter(version=version).exists():
        raise ApplicationError(f"version {version.pk} is not part of round {review_round.number}")


def _note_added_audit(*, note: Note, root: Note | None, shapes: list, mentioned: list) -> None:
    audit_event_append(
        kind="note.added",
        actor=note.author,
        share_link_id=note.share_link_id,
        object_type="note",
        object_id=note.pk,
        payload={
            "round": note.review_round_id,
            "version": note.version_id,
            "reply_to": root.pk if root else None,
            "shapes": len(shapes),
            "internal": note.internal,
            "mentions": [u.pk for u in mentioned],
        },
    )


def _mentioned(note: Note) -> list:
    names = set(MENTION.findall(note.text))
    if not names:
        return []
    users = get_user_model().objects.filter(username__in=names, is_active=True)
    return [
        user
        for user in users
        if _can_take_part(note.review_round, user)
        and not (note.internal and is_client_user(user=user))
        and user.pk != note.author_id
    ]


def _tell(*, note: Note, root: Note | None, mentioned: list) -> None:
    review_round = note.review_round
    where = f"v{note.version_id}, {review_round.brief.title} round {review_round.number}"
    for user in mentioned:
        notify_user(
            user=user,
            key=f"mention:{note.pk}:user{user.pk}",
            link=admin_round_link(review_round),
            message=Message(
                kind=NotificationKind.MENTION,
                review_round=review_round,
                images=[note.sha256],
                subject=NotificationKind.MENTION.notice.subject_render(author=note.author_name, where=where),
                lines=[f"“{note.text[:500]}”"],
            ),
        )
    if root is None:
        return
    participants = {root.author_id, *root.replies.exclude(pk=note.pk).values_list("author_id", flat=True)}
    told = {user.pk for user in mentioned} | {note.author_id}
    for user in get_user_model().objects.filter(pk__in=[pk for pk in participants if pk and pk not in told]):
        if note.internal and is_client_user(user=user):
            continue
        notify_user(
            user=user,
            key=f"reply:{note.pk}:user{user.pk}",
            link=admin_round_link(review_round),
            message=Message(
                kind=NotificationKind.REPLY,
                review_round=review_round,
                subject=NotificationKind.REPLY.notice.subject_render(author=note.author_name, where=where),
                lines=[f"“{note.text[:500]}”", f"In reply to: “{root.text[:200]}”"],
            ),
        )


def note_resolve(*, note: Note, user, resolved: bool = True) -> Note:
    """Resolve a thread (its root), or reopen it; guests do neither."""
    root = note if note.parent_id is None else note.parent
    if not _can_take_part(root.review_round, user):
        raise ApplicationError("you cannot see this round", extra={"code": "permission"})
    if root.internal and is_client_user(user=user):
        raise ApplicationError("client users cannot change internal notes", extra={"code": "permission"})
    with transaction.atomic():
        if resolved:
            changed = Note.objects.filter(pk=root.pk, resolved_at__isnull=True).update(
                resolved_at=timezone.now(), resolved_by=user
            )
        else:
            changed = Note.objects.filter(pk=root.pk, resolved_at__isnull=False).update(
                resolved_at=None, resolved_by=None
            )
        if not changed:
            raise ApplicationError(f"note {root.pk} is already {'resolved' if resolved else 'open'}")
        audit_event_append(
            kind="note.resolved" if resolved else "note.reopened",
            actor=user,
            object_type="note",
            object_id=root.pk,
            payload={"round": root.review_round_id, "version": root.version_id},
        )
    root.refresh_from_db()
    return root


def note_fix(*, note: Note, user, prompt_text: str = "", feather: int | None = None) -> Note:
    """ "Fix this region": inpaint the area the note's markup encloses (feathered), the version as init image and its
    own model and LoRAs. The job's derivation records the note as used (role change_request); once one of its outputs
    is kept, the next round takes it in.

    The prompt is `prompt_text` when given, else the note's text if the client reads the note (not internal, in a
    client round). A studio-internal note's words stay on the note, named by id in the change request, and the job
    repaints with the version's own recorded prompt: a prompt reaches the client in the delivered file's metadata."""
    root = note if note.parent_id is None else note.parent
    if is_client_user(user=user) or not user.has_perm("generation.add_generationjob"):
        raise ApplicationError(
            "only studio staff who may start generation jobs fix regions", extra={"code": "permission"}
        )
    if not _can_take_part(root.review_round, user):
        raise ApplicationError("you cannot see this round", extra={"code": "permission"})
    if root.resolved_at is not None:
        raise ApplicationError(f"note {root.pk} is resolved; reopen it to fix its region")
    version = root.version
    if version.blob_id != root.sha256:
        raise ApplicationError(f"version {version.pk}'s bytes changed since the note was drawn on them")
    mask = region_mask(shapes=root.markup, size=(version.width, version.height), feather=feather)
    client_reads = client_facing(Note.objects.filter(pk=root.pk)).exists()
    request = {
        "note": root.pk,
        "round": root.review_round_id,
        "version": version.pk,
        "sha256": root.sha256,
        "markup": root.markup,
    }
    if client_reads:
        request.update(author=root.author_name, text=root.text)
    prompt_text = (prompt_text or (root.text if client_reads else "")).strip()[:2000]
    with transaction.atomic():
        derivations = region_inpaint(
            version=version,
            mask_png=mask,
            prompt_text=prompt_text,
            change_request=json.dumps(request, sort_keys=True).encode(),
            created_by=user,
        )
        Note.objects.filter(pk=root.pk).update(fixed_by=derivations[0])
        audit_event_append(
            kind="note.fix_requested",
            actor=user,
            object_type="note",
            object_id=root.pk,
            payload={"derivations": [d.pk for d in derivations], "version": version.pk},
        )
    root.refresh_from_db()
    return root


def note_mask_save(*, note: Note, user, feather: int = 0):
    """The region a note's markup encloses, drawn on the version in the workspace, kept as a mask of that version
    (assets.DerivedFile) for inpaint jobs and composite layers; unfeathered unless asked."""
    from django.core.files.base import ContentFile

    from assets.services.derived_files import mask_upload

    root = note if note.parent_id is None else note.parent
    if is_client_user(user=user) or not user.has_perm("assets.add_derivedfile"):
        raise ApplicationError("only studio staff save masks", extra={"code": "permission"})
    if not _can_take_part(root.review_round, user):
        raise ApplicationError("you cannot see this round", extra={"code": "permission"})
    version = root.version
    if version.blob_id != root.sha256:
        raise ApplicationError(f"version {version.pk}'s bytes changed since the note was drawn on them")
    png = region_mask(shapes=root.markup, size=(version.width, version.height), feather=feather)
    return mask_upload(
        version=version,
        source=ContentFile(png, name=f"note-{root.pk}-mask.png"),
        label=f"drawn in note #{root.pk}",
        created_by=user,
    )


def region_mask(*, shapes: list[dict], size: tuple[int, int], feather: int | None = None) -> bytes:
    """White where the markup encloses an area (rectangles, ellipses, freehand outlines), blurred at the edge."""
    from PIL import Image, ImageDraw, ImageFilter

    if markup_bounds(shapes) is None:
        raise ApplicationError("mark the region first: a rectangle, an ellipse or a freehand outline around it")
    width, height = size
    mask = Image.new("L", size, 0)
    draw = ImageDraw.Draw(mask)
    for shape in shapes:
        points = [(x * (width - 1), y * (height - 1)) for x, y in shape["points"]]
        if shape["type"] == "rect":
            draw.rectangle(
                [
                    min(p[0] for p in points),
                    min(p[1] for p in points),
                    max(p[0] for p in points),
                    max(p[1] for p in points),
                ],
                fill=255,
            )
        elif shape["type"] == "ellipse":
            draw.ellipse(
                [
                    min(p[0] for p in points),
                    min(p[1] for p in points),
                    max(p[0] for p in points),
                    max(p[1] for p in points),
                ],
                fill=255,
            )
        elif shape["type"] == "freehand" and len(points) >= 3:
            draw.polygon(points, fill=255)
    radius = feather if feather is not None else max(1, min(width, height) // 64)
    if radius:
        mask = mask.filter(ImageFilter.GaussianBlur(radius))
    buffer = io.BytesIO()
    mask.save(buffer, format="PNG")
    return buffer.getvalue()
