from django.urls import path

from delivery import views

urlpatterns = [
    path("versions/<int:version_id>/proof/", views.proof_page, name="version-proof"),
    path("versions/<int:version_id>/proof/image/", views.proof_image, name="version-proof-image"),
    path("versions/<int:version_id>/slots/", views.slots_page, name="version-slots"),
    path("versions/<int:version_id>/slots/<slug:slug>.png", views.slot_image, name="version-slot-image"),
]
