"""A task-based UI: one form per command of any application.

A thin view over :class:`workbench.commands.CommandSet`: each parameter gets a
fitting input (a small sub-form for a value object), Submit runs the command,
the panel shows the events it recorded (or the refusal, or what is wrong with
each field) and keeps a history table. A command with a parameter no input can
build is shown disabled, with the reason. A field's message goes away as soon
as the field is fixed.

>>> from workbench.examples.ticketing import Ticketing
>>> from workbench.stores import open_app
>>> panel = CommandPanel(open_app(Ticketing))
>>> form = panel.forms["schedule_conference"]
>>> form.fill(code="PHP18", name="ConFoo 2018", starts_on="2018-03-07")
>>> form.submit_button.click()
>>> [e.type_name for e in form.result.events]
['Conference.Scheduled']
"""

from __future__ import annotations

import datetime as _dt
import functools
import html
import json
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import ipywidgets as widgets
from eventsourcing.application import Application

from workbench.commands import Command, CommandResult, CommandSet, Field, RecordedEvent
from workbench.commands.fields import object_example

__all__ = ["CommandForm", "CommandPanel", "MappingInput", "ObjectInput"]

_WIDE = widgets.Layout(width="420px")
_STYLE = {"description_width": "200px"}
_HISTORY_ROWS = 20


def _fmt(value: Any, limit: int = 80) -> str:
    if isinstance(value, Mapping):
        text = json.dumps({str(k): _plain(v) for k, v in value.items()}, ensure_ascii=False)
    elif isinstance(value, list | tuple | set):
        text = ", ".join(str(_plain(v)) for v in value)
    else:
        text = str(_plain(value))
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _plain(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set):
        return [_plain(v) for v in value]
    if isinstance(value, int | float | bool | str) or value is None:
        return value
    return str(value)


class _Input:
    """One parameter's input: a widget and how to read its raw value for the core."""

    def __init__(self, field: Field, widget: widgets.Widget) -> None:
        self.field = field
        self.widget = widget

    def raw(self) -> Any:
        return self.widget.value

    def set(self, value: Any) -> None:
        """Show ``value`` (text or typed); raises ``ValueError`` for a value the field refuses."""
        shown = self.field.as_input(value)
        self.widget.value = "" if shown is None else shown

    def clear(self) -> None:
        self.widget.value = ""

    def watched(self) -> list[widgets.Widget]:
        """The widgets whose value changes are the input's changes."""
        return [self.widget]

    def watch(self, callback: Callable[[], None]) -> None:
        """Call ``callback()`` whenever the user changes this input."""
        for w in self.watched():
            w.observe(lambda _: callback(), names="value")

    def disable(self) -> None:
        for w in self.watched():
            w.disabled = True


class _DateInput(_Input):
    def set(self, value: Any) -> None:
        self.widget.value = self.field.as_input(value)

    def clear(self) -> None:
        self.widget.value = None


class _BoolInput(_Input):
    def set(self, value: Any) -> None:
        self.widget.value = bool(self.field.as_input(value))

    def clear(self) -> None:
        self.widget.value = bool(self.field.default)


class _ChoiceInput(_Input):
    def set(self, value: Any) -> None:
        self.widget.value = self.field.as_input(value)

    def clear(self) -> None:
        self.widget.index = 0 if self.widget.options else None


class _IdInput(_Input):
    """A dropdown of existing streams of the right kind, or a pasted id."""

    def __init__(self, field: Field, commands: CommandSet) -> None:
        self.commands = commands
        self.dropdown = widgets.Dropdown(
            description=field.label, style=_STYLE, layout=widgets.Layout(width="560px")
        )
        self.pasted = widgets.Text(
            placeholder="…or paste an id", layout=widgets.Layout(width="280px")
        )
        self.note = widgets.HTML()
        self.dropdown.options = [("— choose —", None)]
        box = widgets.VBox([widgets.HBox([self.dropdown, self.pasted]), self.note])
        super().__init__(field, box)

    def refresh(self) -> None:
        """Reload the existing streams (newest activity first)."""
        current = self.dropdown.value
        choices, note = self.commands.existing_streams(self.field)
        options: list[tuple[str, str | None]] = [("— choose —", None)]
        options += [(c.label, c.stream_id) for c in choices]
        self.dropdown.options = options
        if current in {v for _, v in options}:
            self.dropdown.value = current
        self.note.value = f"<small><i>{html.escape(note)}</i></small>" if note else ""

    def raw(self) -> Any:
        return self.pasted.value.strip() or self.dropdown.value

    def set(self, value: Any) -> None:
        text = str(self.field.as_input(value))
        if text in {v for _, v in self.dropdown.options}:
            self.dropdown.value = text
            self.pasted.value = ""
        else:
            self.pasted.value = text

    def clear(self) -> None:
        self.dropdown.value = None
        self.pasted.value = ""

    def watched(self) -> list[widgets.Widget]:
        return [self.dropdown, self.pasted]


