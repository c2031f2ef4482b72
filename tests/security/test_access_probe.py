"""Probe every API route and every admin page as Charlie (client reviewer for Borealis) and as nobody.

Aurora's world is built with one object of every kind; every route that takes an id is called with
Aurora's ids under every method. Allowed answers: 401/403/404/405 (and the admin's redirect to its
login). Lists may answer 200 but must not mention Aurora. Afterwards Aurora's rows are unchanged.
"""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.apps import apps
from django.contrib import admin
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver
from django.utils import timezone
from rest_framework.test import APIClient

from assets.models import (
    AuditEvent,
    Credential,
    Derivation,
    Generated,
    Licence,
    ModelWeights,
    Prompt,
    PromptTemplate,
    ReproducibilityCheck,
    Used,
    Version,
    VersionCheck,
)
from assets.services.briefs import reference_create
from assets.services.derived_files import mask_upload
from delivery.models import Delivery, FocalPoint
from generation.models import GenerationJob, GridCell, GridJob, ReproductionRun
from generation.services.training import lora_training_create
from review.models import (
    Approval,
    ChecklistTick,
    Decision,
    Rating,
    RoundVersion,
)
from review.services.curation import checklist_item_add, checklist_tick, rating_set
from review.services.notes import note_add, note_resolve
from review.services.rounds import decision_record, round_open
from review.services.share_links import share_link_create
from tests.factories import image_file

pytestmark = pytest.mark.django_db

SECRET = "aurora-confidential"
AURORA_LORA_SHA256 = "a0" * 32
STUDIO_SECRET = "studio-only"
# Routes with no client data behind them: anyone signed in may read them.
PUBLIC_API = {"api-root", "api-token", "schema", "swagger-ui", "verify", "channelpreset-list", "channelpreset-detail"}
# Like verify, the soft binding lookups answer any signed-in caller, from what that caller may see
# (tests/delivery/test_soft_binding.py holds a stranger to an empty answer).
PUBLIC_API |= {"c2pa-matches-by-binding", "c2pa-matches-by-content", "c2pa-supported-algorithms"}
# Routes that read and write only the caller's own row (tested where they are defined): nothing of Aurora's to probe.
OWN_ROW_API = {"my-notifications"}


