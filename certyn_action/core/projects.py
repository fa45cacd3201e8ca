"""The projects overview (``GET /api/projects/overview``): a project slug to its id. Pure."""

from __future__ import annotations

from typing import Any

from pydantic import Field, field_validator

from .fields import Identifier, Name, _items, _Model


class Project(_Model):
    id: Identifier = ""
    slug: Name = ""
    name: Name = ""


class ProjectsOverview(_Model):
    """``GET /api/projects/overview``."""

    default_project_id: Identifier = Field(default="", alias="defaultProjectId")
    projects: tuple[Project, ...] = ()

    @field_validator("projects", mode="before")
    @classmethod
    def _tolerant_projects(cls, value: Any) -> Any:
        return _items(value)


def resolve_project_id(overview: ProjectsOverview, slug: str) -> str | None:
    """The id of the project whose slug is ``slug``, compared case-insensitively, or None.

    An exact match wins; otherwise the case-insensitive match must name a single project (two projects
    whose slugs differ only in case, neither exact, is ambiguous: None). ``defaultProjectId`` is never a
    fallback: it may be another project."""
    wanted = slug.strip()
    if not wanted:
        return None
    usable = [project for project in overview.projects if project.id]
    for project in usable:
        if project.slug.strip() == wanted:
            return project.id
    ids = {project.id for project in usable if project.slug.strip().casefold() == wanted.casefold()}
    return ids.pop() if len(ids) == 1 else None

