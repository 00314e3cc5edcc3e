"""Core models: org units, positions, competencies, officials, tokens, audit log."""
from training.models.activation import ActivationToken
from training.models.audit import AuditEntry
from training.models.competency import Competency, CompetencyRecord, position_competencies
from training.models.job import Job, JobFile
from training.models.org import OrgUnit, Position, UNIT_TYPES
from training.models.setting import Setting
from training.models.user import ROLES, ApiToken, LoginFailure, User, UserRole, UserSession

__all__ = [
    "ActivationToken",
    "ApiToken",
    "AuditEntry",
    "Competency",
    "CompetencyRecord",
    "Job",
    "JobFile",
    "LoginFailure",
    "OrgUnit",
    "Position",
    "ROLES",
    "Setting",
    "UNIT_TYPES",
    "User",
    "UserRole",
    "UserSession",
    "position_competencies",
]
