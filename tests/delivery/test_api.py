from review.roles import CLIENT_REVIEWER
from tests.delivery.test_delivery_flow import small_preset
from tests.factories import api_as, make_brief, member


def test_deliveries_through_the_api_are_scoped_and_studio_only(people, master, run_jobs):
    small_preset()
    producer, client = api_as(people["producer"]), api_as(people["client"])
    body = {"version": master.pk, "presets": ["thumb-square"], "override_reason": "api test"}
    assert client.post("/api/deliveries/", body, format="json").status_code == 403
    assert (
        producer.post("/api/deliveries/", {**body, "presets": ["nope"]}, format="json").json()["message"]
        == "unknown preset(s): nope"
    )
    with run_jobs():
        response = producer.post("/api/deliveries/", body, format="json")
    assert response.status_code == 201, response.json()
    delivery_id = response.json()["id"]
    detail = client.get(f"/api/deliveries/{delivery_id}/").json()
    assert detail["state"] == "succeeded" and detail["items"][0]["manifest_state"] == "trusted"
    bundle = client.get(detail["bundle_url"])
    assert bundle.status_code == 200 and bundle["Content-Type"] == "application/zip"
    outsider = api_as(
        member("otto", CLIENT_REVIEWER, make_brief(client_name="Other Co", title="Other").campaign.client)
    )
    assert outsider.get(f"/api/deliveries/{delivery_id}/").status_code == 404
    assert outsider.get(f"/api/deliveries/{delivery_id}/bundle/").status_code == 404
    assert producer.post(f"/api/deliveries/{delivery_id}/override/", {"reason": "x"}, format="json").status_code == 400


def test_finishing_endpoints_validate_before_queueing(people, generated, run_jobs):
    producer = api_as(people["producer"])
    bad = producer.post(
        f"/api/versions/{generated.pk}/finishing/", {"op": "grade", "params": {"exposure": 9}}, format="json"
    )
    assert bad.status_code == 400 and "exposure" in bad.json()["message"]
    with run_jobs():
        ok = producer.post(f"/api/versions/{generated.pk}/palette-snap/", {"pull": 0.5}, format="json")
    assert ok.status_code == 201 and ok.json()["op"] == "lut"
    assert (
        api_as(people["client"])
        .post(f"/api/versions/{generated.pk}/upscale/", {"target_width": 500, "target_height": 500}, format="json")
        .status_code
        == 403
    )


def test_the_bundle_is_served_from_the_blob_store_and_older_bundles_move_there_on_migrate(
    people, master, run_jobs, settings
):
    import hashlib
    import importlib
    import shutil
    from pathlib import Path

    from django.apps import apps

    from delivery.models import Delivery

    small_preset()
    producer = api_as(people["producer"])
    with run_jobs():
        delivery_id = producer.post(
            "/api/deliveries/",
            {"version": master.pk, "presets": ["thumb-square"], "override_reason": "blob store"},
            format="json",
        ).json()["id"]
    delivery = Delivery.objects.get(pk=delivery_id)
    assert delivery.bundle_id == delivery.bundle_sha256 and delivery.bundle.media_type == "application/zip"
    shutil.rmtree(Path(settings.SEED_DELIVERY_DIR) / delivery.folder)  # the worker's local copy is not what is served
    served = producer.get(f"/api/deliveries/{delivery_id}/bundle/")
    assert (
        served.status_code == 200
        and hashlib.sha256(b"".join(served.streaming_content)).hexdigest() == delivery.bundle_sha256
    )

    # A bundle made before the blob store held bundles: only in the delivery folder, no blob row pointing at it.
    with run_jobs():
        older_id = producer.post(
            "/api/deliveries/",
            {"version": master.pk, "presets": ["thumb-square"], "override_reason": "older"},
            format="json",
        ).json()["id"]
    older = Delivery.objects.get(pk=older_id)
    Delivery.objects.filter(pk=older_id).update(bundle=None)
    assert producer.get(f"/api/deliveries/{older_id}/bundle/").status_code == 404
    migration = importlib.import_module("delivery.migrations.0004_bundle_in_blob_store")
    migration.bundles_store(apps, None)
    older.refresh_from_db()
    assert older.bundle_id == older.bundle_sha256
    assert producer.get(f"/api/deliveries/{older_id}/bundle/").status_code == 200
