"""The LoRA page's training story: what its header says (trainer, base model, dates, data, hyper-parameters, tags),
and how that stands against this install (the registered architecture, base models, the training images)."""

from __future__ import annotations

from datetime import datetime

from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

from assets.lora_checks import story_architecture_check, story_base_models, story_training_set_held
from assets.models import ModelWeights

# Hashes of training images this install does not hold, listed before "and N more".
_NOT_HELD_SHOWN = 10


def training_story_panel(weights: ModelWeights, *, viewer) -> str:
    story = weights.training_story
    if not story:
        return "its file's header tells no training story" if weights.kind == ModelWeights.Kind.LORA else "—"
    rows = [
        ("trainer", _joined(story.get("trainer", {}), "name", "version")),
        ("title", story.get("title")),
        ("author", story.get("author")),
        ("licence named in the file", story.get("licence")),
        ("trigger phrase", story.get("trigger_phrase")),
        ("description", story.get("description")),
        ("output name", story.get("output_name")),
        ("base model named", _base_model(weights)),
        ("base model hash", _base_model_hash(weights)),
        ("trained", _dates(story.get("training", {}))),
        ("images · steps · epochs", _amounts(story.get("training", {}))),
        ("network", _network(story.get("network", {}))),
        ("dataset folders", _folders(story)),
        ("top tags", _tags(story)),
        ("training set", _training_set(weights, viewer=viewer)),
        ("session", story.get("session_id")),
        ("its tensors' sha256, as the trainer wrote it", story.get("tensors_sha256")),
        ("values Seed could not read", _unreadable(story.get("unreadable", {}))),
    ]
    return format_html(
        "<p>As the file's header tells it: the trainer's claims, checked against this install where marked.</p>"
        "<table>{}</table>",
        format_html_join("", "<tr><th>{}</th><td>{}</td></tr>", ((label, value) for label, value in rows if value)),
    )


def _joined(values: dict, *keys: str, separator: str = " ") -> str:
    return separator.join(str(values[key]) for key in keys if values.get(key) not in (None, ""))


def _base_model(weights: ModelWeights) -> SafeString | str:
    base = weights.training_story.get("base_model", {})
    named = _joined(base, "name", "version", "modelspec_architecture", separator=" · ")
    check = story_architecture_check(weights=weights)
    if check is None:
        return named and format_html("{} (not an architecture Seed knows)", named)
    registered = weights.get_architecture_display()
    if check == "agrees":
        return format_html("{} — agrees with the registered architecture, {}", named, registered)
    named_as = ModelWeights.Architecture(base["architecture"]).label
    return format_html(
        '{} — <b style="color:#b00">differs</b>: the file names {}, it is registered as {}', named, named_as, registered
    )


def _base_model_hash(weights: ModelWeights) -> SafeString | str:
    base = weights.training_story.get("base_model", {})
    if not base.get("sha256"):
        return format_html("A1111's old hash {} (not matched)", base["legacy_hash"]) if "legacy_hash" in base else ""
    matches = format_html_join(
        ", ",
        '<a href="{}">{}</a>',
        (
            (reverse("admin:assets_modelweights_change", args=[match.pk]), match.name)
            for match in story_base_models(weights=weights)
        ),
    )
    if not matches:
        return format_html("{} — no registered base model has this sha256", base["sha256"])
    return format_html("{} — the registered base model {}", base["sha256"], matches)


def _moment(text: str | None) -> str:
    return datetime.fromisoformat(text).strftime("%Y-%m-%d %H:%M UTC") if text else ""


def _dates(training: dict) -> str:
    started, finished = _moment(training.get("started_at")), _moment(training.get("finished_at"))
    span = f"{started} to {finished}" if started and finished else started or finished
    return " · ".join(part for part in (span, training.get("date") and f"dated {training['date']}") if part)


def _amounts(training: dict) -> str:
    steps = training.get("steps")
    if training.get("max_steps") is not None:
        steps = f"{steps if steps is not None else '?'} of {training['max_steps']}"
    parts = (training.get("images"), steps, training.get("epochs"))
    return " · ".join("?" if part is None else str(part) for part in parts) if any(p is not None for p in parts) else ""


def _network(network: dict) -> str:
    labels = ("rank", "alpha", "learning_rate", "optimizer", "seed", "resolution", "module")
    return " · ".join(f"{label.replace('_', ' ')} {network[label]}" for label in labels if label in network)


def _folders(story: dict) -> str:
    folders = [
        f"{row['folder']}: {row.get('images', '?')} images × {row.get('repeats', '?')} repeats"
        for row in story.get("datasets", [])
    ]
    return _more(folders, total=story.get("datasets_total", 0))


LINE_BREAK = SafeString("<br>")


def _tags(story: dict) -> SafeString | str:
    lines = [
        format_html(
            "<b>{}</b>: {}",
            row["folder"],
            _more([f"{tag} ({count})" for tag, count in row.get("tags", [])], total=row.get("tags_total", 0)),
        )
        for row in story.get("tags", [])
    ]
    if not lines:
        return ""
    more = story.get("tag_folders_total", 0) - len(lines)
    # One safe string: a plain "" added to the safe lines, or a plain "<br>" between them, is escaped on the page.
    more_folders = format_html("<br>and {} more folder(s)", more) if more > 0 else ""
    return format_html("{}{}", format_html_join(LINE_BREAK, "{}", ((line,) for line in lines)), more_folders)


def _more(items: list[str], *, total: int) -> str:
    return ", ".join(items) + (f" and {total - len(items)} more" if total > len(items) else "")


def _training_set(weights: ModelWeights, *, viewer) -> SafeString | str:
    images = story_training_set_held(weights=weights, user=viewer)
    if not images:
        return ""
    held = [image for image in images if image["versions"] or image["references"]]
    missing = [image["sha256"][:12] for image in images if not (image["versions"] or image["references"])]
    links = format_html_join(
        "",
        "<li>{} (their v{}): {}</li>",
        ((image["sha256"][:12], image.get("version_id", "?"), _holders(image)) for image in held),
    )
    total = weights.training_story.get("training_set_total", len(images))
    return format_html(
        "{} image(s) listed; this install holds {} of them as you may see them<ul>{}</ul>{}",
        total,
        len(held),
        links,
        f"not held here: {_more(missing[:_NOT_HELD_SHOWN], total=len(missing))}" if missing else "",
    )


def _holders(image: dict) -> SafeString:
    pairs = [("version", "v", pk) for pk in image["versions"]] + [
        ("reference", "reference ", pk) for pk in image["references"]
    ]
    return format_html_join(
        ", ",
        '<a href="{}">{}{}</a>',
        ((reverse(f"admin:assets_{model}_change", args=[pk]), prefix, pk) for model, prefix, pk in pairs),
    )


def _unreadable(unreadable: dict) -> SafeString | str:
    return format_html_join("<br>", "<code>{}</code>: {}", unreadable.items()) if unreadable else ""
