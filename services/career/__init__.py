"""Career: the catalog, the built-in local career engine (pure Python, no I/O per call),
the planner and the CareerService (roles, learning paths, courses).

May import ``db`` and other services (the AI gateway); never ``handlers`` or ``server``.
"""

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