@pytest.fixture
def aurora(cast, tiny):
    """Aurora's world: one row of every kind the API or the admin can show."""
    alice, dana, brief, version = cast["alice"], cast["dana"], cast["brief_a"], cast["version_a"]
    reference = reference_create(
        brief=brief, source=image_file("mood.png", colour=(1, 2, 3)), title=f"{SECRET} mood", notes="", created_by=alice
    )
    template = PromptTemplate.objects.create(
        brief=brief, name=SECRET, text=f"{SECRET} {{subject}}", placeholders=["subject"]
    )
    prompt = Prompt.objects.create(brief=brief, template=template, text=f"{SECRET} prompt", values={}, digest="0" * 64)
    review_round = round_open(brief=brief, versions=[version], stage="client", opened_by=alice, reviewers=[dana])
    note = note_add(
        review_round=review_round,
        version=version,
        text=f"{SECRET} note",
        author=dana,
        markup=[{"type": "rect", "points": [[0.1, 0.1], [0.4, 0.5]]}],
    )
    note_resolve(note=note, user=dana)
    decision_record(review_round=review_round, version=version, verdict="approve", reviewer=dana, comment=SECRET)
    link, _ = share_link_create(
        review_round=review_round, created_by=alice, expires=timezone.localdate() + dt.timedelta(days=3)
    )
    item = checklist_item_add(brief=brief, label=SECRET)
    checklist_tick(version=version, item=item, checked=True, reviewer=alice)
    rating_set(version=version, reviewer=alice, stars=4)
    job = GenerationJob.objects.create(brief=brief, op="txt2img", request={"prompt": SECRET})
    run = ReproductionRun.objects.create(version=version, requested_by=alice)
    grid = GridJob.objects.create(
        brief=brief, axes=[{"kind": "cfg", "label": SECRET, "values": [{"value": 1, "label": "1"}]}]
    )
    GridCell.objects.create(grid=grid, job=job, position=0, coords=[0, 0, 0])
    approval = Approval.objects.get(version=version)
    delivery = Delivery.objects.create(
        version=version,
        approval=approval,
        state=Delivery.State.SUCCEEDED,
        folder="1",
        bundle_name="aurora.zip",
        created_by=alice,
    )
    FocalPoint.objects.create(version=version, x=0.3, y=0.6)
    credential = Credential.objects.create(
        manifest_id=f"urn:c2pa:{SECRET}",
        version=version,
        kind=Credential.Kind.DELIVERED,
        store=SECRET.encode(),
        file_sha256=version.blob_id,
        media_type="image/png",
        width=version.width,
        height=version.height,
    )
    licence = Licence.objects.create(name=f"{STUDIO_SECRET} licence", commercial_use=False, attribution=STUDIO_SECRET)
    licence.versions.add(version)
    licence.model_weights.add(tiny["lora_a"])
    ReproducibilityCheck.objects.create(
        version=version,
        verdict="drifted",
        detail=SECRET,
        environment_digest="0" * 64,
        trigger="schedule",
        wall_seconds=1.0,
    )
    training = lora_training_create(
        versions=[Version.objects.get(pk=version.pk)],
        base=tiny["base"],
        params={"name": SECRET, "rank": 4, "steps": 2, "seed": 1},
    )
    # What the worker registers when the training ends: Aurora's LoRA, trained on Aurora's images.
    trained = ModelWeights.objects.create(
        kind=ModelWeights.Kind.LORA,
        architecture=ModelWeights.Architecture.SD15,
        name=f"{SECRET} LoRA",
        sha256=AURORA_LORA_SHA256,
        size=1,
        format=ModelWeights.Format.SAFETENSORS,
        trained_by=training,
    )
    # A machine-read check with its picture: the studio's reading, never a client's to see.
    check = VersionCheck.objects.create(
        version=version,
        key=f"copy:{SECRET}",
        kind="copy",
        label=SECRET,
        verdict="fail",
        measure={"read": SECRET},
        artefact=reference.blob,
    )
    mask = mask_upload(
        version=version,
        source=image_file("mask.png", size=(version.width, version.height), colour=(255, 255, 255)),
        label=SECRET,
        created_by=alice,
    )
    return {
        "client": [brief.campaign.client_id],
        "campaign": [brief.campaign_id],
        "brief": [brief.pk],
        "version": [version.pk, cast["version_a2"].pk],
        "reference": [reference.pk],
        "prompttemplate": [template.pk],
        "prompt": [prompt.pk],
        "derivation": list(Derivation.objects.filter(brief=brief).values_list("pk", flat=True)),
        "reviewround": [review_round.pk],
        "sharelink": [link.pk],
        "generationjob": [job.pk],
        "reproductionrun": [run.pk],
        "gridjob": [grid.pk],
        "gridcell": list(GridCell.objects.filter(grid=grid).values_list("pk", flat=True)),
        "delivery": [delivery.pk],
        "c2pa": [credential.manifest_id],
        "credential": [credential.pk],
        "approval": [approval.pk],
        "note": [note.pk],
        "roundversion": list(RoundVersion.objects.filter(review_round=review_round).values_list("pk", flat=True)),
        "decision": list(Decision.objects.filter(review_round=review_round).values_list("pk", flat=True)),
        "rating": list(Rating.objects.filter(version=version).values_list("pk", flat=True)),
        "checklistitem": [item.pk],
        "checklisttick": list(ChecklistTick.objects.filter(item=item).values_list("pk", flat=True)),
        "focalpoint": list(FocalPoint.objects.filter(version=version).values_list("pk", flat=True)),
        "blob": [version.blob_id, reference.blob_id],
        "used": list(Used.objects.filter(derivation__brief=brief).values_list("pk", flat=True)),
        "generated": list(Generated.objects.filter(derivation__brief=brief).values_list("pk", flat=True)),
        "auditevent": list(AuditEvent.objects.values_list("pk", flat=True)),
        # The studio's model registry is nobody's client data, and no client's business either.
        "modelweights": [tiny["base"].pk, tiny["lora_a"].pk, trained.pk],
        "training": [training.pk],
        "licence": [licence.pk],
        "derivedfile": [mask.pk],
        "versioncheck": [check.pk],
        "markers": ["Aurora", SECRET, version.blob_id, reference.blob_id, AURORA_LORA_SHA256],
        # The studio's registry: no client's business, though a producer scoped to one client works with it.
        "studio_markers": [tiny["base"].sha256, tiny["lora_a"].sha256, STUDIO_SECRET],
    }


