"""What a LoRA training shows in the admin: on its derivation's page, how far it got (progress, loss curve, a cancel
button) and what it made; on the LoRA's page, what it learned from. Each shows only the versions its viewer may see."""

from __future__ import annotations

from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe

from assets.access import is_client_user, versions_visible_to, visible
from assets.admin import thumbnail
from assets.models import Derivation, ModelWeights, Used
from assets.operations import operation_get

# The loss curve: its size in pixels (the gutter left of the plot holds the loss's range, the footer the steps), and
# the most points it draws (a long run logs thousands of losses, and a polyline of them all would weigh more than the
# page; each point drawn is the mean of its stretch of the log).
CURVE_WIDTH, CURVE_HEIGHT, CURVE_MARGIN, CURVE_GUTTER, CURVE_FOOTER = 420, 120, 8, 48, 18
CURVE_POINTS = 240
# Training images listed on the LoRA's page before "and N more" (a training may learn from hundreds).
IMAGES_SHOWN = 48
# The recipe's parameters that are not settings: what it is called, and the captions listed beside their images.
NOT_RECIPE = ("name", "captions")
ACTIVE = (Derivation.State.QUEUED, Derivation.State.RUNNING)
# The derivations list's action the cancel button runs: its function's name (generation.admin_training).
CANCEL_ACTION = "cancel_trainings"