class MappingInput(_Input):
    """Rows of *name → value*, e.g. a quantity per ticket type.

    >>> from workbench.commands import Field
    >>> m = MappingInput(Field("quantities", "mapping", value=Field("quantity", "int")))
    >>> m.rows[0][0].value, m.rows[0][1].value = "Standard", "2"
    >>> m.raw()
    {'Standard': '2'}
    """

    def __init__(self, field: Field) -> None:
        self.rows: list[tuple[widgets.Text, widgets.Text]] = []
        self._callbacks: list[Callable[[], None]] = []
        self.box = widgets.VBox()
        value_field = field.value or Field("value")
        self.add_button = widgets.Button(
            description="+ row", layout=widgets.Layout(width="70px"), tooltip="add a row"
        )
        self.add_button.on_click(lambda _: self.add_row())
        self.value_word = value_field.name.replace("_", " ")
        title = widgets.Label(field.label, layout=widgets.Layout(width="200px"))
        super().__init__(field, widgets.HBox([title, widgets.VBox([self.box, self.add_button])]))
        self.add_row()

    def add_row(self, key: str = "", value: Any = "") -> None:
        """Add an empty (or filled) row."""
        name = widgets.Text(value=key, placeholder="name", layout=widgets.Layout(width="160px"))
        amount = widgets.Text(
            value=str(value), placeholder=self.value_word, layout=widgets.Layout(width="90px")
        )
        for callback in self._callbacks:
            for w in (name, amount):
                w.observe(lambda _, callback=callback: callback(), names="value")
        self.rows.append((name, amount))
        self.box.children = [widgets.HBox(list(row)) for row in self.rows]

    def raw(self) -> Any:
        filled = [(k.value, v.value) for k, v in self.rows if k.value.strip() or v.value.strip()]
        if not filled:
            return {}  # an empty mapping is a value; the core leaves an optional one to its default
        bad = [v for k, v in filled if not k.strip()]
        if bad:  # let the core name the problem
            return ", ".join(f"{k}={v}" for k, v in filled)
        return {k.strip(): v for k, v in filled}

    def set(self, value: Any) -> None:
        mapping = self.field.as_input(value) or {}
        self.rows = []
        for k, v in mapping.items():
            self.add_row(str(k), v)
        if not self.rows:
            self.add_row()

    def clear(self) -> None:
        self.rows = []
        self.add_row()

    def watched(self) -> list[widgets.Widget]:
        return [w for row in self.rows for w in row]

    def watch(self, callback: Callable[[], None]) -> None:
        self._callbacks.append(callback)
        super().watch(callback)

    def disable(self) -> None:
        super().disable()
        self.add_button.disabled = True


class ObjectInput(_Input):
    """A small sub-form for a value object: one input per argument of its class.

    >>> from dataclasses import dataclass
    >>> from workbench.commands.parameters import field_for
    >>> import inspect
    >>> @dataclass
    ... class Address:
    ...     street: str
    ...     city: str
    >>> p = inspect.Parameter("home", inspect.Parameter.POSITIONAL_OR_KEYWORD)
    >>> sub = ObjectInput(field_for(p, Address), None)
    >>> sub.members["city"].widget.value = "Leeds"
    >>> sub.raw()
    {'street': '', 'city': 'Leeds'}
    """

    def __init__(self, field: Field, commands: CommandSet | None) -> None:
        self.members: dict[str, _Input] = {m.name: make_input(m, commands) for m in field.members}
        title = widgets.Label(field.label, layout=widgets.Layout(width="200px"))
        parts = widgets.VBox(
            [m.widget for m in self.members.values()],
            layout=widgets.Layout(border="1px solid #ddd", padding="2px 4px"),
        )
        super().__init__(field, widgets.HBox([title, parts]))

    def raw(self) -> Any:
        values = {name: member.raw() for name, member in self.members.items()}
        blank = all(
            v is None or v == {} or (isinstance(v, str) and not v.strip())
            for name, v in values.items()
            if not isinstance(self.members[name], _BoolInput)
        )
        return None if blank else values  # nothing filled in: not given

    def set(self, value: Any) -> None:
        shown = self.field.as_input(value) or {}
        for name, member in self.members.items():
            if shown.get(name) is None:
                member.clear()
            else:
                member.set(shown[name])

    def clear(self) -> None:
        for member in self.members.values():
            member.clear()

    def watched(self) -> list[widgets.Widget]:
        return [w for member in self.members.values() for w in member.watched()]

    def watch(self, callback: Callable[[], None]) -> None:
        for member in self.members.values():
            member.watch(callback)


