"""POST /api/versions/{id}/retouch-export/: the version as a signed PNG for a retoucher (retouch_exports).

A page of the core's versions answered here, where signing lives. Studio staff who may record credentials
(producers) export; a client reviewer never does, even of a version they see and may download: the export is a
studio working file, and its credential a studio row (assets.models.Credential's access), not a deliverable.
"""

from django.http import HttpResponse
from drf_spectacular.utils import extend_schema
from rest_framework.views import APIView

from assets.api.permissions import internal_only, visible_row
from assets.models import Version
from delivery.services.retouch_exports import retouch_export


class RetouchExportView(APIView):
    @extend_schema(request=None, responses={(200, "image/png"): bytes})
    def post(self, request, pk):
        internal_only(request, "assets.add_credential")
        exported = retouch_export(version=visible_row(request, Version, pk), user=request.user)
        response = HttpResponse(exported.data, content_type=exported.media_type)
        response["Content-Disposition"] = f'attachment; filename="{exported.file_name}"'
        response["X-Seed-Credential"] = exported.credential.manifest_id
        return response
