"""``/api/projects``, ``/api/undo`` and ``/api/redo``: stored projects and the live one (control loop).

Decisions:
- ``current`` names the live project, the one the pads play. Changing it (PUT, PATCH) goes through the
  editor, so it is undoable and autosaved, but it is stored as a project only by ``POST
  /api/projects/current/save``. A stored project's id that is the open project's id means the same live
  project, and changing it through that id also saves it (the client addressed the stored document).
- A stored project that is not open is changed on disk (validated first; a corrupt file is never replaced).
- Opening another project while the live one has unsaved changes is refused (409) unless ``discard=true``:
  the performer's work is never thrown away by a stray tap.
- The open project cannot be deleted (409): open another one first.
- Save-lock (gig mode, ``control.savelock``): the project store refuses every write itself; each writing
  route checks the same lock first (``check_unlocked``), so the refusal (423 Locked with the sentence) comes
  before anything is half done. Saving, save as, creating, deleting, and PUT/PATCH of a stored project (the
  open one addressed by its id too: that would save it) are refused whole; opening a project and every edit
  of ``current`` go on (autosaved as usual). Opening over unsaved changes still needs ``discard=true``, and
  the 409 then says they cannot be saved now.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, HTTPException, Query, Response
from pydantic import ConfigDict, Field

from groovebox.control.editor import (
    EditError,
    Origin,
    ReplaceProject,
    SetBpm,
    SetMasterVolume,
    SetMetronome,
    SetQuantize,
)
from groovebox.control.projects import ProjectStoreError
from groovebox.project.model import Project, QuantizeText
from groovebox.web.context import WebContext, check_unlocked, context_of
from groovebox.web.models import Camel

__all__ = ["router", "ProjectPatch", "edit_or_422", "store_error"]

Context = Annotated[WebContext, Depends(context_of)]
CURRENT = "current"
_EXAMPLE_PROJECT = {"projectName": "Summer Anthem", "bpm": 120}


class ProjectSummaryOut(Camel):
    project_id: str
    project_name: str
    updated_at: str
    bpm: float | None
    pad_count: int | None
    error: str | None = None


class EditorState(Camel):
    """Undo/redo and save state of the live project."""

    project_id: str
    project_name: str
    stored_project_id: str | None
    dirty: bool
    can_undo: bool
    undo_label: str | None
    can_redo: bool
    redo_label: str | None
    warnings: list[str]


class ProjectList(Camel):
    projects: list[ProjectSummaryOut]
    current: EditorState


class NewProject(Camel):
    """A new, empty stored project (``open``: make it the live project at once)."""

    model_config = ConfigDict(json_schema_extra={"examples": [_EXAMPLE_PROJECT]})

    project_name: str = Field(min_length=1, max_length=100)
    bpm: float = Field(120.0, ge=20.0, le=400.0)
    quantize_grid: QuantizeText = "1 bar"
    open: bool = False


class ProjectPatch(Camel):
    """The fields to change; the others keep their value."""

    model_config = ConfigDict(json_schema_extra={"examples": [{"bpm": 124.0, "metronome": True}]})

    project_name: str | None = Field(None, min_length=1, max_length=100)
    bpm: float | None = Field(None, ge=20.0, le=400.0)
    master_volume: float | None = Field(None, ge=0.0, le=1.0)
    quantize_grid: QuantizeText | None = None
    metronome: bool | None = None


class SaveRequest(Camel):
    """Save the live project; ``projectName`` with ``asNew`` stores a copy under a new id."""

    project_name: str | None = Field(None, min_length=1, max_length=100)
    as_new: bool = False


class LiveProject(Camel):
    project: dict[str, Any]
    editor: EditorState


def store_error(error: ProjectStoreError) -> HTTPException:
    """A ProjectStoreError as an HTTP error: 404 for a missing project, else 409."""
    message = str(error)
    return HTTPException(404 if message.startswith("no project") else 409, message)


def edit_or_422(context: WebContext, edit) -> Project:
    """Apply ``edit`` to the live project; an EditError is a 422 with its sentence."""
    try:
        return context.editor.apply(edit)
    except EditError as error:
        raise HTTPException(422, str(error)) from None


def live_project(context: WebContext) -> dict:
    return {"project": _project_json(context.editor.project), "editor": context.editor.describe()}


def _project_json(project: Project) -> dict:
    return project.model_dump(mode="json", by_alias=True)


def _is_live(context: WebContext, project_id: str) -> bool:
    return project_id == CURRENT or project_id == context.editor.origin.stored_id


def _load(context: WebContext, project_id: str) -> Project:
    try:
        return context.projects.load(project_id)
    except ProjectStoreError as error:
        raise store_error(error) from None


def _save_live(context: WebContext, name: str | None = None, as_new: bool = False) -> Project:
    editor = context.editor
    live = editor.project
    check_unlocked(context, "saving a copy of the project" if as_new else "saving the project")
    try:
        if as_new:
            stored = context.projects.save_as(live, name or live.project_name)
        else:
            if name is not None:
                editor.rename(name)
            stored = context.projects.save(editor.project)
    except (ProjectStoreError, EditError) as error:
        raise HTTPException(409, str(error)) from None
    except OSError as error:
        raise HTTPException(507, f"cannot save the project: {error.strerror or error}") from None
    editor.mark_saved(stored)
    return editor.project


def _patch_live(context: WebContext, patch: ProjectPatch) -> None:
    edits = [(patch.bpm, SetBpm), (patch.master_volume, SetMasterVolume), (patch.quantize_grid, SetQuantize),
             (patch.metronome, SetMetronome)]
    for value, edit in edits:
        if value is not None:
            edit_or_422(context, edit(value))
    if patch.project_name is not None:
        try:
            context.editor.rename(patch.project_name)
        except EditError as error:
            raise HTTPException(422, str(error)) from None


def _stored_write(context: WebContext, project: Project) -> Project:
    try:
        return context.projects.save(project)
    except ProjectStoreError as error:
        raise store_error(error) from None
    except OSError as error:
        raise HTTPException(507, f"cannot save the project: {error.strerror or error}") from None


def router() -> APIRouter:
    api = APIRouter(prefix="/api", tags=["projects"])

    @api.get("/projects", response_model=ProjectList)
    async def list_projects(context: Context) -> dict:
        """Every stored project, newest first (a corrupt file is listed with ``error``), and the live one."""
        return {"projects": [summary.to_json() for summary in context.projects.list()],
                "current": context.editor.describe()}

    @api.post("/projects", status_code=201, response_model=dict[str, Any])
    async def create_project(context: Context, new: NewProject) -> dict:
        """Create and store an empty project; with ``open`` it becomes the live project."""
        check_unlocked(context, "creating a project")
        if new.open:
            _refuse_unsaved(context)
        try:
            stored = context.projects.new(new.project_name, bpm=new.bpm, quantize_grid=new.quantize_grid)
        except ProjectStoreError as error:
            raise HTTPException(422, str(error)) from None
        if new.open:
            _open(context, stored, discard=True)
        return _project_json(stored)

    @api.get("/projects/current", response_model=LiveProject)
    async def get_live(context: Context) -> dict:
        """The live project and its undo/redo state."""
        return live_project(context)

    @api.post("/projects/current/save", response_model=LiveProject)
    async def save_live(context: Context, request: SaveRequest = Body(default_factory=SaveRequest)) -> dict:
        """Store the live project (under its id, or as a new copy with ``asNew``)."""
        _save_live(context, request.project_name, request.as_new)
        return live_project(context)

    @api.get("/projects/{project_id}", response_model=dict[str, Any])
    async def get_project(context: Context, project_id: str) -> dict:
        """A stored project (``current``: the live one)."""
        if project_id == CURRENT:
            return _project_json(context.editor.project)
        return _project_json(_load(context, project_id))

    @api.put("/projects/{project_id}", response_model=dict[str, Any])
    async def replace_project(context: Context, project_id: str,
                              project: Annotated[Project, Body(examples=[_EXAMPLE_PROJECT])]) -> dict:
        """Replace a project's whole content (tempo, grid, pads, tracks); its id and name stay."""
        if project_id != CURRENT:
            check_unlocked(context, "changing a stored project")
        if _is_live(context, project_id):
            edit_or_422(context, ReplaceProject(project))
            if project_id != CURRENT:
                _save_live(context)
            return _project_json(context.editor.project)
        stored = _load(context, project_id)
        replacement = project.model_copy(update={"project_id": stored.project_id,
                                                 "project_name": stored.project_name,
                                                 "created_at": stored.created_at})
        return _project_json(_stored_write(context, replacement))

    @api.patch("/projects/{project_id}", response_model=dict[str, Any])
    async def patch_project(context: Context, project_id: str, patch: ProjectPatch) -> dict:
        """Change some fields of a project: name, bpm, masterVolume, quantizeGrid, metronome."""
        if project_id != CURRENT:
            check_unlocked(context, "changing a stored project")
        if _is_live(context, project_id):
            _patch_live(context, patch)
            if project_id != CURRENT:
                _save_live(context)
            return _project_json(context.editor.project)
        changes = patch.model_dump(exclude_none=True)
        try:
            updated = _load(context, project_id).replace(**changes)
        except ValueError as error:
            raise HTTPException(422, str(error)) from None
        return _project_json(_stored_write(context, updated))

    @api.delete("/projects/{project_id}", status_code=204)
    async def delete_project(context: Context, project_id: str) -> Response:
        """Delete a stored project (not the open one)."""
        check_unlocked(context, "deleting the project")
        if _is_live(context, project_id):
            raise HTTPException(409, "this project is open; open another one before deleting it")
        try:
            context.projects.delete(project_id)
        except ProjectStoreError as error:
            raise store_error(error) from None
        return Response(status_code=204)

    @api.post("/projects/{project_id}/open", response_model=LiveProject)
    async def open_project(context: Context, project_id: str,
                           discard: Annotated[bool, Query(description="throw away unsaved changes")] = False) -> dict:
        """Make a stored project the live one (the pads load it; the history starts again)."""
        _open(context, _load(context, project_id), discard)
        return live_project(context)

    @api.post("/undo", response_model=LiveProject, tags=["edit"])
    async def undo(context: Context) -> dict:
        """Undo the last change of the live project (409 when there is none)."""
        if context.editor.undo() is None:
            raise HTTPException(409, "nothing to undo")
        return live_project(context)

    @api.post("/redo", response_model=LiveProject, tags=["edit"])
    async def redo(context: Context) -> dict:
        """Redo the last undone change (409 when there is none)."""
        if context.editor.redo() is None:
            raise HTTPException(409, "nothing to redo")
        return live_project(context)

    return api


def _refuse_unsaved(context: WebContext) -> None:
    editor = context.editor
    if not editor.dirty:
        return
    name = editor.project.project_name
    if context.save_lock.on:
        raise HTTPException(409, f"{name!r} has unsaved changes, which save-lock (gig mode) keeps from being "
                                 "saved: open with discard=true to drop them")
    raise HTTPException(409, f"{name!r} has unsaved changes: save it, or open with discard=true")


def _open(context: WebContext, project: Project, discard: bool) -> None:
    editor = context.editor
    if not discard and editor.project.project_id != project.project_id:
        _refuse_unsaved(context)
    try:
        editor.load(project, Origin(stored_id=project.project_id), saved=project)
    except EditError as error:
        raise HTTPException(422, str(error)) from None