def snapshot(world) -> dict:
    models = {
        model._meta.model_name: model
        for app in ("assets", "generation", "review", "delivery")
        for model in apps.get_app_config(app).get_models()
    }
    return {
        name: sorted(map(repr, models[name].objects.filter(pk__in=ids).values()))
        for name, ids in world.items()
        if name in models
    }


def _routes(patterns, prefix=""):
    for entry in patterns:
        if isinstance(entry, URLResolver):
            yield from _routes(entry.url_patterns, prefix + str(entry.pattern))
        elif isinstance(entry, URLPattern):
            route = prefix + str(entry.pattern)
            if "format" not in entry.pattern.regex.groupindex:
                yield route, entry.name


def _fill(route: str, values: dict) -> str | None:
    path = re.sub(r"^\^|\$$", "", route.replace("^", "").replace("$", ""))
    path = re.sub(r"\(\?P<(\w+)>[^)]*\)", r"<\1>", path)
    try:
        return "/" + re.sub(r"<(?:\w+:)?(\w+)>", lambda m: str(values[m.group(1)]), path)
    except KeyError:
        return None


def api_probes(world):
    """(path, name, kind) for every API route: 'detail' routes get each of Aurora's ids."""
    for route, name in _routes(get_resolver().url_patterns):
        if not route.startswith("api/") and not route.startswith("blobs/"):
            continue
        if name in PUBLIC_API or name in OWN_ROW_API:
            continue
        prefix = name.split("-")[0]
        params = re.findall(r"<(?:\w+:)?(\w+)>|\(\?P<(\w+)>", route)
        names = [a or b for a, b in params]
        if not names:
            yield _fill(route, {}), name, "list"
            continue
        ids = world["blob"] if prefix == "blob" else world.get(prefix)
        assert ids, f"the probe does not know whose object {route} ({name}) takes: add it to the Aurora world"
        for object_id in ids:
            values = {key: object_id for key in names}
            values.update(size=96, other=world["version"][0])
            yield _fill(route, values), name, "detail"


def admin_probes(world):
    for model, model_admin in admin.site._registry.items():
        ids = world.get(model._meta.model_name)
        for pattern in model_admin.get_urls():
            route = f"admin/{model._meta.app_label}/{model._meta.model_name}/" + str(pattern.pattern)
            names = list(pattern.pattern.regex.groupindex)
            if not names:
                yield _fill(route, {}), pattern.name, "list"
            elif ids:
                for object_id in ids:
                    yield _fill(route, {key: object_id for key in names}), pattern.name, "detail"


def _no_leak(body: bytes, world, where: str, *, studio_rows_hidden: bool = True) -> None:
    text = body.decode("utf-8", "replace")
    for marker in world["markers"] + (world["studio_markers"] if studio_rows_hidden else []):
        assert marker not in text, f"{where} shows {marker!r}"


