from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from assets import views as asset_views
from assets.api.tokens import ApiTokenObtainView
from config import views as config_views

urlpatterns = [
    path("admin/", admin.site.urls),
    path("metrics", config_views.metrics, name="metrics"),
    path("api/", include("review.api.urls")),
    path("api/", include("generation.api.urls")),
    path("api/", include("delivery.api.urls")),
    path("api/", include("assets.api.urls")),
    path("api/auth/token/", ApiTokenObtainView.as_view(), name="api-token"),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="swagger-ui"),
    path("blobs/<str:sha256>/", asset_views.blob_image, name="blob-image"),
    path("blobs/<str:sha256>/thumb/<int:size>/", asset_views.blob_thumbnail, name="blob-thumbnail"),
    path("review/", include("review.urls")),
    path("review/", include("delivery.urls")),
]

handler404 = "config.views.not_found"
handler500 = "config.views.server_error"
