"""Reading an application's code without running it: source, names, and where calls lead.

Two features read what an application's methods do: the command panel (is a method a
command, :mod:`workbench.commands.discovery`) and the event-storming board (which events
does a command reach, :mod:`workbench.storming.code`). Both follow a method's calls
through the code; this module is the one place that does it:

- :func:`function_node` reads a function's source safely (``None`` when
  ``inspect.getsource`` fails: a function built by ``exec``, a builtin);
- :func:`resolve` tells what a name or dotted name stands for in the function's own
  module, and :func:`local_types` which class a variable holds when the code says so
  (an annotated parameter, ``book: Book =``, or ``x = f()`` where ``f`` declares what
  it returns); when the code doesn't say, the answer is :data:`UNKNOWN`, never a guess;
- :class:`CodeReader` gathers an application's modules and classes, says what a call
  may run (:meth:`CodeReader.callees`: ``self.x()``, ``super().x()``, ``Account(...)``,
  ``module.f()``, and a method called on an object of unknown class, matched by name
  against the classes of the application's modules: an aggregate fetched from the
  repository, a helper object), and walks every function a method reaches, each once,
  breadth first (:meth:`CodeReader.walk`).

>>> from workbench.examples.ticketing import Ticketing
>>> reader = CodeReader(Ticketing)
>>> for site in reader.walk(Ticketing.pay, Ticketing):
...     print(" → ".join(site.path) or "-", ":", site.func.__qualname__)
- : Ticketing.pay
get_purchase : Ticketing.get_purchase
pay : TicketPurchase.pay
get_purchase → _get : Ticketing._get
pay → _paid : TicketPurchase._paid

Limits: calls through ``getattr``, lambdas, or objects built at run time are not
followed; code in the standard library and installed packages is not read.
"""

from __future__ import annotations

import ast
import builtins
import inspect
import sys
import textwrap
import types
import typing
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import cached_property
from types import ModuleType
from typing import Any

from eventsourcing.domain import BaseAggregate, CommandMethodDecorator

__all__ = [
    "MAX_DEPTH",
    "UNKNOWN",
    "Callee",
    "CodeReader",
    "Site",
    "call_name",
    "calls",
    "decorator_of",
    "function_node",
    "hints",
    "is_library",
    "is_user_code",
    "is_user_module",
    "isinstance_branches",
    "local_types",
    "modules_of",
    "raw_member",
    "resolve",
    "unwrap_class",
]

MAX_DEPTH = 8
"""How many calls deep a method is followed."""

_LIBRARIES = frozenset({"eventsourcing", "builtins", "typing", "pandas", "numpy"})
"""Libraries whose code is never followed (nor the standard library, nor installed packages)."""


class _Unknown:
    """What an expression stands for when the code doesn't say."""

    def __repr__(self) -> str:
        return "UNKNOWN"


UNKNOWN: Any = _Unknown()


# --- whose code is it -------------------------------------------------------------------


def is_library(module_name: str, home: str = "") -> bool:
    """True for a module that is not the application's code.

    ``home`` is the application's top-level package: its modules are always the
    application's. Otherwise eventsourcing and the standard library are libraries, and,
    when ``home`` is given, installed packages and the workbench itself.

    >>> is_library("json"), is_library("workbench.stores", "shop"), is_library("shop.domain")
    (True, True, False)
    """
    if not module_name:
        return True
    top = module_name.split(".")[0]
    if top == home:
        return False
    if top in _LIBRARIES or top in sys.stdlib_module_names:
        return True
    if not home:
        return False
    path = getattr(sys.modules.get(module_name), "__file__", None) or ""
    return top == "workbench" or "site-packages" in path or "dist-packages" in path


def is_user_module(name: str) -> bool:
    """True for a module of the user's code: not eventsourcing, not the standard library."""
    return not is_library(name)


def is_user_code(obj: Any) -> bool:
    """True for classes and functions defined in the user's code."""
    return is_user_module(getattr(obj, "__module__", None) or "")


