from review.roles import CLIENT_REVIEWER
from tests.factories import api_as, make_brief, member
from tests.delivery.test_delivery_flow import small_preset


def test_deliveries_through_the_api_are_scoped_and_studio_only(people, master, run_jobs):
    small_preset()
    producer, client = api_as(people["producer"]), api_as(people["client"])
    body = {"version": master.pk, "presets": ["thumb-square"], "override_reason": "api test"}
    assert client.post("/api/deliveries/", body, format="json").status_code == 403
    assert producer.post("/api/deliveries/", {**body, "presets": ["nope"]}, format="json").json()["message"] == "unknown preset(s): nope"
    with run_jobs():
        response = producer.post("/api/deliveries/", body, format="json")
    assert response.status_code == 201, response.json()
    delivery_id = response.json()["id"]
    detail = client.get(f"/api/deliveries/{delivery_id}/").json()
    assert detail["state"] == "succeeded" and detail["items"][0]["manifest_state"] == "trusted"
    bundle = client.get(detail["bundle_url"])
    assert bundle.status_code == 200 and bundle["Content-Type"] == "application/zip"
    outsider = api_as(member("otto", CLIENT_REVIEWER, make_brief(client_name="Other Co", title="Other").campaign.client))
    assert outsider.get(f"/api/deliveries/{delivery_id}/").status_code == 404
    assert outsider.get(f"/api/deliveries/{delivery_id}/bundle/").status_code == 404
    assert producer.post(f"/api/deliveries/{delivery_id}/override/", {"reason": "x"}, format="json").status_code == 400


def test_finishing_endpoints_validate_before_queueing(people, generated, run_jobs):
    producer = api_as(people["producer"])
    bad = producer.post(f"/api/versions/{generated.pk}/finishing/", {"op": "grade", "params": {"exposure": 9}}, format="json")
    assert bad.status_code == 400 and "exposure" in bad.json()["message"]
    with run_jobs():
        ok = producer.post(f"/api/versions/{generated.pk}/palette-snap/", {"pull": 0.5}, format="json")
    assert ok.status_code == 201 and ok.json()["op"] == "lut"
    assert api_as(people["client"]).post(f"/api/versions/{generated.pk}/upscale/", {"target_width": 500, "target_height": 500},
                                         format="json").status_code == 403