def make_input(field: Field, commands: CommandSet | None) -> _Input:
    """A fitting input for one parameter."""
    placeholder = _placeholder(field)
    common: dict[str, Any] = {"description": field.label, "style": _STYLE, "layout": _WIDE}
    if field.note:
        common["tooltip"] = field.note
    if field.unavailable:
        return _Input(field, widgets.Text(placeholder="no input can build this", **common))
    if field.kind == "object":
        return ObjectInput(field, commands)
    if field.kind == "bool":
        return _BoolInput(field, widgets.Checkbox(value=bool(field.default), indent=True, **common))
    if field.kind == "date":
        value = field.default if isinstance(field.default, _dt.date) else None
        return _DateInput(field, widgets.DatePicker(value=value, **common))
    if field.kind == "datetime":
        value = field.default if isinstance(field.default, _dt.datetime) else None
        return _DateInput(field, widgets.DatetimePicker(value=value, **common))
    if field.kind == "choice":
        options: list[tuple[str, Any]] = [(_choice_label(c), c) for c in field.choices]
        if field.nullable:
            options.insert(0, ("— none —", None))
        value = field.default if field.default in field.choices else options[0][1]
        return _ChoiceInput(field, widgets.Dropdown(options=options, value=value, **common))
    if field.kind == "aggregate_id" and commands is not None:
        return _IdInput(field, commands)
    if field.kind == "mapping" and (
        field.value is None or field.value.is_scalar or field.value.kind == "json"
    ):
        return MappingInput(field)
    if field.kind in ("list", "mapping", "json"):
        return _Input(field, widgets.Textarea(placeholder=placeholder, rows=3, **common))
    return _Input(field, widgets.Text(placeholder=placeholder, **common))


def _choice_label(choice: Any) -> str:
    name = getattr(choice, "name", None)
    return str(name) if isinstance(name, str) else str(choice)


def _placeholder(field: Field) -> str:
    examples = {
        "int": "a whole number, e.g. 3",
        "float": "a number, e.g. 2.5",
        "decimal": "e.g. 450.00",
        "list": "one per line",
        "uuid": "e.g. 1b4e28ba-2fa1-11d2-883f-0016d3cca427",
        "json": 'JSON, e.g. {"name": "value"}',
        "text": "",
    }
    text = examples.get(field.kind, "")
    item = field.value
    if field.kind in ("list", "mapping") and item is not None and not item.is_scalar:
        sample = object_example(item) if item.kind == "object" else "..."
        text = (
            f"JSON, e.g. [{sample}]" if field.kind == "list" else f'JSON, e.g. {{"name": {sample}}}'
        )

    if not field.required:
        default = "none" if field.default is None else _fmt(field.default, 30)
        text = f"optional (default {default})" + (f"; {text}" if text else "")
    return text