def test_charlie_sees_nothing_of_aurora_through_the_api(cast, aurora):
    before = snapshot(aurora)
    charlie = APIClient()
    charlie.force_login(cast["charlie"])  # a session serves the API and the plain blob views alike
    probes = list(api_probes(aurora))
    assert len(probes) > 40
    for path, name, kind in probes:
        for method in ("get", "post", "put", "patch", "delete"):
            body = {
                "brief": aurora["brief"][0],
                "version": aurora["version"][0],
                "review_round": aurora["reviewround"][0],
                "verdict": "approve",
                "reason": "probe",
                "stars": 5,
            }
            response = getattr(charlie, method)(path, body, format="json")
            where = f"{method.upper()} {path} ({name})"
            if kind == "detail" or method != "get":
                assert response.status_code in (403, 404, 405), (where, response.status_code, response.content[:200])
            else:
                assert response.status_code in (200, 403, 405), (where, response.status_code)
            assert response.status_code < 500, where
            _no_leak(response.content, aurora, where)
    assert snapshot(aurora) == before


def test_nobody_signed_in_gets_anything_from_the_api(cast, aurora):
    anonymous = APIClient()
    for path, _name, _kind in api_probes(aurora):
        for method in ("get", "post", "delete"):
            response = getattr(anonymous, method)(path)
            refused = response.status_code in (401, 403, 404, 405) or response.get("Location", "").startswith(
                "/admin/login/"
            )
            assert refused, (method, path, response.status_code)
            _no_leak(response.content, aurora, f"{method} {path}")


def test_charlie_sees_nothing_of_aurora_in_the_admin(cast, aurora):
    before = snapshot(aurora)
    charlie = Client()
    charlie.force_login(cast["charlie"])
    probes = list(admin_probes(aurora))
    assert len(probes) > 60
    for path, name, kind in probes:
        for method in ("get", "post"):
            response = getattr(charlie, method)(
                path, {"action": "delete_selected", "_selected_action": aurora["version"]}
            )
            where = f"{method.upper()} {path} ({name})"
            assert response.status_code < 500, where
            if kind == "detail":
                assert response.status_code in (302, 403, 404), (where, response.status_code)
                if response.status_code == 302 and response["Location"] != "/admin/":
                    # The admin's old-style object URL forwards to the change page, which must refuse too.
                    assert charlie.get(response["Location"]).status_code in (403, 404), (where, response["Location"])
            _no_leak(response.content, aurora, where)
    assert snapshot(aurora) == before


def test_nobody_signed_in_is_sent_to_the_admin_login(aurora):
    anonymous = Client()
    for path, _name, _kind in admin_probes(aurora):
        response = anonymous.get(path)
        assert response.status_code == 302 and response["Location"].startswith("/admin/login/"), (
            path,
            response.status_code,
        )
    for path in ("/admin/", "/review/s/not-a-token/", f"/blobs/{aurora['blob'][0]}/"):
        response = anonymous.get(path)
        assert response.status_code in (302, 403, 404), path
        _no_leak(response.content, aurora, path)


# Discovery: every writable related field of every serializer, every admin form (and inline), every form class.

APPS = ("assets", "generation", "review", "delivery")


def _ours(cls) -> bool:
    return cls.__module__.split(".")[0] in APPS


def _subclasses(base):
    from importlib import import_module

    from django.conf import settings

    import_module(settings.ROOT_URLCONF)  # every view, and so every serializer and form they use, is imported
    for app in APPS:
        import_module(f"{app}.api.serializers")
        import_module(f"{app}.admin")
    yield from _descendants(base)


def _descendants(base):
    for cls in base.__subclasses__():
        yield cls
        yield from _descendants(cls)


def _request_as(user):
    from django.test import RequestFactory

    request = RequestFactory().get("/")
    request.user = user
    return request


