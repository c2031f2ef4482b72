"""The client's review page behind a share link: no account, no admin, one round."""

from __future__ import annotations

from collections import defaultdict

from django import forms
from django.contrib import messages
from django.core.files.storage import storages
from django.http import FileResponse, Http404
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from assets.errors import ApplicationError
from assets.thumbnails import thumbnail_ensure
from assets.views import blob_response
from review.models import Decision
from review.selectors import current_decisions, result_label, round_results
from review.services.rounds import PinInput, decision_record
from review.services.invitations import invitation_viewed
from review.services.share_links import ShareLinkRefused, share_link_resolve, share_link_use

GUEST_SESSION_KEY = "review_guest_name"


class GuestDecisionForm(forms.Form):
    version = forms.IntegerField(widget=forms.HiddenInput)
    guest_name = forms.CharField(max_length=120, label="Your name")
    verdict = forms.ChoiceField(choices=[(Decision.Verdict.APPROVE, "Approve"),
                                         (Decision.Verdict.APPROVE_WITH_CHANGES, "Approve with changes"),
                                         (Decision.Verdict.CHANGES_REQUESTED, "Request changes"),
                                         (Decision.Verdict.REJECT, "Reject")],
                                widget=forms.RadioSelect)
    comment = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), required=False)
    pin_x = forms.FloatField(required=False, min_value=0, max_value=1, widget=forms.HiddenInput)
    pin_y = forms.FloatField(required=False, min_value=0, max_value=1, widget=forms.HiddenInput)
    pin_w = forms.FloatField(required=False, min_value=0, max_value=1, widget=forms.HiddenInput)
    pin_h = forms.FloatField(required=False, min_value=0, max_value=1, widget=forms.HiddenInput)

    def pins(self) -> list[PinInput]:
        data = self.cleaned_data
        if data.get("pin_x") is None or data.get("pin_y") is None:
            return []
        return [PinInput(x=data["pin_x"], y=data["pin_y"], w=data.get("pin_w") or 0.0, h=data.get("pin_h") or 0.0,
                         note=data.get("comment", "")[:500])]


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


@require_http_methods(["GET", "POST"])
def share_page(request, token: str):
    try:
        link = share_link_resolve(token=token)
    except ShareLinkRefused as exc:
        return _refused(request, exc)
    review_round = link.review_round
    if request.method == "POST":
        form = GuestDecisionForm(request.POST)
        if not link.can_decide:
            messages.error(request, "This link is view-only.")
        elif form.is_valid():
            item = review_round.items.filter(version_id=form.cleaned_data["version"]).select_related("version").first()
            if item is None:
                raise Http404("no such version in this round")
            try:
                decision_record(review_round=review_round, version=item.version, verdict=form.cleaned_data["verdict"],
                                comment=form.cleaned_data["comment"], pins=form.pins(), share_link=link,
                                guest_name=form.cleaned_data["guest_name"])
            except ApplicationError as exc:
                messages.error(request, exc.message)
            else:
                request.session[GUEST_SESSION_KEY] = form.cleaned_data["guest_name"]
                messages.success(request, f"Thank you — your decision on {item.client_name or 'this image'} is recorded.")
        else:
            messages.error(request, "Please give your name and choose a decision.")
        return _unlogged(redirect("share-page", token=token))

    share_link_use(link=link, action="view")
    invitation_viewed(review_round=review_round, share_link=link)
    decisions = defaultdict(list)
    for decision in current_decisions(review_round=review_round, for_client=True):
        decisions[decision.version_id].append(decision)
    results = round_results(review_round=review_round)
    items = [
        {"item": item, "decisions": decisions[item.version_id], "result": result_label(results.get(item.version_id)),
         "form": GuestDecisionForm(initial={"version": item.version_id,
                                            "guest_name": request.session.get(GUEST_SESSION_KEY, "")})}
        for item in review_round.items.select_related("version").order_by("position", "id")
    ]
    context = {"link": link, "round": review_round, "items": items, "token": token,
               "open": review_round.status == review_round.Status.OPEN}
    return _unlogged(render(request, "review/share_page.html", context))


def _shared_item(token: str, version_id: int):
    """The round item a share link shows, or the refusal to answer with."""
    try:
        link = share_link_resolve(token=token)
    except ShareLinkRefused as exc:
        return None, exc
    item = link.review_round.items.filter(version_id=version_id).select_related("version__blob").first()
    return item, None if item is not None else ShareLinkRefused("No such image.")


@require_http_methods(["GET"])
def share_image(request, token: str, version_id: int):
    item, refused = _shared_item(token, version_id)
    if refused is not None:
        return _refused(request, refused)
    name = thumbnail_ensure(blob=item.version.blob, size=768)
    response = FileResponse(storages["derived"].open(name, "rb"), content_type="image/webp")
    response["Cache-Control"] = "private, max-age=3600"
    response["Referrer-Policy"] = REFERRER_POLICY
    return response


@require_http_methods(["GET"])
def share_full_image(request, token: str, version_id: int):
    """Full resolution, for zooming to 100 % and beyond: ETag and byte ranges as for signed-in users."""
    item, refused = _shared_item(token, version_id)
    if refused is not None:
        return _refused(request, refused)
    return _unlogged(blob_response(request, item.version.blob, cache="private, max-age=3600"))