def modules_of(app_class: type[Any]) -> list[ModuleType]:
    """The application's module, its bases' modules, and the modules whose names they import.

    In that order: the application's own module first, then its bases' modules, then the
    modules the application's module imports from, then those its bases' modules do.
    """
    home = app_class.__module__.split(".")[0]
    bases = [klass.__module__ for klass in app_class.__mro__ if is_user_code(klass)]
    homes = [sys.modules[name] for name in dict.fromkeys([app_class.__module__, *bases])]
    names = [module.__name__ for module in homes]
    for module in homes:
        for value in list(vars(module).values()):
            names.append(
                value.__name__
                if isinstance(value, ModuleType)
                else getattr(value, "__module__", "") or ""
            )
    found: list[ModuleType] = []
    for name in dict.fromkeys(names):
        imported = sys.modules.get(name)
        if imported is not None and (name.split(".")[0] == home or is_user_module(name)):
            found.append(imported)
    return found


# --- reading a function -----------------------------------------------------------------


def raw_member(owner: type[Any], name: str) -> Any:
    """A class attribute as written (no descriptor protocol), looked up the MRO."""
    try:
        return inspect.getattr_static(owner, name)
    except AttributeError:
        return UNKNOWN


def hints(func: Any) -> dict[str, Any]:
    """A function's type hints; ``{}`` when they can't be resolved."""
    try:
        return typing.get_type_hints(func)
    except Exception:  # an unresolvable forward reference: the code just doesn't say
        return {}


def unwrap_class(hint: Any) -> type[Any] | None:
    """The one class in ``X``, ``X | None`` or ``Optional[X]``; else None."""
    if isinstance(hint, type) and hint is not type(None):
        return hint
    if typing.get_origin(hint) in (typing.Union, types.UnionType):
        classes = [a for a in typing.get_args(hint) if isinstance(a, type) and a is not type(None)]
        if len(classes) == 1:
            return classes[0]
    return None


def function_node(func: Callable[..., Any]) -> ast.FunctionDef | ast.AsyncFunctionDef | None:
    """The parsed definition of ``func``; None when its source can't be read.

    >>> namespace: dict[str, Any] = {}
    >>> exec("def built(): pass", namespace)
    >>> function_node(namespace["built"]) is None
    True
    """
    try:
        source = textwrap.dedent(inspect.getsource(inspect.unwrap(func)))
        tree = ast.parse(source)
    except (OSError, TypeError, SyntaxError, ValueError):
        return None
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            return node
    return None


def calls(body: list[ast.stmt]) -> Iterator[ast.Call]:
    """Every call in a list of statements."""
    for statement in body:
        for node in ast.walk(statement):
            if isinstance(node, ast.Call):
                yield node


def call_name(call: ast.Call) -> str:
    """The name a call calls: ``save`` for ``self.save(x)``, ``Note`` for ``Note()``."""
    callee = call.func
    if isinstance(callee, ast.Attribute):
        return callee.attr
    return callee.id if isinstance(callee, ast.Name) else ""


def _is_super(expr: ast.expr) -> bool:
    return (
        isinstance(expr, ast.Call) and isinstance(expr.func, ast.Name) and expr.func.id == "super"
    )


def resolve(
    expr: ast.expr | None,
    scope: dict[str, Any],
    owner: type[Any] | None,
    local: dict[str, type[Any]],
) -> Any:
    """The object a name or dotted name stands for, or :data:`UNKNOWN`.

    ``self`` and ``cls`` stand for ``owner``; ``local`` holds the classes of variables;
    other names are looked up in ``scope`` (the function's module), then builtins.
    """
    if isinstance(expr, ast.Name):
        if expr.id in ("self", "cls") and owner is not None:
            return owner
        if expr.id in local:
            return local[expr.id]
        if expr.id in scope:
            return scope[expr.id]
        return getattr(builtins, expr.id, UNKNOWN)
    if isinstance(expr, ast.Attribute):
        base = resolve(expr.value, scope, owner, local)
        if isinstance(base, type):
            found = raw_member(base, expr.attr)
            # a class attribute: as the class gives it (eventsourcing redefines event classes)
            return getattr(base, expr.attr) if isinstance(found, type) else found
        if isinstance(base, ModuleType):
            return getattr(base, expr.attr, UNKNOWN)
    return UNKNOWN


