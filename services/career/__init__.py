"""Career catalog and the built-in local career engine (pure Python, no I/O per call)."""

from services.career.catalog import Catalog, Course, Role, Skill, load_seed_catalog
from services.career.engine import LocalCareerEngine
from services.career.taxonomy import SkillExtractor

__all__ = [
    "Catalog",
    "Course",
    "LocalCareerEngine",
    "Role",
    "Skill",
    "SkillExtractor",
    "load_seed_catalog",
]
