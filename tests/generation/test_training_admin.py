"""Training a LoRA from the admin, as Alice the producer: the form on the versions list, the training's page with
its progress and cancel button, and the LoRA's page telling what it learned from (Chromium screenshots at the end)."""

import math

import pytest

from assets.models import AuditEvent, Derivation, ModelWeights, Phase, Used, Version
from assets.services.versions import version_import
from generation.admin_training_panels import learned_from_panel
from generation.services.training import caption_default, lora_training_create
from tests.factories import image_file
from tests.review.browser import ARTIFACTS, BROWSER_MARKS, admin_page, browser_password

pytestmark = pytest.mark.django_db
QUICK = {"name": "Aurora style", "rank": 4, "steps": 3, "learning_rate": 1e-3, "resolution": 64, "seed": 7}
VERSIONS = "/admin/assets/version/"


def approved_images(brief, count=2):
    versions = []
    for index in range(count):
        version = version_import(
            brief=brief,
            source=image_file(f"look{index}.png", size=(80, 64), colour=(40 * index, 200 - 30 * index, 90)),
            label=f"look {index}",
        )
        version.status = Version.Status.APPROVED
        version.save(update_fields=["status"])
        versions.append(version)
    return versions


def running_training(brief) -> Derivation:
    """A training as a worker leaves it halfway: 600 of 1,500 steps, a loss logged every 10 steps."""
    return Derivation.objects.create(
        brief=brief,
        op="train_lora",
        phase=Phase.PRODUCTION,
        state=Derivation.State.RUNNING,
        params={**QUICK, "steps": 1500, "captions": ["look 0"]},
        progress_step=600,
        progress_total=1500,
        progress_log=[
            {"step": step, "loss": round(0.2 * math.exp(-step / 250) + 0.06 + 0.01 * math.sin(step), 6)}
            for step in range(10, 601, 10)
        ],
    )


def form_data(images, base, **params) -> dict:
    """What the form posts back: the action, the chosen versions, the recipe and one caption per version."""
    recipe = {"sample_every": 0, "sample_steps": 2, "batch_size": 1, **QUICK, **params}
    return {
        "action": "train_lora_on_versions",
        "_selected_action": [image.pk for image in images],
        "confirm": "yes",
        "base_model": base.pk,
        **{name: value for name, value in recipe.items() if value is not False},
        **{f"caption_{image.pk}": f"aurora look {index}" for index, image in enumerate(images)},
    }


def browser(test):
    """The browser tests' marks (tests/review/browser.py) on the one test of this module that drives Chromium."""
    for mark in BROWSER_MARKS:
        test = mark(test)
    return test


@pytest.fixture
def alice(client, cast):
    client.force_login(cast["alice"])
    return client


def test_the_form_offers_trainable_bases_and_prefills_each_caption(alice, cast, tiny):
    images = approved_images(cast["brief_a"])
    page = alice.post(VERSIONS, {"action": "train_lora_on_versions", "_selected_action": [i.pk for i in images]})
    assert page.status_code == 200
    form = page.context["form"]
    assert [version.pk for version in form.versions] == [image.pk for image in images]
    for image in images:
        assert form[f"caption_{image.pk}"].value() == caption_default(version=image) == image.label
    bases = set(form.fields["base_model"].queryset)
    assert tiny["base"] in bases and tiny["flux"] in bases and tiny["sd35"] not in bases
    html = page.content.decode()
    assert "Train a LoRA on 2 image(s)" in html and html.count("/thumb/256/") == 2


def test_a_bad_rank_is_shown_on_the_form_and_nothing_is_written(alice, cast, tiny):
    images = approved_images(cast["brief_a"])
    before = (Derivation.objects.count(), Used.objects.count(), ModelWeights.objects.count())
    page = alice.post(VERSIONS, form_data(images, tiny["base"], rank=0))
    assert page.status_code == 200
    assert page.context["form"].errors["rank"] == ["parameter 'rank' must be at least 1; got 0"]
    assert "aurora look 1" in page.content.decode()  # the captions typed are kept
    assert (Derivation.objects.count(), Used.objects.count(), ModelWeights.objects.count()) == before


