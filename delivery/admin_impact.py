"""What delivery adds to the change pages of the core's inputs (reference, prompt, model file, licence): the impact
panel, what each went into down to the deliveries, as the viewer may see it."""

from django.urls import reverse
from django.utils.html import format_html, format_html_join

from assets.access import versions_visible_to
from assets.admin import admin_extend
from assets.models import Licence, ModelWeights, Prompt, Reference
from assets.rights import versions_inheriting
from assets.selectors import versions_using_model_weights, versions_using_prompt, versions_using_reference
from assets.training_flags import lora_training_flags
from delivery.selectors import impact_summary


def _versions_link(summary: dict) -> str:
    return (
        reverse("admin:assets_version_changelist")
        + "?id__in="
        + ",".join(str(v["id"]) for v in summary["versions"][:200])
    )


def impact_panel(versions) -> str:
    summary = impact_summary(versions=versions)
    if not summary["versions_total"]:
        return "nothing was made with it yet"
    briefs = format_html_join(
        "",
        '<tr><td>{}</td><td><a href="{}">{}</a></td><td>{}</td><td>{}</td></tr>',
        (
            (
                row["client_name"],
                reverse("admin:assets_brief_change", args=[row["brief"]]),
                row["title"],
                row["versions"],
                row["deliveries"],
            )
            for row in summary["briefs"]
        ),
    )
    deliveries = format_html_join(
        ", ",
        '<a href="{}">delivery {}</a> ({}, {} files)',
        (
            (reverse("admin:delivery_delivery_change", args=[d["id"]]), d["id"], d["state"], d["files"])
            for d in summary["deliveries"]
        ),
    )
    versions_link = _versions_link(summary)
    return format_html(
        '<p><b>{}</b> version(s) in <b>{}</b> client(s), <a href="{}">list them</a>; '
        "<b>{}</b> deliveries inherit it{}</p>"
        "<table><tr><th>client</th><th>brief</th><th>versions</th><th>deliveries</th></tr>{}</table>",
        summary["versions_total"],
        len(summary["clients"]),
        versions_link,
        summary["deliveries_total"],
        format_html(": {}", deliveries) if summary["deliveries"] else "",
        briefs,
    )


def _impact_panel(versions_of):
    def impact(obj, *, viewer) -> str:
        return impact_panel(versions_of(obj).filter(pk__in=versions_visible_to(user=viewer).values("pk")))

    return impact


for model, versions_of in (
    (Reference, lambda reference: versions_using_reference(reference=reference)),
    (Prompt, lambda prompt: versions_using_prompt(prompt=prompt)),
    (ModelWeights, lambda weights: versions_using_model_weights(weights=weights)),
    (Licence, lambda licence: versions_inheriting(licences=[licence.pk])),
):
    admin_extend(model, viewer_panels=[(_impact_panel(versions_of), "impact: what it went into")])


def training_flags_panel(weights: ModelWeights, *, viewer) -> str:
    """ "Trained on v12, which was rejected on …: N versions and M deliveries made with this LoRA are affected": what
    withdrawing a training image (or a licence running out) leaves to retire."""
    if weights.trained_by_id is None:
        return "—"
    flags = lora_training_flags(weights=weights, user=viewer)
    if not flags:
        return "nothing withdrawn from under its training: its images stand and no licence it carries has run out"
    made = versions_using_model_weights(weights=weights).filter(pk__in=versions_visible_to(user=viewer).values("pk"))
    summary = impact_summary(versions=made)
    return format_html(
        "<ul>{}</ul><p>Trained on what is withdrawn: <b>{}</b> version(s) and <b>{}</b> deliveries made with this "
        'LoRA are affected, <a href="{}">list them</a>.</p>',
        format_html_join("", "<li>{}</li>", ((flag["why"],) for flag in flags)),
        summary["versions_total"],
        summary["deliveries_total"],
        _versions_link(summary),
    )


admin_extend(ModelWeights, viewer_panels=[(training_flags_panel, "withdrawn from its training")])
