from django.urls import path

from review import views

urlpatterns = [
    path("s/<str:token>/", views.share_page, name="share-page"),
    path("s/<str:token>/image/<int:version_id>/", views.share_image, name="share-image"),
    path("s/<str:token>/full/<int:version_id>/", views.share_full_image, name="share-full-image"),
]
