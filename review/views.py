"""The client's review page behind a share link: no account, no admin, one round."""

from __future__ import annotations

from functools import wraps

from django.core.files.storage import storages
from django.http import FileResponse, Http404, JsonResponse
from django.shortcuts import render
from django.views.decorators.csrf import ensure_csrf_cookie
from django.views.decorators.http import require_http_methods

from assets.api.parsers import json_body_load
from assets.errors import ApplicationError
from assets.models import Version
from assets.thumbnails import thumbnail_ensure
from assets.views import blob_response
from review.api.serializers import NoteCreateSerializer, NoteSerializer
from review.models import Decision, Note, ReviewRound
from review.selectors import guest_download_lock, notes_open_on, round_notes
from review.services.invitations import invitation_viewed
from review.services.notes import note_add
from review.services.rounds import decision_record
from review.services.share_links import ShareLinkRefused, share_link_resolve, share_link_use
from review.workspace import guest_counterparts, workspace_data

GUEST_SESSION_KEY = "review_guest_name"


# The token is in the path. "strict-origin" sends only scheme and host as Referer, so the token stays out of
# access logs; "no-referrer" would do that too, but browsers then send `Origin: null` with the page's own
# form, and Django's CSRF check refuses every guest's decision.
REFERRER_POLICY = "strict-origin"


def _unlogged(response):
    """Keep the token out of Django's request log even for 4xx answers, and out of Referer headers."""
    response._has_been_logged = True
    response["Referrer-Policy"] = REFERRER_POLICY
    return response


def _refused(request, exc: ShareLinkRefused):
    status = 410 if exc.extra.get("code") in ("expired", "revoked") else 404
    return _unlogged(render(request, "review/share_refused.html", {"message": exc.message}, status=status))


@require_http_methods(["GET"])
@ensure_csrf_cookie
def share_page(request, token: str):
    """The review workspace for a guest: zoom, compare, mark up, discuss and decide, scoped to the link's round."""
    try:
        link = share_link_resolve(token=token)
    except ShareLinkRefused as exc:
        return _refused(request, exc)
    review_round = link.review_round
    share_link_use(link=link, action="view")
    invitation_viewed(review_round=review_round, share_link=link)
    data = workspace_data(review_round=review_round, for_client=True, share_link=link, token=token)
    is_open = review_round.status == review_round.Status.OPEN
    context = {
        "round": review_round,
        "workspace": data,
        "open": is_open,
        "can_decide": is_open and link.can_decide,
        "guest_name": request.session.get(GUEST_SESSION_KEY, ""),
    }
    return _unlogged(render(request, "review/share_page.html", context))


def _guest_json(handler):
    """A guest endpoint: the link resolved from the token, JSON in and out,
    refusals and errors as 4xx with a message."""

    @wraps(handler)
    def view(request, token: str, **kwargs):
        try:
            link = share_link_resolve(token=token)
        except ShareLinkRefused as exc:
            status = 410 if exc.extra.get("code") in ("expired", "revoked") else 404
            return _unlogged(JsonResponse({"message": exc.message}, status=status))
        body = {}
        if request.method == "POST":
            try:
                body = json_body_load(raw=request.body or b"{}")
            except ApplicationError as exc:
                return _unlogged(JsonResponse({"message": exc.message, "extra": exc.extra}, status=400))
            if not isinstance(body, dict):
                return _unlogged(JsonResponse({"message": "the request body must be a JSON object"}, status=400))
        try:
            answer, status = handler(request, link, body, **kwargs)
        except ApplicationError as exc:
            return _unlogged(JsonResponse({"message": exc.message, "extra": exc.extra}, status=400))
        except Http404 as exc:
            # Logged like any 404 (the log filter masks the token): a probe for other rounds' images shows up.
            response = JsonResponse({"message": str(exc)}, status=404)
            response["Referrer-Policy"] = REFERRER_POLICY
            return response
        return _unlogged(JsonResponse(answer, status=status, safe=False))

    return view


def _guest_name(request, body: dict) -> str:
    name = str(body.get("guest_name") or request.session.get(GUEST_SESSION_KEY, "")).strip()[:120]
    if not name:
        raise ApplicationError("give your name, so the studio knows who wrote this", extra={"code": "guest_name"})
    request.session[GUEST_SESSION_KEY] = name
    return name


def _round_version(link, version_id) -> Version:
    try:
        version_id = int(version_id)
    except (TypeError, ValueError):
        raise ApplicationError("version: give the id of an image in this round") from None
    item = link.review_round.items.filter(version_id=version_id).select_related("version__blob").first()
    if item is None:
        raise Http404("no such image in this round")
    return item.version


def _writable(link) -> None:
    if not link.can_decide:
        raise ApplicationError("this link is view-only", extra={"code": "view_only"})