def _related_fields(serializer, prefix=""):
    """(name, RelatedField) for every writable relation of a serializer, nested serializers and lists included."""
    from rest_framework import serializers

    for name, field in serializer.fields.items():
        if field.read_only:
            continue
        if isinstance(field, serializers.ManyRelatedField):
            field = field.child_relation
        if isinstance(field, serializers.ListField):
            field = field.child
        if isinstance(field, serializers.ListSerializer):
            field = field.child
        if isinstance(field, serializers.BaseSerializer):
            yield from _related_fields(field, prefix + name + ".")
        elif isinstance(field, serializers.RelatedField):
            yield prefix + name, field


def _offers_none_of(queryset, world, user) -> list:
    """Aurora's rows among those offered to `user`; the studio's own rows (the model registry, licences) count only
    for client users, since a scoped producer works with them."""
    from assets.access import access_of, is_client_user

    access = access_of(queryset.model) if queryset.model._meta.app_label in APPS else None
    if access is not None and access.scoped_reads and not is_client_user(user=user):
        if access.client is None:
            return []
        # The registry's studio rows are shared; a LoRA trained on Aurora's images is Aurora's.
        queryset = queryset.exclude(**{f"{access.client}__isnull": True})
    ids = world.get(queryset.model._meta.model_name, [])
    return list(queryset.filter(pk__in=ids).values_list("pk", flat=True))


def _shared_with_scoped_producers() -> set[str]:
    """Studio rows that belong to no client (the model registry, licences): a scoped producer works with them."""
    from assets.access import access_of

    return {
        model._meta.model_name
        for app in APPS
        for model in apps.get_app_config(app).get_models()
        if access_of(model).scoped_reads
    }


@pytest.fixture
def gina(cast):
    """A producer tied to Borealis: she works on Borealis and must not see or touch Aurora."""
    from review.roles import PRODUCER
    from tests.factories import member

    return member("gina", PRODUCER, cast["brief_b"].campaign.client)


def test_every_writable_related_field_offers_only_what_the_caller_may_see(cast, aurora, gina):
    from rest_framework import serializers

    from assets.api.fields import VisibleRelatedField

    probed = 0
    for cls in _subclasses(serializers.Serializer):
        if not _ours(cls) or (issubclass(cls, serializers.ModelSerializer) and not hasattr(cls, "Meta")):
            continue  # a base class, probed through its subclasses
        for user in (gina, cast["charlie"]):
            for name, field in _related_fields(cls(context={"request": _request_as(user)})):
                where = f"{cls.__module__}.{cls.__name__}.{name}"
                assert isinstance(field, VisibleRelatedField), f"{where} chooses rows without the access policy"
                assert _offers_none_of(field.get_queryset(), aurora, user) == [], (
                    f"{where} offers Aurora's rows to {user}"
                )
                probed += 1
    print(f"serializer related fields probed: {probed}")
    assert probed >= 30


def test_every_admin_form_and_inline_offers_only_what_the_caller_may_see(cast, aurora, gina):
    from django import forms

    from assets.admin import VisibleChoices

    probed = 0
    admin_forms = set()
    for user in (gina, cast["charlie"]):
        request = _request_as(user)
        for model, model_admin in admin.site._registry.items():
            if model._meta.app_label not in APPS:
                continue
            assert _offers_none_of(model_admin.get_queryset(request), aurora, user) == [], (
                f"{model_admin} lists Aurora's rows"
            )
            form_class = model_admin.get_form(request, None)
            admin_forms.update(form_class.__mro__)
            admin_forms.add(model_admin.form)
            built = [form_class()]
            for inline in (inline_class(model, admin.site) for inline_class in model_admin.inlines):
                formset = inline.get_formset(request, None)
                admin_forms.update(formset.form.__mro__)
                built.append(formset.form())
            for form in built:
                for name, field in form.fields.items():
                    if getattr(field, "queryset", None) is not None:
                        assert _offers_none_of(field.queryset, aurora, user) == [], (
                            f"{model_admin}: {name} offers Aurora's rows to {user}"
                        )
                        probed += 1
        for cls in _subclasses(forms.BaseForm):
            if not _ours(cls) or admin_forms.intersection(cls.__mro__):
                continue  # an admin's form (or one built from it per request) was probed through the admin
            if not issubclass(cls, VisibleChoices):
                assert not any(isinstance(f, forms.ModelChoiceField) for f in cls.base_fields.values()), (
                    f"{cls.__module__}.{cls.__name__} offers rows but neither an admin nor VisibleChoices scopes them"
                )
                continue
            for name, field in cls(user=user).fields.items():
                if getattr(field, "queryset", None) is not None:
                    assert _offers_none_of(field.queryset, aurora, user) == [], (
                        f"{cls.__name__}.{name} offers Aurora's rows to {user}"
                    )
                    probed += 1
    print(f"admin and form choice fields probed: {probed}")
    assert probed >= 30


