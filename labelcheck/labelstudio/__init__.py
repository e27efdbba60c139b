"""The Label Studio adapter: connect to a server, pull a project's annotations through the
export API, read its label config, and publish instructions.

Thin around :mod:`label_studio_sdk`; the table it produces comes from the same loader as
an export file (:func:`labelcheck.io.labelstudio_export.read_labelstudio_json`).
"""

from labelcheck.labelstudio.client import (
    ConnectionProblem,
    LabelStudioConnection,
    ProjectInfo,
    check_connection,
    make_client,
)
from labelcheck.labelstudio.label_config import ControlSpec, field_specs, read_label_config
from labelcheck.labelstudio.publish import PublishResult, publish_instructions
from labelcheck.labelstudio.pull import PullResult, pull_project

__all__ = [
    "ConnectionProblem",
    "ControlSpec",
    "LabelStudioConnection",
    "ProjectInfo",
    "PublishResult",
    "PullResult",
    "check_connection",
    "field_specs",
    "make_client",
    "publish_instructions",
    "pull_project",
    "read_label_config",
]
