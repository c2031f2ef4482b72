from django.urls import path

from review import views

urlpatterns = [
    path("s/<str:token>/", views.share_page, name="share-page"),
    path("s/<str:token>/image/<int:version_id>/", views.share_image, name="share-image"),
    path("s/<str:token>/full/<int:version_id>/", views.share_full_image, name="share-full-image"),
    path("s/<str:token>/notes/", views.share_notes, name="share-notes"),
    path("s/<str:token>/notes/<int:note_id>/replies/", views.share_note_replies, name="share-note-replies"),
    path("s/<str:token>/versions/<int:version_id>/open-notes/", views.share_open_notes, name="share-open-notes"),
    path("s/<str:token>/decisions/", views.share_decisions, name="share-decisions"),
]