def test_a_caption_the_recipe_refuses_is_shown_beside_its_image(alice, cast, tiny):
    images = approved_images(cast["brief_a"])
    page = alice.post(VERSIONS, {**form_data(images, tiny["base"]), f"caption_{images[1].pk}": "x" * 1001})
    assert (
        page.status_code == 200 and "caption 1 is longer" in page.context["form"].errors[f"caption_{images[1].pk}"][0]
    )
    assert not Derivation.objects.filter(op="train_lora").exists()


def test_a_valid_submit_records_the_training_and_opens_its_page(alice, cast, tiny):
    images = approved_images(cast["brief_a"])
    page = alice.post(VERSIONS, form_data(images, tiny["base"], bucketing=True), follow=True)
    training = Derivation.objects.get(op="train_lora")
    assert page.redirect_chain == [(f"/admin/assets/derivation/{training.pk}/change/", 302)]
    assert "Training of Aurora style queued: 3 steps on 2 image(s)." in page.content.decode()
    assert training.state == Derivation.State.QUEUED and training.created_by == cast["alice"]
    assert training.brief == cast["brief_a"]
    assert training.params["captions"] == ["aurora look 0", "aurora look 1"]
    assert training.params["rank"] == 4 and training.params["bucketing"] is True
    assert training.params["train_text_encoder"] is False and "sample_prompt" not in training.params
    learned = training.used.filter(role=Used.Role.TRAINING_IMAGE).order_by("position")
    assert [edge.version_id for edge in learned] == [image.pk for image in images]
    assert training.used.get(role=Used.Role.BASE_MODEL).model_weights == tiny["base"]


def test_the_training_page_shows_progress_loss_the_lora_and_its_samples(alice, cast, tiny, run_jobs):
    with run_jobs():
        alice.post(VERSIONS, form_data(approved_images(cast["brief_a"]), tiny["base"], sample_every=3))
    training = Derivation.objects.get(op="train_lora")
    assert training.state == Derivation.State.SUCCEEDED, training.error
    lora = ModelWeights.objects.get(trained_by=training)
    sample = training.generated.get().version
    html = alice.get(f"/admin/assets/derivation/{training.pk}/change/").content.decode()
    assert '<progress value="3" max="3"' in html and "step 3 of 3" in html
    assert f"latest loss <b>{training.progress_log[-1]['loss']:.4f}</b>" in html
    assert html.count("<polyline points=") == 1 and 'aria-label="Loss by step:' in html
    assert f'href="/admin/assets/modelweights/{lora.pk}/change/">Aurora style</a>' in html
    assert f'href="/admin/assets/version/{sample.pk}/change/"' in html
    assert "Cancel the training" not in html  # it has ended


def test_the_lora_page_tells_what_it_learned_from_as_its_viewer_may_see(alice, cast, tiny, run_jobs):
    images = approved_images(cast["brief_a"])
    with run_jobs():
        training = lora_training_create(
            versions=images, base=tiny["base"], params=QUICK, captions=["red can", "green can"]
        )
    lora = ModelWeights.objects.get(trained_by=training)
    html = alice.get(f"/admin/assets/modelweights/{lora.pk}/change/").content.decode()
    assert "learned from" in html.lower()
    assert f'href="/admin/assets/derivation/{training.pk}/change/">derivation {training.pk}</a>' in html
    assert f'href="/admin/assets/modelweights/{tiny["base"].pk}/change/">{tiny["base"].name}</a>' in html
    assert "rank 4 · alpha 4.0 · steps 3 · learning rate 0.001" in html and "seed 7" in html
    for image, caption in zip(images, ["red can", "green can"], strict=True):
        assert f"v{image.pk}</a></td><td>{caption}</td>" in html
    # Charlie reviews for another client: the panel names none of the images to him.
    hidden = learned_from_panel(lora, viewer=cast["charlie"])
    assert "2 training image(s), 2 of them not yours to see" in hidden and "none you may see" in hidden
    assert not any(f"/admin/assets/version/{image.pk}/" in hidden for image in images)