def _serialised(serializer_class, data: dict) -> dict:
    serializer = serializer_class(data=data)
    if not serializer.is_valid():
        field, errors = next(iter(serializer.errors.items()))
        raise ApplicationError(
            f"{field}: {' '.join(str(error) for error in errors)}", extra={"errors": serializer.errors}
        )
    return serializer.validated_data


@require_http_methods(["GET", "POST"])
@_guest_json
def share_notes(request, link, body):
    """The round's client-visible threads; a guest starts one on an image of the round."""
    if request.method == "GET":
        notes = round_notes(review_round=link.review_round, for_client=True)
        return NoteSerializer(notes, many=True, context={"for_client": True}).data, 200
    _writable(link)
    values = _serialised(NoteCreateSerializer, body)
    note = note_add(
        review_round=link.review_round,
        version=_round_version(link, values.get("version")),
        text=values["text"],
        markup=values["markup"],
        share_link=link,
        guest_name=_guest_name(request, body),
    )
    return NoteSerializer(note, context={"for_client": True}).data, 201


@require_http_methods(["POST"])
@_guest_json
def share_note_replies(request, link, body, note_id: int):
    parent = Note.objects.filter(
        pk=note_id, review_round=link.review_round, parent__isnull=True, internal=False
    ).first()
    if parent is None:
        raise Http404("no such note in this round")
    _writable(link)
    values = _serialised(NoteCreateSerializer, body)
    reply = note_add(
        review_round=link.review_round,
        version=parent.version,
        text=values["text"],
        markup=values["markup"],
        share_link=link,
        guest_name=_guest_name(request, body),
        parent=parent,
    )
    return NoteSerializer(reply, context={"for_client": True}).data, 201


@require_http_methods(["GET"])
@_guest_json
def share_open_notes(request, link, body, version_id: int):
    """Unresolved client-visible threads on the image and its ancestors, from this brief's client rounds only."""
    version = _round_version(link, version_id)
    notes = notes_open_on(version=version, for_client=True).filter(
        review_round__brief_id=link.review_round.brief_id, review_round__stage=ReviewRound.Stage.CLIENT
    )
    return NoteSerializer(notes, many=True, context={"for_client": True}).data, 200


@require_http_methods(["POST"])
@_guest_json
def share_decisions(request, link, body):
    _writable(link)
    verdict = body.get("verdict")
    if verdict not in Decision.Verdict.values:
        raise ApplicationError(f"verdict: choose one of {', '.join(Decision.Verdict.values)}")
    comment = str(body.get("comment") or "")[:5000]
    decision = decision_record(
        review_round=link.review_round,
        version=_round_version(link, body.get("version")),
        verdict=verdict,
        comment=comment,
        share_link=link,
        guest_name=_guest_name(request, body),
    )
    return {"id": decision.pk, "version": decision.version_id, "verdict": decision.verdict}, 201


def _shared_version(token: str, version_id: int):
    """A version the share link shows (an image of its round, or what one replaced in an earlier client round) and
    the link's round, or the refusal to answer with."""
    try:
        link = share_link_resolve(token=token)
    except ShareLinkRefused as exc:
        return None, None, exc
    item = link.review_round.items.filter(version_id=version_id).select_related("version__blob").first()
    if item is not None:
        return item.version, link.review_round, None
    shown_before = {version.pk: version for version in guest_counterparts(review_round=link.review_round).values()}
    if version_id in shown_before:
        return shown_before[version_id], link.review_round, None
    return None, None, ShareLinkRefused("No such image.")


@require_http_methods(["GET"])
def share_image(request, token: str, version_id: int):
    version, _, refused = _shared_version(token, version_id)
    if refused is not None:
        return _refused(request, refused)
    name = thumbnail_ensure(blob=version.blob, size=768)
    response = FileResponse(storages["derived"].open(name, "rb"), content_type="image/webp")
    response["Cache-Control"] = "private, max-age=3600"
    response["Referrer-Policy"] = REFERRER_POLICY
    return response


@require_http_methods(["GET"])
def share_full_image(request, token: str, version_id: int):
    """Full resolution, for zooming to 100 % and beyond: ETag and byte ranges as for signed-in users."""
    version, review_round, refused = _shared_version(token, version_id)
    if refused is not None:
        return _refused(request, refused)
    locking = guest_download_lock(review_round=review_round, blob=version.blob)
    if locking is not None:
        context = {
            "title": "Download locked",
            "heading": "Full-resolution files are locked in this review stage",
            "message": f"The {locking.review_stage.name} stage shows previews only.",
            "advice": "The preview on your review page shows the image; the studio opens downloads at a later stage.",
        }
        return _unlogged(render(request, "review/share_refused.html", context, status=403))
    return _unlogged(blob_response(request, version.blob, cache="private, max-age=3600"))
