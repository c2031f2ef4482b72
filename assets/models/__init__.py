from .access import ClientMembership
from .audit import AuditEvent
from .blobs import Blob, blob_storage_name
from .briefs import (
    DEFAULT_NEGATIVE_PROMPT,
    Brief,
    Campaign,
    Client,
    Prompt,
    PromptTemplate,
    Reference,
)
from .checks import VersionCheck, VersionCheckRun
from .credentials import Credential
from .graph import Derivation, DerivedFile, Generated, Phase, Used, Version, VersionSearch
from .rights import Licence, ReproducibilityCheck
from .tokens import ApiToken
from .weights import ModelWeights
from .workers import WorkerProcess

__all__ = [
    "ClientMembership",
    "AuditEvent",
    "Blob",
    "blob_storage_name",
    "DEFAULT_NEGATIVE_PROMPT",
    "Brief",
    "Campaign",
    "Client",
    "Prompt",
    "PromptTemplate",
    "Reference",
    "Credential",
    "Derivation",
    "DerivedFile",
    "Generated",
    "Phase",
    "Used",
    "Version",
    "VersionSearch",
    "VersionCheck",
    "VersionCheckRun",
    "ModelWeights",
    "Licence",
    "ReproducibilityCheck",
    "ApiToken",
    "WorkerProcess",
]