class CommandForm(widgets.VBox):  # type: ignore[misc]
    """The form of one command: inputs, field messages, Submit, and what happened."""

    def __init__(self, panel: CommandPanel, command: Command) -> None:
        self.panel = panel
        self.command = command
        self.inputs: dict[str, _Input] = {}
        self.errors: dict[str, widgets.HTML] = {}
        self.result: CommandResult | None = None
        rows: list[widgets.Widget] = []
        heading = f"<b>{html.escape(command.title)}</b>"
        if command.doc:
            heading += f" — {html.escape(command.doc)}"
        rows.append(widgets.HTML(heading))
        for f in command.fields:
            made = make_input(f, panel.commands)
            self.inputs[f.name] = made
            message = widgets.HTML(layout=widgets.Layout(margin="0 0 0 205px"))
            self.errors[f.name] = message
            parts: list[widgets.Widget] = [made.widget]
            if f.note:
                parts.append(
                    widgets.HTML(
                        f"<small style='margin-left:205px'><i>{html.escape(f.note)}</i></small>"
                    )
                )
            rows.append(widgets.VBox([*parts, message]))
            made.watch(functools.partial(self.recheck, f.name))
        if command.skipped:
            rows.append(
                widgets.HTML(
                    "<small>not offered: " + html.escape(", ".join(command.skipped)) + "</small>"
                )
            )
        self.submit_button = widgets.Button(description="Submit", button_style="primary")
        self.submit_button.on_click(lambda _: self.submit())
        self.clear_button = widgets.Button(description="Clear")
        self.clear_button.on_click(lambda _: self.clear())
        self.outcome = widgets.HTML()
        self.unavailable = widgets.HTML()
        """Why the command cannot be run from this form (empty when it can)."""
        if command.unavailable:
            self.unavailable.value = (
                "<div style='color:#8a6d00'><b>Not available from a form:</b> "
                f"{html.escape(command.unavailable)}.</div>"
            )
            for made in self.inputs.values():
                made.disable()
            self.submit_button.disabled = True
            self.clear_button.disabled = True
        rows.insert(1, self.unavailable)
        rows += [widgets.HBox([self.submit_button, self.clear_button]), self.outcome]
        super().__init__(rows)

    def recheck(self, name: str) -> None:
        """Check one field after the user changed it: its message goes once it is fixed.

        Numbers are checked as they are typed; any other field's message is
        updated (or removed) when it changes.
        """
        made = self.inputs[name]
        message = self.errors[name]
        raw = made.raw()
        problem = made.field.check(raw)
        live = made.field.kind in ("int", "float", "decimal") and not made.field.is_empty(raw)
        if not problem:
            message.value = ""
        elif message.value or live:
            message.value = _field_message(problem)

    def fill(self, **values: Any) -> None:
        """Set inputs by parameter name (text or typed values), as a user would."""
        for name, value in values.items():
            if name not in self.inputs:
                raise KeyError(
                    f"{self.command.name} has no parameter {name!r}; "
                    f"it has {', '.join(self.inputs) or 'none'}"
                )
            self.inputs[name].set(value)

    def clear(self) -> None:
        for made in self.inputs.values():
            made.clear()
        for message in self.errors.values():
            message.value = ""
        self.outcome.value = ""

    def values(self) -> dict[str, Any]:
        """The raw values of the inputs, as the core receives them."""
        return {name: made.raw() for name, made in self.inputs.items()}

    def submit(self) -> CommandResult:
        """Run the command with what is in the inputs, and show what happened."""
        result = self.panel.commands.submit(self.command.name, self.values())
        self.result = result
        for name, message in self.errors.items():
            error = result.errors.get(name, "")
            message.value = _field_message(error) if error else ""
        self.outcome.value = _outcome_html(result)
        if result.events:
            self.refresh_ids()
        return result

    def refresh_ids(self) -> None:
        """Reload the existing streams offered by this form's id inputs."""
        for made in self.inputs.values():
            if isinstance(made, _IdInput):
                made.refresh()


def _field_message(text: str) -> str:
    return f"<span style='color:#b00020'>⚠ {html.escape(text)}</span>"


_FAILED = {
    "refused": "Refused",
    "duplicate": "Duplicate",
    "conflict": "Conflict",
    "error": "Error in the application's code",
    "store error": "The store refused the write",
    "unavailable": "Not available from a form",
}


def _outcome_html(result: CommandResult) -> str:
    if result.outcome == "invalid":
        items = "".join(
            f"<li><b>{html.escape(k)}</b>: {html.escape(v)}</li>" for k, v in result.errors.items()
        )
        return (
            "<div style='color:#b00020'>Not run: fix these fields first "
            f"(nothing was recorded).<ul>{items}</ul></div>"
        )
    if result.outcome in _FAILED:
        table = events_table(result.events) if result.events else ""
        return (
            f"<div style='color:#b00020'><b>{_FAILED[result.outcome]}:</b> "
            f"{html.escape(result.message)}</div>{table}"
        )
    if not result.events:
        return "<div>Done: the command recorded no events.</div>"
    returned = (
        f" It returned <code>{html.escape(_fmt(result.returned))}</code>."
        if result.returned is not None
        else ""
    )
    return (
        f"<div style='color:#1b5e20'><b>Recorded {len(result.events)} event"
        f"{'s' if len(result.events) != 1 else ''}</b> in {result.duration_ms:.0f} ms."
        f"{returned}</div>" + events_table(result.events)
    )