def _annotation(expr: ast.expr | None, scope: dict[str, Any]) -> type[Any] | None:
    """The class an annotation names (``Book``, ``"Book"``, ``Book | None``)."""
    if expr is None:
        return None
    if isinstance(expr, ast.Constant) and isinstance(expr.value, str):
        try:
            expr = ast.parse(expr.value, mode="eval").body
        except SyntaxError:
            return None
    if isinstance(expr, ast.BinOp) and isinstance(expr.op, ast.BitOr):
        sides = [_annotation(expr.left, scope), _annotation(expr.right, scope)]
        classes = [c for c in sides if c is not None and c is not type(None)]
        return classes[0] if len(classes) == 1 else None
    if isinstance(expr, ast.Subscript):  # Optional[X]
        return _annotation(expr.slice, scope)
    found = resolve(expr, scope, None, {})
    return found if isinstance(found, type) else None


def _returned_class(
    call: ast.Call, scope: dict[str, Any], owner: type[Any] | None, local: dict[str, type[Any]]
) -> type[Any] | None:
    """The class a call returns, when the code says (a constructor, a return annotation)."""
    target = resolve(call.func, scope, owner, local)
    if isinstance(target, type):
        return target if is_user_code(target) else None
    target = getattr(target, "__func__", target)
    if inspect.isfunction(target):
        cls = unwrap_class(hints(target).get("return"))
        if cls is not None and is_user_code(cls):
            return cls
    return None


def local_types(
    body: list[ast.stmt], func: Callable[..., Any], owner: type[Any] | None
) -> dict[str, type[Any]]:
    """Variables whose class the code states: annotated parameters and assignments."""
    scope = getattr(func, "__globals__", {})
    found: dict[str, type[Any]] = {}
    for name, hint in hints(func).items():
        cls = unwrap_class(hint)
        if name != "return" and cls is not None and is_user_code(cls):
            found[name] = cls
    for statement in body:
        for node in ast.walk(statement):
            if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
                cls = _annotation(node.annotation, scope)
                if cls is not None and is_user_code(cls):
                    found[node.target.id] = cls
            elif (
                isinstance(node, ast.Assign)
                and len(node.targets) == 1
                and isinstance(node.targets[0], ast.Name)
                and isinstance(node.value, ast.Call)
                and node.targets[0].id not in found
            ):
                cls = _returned_class(node.value, scope, owner, found)
                if cls is not None:
                    found[node.targets[0].id] = cls
    return found


def isinstance_branches(
    node: ast.FunctionDef | ast.AsyncFunctionDef,
) -> Iterator[tuple[list[ast.expr], list[ast.stmt]]]:
    """(classes tested, body) of each ``if isinstance(x, C):`` (or ``elif``) branch."""
    for branch in ast.walk(node):
        if not isinstance(branch, ast.If):
            continue
        test = branch.test
        if (
            isinstance(test, ast.Call)
            and isinstance(test.func, ast.Name)
            and test.func.id == "isinstance"
            and len(test.args) == 2
        ):
            classes = test.args[1]
            tested = list(classes.elts) if isinstance(classes, ast.Tuple) else [classes]
            yield tested, branch.body


def decorator_of(value: Any) -> CommandMethodDecorator | None:
    """The ``@event`` decorator of a method (or of a property's setter)."""
    if isinstance(value, CommandMethodDecorator):
        return value
    if isinstance(value, property) and isinstance(value.fset, CommandMethodDecorator):
        return value.fset
    return None


# --- following calls --------------------------------------------------------------------