def test_cancelling_a_queued_training_from_its_page(alice, cast, tiny):
    training = lora_training_create(versions=approved_images(cast["brief_a"]), base=tiny["base"], params=QUICK)
    page = alice.get(f"/admin/assets/derivation/{training.pk}/change/").content.decode()
    assert "Cancel the training" in page and f'name="_selected_action" value="{training.pk}"' in page
    # The button posts the page's form to the derivations list's action, as a browser would.
    done = alice.post(
        "/admin/assets/derivation/",
        {"action": "cancel_trainings", "_selected_action": [training.pk], "_from_training_page": "1"},
        follow=True,
    )
    assert done.redirect_chain == [(f"/admin/assets/derivation/{training.pk}/change/", 302)]
    assert "1 training(s) cancelled." in done.content.decode()
    training.refresh_from_db()
    assert training.state == Derivation.State.CANCELLED and training.cancelled_by == cast["alice"]
    assert training.error == "cancelled by alice" and training.cancelled_at is not None
    assert AuditEvent.objects.get(kind="training.cancelled").object_id == training.pk
    assert "Cancel the training" not in done.content.decode()


def test_reviewers_neither_train_nor_cancel(client, cast, tiny):
    images = approved_images(cast["brief_a"])
    training = lora_training_create(versions=images, base=tiny["base"], params=QUICK)
    client.force_login(cast["bob"])
    assert "train_lora_on_versions" not in client.get(VERSIONS).content.decode()
    client.post(VERSIONS, form_data(images, tiny["base"]))
    client.post("/admin/assets/derivation/", {"action": "cancel_trainings", "_selected_action": [training.pk]})
    assert list(Derivation.objects.filter(op="train_lora").values_list("state", flat=True)) == ["queued"]
    client.force_login(cast["dana"])
    assert "train_lora_on_versions" not in client.get(VERSIONS).content.decode()


@browser
def test_training_from_the_admin_in_chromium(tiny, cast, live_server):
    from playwright.sync_api import sync_playwright

    alice = cast["alice"]
    password = browser_password(alice)
    images = approved_images(cast["brief_a"], count=3)
    running = running_training(cast["brief_a"])
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        browser, page = admin_page(playwright, base_url=live_server.url, user=alice, password=password)
        page.goto(f"{live_server.url}{VERSIONS}?brief__id__exact={cast['brief_a'].pk}&status__exact=approved")
        for image in images:
            page.check(f"input[name=_selected_action][value='{image.pk}']")
        page.select_option("select[name=action]", "train_lora_on_versions")
        page.click("button[name=index]")
        page.wait_for_selector("textarea[name^=caption_]")
        page.select_option("select[name=base_model]", str(tiny["base"].pk))
        page.fill("input[name=name]", "Aurora style")
        for name in ("rank", "steps", "learning_rate", "resolution", "seed"):
            page.fill(f"input[name={name}]", str(QUICK[name]))
        page.fill("input[name=rank]", "0")
        page.click("input[type=submit].default")
        page.wait_for_selector(".errorlist")
        page.screenshot(path=str(ARTIFACTS / "train-lora-form-error.png"), full_page=True)
        page.fill("input[name=rank]", "4")
        page.fill("input[name=sample_every]", "3")
        page.fill("input[name=sample_steps]", "2")
        # Tests run tasks synchronously: the training has run when its page comes back.
        page.click("input[type=submit].default")
        page.wait_for_selector("svg.seed-loss-curve")
        assert "queued: 3 steps on 3 image(s)" in page.locator(".messagelist").inner_text()
        page.screenshot(path=str(ARTIFACTS / "train-lora-derivation.png"), full_page=True)
        page.get_by_role("link", name="Aurora style").click()
        page.wait_for_selector("text=training image(s)")
        page.screenshot(path=str(ARTIFACTS / "train-lora-learned-from.png"), full_page=True)
        page.goto(f"{live_server.url}/admin/assets/derivation/{running.pk}/change/")
        page.locator("svg.seed-loss-curve").scroll_into_view_if_needed()
        page.screenshot(path=str(ARTIFACTS / "train-lora-running.png"))
        page.click("button:has-text('Cancel the training')")
        page.wait_for_selector(".messagelist")
        assert page.url.endswith(f"/admin/assets/derivation/{running.pk}/change/")
        assert "1 training(s) cancelled." in page.locator(".messagelist").inner_text()
        browser.close()
    running.refresh_from_db()
    assert running.state == Derivation.State.CANCELLED and running.cancelled_by == alice