def events_table(events: Iterable[RecordedEvent]) -> str:
    """An HTML table of recorded events: position, type, stream, version, payload."""
    rows = "".join(
        "<tr>"
        f"<td>{e.position}</td><td><b>{html.escape(e.type_name)}</b></td>"
        f"<td><code>{html.escape(e.stream_id[:8])}…</code></td><td>{e.version}</td>"
        f"<td><code>{html.escape(_fmt(e.payload, 160))}</code></td>"
        "</tr>"
        for e in events
    )
    return (
        "<table><thead><tr><th>position</th><th>event</th><th>stream</th>"
        f"<th>version</th><th>payload</th></tr></thead><tbody>{rows}</tbody></table>"
    )


def history_table(results: Iterable[CommandResult]) -> str:
    """An HTML table of submissions, newest first."""
    body = "".join(
        "<tr>"
        f"<td>{html.escape(r.submitted_at.strftime('%Y-%m-%d %H:%M:%S'))}</td>"
        f"<td>{html.escape(r.command)}</td>"
        f"<td><code>{html.escape(_fmt(r.arguments or r.inputs, 100))}</code></td>"
        f"<td>{html.escape(r.outcome)}</td>"
        f"<td>{html.escape(', '.join(e.type_name for e in r.events))}</td>"
        f"<td>{html.escape(_fmt(r.message or r.errors, 120))}</td>"
        "</tr>"
        for r in results
    )
    return (
        "<table><thead><tr><th>when</th><th>command</th><th>with</th><th>outcome</th>"
        f"<th>events</th><th>message</th></tr></thead><tbody>{body}</tbody></table>"
    )


class CommandPanel(widgets.VBox):  # type: ignore[misc]
    """Forms for the commands of an application, a history, and an ``on_recorded`` hook.

    ``on_recorded(result)`` is called after every submission that recorded events
    (``result.events`` holds them, with their positions) — give it a stream
    viewer's refresh to see them appear.
    """

    def __init__(
        self,
        app: Application[Any] | CommandSet,
        *,
        commands: Iterable[str] | None = None,
        on_recorded: Callable[[CommandResult], None] | None = None,
    ) -> None:
        self.commands = app if isinstance(app, CommandSet) else CommandSet(app, include=commands)
        self._recorded_callbacks: list[Callable[[CommandResult], None]] = []
        if on_recorded is not None:
            self.on_recorded(on_recorded)
        self.forms: dict[str, CommandForm] = {c.name: CommandForm(self, c) for c in self.commands}
        self.selector = widgets.Dropdown(
            options=[
                (c.title + (" (not available)" if c.unavailable else ""), c.name)
                for c in self.commands
            ],
            description="Command",
            layout=widgets.Layout(width="420px"),
        )
        self.form_box = widgets.Box()
        self.history = widgets.HTML()
        self.selector.observe(self._show, names="value")
        self.commands.subscribe(self._after)
        title = widgets.HTML(f"<h4>{html.escape(type(self.commands.app).__name__)} — commands</h4>")
        if not self.forms:
            title.value += (
                "<p>This application has no commands (public methods that change state).</p>"
            )
        if self.commands.queries:
            names = ", ".join(self.commands.queries)
            title.value += (
                f"<p><small>Queries, left out (they record nothing): {html.escape(names)}"
                "</small></p>"
            )
        super().__init__(
            [title, self.selector, self.form_box, widgets.HTML("<b>History</b>"), self.history]
        )
        self._show()

    def on_recorded(self, callback: Callable[[CommandResult], None]) -> None:
        """Call ``callback(result)`` whenever a submission records events."""
        self._recorded_callbacks.append(callback)

    def form(self, name: str) -> CommandForm:
        """Show the form of command ``name`` and return it."""
        self.selector.value = self.commands[name].name
        return self.forms[name]

    def _show(self, change: Any = None) -> None:
        name = self.selector.value
        if name is None:
            self.form_box.children = []
            return
        form = self.forms[name]
        form.refresh_ids()  # streams are listed when a form is shown, not all at start
        self.form_box.children = [form]

    def _after(self, result: CommandResult) -> None:
        recent = list(reversed(self.commands.history[-_HISTORY_ROWS:]))
        self.history.value = history_table(recent)
        if result.events:
            for callback in list(self._recorded_callbacks):
                callback(result)