def test_gina_reads_and_writes_nothing_of_aurora_through_the_api(cast, aurora, gina):
    from tests.security.conftest import row_counts

    before, counts = snapshot(aurora), row_counts()
    api = APIClient()
    api.force_login(gina)
    ids = {name: values[0] for name, values in aurora.items() if not name.endswith("markers") and values}
    body = {
        "brief": ids["brief"],
        "campaign": ids["campaign"],
        "version": ids["version"],
        "source": ids["version"],
        "review_round": ids["reviewround"],
        "template": ids["prompttemplate"],
        "init_version": ids["version"],
        "control_version": ids["version"],
        "init_reference": ids["reference"],
        "parents": [ids["version"]],
        "references": [ids["reference"]],
        "pool_versions": [ids["version"]],
        "versions": [ids["version"]],
        "mask_file": ids["derivedfile"],
        "mask": ids["derivedfile"],
        "reviewers": [cast["dana"].pk],
        "verdict": "approve",
        "reason": "probe",
        "stars": 5,
        "name": "probe",
        "title": "probe",
        "prompt": "probe",
        "text": "probe",
    }
    shared = _shared_with_scoped_producers()
    probes = list(api_probes(aurora))
    for path, name, kind in probes:
        for method in ("get", "post", "put", "patch", "delete"):
            response = getattr(api, method)(path, body, format="json")
            where = f"{method.upper()} {path} ({name})"
            assert response.status_code < 500, (where, response.content[:300])
            if kind == "detail" and method == "get" and name.split("-")[0] not in shared:
                assert response.status_code in (403, 404, 405), (where, response.status_code, response.content[:200])
            elif method != "get":
                # 400: the body was refused before the row was looked up, as it is for a row that does not exist
                assert response.status_code in (400, 403, 404, 405, 415), (
                    where,
                    response.status_code,
                    response.content[:300],
                )
            _no_leak(response.content, aurora, where, studio_rows_hidden=False)
    assert snapshot(aurora) == before and row_counts() == counts
    print(f"API routes probed as a scoped producer: {len(probes)} × 5 methods")


def test_gina_sees_nothing_of_aurora_in_the_admin(cast, aurora, gina):
    before = snapshot(aurora)
    browser = Client()
    browser.force_login(gina)
    shared = _shared_with_scoped_producers()
    probes = list(admin_probes(aurora))
    for path, name, kind in probes:
        for method in ("get", "post"):
            response = getattr(browser, method)(
                path, {"action": "delete_selected", "_selected_action": aurora["version"]}
            )
            where = f"{method.upper()} {path} ({name})"
            assert response.status_code < 500, where
            if kind == "detail" and path.split("/")[3] not in shared:
                assert response.status_code in (302, 403, 404), (where, response.status_code)
            _no_leak(response.content, aurora, where, studio_rows_hidden=False)
    assert snapshot(aurora) == before
    print(f"admin pages probed as a scoped producer: {len(probes)} × 2 methods")
