"""Approved projects (conf/projects.yaml): who may query what, for which purpose, until when.

A project holds data packages (conf/catalogue.yaml); its analysts see only the dimensions and
measures of those packages (plus the packages every project gets). The same file feeds the
public data-sharing register.
"""

from __future__ import annotations

from datetime import date
from functools import cached_property
from pathlib import Path

from pydantic import Field, model_validator

from leo.catalogue import Catalogue
from leo.config import StrictModel, conf_path, load_model
from leo.errors import ConfigError


class ProjectOutput(StrictModel):
    """Something the project has published from its results (a report, a paper)."""

    title: str
    published: date
    url: str | None = None


class Project(StrictModel):
    id: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{1,63}$")
    title: str
    organisation: str
    purpose: str
    lawful_basis: str
    approved: date
    expires: date
    retain_until: date  # the project's outputs and working files are destroyed after this
    packages: list[str]
    members: list[str] = Field(default_factory=list)  # analyst ids (access database)
    outputs: list[ProjectOutput] = Field(default_factory=list)

    @model_validator(mode="after")
    def _dates(self) -> Project:
        if not self.approved <= self.expires <= self.retain_until:
            raise ValueError("dates must satisfy approved <= expires <= retain_until")
        return self

    def active_on(self, day: date) -> bool:
        return self.approved <= day <= self.expires

    def has_member(self, analyst_id: str) -> bool:
        return analyst_id in self.members


class ProjectsFile(StrictModel):
    projects: list[Project]

    @model_validator(mode="after")
    def _unique(self) -> ProjectsFile:
        ids = [p.id for p in self.projects]
        dupes = sorted({i for i in ids if ids.count(i) > 1})
        if dupes:
            raise ValueError(f"project ids must be unique: {dupes}")
        return self

    @cached_property
    def by_id(self) -> dict[str, Project]:
        return {p.id: p for p in self.projects}

    def for_member(self, analyst_id: str) -> list[Project]:
        return [p for p in self.projects if p.has_member(analyst_id)]


def load_projects(
    catalogue: Catalogue, conf_dir: str | Path | None = None, path: str | Path | None = None
) -> ProjectsFile:
    """Load and check against the catalogue: every package a project names must exist."""
    source = str(path) if path is not None else conf_path("projects.yaml", conf_dir)
    projects = load_model(ProjectsFile, source)
    known = catalogue.package_by_id
    for i, p in enumerate(projects.projects):
        for j, pkg in enumerate(p.packages):
            if pkg not in known:
                raise ConfigError(
                    f"{source}: key 'projects[{i}].packages[{j}]': unknown data package "
                    f"{pkg!r} (catalogue has {sorted(known)})"
                )
    return projects