@dataclass(frozen=True)
class Callee:
    """What a call may run, as found: a function, an ``@event`` method, a class."""

    member: Any
    """As written on its class or module (a ``classmethod`` is not unwrapped)."""
    owner: type[Any] | None
    """The class it was found on (or the class itself, when a class is called)."""


@dataclass
class Site:
    """One function reached while following a method's calls."""

    func: Callable[..., Any]
    owner: type[Any] | None
    """The class whose ``self`` (or ``cls``) the function runs on."""
    body: list[ast.stmt]
    path: tuple[str, ...]
    """The names called to get here from the method followed (``()`` for the method)."""
    stopped: set[int] = field(default_factory=set)

    @cached_property
    def calls(self) -> list[ast.Call]:
        """Every call in the body, in the order :func:`ast.walk` meets them."""
        return list(calls(self.body))

    @property
    def scope(self) -> dict[str, Any]:
        """The names of the function's module."""
        return getattr(self.func, "__globals__", {})

    @cached_property
    def local(self) -> dict[str, type[Any]]:
        """The classes of the variables the code states (see :func:`local_types`)."""
        return local_types(self.body, self.func, self.owner)

    def resolve(self, expr: ast.expr | None) -> Any:
        """What an expression of this function stands for, or :data:`UNKNOWN`."""
        return resolve(expr, self.scope, self.owner, self.local)

    def stop(self, call: ast.Call) -> None:
        """Don't follow this call (a policy's call of one of the application's commands)."""
        self.stopped.add(id(call))