def loss_curve_svg(log: list[dict], *, total: int) -> SafeString | str:
    """The loss by step as an inline SVG line, the x axis running to the last step planned; the loss's range is
    written left of the plot and the steps below it, where the line never runs over them."""
    points = [(row["step"], float(row["loss"])) for row in log if row.get("loss") is not None]
    if not points:
        return ""
    stretch = -(-len(points) // CURVE_POINTS)
    points = [
        (chunk[-1][0], sum(loss for _, loss in chunk) / len(chunk))
        for chunk in (points[i : i + stretch] for i in range(0, len(points), stretch))
    ]
    losses = [loss for _, loss in points]
    low, high = min(losses), max(losses)
    last = max(total, points[-1][0], 1)
    left, right, top, bottom = CURVE_GUTTER, CURVE_WIDTH - CURVE_MARGIN, CURVE_MARGIN, CURVE_HEIGHT - CURVE_FOOTER

    def place(step: int, loss: float) -> str:
        rise = (high - loss) / (high - low) if high > low else 0.5
        return f"{left + (right - left) * step / last:.1f},{top + (bottom - top) * rise:.1f}"

    end_x, end_y = place(*points[-1]).split(",")
    return format_html(
        '<svg class="seed-loss-curve" width="{w}" height="{h}" viewBox="0 0 {w} {h}" role="img" aria-label="{label}" '
        'style="display:block;background:#fafafa;border:1px solid #ddd;border-radius:4px;margin:6px 0" '
        'font-size="10" fill="#666"><title>{label}</title>'
        '<path d="M{left},{top}V{bottom}H{right}" fill="none" stroke="#ccc"/>'
        '<polyline points="{line}" fill="none" stroke="#417690" stroke-width="1.5" stroke-linejoin="round"/>'
        '<circle cx="{x}" cy="{y}" r="3" fill="#417690"/>'
        '<text x="{label_x}" y="{high_y}" text-anchor="end">{high}</text>{low_label}'
        '<text x="{left}" y="{steps_y}">0</text>'
        '<text x="{right}" y="{steps_y}" text-anchor="end">step {last}</text>'
        "</svg>",
        w=CURVE_WIDTH,
        h=CURVE_HEIGHT,
        label=f"Loss by step: {points[0][1]:.4g} at step {points[0][0]}, {points[-1][1]:.4g} at step {points[-1][0]}",
        left=left,
        right=right,
        top=top,
        bottom=bottom,
        line=" ".join(place(step, loss) for step, loss in points),
        x=end_x,
        y=end_y,
        label_x=left - 4,
        high_y=top + 8 if high > low else (top + bottom) / 2 + 3,
        high=f"{high:.4g}",
        low_label=format_html('<text x="{}" y="{}" text-anchor="end">{}</text>', left - 4, bottom, f"{low:.4g}")
        if high > low
        else "",
        steps_y=CURVE_HEIGHT - 4,
        last=last,
    )


def may_cancel(user) -> bool:
    """As the API's cancel: the studio's own staff who may change derivations."""
    return not is_client_user(user=user) and user.has_perm("assets.change_derivation")


def training_panel(derivation: Derivation, *, viewer) -> SafeString | str:
    if derivation.op != "train_lora":
        return "—"
    log = derivation.progress_log or []
    loss = format_html(" · latest loss <b>{}</b>", f"{log[-1]['loss']:.4f}") if log else ""
    return format_html(
        "<p><b>{}</b>{}</p>"
        '<p><progress value="{}" max="{}" style="width:24em;vertical-align:middle"></progress> '
        "step {} of {}{}</p>{}{}{}{}",
        derivation.get_state_display(),
        format_html(" — {}", derivation.error) if derivation.error else "",
        derivation.progress_step,
        derivation.progress_total or 1,
        derivation.progress_step,
        derivation.progress_total,
        loss,
        loss_curve_svg(log, total=derivation.progress_total),
        _cancel_button(derivation, viewer=viewer),
        _lora_made(derivation, viewer=viewer),
        _samples(derivation, viewer=viewer),
    )


def _cancel_button(derivation: Derivation, *, viewer) -> SafeString | str:
    """Posts the page's own form (and its CSRF token) to the derivations list's cancel action, this row selected."""
    if derivation.state not in ACTIVE or not may_cancel(viewer):
        return ""
    return format_html(
        '<p><input type="hidden" name="_selected_action" value="{}">'
        '<input type="hidden" name="_from_training_page" value="1">'
        '<button type="submit" name="action" value="{}" formaction="{}" formmethod="post" formnovalidate '
        'class="button">Cancel the training</button> <small>a running one stops after its current step</small></p>',
        derivation.pk,
        CANCEL_ACTION,
        reverse("admin:assets_derivation_changelist"),
    )


def _lora_made(derivation: Derivation, *, viewer) -> SafeString | str:
    lora = visible(ModelWeights.objects.filter(trained_by=derivation), user=viewer).first()
    if lora is None:
        return ""
    return format_html(
        '<p>The LoRA it made: <a href="{}">{}</a> ({})</p>',
        reverse("admin:assets_modelweights_change", args=[lora.pk]),
        lora.name,
        lora.sha256[:12],
    )


def _samples(derivation: Derivation, *, viewer) -> SafeString | str:
    samples = [
        edge.version
        for edge in derivation.generated.filter(version__in=versions_visible_to(user=viewer)).select_related("version")
    ]
    if not samples:
        return ""
    return format_html(
        "<p>Samples, one every {} steps, oldest first:</p><p>{}</p>",
        derivation.params.get("sample_every"),
        _thumbnails(samples),
    )


def _thumbnails(versions) -> SafeString:
    return format_html_join(
        " ",
        '<a href="{}" title="v{}">{}</a>',
        ((reverse("admin:assets_version_change", args=[v.pk]), v.pk, thumbnail(v.blob_id, 256, 96)) for v in versions),
    )


def learned_from_panel(weights: ModelWeights, *, viewer) -> SafeString | str:
    derivation = weights.trained_by
    if derivation is None:
        return "—"
    edges = list(derivation.used.select_related("version", "model_weights").order_by("role", "position"))
    base = next((edge.model_weights for edge in edges if edge.role == Used.Role.BASE_MODEL), None)
    return format_html(
        '<p>Trained here by <a href="{}">derivation {}</a> ({}) on {}.</p><p>Recipe: {}</p>{}',
        reverse("admin:assets_derivation_change", args=[derivation.pk]),
        derivation.pk,
        derivation.get_state_display(),
        format_html('<a href="{}">{}</a>', reverse("admin:assets_modelweights_change", args=[base.pk]), base.name)
        if base is not None
        else "a base model no longer recorded",
        _recipe(derivation.params),
        _training_images([edge for edge in edges if edge.role == Used.Role.TRAINING_IMAGE], derivation, viewer=viewer),
    )


def _recipe(params: dict) -> str:
    """The settings in the order the operation declares them, as recorded."""
    names = [param.name for param in operation_get("train_lora").params if param.name not in NOT_RECIPE]
    return " · ".join(f"{name.replace('_', ' ')} {params[name]}" for name in names if name in params)


def _training_images(edges: list[Used], derivation: Derivation, *, viewer) -> SafeString:
    seen = set(
        versions_visible_to(user=viewer).filter(pk__in=[edge.version_id for edge in edges]).values_list("pk", flat=True)
    )
    shown = [edge for edge in edges if edge.version_id in seen]
    captions = derivation.params.get("captions", [])
    rows = format_html_join(
        "",
        '<tr><td><a href="{}">{}</a></td><td><a href="{}">v{}</a></td><td>{}</td></tr>',
        (
            (
                reverse("admin:assets_version_change", args=[edge.version_id]),
                thumbnail(edge.version.blob_id, 96, 64),
                reverse("admin:assets_version_change", args=[edge.version_id]),
                edge.version_id,
                captions[edge.position] if edge.position < len(captions) else "",
            )
            for edge in shown[:IMAGES_SHOWN]
        ),
    )
    more = (
        format_html(
            '<p>and {} more: <a href="{}?id__in={}">list all {}</a></p>',
            len(shown) - IMAGES_SHOWN,
            reverse("admin:assets_version_changelist"),
            ",".join(str(edge.version_id) for edge in shown),
            len(shown),
        )
        if len(shown) > IMAGES_SHOWN
        else ""
    )
    hidden = len(edges) - len(shown)
    return format_html(
        "<p>{} training image(s){}:</p><table><tr><th>image</th><th>version</th><th>caption</th></tr>{}</table>{}",
        len(edges),
        format_html(", {} of them not yours to see", hidden) if hidden else "",
        rows or mark_safe('<tr><td colspan="3">none you may see</td></tr>'),
        more,
    )
