"""The core's API serializers, one module per area; the views read them as `serializers.<Name>`."""

from assets.api.serializers.briefs import (
    BriefCreateSerializer,
    BriefSerializer,
    CampaignSerializer,
    ClientSerializer,
)
from assets.api.serializers.imports import (
    ImageImportReportSerializer,
    ImagesImportSerializer,
    VersionImportSerializer,
)
from assets.api.serializers.inputs import (
    ModelWeightsDetailSerializer,
    ModelWeightsSerializer,
    PromptRenderSerializer,
    PromptSerializer,
    PromptTemplateSerializer,
    ReferenceCreateSerializer,
    ReferenceSerializer,
)
from assets.api.serializers.rights import (
    InheritedLicenceSerializer,
    LicenceSerializer,
    ReproducibilityCheckSerializer,
    RightsProblemSerializer,
    RightsSerializer,
)
from assets.api.serializers.versions import (
    DerivationSerializer,
    DerivationSummarySerializer,
    DerivedFileSerializer,
    LineageSerializer,
    MaskUploadSerializer,
    VersionSerializer,
)

__all__ = [
    "BriefCreateSerializer",
    "BriefSerializer",
    "CampaignSerializer",
    "ClientSerializer",
    "DerivationSerializer",
    "DerivationSummarySerializer",
    "DerivedFileSerializer",
    "ImageImportReportSerializer",
    "ImagesImportSerializer",
    "InheritedLicenceSerializer",
    "LicenceSerializer",
    "LineageSerializer",
    "MaskUploadSerializer",
    "ModelWeightsDetailSerializer",
    "ModelWeightsSerializer",
    "PromptRenderSerializer",
    "PromptSerializer",
    "PromptTemplateSerializer",
    "ReferenceCreateSerializer",
    "ReferenceSerializer",
    "ReproducibilityCheckSerializer",
    "RightsProblemSerializer",
    "RightsSerializer",
    "VersionImportSerializer",
    "VersionSerializer",
]