class CodeReader:
    """An application's code: its modules, their classes and functions, where calls lead."""

    def __init__(self, app: type[Any]) -> None:
        self.app = app
        self.home = app.__module__.split(".")[0]
        self.modules = modules_of(app)
        self.classes: list[type[Any]] = []
        """The classes the modules define, in module order."""
        self.functions: dict[str, list[Callable[..., Any]]] = {}
        """The module-level functions the modules define, by name."""
        for module in self.modules:
            for attr, value in vars(module).items():
                if getattr(value, "__module__", None) != module.__name__:
                    continue
                if isinstance(value, type) and value not in self.classes:
                    self.classes.append(value)
                elif inspect.isfunction(value):
                    self.functions.setdefault(attr, []).append(value)
        self.aggregate_classes: list[type[BaseAggregate[Any]]] = [
            cls for cls in self.classes if issubclass(cls, BaseAggregate)
        ]

    def followed(self, func: Any) -> bool:
        """True for a function whose code is the application's (so worth reading)."""
        module = getattr(func, "__module__", None) or ""
        return (
            inspect.isfunction(func)
            and not is_library(module, self.home)
            and is_user_module(module)
        )

    def entry(self, callee: Callee) -> tuple[Callable[..., Any], type[Any] | None] | None:
        """The function (and its ``self``'s class) that running ``callee`` runs, if readable.

        An ``@event`` method runs its body (an ``__init__`` is left: constructing the
        aggregate is followed instead); an aggregate class runs its own ``__init__``.
        """
        member, owner = callee.member, callee.owner
        decorator = decorator_of(member)
        if decorator is not None:
            func = decorator.decorated_func
            return None if func.__name__ == "__init__" else (func, owner)
        if isinstance(member, classmethod | staticmethod):
            member = member.__func__
        if inspect.ismethod(member):
            if isinstance(member.__self__, type):
                owner = member.__self__
            member = member.__func__
        if isinstance(member, type):
            init = vars(member).get("__init__") if issubclass(member, BaseAggregate) else None
            return (init, member) if init is not None and self.followed(init) else None
        return (member, owner) if self.followed(member) else None

    def callees(self, call: ast.Call, site: Site) -> Iterator[Callee]:
        """What a call in ``site`` may run, each with the class it was found on.

        A name is resolved in the function's module (else any module function of that
        name); ``self.x`` / ``cls.x`` on the class the function runs on; ``super().x``
        further up its MRO; ``Class.x`` and ``module.x`` where they point. A method called
        on an object of unknown class (``self.repository.get(id).close()``) may be any
        method of that name the application's classes define.
        """
        callee = call.func
        if isinstance(callee, ast.Name):
            target = site.resolve(callee)
            if target is not UNKNOWN:
                yield Callee(target, target if isinstance(target, type) else None)
            else:
                yield from (Callee(f, None) for f in self.functions.get(callee.id, []))
            return
        if not isinstance(callee, ast.Attribute):
            return
        if _is_super(callee.value) and site.owner is not None:
            member = _super_member(site.owner, site.func, callee.attr)
            if member is not UNKNOWN:
                yield Callee(member, site.owner)
            return
        receiver = site.resolve(callee.value)
        if isinstance(receiver, type):
            member = raw_member(receiver, callee.attr)
            if member is not UNKNOWN:
                yield Callee(member, receiver)
        elif isinstance(receiver, ModuleType):
            member = getattr(receiver, callee.attr, UNKNOWN)
            if member is not UNKNOWN:
                yield Callee(member, member if isinstance(member, type) else None)
        else:
            yield from self._by_name(callee.attr)

    def _by_name(self, name: str) -> list[Callee]:
        """Every method ``name`` of the modules' classes (aggregates first), every function."""
        return self._members.get(name, [])

    @cached_property
    def _members(self) -> dict[str, list[Callee]]:
        found: dict[str, list[Callee]] = {}
        seen: set[tuple[str, int]] = set()
        others = [cls for cls in self.classes if cls not in self.aggregate_classes]
        for cls in [*self.aggregate_classes, *others]:
            for klass in cls.__mro__:
                if not is_user_code(klass) or is_library(klass.__module__, self.home):
                    continue
                for name, member in vars(klass).items():
                    if (name, id(member)) not in seen:
                        seen.add((name, id(member)))
                        found.setdefault(name, []).append(Callee(member, klass))
        for name, functions in self.functions.items():
            found.setdefault(name, []).extend(Callee(f, None) for f in functions)
        return found

    def walk(
        self,
        func: Callable[..., Any],
        owner: type[Any] | None = None,
        body: list[ast.stmt] | None = None,
        depth: int = MAX_DEPTH,
    ) -> Iterator[Site]:
        """Every function ``func`` can reach through its calls, each once, nearest first.

        The first site is ``func`` itself (only ``body`` of it, if given: an ``if``
        branch); nothing is yielded when its source can't be read. Each site's calls
        are followed (see :meth:`callees` and :meth:`entry`) once the caller has looked
        at it, except those it :meth:`Site.stop`\\ s; at most ``depth`` calls deep.
        """
        if body is None:
            node = function_node(func)
            if node is None:
                return
            body = node.body
        seen = {id(func)}
        work = deque([Site(func, owner, body, ())])
        while work:
            site = work.popleft()
            yield site
            if len(site.path) >= depth:
                continue
            for call in site.calls:
                if id(call) in site.stopped:
                    continue
                for callee in self.callees(call, site):
                    entry = self.entry(callee)
                    if entry is None or id(entry[0]) in seen:
                        continue
                    seen.add(id(entry[0]))
                    node = function_node(entry[0])
                    if node is not None:
                        path = (*site.path, call_name(call))
                        work.append(Site(entry[0], entry[1], node.body, path))


def _super_member(owner: type[Any], func: Callable[..., Any], name: str) -> Any:
    """``super().name`` in ``func``, a method of ``owner`` (or of one of its bases)."""
    mro = owner.__mro__
    defining = next(
        (i for i, k in enumerate(mro) if any(_runs(v, func) for v in vars(k).values())), 0
    )
    for klass in mro[defining + 1 :]:
        if name in vars(klass):
            return vars(klass)[name]
    return UNKNOWN


def _runs(member: Any, func: Callable[..., Any]) -> bool:
    """True when a class attribute is ``func`` (or wraps it: a classmethod, an ``@event``)."""
    decorator = decorator_of(member)
    inner = decorator.decorated_func if decorator else getattr(member, "__func__", member)
    return inner is func
