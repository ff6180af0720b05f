"""Generate the type stubs pyredisclient/client/aio.pyi, client/pipeline.pyi,
cluster/aio.pyi, cluster/client.pyi and cluster/pipeline.pyi.

AsyncRedisClient, AsyncPipeline and Pipeline inherit their command methods
from CoreCommands, whose annotations are the synchronous client's
(``def ping(self) -> bool``), while the host class's ``_run`` hook decides what
a command really returns: a coroutine on the async client, the pipeline itself
on a pipeline.  Each stub restates every command with the same parameters and
annotations and the right return type, read from the sources with ``ast``
(nothing is imported).

Both stubs rely on pyredisclient/commands/ (CoreCommands and the families it
gathers, read in method resolution order): every public CoreCommands
method, which must return ``self._run(...)`` on every path (the module's own
rule); otherwise it returns neither a coroutine on the async client nor the
pipeline on a pipeline, and generation stops.

pyredisclient/client/aio.pyi, from client/aio.py (and client/pipeline.py):

- AsyncRedisClient: each command as ``async def`` with the sync return type.
  A generator method (scan_iter) cannot work there: aio.py must override it,
  or generation stops.
- The members AsyncRedisClient and AsyncPipeline define themselves, with
  their own signatures; async generators become ``def name(...) ->
  AsyncIterator[...]``.  A private class of aio.py named in one of those
  signatures is declared in the stub as well.
- The members AsyncRedisClient inherits from the client base class
  (client/base.py's ClientBase: config, with_prefix, metrics, ...), written
  into the class as they are, since the stub names no base.
- Pipeline's own public methods (multi, reset, ...), which AsyncPipeline
  inherits.  Its command methods return AsyncPipeline (they queue and return
  the pipeline), except CoreCommands' generators, which would unpack the
  pipeline itself and fail: the stub leaves them out.

pyredisclient/client/pipeline.pyi, the whole of client/pipeline.py:

- Pipeline's own members, private ones included (AsyncPipeline in aio.py
  builds on ``_take``, ``_new_batch`` and the queue attributes, and aio.py is
  type-checked against this stub), and the attributes ``__init__`` sets: the
  annotated ones, and those whose type is plain from the code (a parameter, a
  literal, a call of an annotated method, an expression on an ``Any``
  parameter); generation stops on any other.
- Every public CoreCommands method as a plain ``def`` returning ``Pipeline``,
  so calls chain (``pipe.set("a", 1).get("a").incr("n")``) and ``execute()``
  is ``List[Any]``.  CoreCommands' generators (scan_iter, hscan_iter) are left
  out, as on AsyncPipeline: on a buffered pipeline they unpack the pipeline
  itself and fail with TypeError.
- The module's names: the ``Callback`` alias and the helper functions
  (``_pipeline_results`` is shared with aio.py).

pyredisclient/cluster/aio.pyi and cluster/client.pyi: AsyncRedisClusterClient and
RedisClusterClient, each with everything it inherits written into the class (the
cluster bases, ClientBase, the lock and item methods, then every CoreCommands
method: ``async def`` on the asyncio one, as written on the blocking one). The
methods cluster/commands.py's ``accept_target_nodes`` wraps at import (the families
in TARGETED_FAMILIES and the names in TARGETED_METHODS, read from that module with
``ast``) get its keyword-only ``target_nodes: Any = None``. cluster/pipeline.pyi
restates ClusterPipeline and AsyncClusterPipeline as client/pipeline.pyi does
Pipeline: every command returns the pipeline.

WATCH mode.  Between ``watch()`` and ``multi()`` a Pipeline runs commands at
once and they return their values, not the pipeline.  A return type cannot
follow that runtime state, so the stub types the buffered mode, the common
one, as types-redis (typeshed's stubs of redis-py) does for its Pipeline.
Code that reads values in WATCH mode says what it expects, with
``cast(Optional[bytes], pipe.get("k"))``, or takes the pipeline as ``Any``
(``def txn(pipe: Any) -> None`` passed to ``client.transaction(txn, "k")``);
scan_iter, absent from the stub, is then available too.

Type aliases come from ``pyredisclient.commands`` when it exports them, and
are otherwise re-declared under a private name (``_ZScoreBoundT``).

The stub classes deliberately do not name CoreCommands or Pipeline as bases:
they break those classes' contracts (``ping`` returns an awaitable or the
pipeline, not bool; AsyncPipeline's ``execute`` must be awaited), so a type
checker must not accept them where a CoreCommands (or a Pipeline) is expected,
and declaring the bases would need a ``type: ignore[override]`` on every
method.

Usage (from anywhere; paths are relative to this file):

    python scripts/gen_stubs.py          # rewrite both stubs
    python scripts/gen_stubs.py --check  # exit 1 if either is out of date

(scripts/gen_aio_stub.py, this script's former name, runs it too.)  The output
is formatted with ``ruff format`` (the repository's settings);
tests/typing/test_aio_stub.py checks that the committed stubs are current.
"""

from __future__ import annotations

import argparse
import ast
import builtins
import difflib
import json
import re
import subprocess
import sys
from pathlib import Path
from typing import ClassVar, Dict, Iterator, List, Sequence, Set, Tuple, Type, Union

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = "pyredisclient"
COMMAND = "python scripts/gen_stubs.py"

# Private members that code outside aio.py uses, so the stub declares them:
# pytest_plugin's shared_client_reset calls _reset_shared, and tracing's
# make_traced_run wraps the _run hook (tests/integration/test_tracing.py replaces it).
EXTRA_PRIVATE = {"AsyncRedisClient": {"_reset_shared", "_run"}}
# Decorators a stub method may keep.
KNOWN_DECORATORS = {
    "classmethod",
    "staticmethod",
    "property",
    "overload",
    "host_bound",
    "plain_command",
}
# String defaults longer than this become "..." (flake8-pyi Y053).
MAX_DEFAULT_LEN = 50
# Where the names a module-level type alias is built from come from.
TYPING_MODULES = {"typing", "typing_extensions", "collections.abc"}

FuncDef = Union[ast.FunctionDef, ast.AsyncFunctionDef]


class GenerationError(Exception):
    """The sources use something the generator cannot describe faithfully."""


def _returns_a_call(ret: ast.Return) -> bool:
    """Does ``ret`` return ``self._run(...)``, ``self.execute_command(...)`` or
    ``run_any(...)`` (steps that call _run): an awaitable on an asyncio host."""
    call = ret.value
    if not isinstance(call, ast.Call):
        return False
    if isinstance(call.func, ast.Attribute):
        return call.func.attr in ("_run", "execute_command")
    return isinstance(call.func, ast.Name) and call.func.id == "run_any"


def _is_public(name: str) -> bool:
    return not name.startswith("_") or (name.startswith("__") and name.endswith("__"))


def _has_yield(fn: FuncDef) -> bool:
    """True if ``fn`` itself (not a nested function) contains yield."""

    def walk(node: ast.AST) -> Iterator[ast.AST]:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
                continue
            if isinstance(child, ast.ClassDef):
                continue
            yield child
            yield from walk(child)

    return any(isinstance(n, (ast.Yield, ast.YieldFrom)) for n in walk(fn))


def _decorator_name(node: ast.expr) -> str:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
        return f"{node.value.id}.{node.attr}"  # typing.overload, x.setter
    return ast.unparse(node)


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


class Source:
    """One module of the package, parsed, with its module-level names."""

    def __init__(self, root: Path, relpath: str) -> None:
        self.relpath = relpath
        self.path = root / relpath
        stem = relpath[: -len(".py")]
        # A package's __init__.py is the package itself: "from . import x" stays in it.
        self.is_package = stem.endswith("/__init__")
        self.module = stem[: -len("/__init__")] if self.is_package else stem
        self.module = self.module.replace("/", ".")
        self.package = self.module if self.is_package else self.module.rpartition(".")[0]
        self.tree = ast.parse(self.path.read_text(encoding="utf-8"), filename=relpath)
        self.from_imports: Dict[str, Tuple[str, str]] = {}  # local -> (module, name)
        self.module_imports: Dict[str, str] = {}  # local -> module
        self.assignments: Dict[str, ast.Assign | ast.AnnAssign] = {}
        self.classes: Dict[str, ast.ClassDef] = {}
        self.functions: Dict[str, FuncDef] = {}
        self.all: Set[str] | None = None
        self._scan(self.tree.body)

    def _scan(self, body: List[ast.stmt]) -> None:
        for node in body:
            if isinstance(node, ast.If) and _is_type_checking(node.test):
                self._scan(node.body)
            elif isinstance(node, ast.ImportFrom):
                module = node.module or ""
                if node.level:
                    base = self.package.split(".")[: len(self.package.split(".")) - node.level + 1]
                    module = ".".join([*base, module] if module else base)
                for alias in node.names:
                    self.from_imports[alias.asname or alias.name] = (module, alias.name)
            elif isinstance(node, ast.Import):
                for alias in node.names:
                    if alias.asname:
                        self.module_imports[alias.asname] = alias.name
                    else:
                        top = alias.name.split(".")[0]
                        self.module_imports[top] = top
            elif isinstance(node, ast.ClassDef):
                self.classes[node.name] = node
            elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                self.functions[node.name] = node
            elif isinstance(node, ast.Assign):
                for target in node.targets:
                    if isinstance(target, ast.Name):
                        self.assignments[target.id] = node
                        if target.id == "__all__":
                            self.all = set(ast.literal_eval(node.value))
            elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
                self.assignments[node.target.id] = node

    def exports(self, name: str) -> bool:
        """True if ``name`` is public API of this module (``__all__`` or no underscore)."""
        if self.all is not None:
            return name in self.all
        return not name.startswith("_")

    def cls(self, name: str) -> ast.ClassDef:
        try:
            return self.classes[name]
        except KeyError:
            raise GenerationError(f"{self.relpath}: class {name} not found") from None


class Imports:
    """The stub's imports and re-declared type aliases, resolved name by name."""

    def __init__(self, stub_module: str, local_names: Set[str]) -> None:
        self.stub_module = stub_module
        self.local_names = local_names  # names the stub itself defines
        self.pending_classes: List[str] = []  # other classes of stub_module to declare
        self.bound: Dict[str, str] = {}  # stub name -> what it means (for conflicts)
        self.from_imports: Dict[str, Set[Tuple[str, str]]] = {}
        self.module_imports: Set[str] = set()
        self.aliases: List[ast.stmt] = []

    def _bind(self, stub_name: str, meaning: str) -> bool:
        """Record ``stub_name``; False if it was already bound to the same thing."""
        if stub_name in self.local_names:
            raise GenerationError(f"{stub_name} would shadow a class of the stub")
        old = self.bound.get(stub_name)
        if old is not None:
            if old != meaning:
                raise GenerationError(f"{stub_name} means both {old} and {meaning}")
            return False
        self.bound[stub_name] = meaning
        return True

    def resolve(self, expr: ast.expr, src: Source, renames: Dict[str, str]) -> ast.expr:
        """Return ``expr`` with its names made valid in the stub, recording imports."""
        if isinstance(expr, ast.Constant) and isinstance(expr.value, str):
            expr = ast.parse(expr.value, mode="eval").body  # "Foo" -> Foo
        resolver = _NameResolver(self, src, renames)
        result = resolver.visit(_copy(expr))
        assert isinstance(result, ast.expr)
        return result

    def name(self, name: str, src: Source) -> str:
        """The stub name for ``name`` as used in ``src``, importing or re-declaring it."""
        if name in self.local_names:
            return name
        if name in src.from_imports:
            module, original = src.from_imports[name]
            if name != original:
                raise GenerationError(
                    f"{src.relpath}: '{original} as {name}' is not supported in annotations"
                )
            if self._bind(name, f"{module}.{original}"):
                self.from_imports.setdefault(module, set()).add((original, name))
            return name
        if name in src.module_imports:
            module = src.module_imports[name]
            if name != module:
                raise GenerationError(f"{src.relpath}: 'import {module} as {name}' not supported")
            if self._bind(name, module):
                self.module_imports.add(module)
            return name
        if name in src.classes and src.module == self.stub_module:
            # A helper class of aio.py itself (e.g. an awaitable it returns):
            # the stub declares it too, under the same name.
            self.local_names.add(name)
            self.pending_classes.append(name)
            return name
        if name in src.classes or name in src.assignments:
            if src.exports(name) or name in src.classes:
                if self._bind(name, f"{src.module}.{name}"):
                    self.from_imports.setdefault(src.module, set()).add((name, name))
                return name
            node = src.assignments[name]
            # A private alias: re-declare it, privately, from its definition.
            stub_name = name if name.startswith("_") else f"_{name}"
            if self._bind(stub_name, f"{src.module}.{name} (re-declared)"):
                value = node.value
                if value is None:
                    raise GenerationError(f"{src.relpath}: {name} has no value")
                value = self.resolve(value, src, {})
                self.aliases.append(
                    ast.Assign(targets=[ast.Name(id=stub_name, ctx=ast.Store())], value=value)
                )
            return stub_name
        if hasattr(builtins, name):
            return name
        raise GenerationError(f"{src.relpath}: cannot resolve the name {name!r}")

    def render(self) -> List[str]:
        lines = [f"import {m}" for m in sorted(self.module_imports)]
        stdlib = sorted(m for m in self.from_imports if m.split(".")[0] != PACKAGE)
        ours = sorted(m for m in self.from_imports if m.split(".")[0] == PACKAGE)
        for module in stdlib:
            lines.append(self._from_line(module))
        if ours:
            lines.append("")
            lines.extend(self._from_line(module) for module in ours)
        return lines

    def _from_line(self, module: str) -> str:
        names = sorted(self.from_imports[module], key=lambda pair: (not pair[0].isupper(), pair[0]))
        parts = [o if o == a else f"{o} as {a}" for o, a in names]
        return f"from {module} import {', '.join(parts)}"


class _NameResolver(ast.NodeTransformer):
    def __init__(self, imports: Imports, src: Source, renames: Dict[str, str]) -> None:
        self.imports = imports
        self.src = src
        self.renames = renames

    def visit_Name(self, node: ast.Name) -> ast.Name:
        name = self.renames.get(node.id, node.id)
        return ast.Name(id=self.imports.name(name, self.src), ctx=ast.Load())

    def visit_Attribute(self, node: ast.Attribute) -> ast.AST:
        # datetime.timedelta: only the leftmost name needs importing.
        self.generic_visit(node)
        return node


def _copy(node: ast.expr) -> ast.expr:
    return ast.parse(ast.unparse(node), mode="eval").body


def _stub_default(node: ast.expr) -> ast.expr:
    """Keep simple literal defaults (stubtest checks them); others become ``...``."""
    value = node
    if isinstance(value, ast.UnaryOp) and isinstance(value.op, ast.USub):
        value = value.operand
        if isinstance(value, ast.Constant) and type(value.value) in (int, float):
            return _copy(node)
    elif isinstance(value, ast.Constant):
        v = value.value
        if v is None or isinstance(v, (bool, int, float)):
            return _copy(node)
        if isinstance(v, (str, bytes)) and len(v) <= MAX_DEFAULT_LEN:
            return _copy(node)
    return ast.Constant(value=Ellipsis)


def _is_any(annotation: ast.expr, src: Source) -> bool:
    """True if ``annotation`` is typing.Any as ``src`` spells it."""
    if isinstance(annotation, ast.Name):
        return src.from_imports.get(annotation.id) == ("typing", "Any")
    return (
        isinstance(annotation, ast.Attribute)
        and isinstance(annotation.value, ast.Name)
        and annotation.attr == "Any"
        and src.module_imports.get(annotation.value.id) == "typing"
    )


def _is_type_expr(node: ast.expr, src: Source) -> bool:
    """True if ``node``, a module-level value, is a type: a type alias to restate."""
    if isinstance(node, ast.Subscript):
        return _is_type_expr(node.value, src)
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.BitOr):
        return _is_type_expr(node.left, src) and _is_type_expr(node.right, src)
    if isinstance(node, ast.Constant):
        return node.value is None
    if isinstance(node, ast.Name):
        module = src.from_imports.get(node.id, ("", ""))[0]
        return (
            module in TYPING_MODULES
            or node.id in src.classes
            or isinstance(getattr(builtins, node.id, None), type)
        )
    if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
        return src.module_imports.get(node.value.id) in TYPING_MODULES
    return False


class StubBuilder:
    """Builds one stub module's statements; a subclass per stub says which.

    ``module`` is the module the stub describes; ``classes`` the classes it
    declares (every public class of that module); ``private`` whether it
    describes the module's private names and members too.
    """

    module: ClassVar[str]
    classes: ClassVar[Tuple[str, ...]]
    private: ClassVar[bool] = False

    def __init__(self, root: Path = ROOT) -> None:
        self.root = root
        self._sources: Dict[str, Source] = {}
        self.commands = self._source(f"{PACKAGE}.commands")
        self.src = Source(root, f"{PACKAGE}/{self.module}")
        # The module-level names the stub declares itself (module_members).
        names = {
            n
            for n in self.src.assignments
            if n != "__all__" and (self.private or self.src.exports(n))
        }
        self.imports = Imports(self.src.module, {*self.classes, *names})

    @classmethod
    def stub_path(cls) -> str:
        """The stub's path relative to the repository root."""
        return f"{PACKAGE}/{cls.module[: -len('.py')]}.pyi"

    def build(self) -> str:
        raise NotImplementedError

    # -- functions ---------------------------------------------------------------

    def function(
        self,
        fn: FuncDef,
        src: Source,
        *,
        where: str,
        name: str | None = None,
        force_async: bool = False,
        returns: ast.expr | None = None,
        renames: Dict[str, str] | None = None,
        keep_overload: bool = True,
    ) -> FuncDef:
        """A stub copy of ``fn``: same parameters and annotations, body ``...``."""
        renames = renames or {}
        qual = f"{src.relpath}: {where}.{fn.name}"
        decorators: List[ast.expr] = []
        is_static = False
        for dec in fn.decorator_list:
            dname = _decorator_name(dec)
            base = dname.rpartition(".")[2]
            if (base == "overload" and not keep_overload) or base in (
                "host_bound",
                "plain_command",
            ):
                continue
            if dname.endswith(".setter"):
                decorators.append(dec)  # the property's own name, in this class
                continue
            if base not in KNOWN_DECORATORS:
                raise GenerationError(f"{qual}: decorator @{dname} is not supported")
            is_static = is_static or base == "staticmethod"
            decorators.append(self.imports.resolve(dec, src, renames))

        def annotate(arg: ast.arg, first: bool) -> ast.arg:
            if arg.annotation is None:
                if first and not is_static:
                    return ast.arg(arg=arg.arg)
                raise GenerationError(f"{qual}: parameter {arg.arg!r} has no annotation")
            return ast.arg(
                arg=arg.arg, annotation=self.imports.resolve(arg.annotation, src, renames)
            )

        a = fn.args
        positional = [*a.posonlyargs, *a.args]
        new_pos = [annotate(arg, i == 0) for i, arg in enumerate(positional)]
        args = ast.arguments(
            posonlyargs=new_pos[: len(a.posonlyargs)],
            args=new_pos[len(a.posonlyargs) :],
            vararg=annotate(a.vararg, False) if a.vararg else None,
            kwonlyargs=[annotate(arg, False) for arg in a.kwonlyargs],
            kw_defaults=[None if d is None else _stub_default(d) for d in a.kw_defaults],
            kwarg=annotate(a.kwarg, False) if a.kwarg else None,
            defaults=[_stub_default(d) for d in a.defaults],
        )
        if returns is None:
            if fn.returns is None:
                raise GenerationError(f"{qual}: no return annotation")
            returns = self.imports.resolve(fn.returns, src, renames)
        # async def with yield is an async generator: in a stub it is a plain
        # def returning AsyncIterator/AsyncGenerator, as its annotation says.
        is_async = force_async or (isinstance(fn, ast.AsyncFunctionDef) and not _has_yield(fn))
        cls = ast.AsyncFunctionDef if is_async else ast.FunctionDef
        node = cls(
            name=name or fn.name,
            args=args,
            body=[ast.Expr(value=ast.Constant(value=Ellipsis))],
            decorator_list=decorators,
            returns=returns,
            type_comment=None,
        )
        return node

    # -- class bodies ------------------------------------------------------------

    @staticmethod
    def members(cls: ast.ClassDef, src: Source) -> Iterator[Tuple[str, ast.stmt]]:
        """(name, statement) for every definition in a class body, in order."""
        for node in cls.body:
            if isinstance(node, ast.If) and _is_type_checking(node.test):
                continue  # declarations for the checker only (CoreCommands._run)
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                yield node.name, node
            elif isinstance(node, ast.Assign):
                for target in node.targets:
                    if not isinstance(target, ast.Name):
                        raise GenerationError(f"{src.relpath}: {cls.name}: unsupported assignment")
                    yield target.id, node
            elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
                yield node.target.id, node
            elif isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant):
                continue  # docstring
            elif isinstance(node, ast.Pass):
                continue
            else:
                raise GenerationError(
                    f"{src.relpath}:{node.lineno}: {cls.name}: unsupported statement"
                )

    def own_members(
        self,
        cls: ast.ClassDef,
        src: Source,
        *,
        renames: Dict[str, str] | None = None,
        skip: Set[str] | None = None,
        private: bool = False,
    ) -> Tuple[List[ast.stmt], Set[str]]:
        """Stub statements for what ``cls`` defines itself; also every name it defines.

        Private members are left out unless ``private`` (or EXTRA_PRIVATE) asks.
        """
        skip = skip or set()
        extra = EXTRA_PRIVATE.get(cls.name, set())
        out: List[ast.stmt] = []
        defined: Set[str] = set()
        funcs: Dict[str, List[FuncDef]] = {}
        for name, node in self.members(cls, src):
            defined.add(name)
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                funcs.setdefault(name, []).append(node)
        out.extend(self.instance_attributes(cls, src, renames, skip, private))
        done: Set[str] = set()
        for name, node in self.members(cls, src):
            if name in skip or name in done or name == "__slots__":
                continue
            if not (_is_public(name) or name in extra or private):
                continue
            done.add(name)
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                out.extend(self.group(funcs[name], src, cls.name, name, renames))
            elif isinstance(node, ast.Assign):
                target = self._alias_target(node, funcs, src, cls.name)
                out.extend(self.group(funcs[target], src, cls.name, name, renames))
            else:
                assert isinstance(node, ast.AnnAssign)
                out.append(self.attribute(name, node.annotation, src, renames))
        return out, defined

    def group(
        self,
        group: List[FuncDef],
        src: Source,
        where: str,
        name: str,
        renames: Dict[str, str] | None,
    ) -> List[ast.stmt]:
        """Stubs for the definitions of one name: its overloads, else its last def.

        An alias (``close = aclose``) gets a copy under its own name.
        """
        chosen = [f for f in group if _is_overload(f)] or [group[-1]]
        if len(group) > 1 and any(
            _decorator_name(d) == "property" for d in group[0].decorator_list
        ):
            chosen = group  # a property and its setter
        return [self.function(f, src, where=where, name=name, renames=renames) for f in chosen]

    @staticmethod
    def _alias_target(
        node: ast.Assign, funcs: Dict[str, List[FuncDef]], src: Source, where: str
    ) -> str:
        if isinstance(node.value, ast.Name) and node.value.id in funcs:
            return node.value.id
        raise GenerationError(
            f"{src.relpath}:{node.lineno}: {where}: only 'name = other_method' assignments "
            "are supported in a class body (annotate attributes instead)"
        )

    def attribute(
        self, name: str, annotation: ast.expr, src: Source, renames: Dict[str, str] | None
    ) -> ast.stmt:
        return ast.AnnAssign(
            target=ast.Name(id=name, ctx=ast.Store()),
            annotation=self.imports.resolve(annotation, src, renames or {}),
            simple=1,
        )

    def instance_attributes(
        self,
        cls: ast.ClassDef,
        src: Source,
        renames: Dict[str, str] | None,
        skip: Set[str],
        private: bool = False,
    ) -> List[ast.stmt]:
        """The attributes __init__ assigns (``self.name = ...``), public ones unless
        ``private``: annotated, or typed as mypy would infer them (see :meth:`infer`)."""
        init = next(
            (n for n in cls.body if isinstance(n, ast.FunctionDef) and n.name == "__init__"),
            None,
        )
        if init is None:
            return []
        params = {a.arg: a.annotation for a in [*init.args.args, *init.args.kwonlyargs]}
        methods = {
            n.name: n for n in cls.body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))
        }
        out: List[ast.stmt] = []
        seen: Set[str] = set()
        for node in ast.walk(init):
            if not isinstance(node, (ast.Assign, ast.AnnAssign)):
                continue
            target: ast.expr | None = None
            annotation: ast.expr | None = None
            if isinstance(node, ast.AnnAssign):
                target, annotation = node.target, node.annotation
            elif isinstance(node, ast.Assign) and len(node.targets) == 1:
                target = node.targets[0]
                annotation = self.infer(node.value, params, methods, src)
            if not (
                isinstance(target, ast.Attribute)
                and isinstance(target.value, ast.Name)
                and target.value.id == "self"
            ):
                continue
            name = target.attr
            if (name.startswith("_") and not private) or name in seen or name in skip:
                continue
            if annotation is None:
                raise GenerationError(
                    f"{src.relpath}:{node.lineno}: {cls.name}: annotate self.{name} "
                    "(the stub needs its type)"
                )
            seen.add(name)
            out.append(self.attribute(name, annotation, src, renames))
        return out

    @staticmethod
    def infer(
        value: ast.expr,
        params: Dict[str, ast.expr | None],
        methods: Dict[str, FuncDef],
        src: Source,
    ) -> ast.expr | None:
        """The type of ``self.x = value`` in __init__ when it is plain from the code
        (as mypy infers it): a parameter's annotation; bool, int, float, str or bytes
        for a literal; a tuple of those; an annotated method's return type for
        ``self.method(...)``; Any for an expression on a parameter typed Any
        (``client._core``). None otherwise: the source must annotate it."""
        if isinstance(value, ast.Constant) and type(value.value) in (bool, int, float, str, bytes):
            return ast.Name(id=type(value.value).__name__, ctx=ast.Load())
        if isinstance(value, ast.Name):
            return params.get(value.id)
        if isinstance(value, ast.Tuple) and value.elts:
            items = [StubBuilder.infer(e, params, methods, src) for e in value.elts]
            if any(item is None for item in items):
                return None
            elts = [item for item in items if item is not None]
            return ast.Subscript(
                value=ast.Name(id="tuple", ctx=ast.Load()),
                slice=ast.Tuple(elts=elts, ctx=ast.Load()),
                ctx=ast.Load(),
            )
        if (
            isinstance(value, ast.Call)
            and isinstance(value.func, ast.Attribute)
            and isinstance(value.func.value, ast.Name)
            and value.func.value.id == "self"
            and value.func.attr in methods
        ):
            return methods[value.func.attr].returns
        root = value
        while isinstance(root, (ast.Attribute, ast.Subscript, ast.Call)):
            root = root.func if isinstance(root, ast.Call) else root.value
        if isinstance(root, ast.Name) and root is not value:
            annotation = params.get(root.id)
            if annotation is not None and _is_any(annotation, src):
                return annotation
        return None

    def _source(self, module: str) -> Source:
        """The parsed source of a module of this package (a package: its __init__.py)."""
        if module not in self._sources:
            rel = module.replace(".", "/")
            path = f"{rel}/__init__.py" if (self.root / rel).is_dir() else f"{rel}.py"
            self._sources[module] = Source(self.root, path)
        return self._sources[module]

    def command_classes(self) -> List[Tuple[Source, ast.ClassDef]]:
        """CoreCommands and the command families it gathers, in method resolution
        order: CoreCommands, each family's mixin in the order listed, their base."""
        order: List[Tuple[Source, ast.ClassDef]] = []

        def visit(src: Source, cls: ast.ClassDef) -> None:
            # Depth first, keeping each class's last place: the MRO of mixins that
            # share one base.
            order[:] = [(s, c) for s, c in order if (s.module, c.name) != (src.module, cls.name)]
            order.append((src, cls))
            for node in cls.bases:
                if not isinstance(node, ast.Name):
                    raise GenerationError(f"{src.relpath}: {cls.name}: unsupported base")
                module, name = src.from_imports.get(node.id, (src.module, node.id))
                if not module.startswith(f"{PACKAGE}.commands"):
                    raise GenerationError(
                        f"{src.relpath}: {cls.name}: base {node.id} is not a command class"
                    )
                base_src = self._source(module)
                visit(base_src, base_src.cls(name))

        visit(self.commands, self.commands.cls("CoreCommands"))
        return order

    def command_methods(self) -> Iterator[Tuple[str, List[FuncDef], bool, Source]]:
        """(name, defs, is_generator, source) for every public CoreCommands method and
        alias, from the family (mixin) that defines it."""
        seen: Set[str] = set()
        for src, cls in self.command_classes():
            funcs: Dict[str, List[FuncDef]] = {}
            for name, node in self.members(cls, src):
                if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                    funcs.setdefault(name, []).append(node)
            for name, node in self.members(cls, src):
                if not _is_public(name) or name.startswith("__") or name in seen:
                    continue
                if isinstance(node, ast.Assign):
                    target = self._alias_target(node, funcs, src, cls.name)
                    group = funcs[target]
                elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                    group = funcs[name]
                    if node is not group[-1]:
                        continue  # yield each overloaded name once
                else:
                    raise GenerationError(
                        f"{src.relpath}: {cls.name}.{name}: only methods expected"
                    )
                seen.add(name)
                yield name, group, any(_has_yield(f) for f in group), src

    def targeted_commands(self) -> Set[str]:
        """The command methods that take ``target_nodes`` on the cluster clients, as
        cluster/commands.py's ``accept_target_nodes`` picks them: every public method
        a family of TARGETED_FAMILIES defines (the family first in method resolution
        order to define it), and the names TARGETED_METHODS lists."""
        cluster = self._source(f"{PACKAGE}.cluster.commands")
        values: Dict[str, ast.Tuple] = {}
        for name in ("TARGETED_FAMILIES", "TARGETED_METHODS"):
            node = cluster.assignments.get(name)
            if not isinstance(node, ast.Assign) or not isinstance(node.value, ast.Tuple):
                raise GenerationError(f"{cluster.relpath}: {name} must be a tuple")
            values[name] = node.value
        families = {e.id for e in values["TARGETED_FAMILIES"].elts if isinstance(e, ast.Name)}
        names: Set[str] = set(ast.literal_eval(values["TARGETED_METHODS"]))
        owners: Dict[str, str] = {}
        for src, cls in self.command_classes():
            for name, _ in self.members(cls, src):
                owners.setdefault(name, cls.name)
        unknown = families - set(owners.values())
        if unknown:
            raise GenerationError(f"{cluster.relpath}: TARGETED_FAMILIES: no family {unknown}")
        names |= {n for n, owner in owners.items() if owner in families and _is_public(n)}
        return names

    def add_target_nodes(self, commands: List[ast.stmt], targeted: Set[str]) -> None:
        """Give the methods of ``commands`` named in ``targeted`` a keyword-only
        ``target_nodes: Any = None`` (before ``**kwargs``), as the runtime does."""
        cluster = self._source(f"{PACKAGE}.cluster.commands")
        for fn in commands:
            if isinstance(fn, (ast.FunctionDef, ast.AsyncFunctionDef)) and fn.name in targeted:
                annotation = self.imports.resolve(ast.Name(id="Any", ctx=ast.Load()), cluster, {})
                fn.args.kwonlyargs.append(ast.arg(arg="target_nodes", annotation=annotation))
                fn.args.kw_defaults.append(ast.Constant(value=None))

    def check_returns_run(self, fn: FuncDef, src: Source) -> None:
        """Every path must return ``self._run(...)``: that call is what becomes a
        coroutine on the async client and the pipeline on a Pipeline."""
        qual = f"{src.relpath}:{fn.lineno}: CoreCommands.{fn.name}"
        if isinstance(fn, ast.AsyncFunctionDef):
            raise GenerationError(f"{qual}: async methods are not expected in CoreCommands")
        returns = [n for n in ast.walk(fn) if isinstance(n, ast.Return)]
        if not returns:
            raise GenerationError(f"{qual}: never returns self._run(...)")
        for ret in returns:
            call = ret.value
            if not (
                isinstance(call, ast.Call)
                and isinstance(call.func, ast.Attribute)
                and call.func.attr == "_run"
                and isinstance(call.func.value, ast.Name)
                and call.func.value.id == "self"
            ):
                raise GenerationError(
                    f"{qual}:{ret.lineno}: returns something other than self._run(...), so "
                    "it would return neither a coroutine on AsyncRedisClient nor the "
                    "pipeline on a Pipeline; move the conversion into a reply callback"
                )

    # -- classes -------------------------------------------------------------------

    def pipeline_commands(self, returns: str, defined: Set[str]) -> List[ast.stmt]:
        """Every CoreCommands method not in ``defined``, as a plain def returning the
        pipeline class ``returns`` (it queues the command and returns the pipeline).

        Generators (scan_iter) are left out: they would unpack the pipeline itself.
        """
        out: List[ast.stmt] = []
        for name, group, is_generator, src in self.command_methods():
            if name in defined or is_generator:
                continue
            if _is_host_bound(group[-1]):
                out.append(self.function(group[-1], src, where="CoreCommands", name=name))
                continue
            for fn in group:
                if not _is_overload(fn):
                    self.check_returns_run(fn, src)
            out.append(
                self.function(
                    group[-1],
                    src,
                    where="CoreCommands",
                    name=name,
                    returns=ast.Name(id=returns, ctx=ast.Load()),
                    keep_overload=False,
                )
            )
        return out

    # -- modules -------------------------------------------------------------------

    def module_members(self) -> List[ast.stmt]:
        """The module-level names of the described module other than its classes:
        public ones, and private ones too if the stub describes them."""
        src = self.src
        out: List[ast.stmt] = []
        for name, node in src.assignments.items():
            if name == "__all__" and isinstance(node, ast.Assign):
                out.append(
                    ast.Assign(targets=[ast.Name(id=name, ctx=ast.Store())], value=node.value)
                )
                continue
            if name.startswith("_") and not self.private:
                continue
            if isinstance(node, ast.AnnAssign):
                out.append(self.attribute(name, node.annotation, src, None))
            elif (
                isinstance(node, ast.Assign)
                and isinstance(node.value, ast.Call)
                and ast.unparse(node.value.func) == "logging.getLogger"
            ):
                out.append(
                    self.attribute(name, ast.parse("logging.Logger", mode="eval").body, src, None)
                )
            elif isinstance(node, ast.Assign) and _is_type_expr(node.value, src):
                # A type alias (Callback = Callable[[Any], Any]): restated as is.
                value = self.imports.resolve(node.value, src, {})
                out.append(ast.Assign(targets=[ast.Name(id=name, ctx=ast.Store())], value=value))
            else:
                raise GenerationError(
                    f"{src.relpath}:{node.lineno}: annotate the module-level name {name} "
                    "(the stub needs its type)"
                )
        for name, fn in src.functions.items():
            if _is_public(name) or self.private:
                out.append(self.function(fn, src, where="<module>"))
        for name in src.classes:
            if _is_public(name) and name not in self.classes:
                raise GenerationError(f"{src.relpath}: teach the generator about class {name}")
        return out

    def helper_classes(self) -> List[ast.stmt]:
        """Private classes of the module named in the stub's signatures (aio's _Done)."""
        helpers: List[ast.stmt] = []
        while self.imports.pending_classes:
            name = self.imports.pending_classes.pop(0)
            body, _ = self.own_members(self.src.cls(name), self.src)
            helpers.append(_class(name, body, []))
        return helpers

    def render(
        self,
        header: List[str],
        module_members: List[ast.stmt],
        classes: Sequence[ast.stmt],
    ) -> str:
        """The stub's text (unformatted): header, imports, aliases, names, classes."""
        helpers = self.helper_classes()
        parts = [
            "\n".join([*(f"# {line}".rstrip() for line in header), ""]),
            "\n".join(self.imports.render()),
            "\n".join(_unparse(a) for a in self.imports.aliases),
            "\n".join(_unparse(m) for m in module_members),
            "\n\n".join(_unparse(h) for h in helpers),
            *(_unparse(c) for c in classes),
        ]
        return "\n\n".join(p for p in parts if p) + "\n"

    def package_bases(
        self, cls: ast.ClassDef, src: Source, skip: Tuple[str, ...] = ()
    ) -> Iterator[Tuple[Source, ast.ClassDef]]:
        """The bases of ``cls`` defined in this package's client folder (ClientBase),
        and theirs, nearest first; CoreCommands, whose methods are restated one by one
        with their new return types, is not one of them, nor any named in ``skip``."""
        for node in cls.bases:
            if not isinstance(node, ast.Name) or node.id in ("CoreCommands", *skip):
                continue
            module, name = src.from_imports.get(node.id, ("", ""))
            if not module.startswith(f"{PACKAGE}.client."):
                raise GenerationError(
                    f"{src.relpath}: {cls.name}: base {node.id} is not a class of "
                    f"{PACKAGE}/client/ the generator can read"
                )
            base_src = Source(self.root, module.replace(".", "/") + ".py")
            base = base_src.cls(name)
            yield base_src, base
            yield from self.package_bases(base, base_src)

    def base_members(
        self, cls: ast.ClassDef, src: Source, defined: Set[str], skip: Tuple[str, ...] = ()
    ) -> List[ast.stmt]:
        """What the package bases of ``cls`` (:meth:`package_bases`) define, written
        into the class: every member not in ``defined``, which grows by their names."""
        out: List[ast.stmt] = []
        for base_src, base in self.package_bases(cls, src, skip=skip):
            more, more_defined = self.own_members(base, base_src, skip=defined)
            out.extend(more)
            defined |= more_defined
        return out


class AioStubBuilder(StubBuilder):
    """pyredisclient/client/aio.pyi: AsyncRedisClient and AsyncPipeline."""

    module = "client/aio.py"
    classes: ClassVar[Tuple[str, ...]] = ("AsyncRedisClient", "AsyncPipeline")

    def __init__(self, root: Path = ROOT) -> None:
        super().__init__(root)
        self.pipeline = Source(root, f"{PACKAGE}/client/pipeline.py")

    def async_client(self) -> ast.ClassDef:
        cls = self.src.cls("AsyncRedisClient")
        body, defined = self.own_members(cls, self.src)
        # What it inherits from the client base class (config, with_prefix, metrics,
        # ...) is written into the class too: the stub names no base (see above).
        body = self.base_members(cls, self.src, defined) + body
        return _class("AsyncRedisClient", body, self.async_commands(defined, "AsyncRedisClient"))

    def async_commands(
        self, defined: Set[str], host: str, force_async: bool = True
    ) -> List[ast.stmt]:
        """Every CoreCommands method not in ``defined`` as an ``async def`` returning
        its sync return type (host-bound helpers as they are); with
        ``force_async=False``, as written (generators included)."""
        commands: List[ast.stmt] = []
        for name, group, is_generator, src in self.command_methods():
            if name in defined:
                continue
            if is_generator and not force_async:
                commands.extend(self.group(group, src, "CoreCommands", name, None))
                continue
            if is_generator:
                raise GenerationError(
                    f"CoreCommands.{name} is a generator: on {host} it would iterate "
                    f"over un-awaited coroutines. Override it in {self.module} with an "
                    "async generator, then run: " + COMMAND
                )
            if _is_host_bound(group[-1]):
                commands.append(self.function(group[-1], src, where="CoreCommands", name=name))
                continue
            overloads = [f for f in group if _is_overload(f)] or [group[-1]]
            for fn in group:
                if not _is_overload(fn):
                    self.check_returns_run(fn, src)
            for fn in overloads:
                commands.append(
                    self.function(fn, src, where="CoreCommands", name=name, force_async=force_async)
                )
        return commands

    def async_pipeline(self) -> ast.ClassDef:
        cls = self.src.cls("AsyncPipeline")
        renames = {"Pipeline": "AsyncPipeline"}  # Pipeline's methods returning itself
        body, defined = self.own_members(cls, self.src)
        attrs = {
            n.target.id
            for n in body
            if isinstance(n, ast.AnnAssign) and isinstance(n.target, ast.Name)
        }
        body.extend(self.base_members(cls, self.src, defined, skip=("Pipeline",)))
        inherited, base_defined = self.own_members(
            self.pipeline.cls("Pipeline"), self.pipeline, renames=renames, skip=defined | attrs
        )
        defined |= base_defined
        commands = self.pipeline_commands("AsyncPipeline", defined)
        return _class("AsyncPipeline", body + inherited, commands)

    def build(self) -> str:
        module_members = self.module_members()
        classes = [self.async_client(), self.async_pipeline()]
        header = [
            f"Generated by {COMMAND} from pyredisclient/commands/, client/aio.py,",
            "client/base.py and client/pipeline.py: do not edit. Regenerate after changing",
            "any of them.",
            "",
            "Every CoreCommands method returns a coroutine on AsyncRedisClient and the",
            "pipeline itself on AsyncPipeline. The classes do not name CoreCommands or",
            "Pipeline as bases: the async versions break their contracts (see the",
            "generator's docstring).",
        ]
        return self.render(header, module_members, classes)


class PipelineStubBuilder(StubBuilder):
    """pyredisclient/client/pipeline.pyi: the whole client/pipeline.py module."""

    module = "client/pipeline.py"
    classes = ("Pipeline",)
    private = True  # aio.py's AsyncPipeline builds on Pipeline's private members

    def pipeline(self) -> ast.ClassDef:
        cls = self.src.cls("Pipeline")
        body, defined = self.own_members(cls, self.src, private=True)
        body.extend(self.base_members(cls, self.src, defined))  # ResetNames
        return _class("Pipeline", body, self.pipeline_commands("Pipeline", defined))

    def build(self) -> str:
        module_members = self.module_members()
        header = [
            f"Generated by {COMMAND} from pyredisclient/commands/ and",
            "client/pipeline.py: do not edit. Regenerate after changing either.",
            "",
            "Every CoreCommands method queues its command and returns the pipeline, so",
            "calls chain. Between watch() and multi() they run at once and return their",
            "values instead: the stub types the buffered mode, as types-redis does (see",
            "the generator's docstring for WATCH-mode reads). Pipeline does not name",
            "CoreCommands as a base: it breaks its contract (ping returns the pipeline).",
        ]
        return self.render(header, module_members, [self.pipeline()])


class AsyncClusterStubBuilder(AioStubBuilder):
    """pyredisclient/cluster/aio.pyi: AsyncRedisClusterClient.

    Its own members (cluster/aio.py) and what it inherits, written into the class:
    ClusterBase (cluster/base.py) and ClientBase, the node look-ups (ClusterNodes),
    the asyncio lock methods, ClusterCommands (cluster/commands.py: a method that
    returns ``self._run(...)`` becomes ``async def``, as does ``execute_command``;
    ``keyslot`` stays a plain def), then every CoreCommands method as ``async def``.
    """

    module = "cluster/aio.py"
    classes = ("AsyncRedisClusterClient",)
    is_async: ClassVar[bool] = True

    def cluster_bases(
        self, cls: ast.ClassDef, src: Source
    ) -> Iterator[Tuple[Source, ast.ClassDef]]:
        """The bases of ``cls`` in this package's client/ and cluster/ folders, in
        method resolution order (depth first, each class at its last place)."""
        order: List[Tuple[Source, ast.ClassDef]] = []

        def visit(src: Source, cls: ast.ClassDef) -> None:
            for node in cls.bases:
                if not isinstance(node, ast.Name) or node.id == "CoreCommands":
                    continue
                module, name = src.from_imports.get(node.id, ("", ""))
                if not module.startswith((f"{PACKAGE}.client.", f"{PACKAGE}.cluster.")):
                    raise GenerationError(
                        f"{src.relpath}: {cls.name}: base {node.id} is not a class of "
                        f"{PACKAGE}/client/ or cluster/ the generator can read"
                    )
                base_src = self._source(module)
                base = base_src.cls(name)
                order[:] = [(s, c) for s, c in order if c.name != base.name]
                order.append((base_src, base))
                visit(base_src, base)

        visit(src, cls)
        return iter(order)

    def cluster_commands(
        self, cls: ast.ClassDef, src: Source, defined: Set[str]
    ) -> Tuple[List[ast.stmt], Set[str]]:
        """ClusterCommands' public members: async where they return self._run(...)."""
        out: List[ast.stmt] = []
        names: Set[str] = set()
        for name, node in self.members(cls, src):
            if name in defined or name in names or not _is_public(name):
                continue
            names.add(name)
            if isinstance(node, ast.AnnAssign):
                out.append(self.attribute(name, node.annotation, src, None))
                continue
            if not isinstance(node, ast.FunctionDef):
                raise GenerationError(f"{src.relpath}: {cls.name}.{name}: only methods expected")
            returns = [n for n in ast.walk(node) if isinstance(n, ast.Return)]
            runs = all(_returns_a_call(r) for r in returns)
            force_async = self.is_async and bool(returns) and runs
            out.append(self.function(node, src, where=cls.name, force_async=force_async))
        return out, names

    def cluster_client(self) -> ast.ClassDef:
        name = self.classes[0]
        cls = self.src.cls(name)
        body, defined = self.own_members(cls, self.src)
        inherited: List[ast.stmt] = []
        for base_src, base in self.cluster_bases(cls, self.src):
            if base.name == "ClusterCommands":
                more, more_defined = self.cluster_commands(base, base_src, defined)
            else:
                more, more_defined = self.own_members(base, base_src, skip=defined)
            inherited.extend(more)
            defined |= more_defined
        commands = self.async_commands(defined, name, force_async=self.is_async)
        self.add_target_nodes(commands, self.targeted_commands())
        return _class(name, inherited + body, commands)

    #: What the stub's header says of the class, after where it comes from.
    about: ClassVar[Tuple[str, ...]] = (
        "Every command method returns a coroutine on AsyncRedisClusterClient. The",
        "class names none of its bases: the async versions break their contracts.",
    )

    def build(self) -> str:
        header = [
            f"Generated by {COMMAND} from pyredisclient/commands/, {self.module},",
            "cluster/base.py, cluster/commands.py, client/base.py and client/locking.py:",
            "do not edit. Regenerate after changing any of them.",
            "",
            *self.about,
        ]
        return self.render(header, self.module_members(), [self.cluster_client()])


class ClusterStubBuilder(AsyncClusterStubBuilder):
    """pyredisclient/cluster/client.pyi: RedisClusterClient, as AsyncRedisClusterClient
    but with every method as written (nothing becomes async). Without the stub the
    class would be typed from its sources, where ``accept_target_nodes`` (run at
    import) is invisible: this stub is what gives the command methods their
    ``target_nodes``."""

    module = "cluster/client.py"
    classes = ("RedisClusterClient",)
    is_async = False
    about = (
        "RedisClusterClient as it is at runtime: the server, ACL, diagnostics,",
        "function, script and pub/sub methods (cluster/commands.py: TARGETED_*) take",
        "target_nodes. The class names none of its bases, as cluster/aio.pyi.",
    )


class ClusterPipelineStubBuilder(StubBuilder):
    """pyredisclient/cluster/pipeline.pyi: ClusterPipeline and AsyncClusterPipeline,
    as Pipeline and AsyncPipeline are written (their public members, the reset
    names, then every command returning the pipeline, so calls chain)."""

    module = "cluster/pipeline.py"
    classes = ("ClusterPipeline", "AsyncClusterPipeline")

    def pipeline(self, name: str, skip: Tuple[str, ...], renames: Dict[str, str]) -> ast.ClassDef:
        cls = self.src.cls(name)
        body, defined = self.own_members(cls, self.src)
        body.extend(self.base_members(cls, self.src, defined, skip=skip))  # the reset names
        if skip:  # AsyncClusterPipeline: what it keeps of ClusterPipeline
            inherited, base_defined = self.own_members(
                self.src.cls(skip[0]), self.src, renames=renames, skip=defined
            )
            body.extend(inherited)
            defined |= base_defined
        return _class(name, body, self.pipeline_commands(name, defined))

    def build(self) -> str:
        module_members = self.module_members()
        classes = [
            self.pipeline("ClusterPipeline", (), {}),
            self.pipeline(
                "AsyncClusterPipeline",
                ("ClusterPipeline",),
                {"ClusterPipeline": "AsyncClusterPipeline"},
            ),
        ]
        header = [
            f"Generated by {COMMAND} from pyredisclient/commands/ and",
            "cluster/pipeline.py: do not edit. Regenerate after changing either.",
            "",
            "Every CoreCommands method queues its command and returns the pipeline, so",
            "calls chain, as in client/pipeline.pyi (the same WATCH-mode caveat).",
        ]
        return self.render(header, module_members, classes)


STUBS: Tuple[Type[StubBuilder], ...] = (
    AioStubBuilder,
    PipelineStubBuilder,
    AsyncClusterStubBuilder,
    ClusterStubBuilder,
    ClusterPipelineStubBuilder,
)


def _unparse(node: ast.stmt) -> str:
    return ast.unparse(ast.fix_missing_locations(node))


def _is_host_bound(fn: FuncDef) -> bool:
    """A ``@host_bound`` method returns a helper bound to its host (bitfield's
    BitFieldOperation), not ``self._run(...)``: restated as written on every host."""
    return any(_decorator_name(d).rpartition(".")[2] == "host_bound" for d in fn.decorator_list)


def _is_overload(fn: FuncDef) -> bool:
    return any(_decorator_name(d).rpartition(".")[2] == "overload" for d in fn.decorator_list)


def _class(name: str, body: List[ast.stmt], commands: List[ast.stmt]) -> ast.ClassDef:
    return ast.ClassDef(
        name=name,
        bases=[],
        keywords=[],
        body=body + commands or [ast.Expr(value=ast.Constant(value=Ellipsis))],
        decorator_list=[],
    )


def _ruff(args: List[str], text: str, path: str) -> str:
    cmd = [sys.executable, "-m", "ruff", *args, "--stdin-filename", str(ROOT / path), "-"]
    proc = subprocess.run(
        cmd, input=text, capture_output=True, text=True, cwd=ROOT, check=False, timeout=60
    )
    if proc.returncode != 0:
        raise GenerationError(f"{' '.join(cmd[2:])} failed (is ruff installed?):\n{proc.stderr}")
    return proc.stdout


def ruff_format(text: str, path: str = f"{PACKAGE}/client/aio.pyi") -> str:
    """Sort the imports and format, with the repository's ruff settings for ``path``."""
    text = _ruff(["check", "--fix-only", "--exit-zero", "--select", "I"], text, path)
    return _ruff(["format"], text, path)


# The command-table block of pyredisclient/_core.pyi (the rest of that stub is
# hand-written): the names of csrc/core/prc.h's vocabularies as Literal types, and
# the binding's functions over the table (csrc/binding/commands.c).
CORE_STUB = f"{PACKAGE}/_core.pyi"
CORE_BEGIN = "# -- command table: generated by scripts/gen_stubs.py from csrc/core/prc.h --"
CORE_END = "# -- end of the generated command table --"
CORE_VOCABULARIES = (
    ("_CommandFlag", "PRC_CMD_FLAG_MAP"),
    ("_AclCategory", "PRC_CMD_ACL_MAP"),
    ("_CommandTip", "PRC_CMD_TIP_MAP"),
    ("_KeySpecFlag", "PRC_KS_FLAG_MAP"),
    ("_CommandClass", "PRC_CMD_CLASS_MAP"),
    ("_BlockTimeout", "PRC_CMD_TMO_MAP"),
    ("_Refusal", "PRC_CMD_REFUSAL_MAP"),
)
CORE_FUNCTIONS = """
class _KeySearch(TypedDict):
    type: Literal["index", "keyword", "range", "keynum", "unknown"]
    spec: Dict[str, Union[int, str]]

class _KeySpec(TypedDict):
    flags: List[_KeySpecFlag]
    begin_search: _KeySearch
    find_keys: _KeySearch

class _CommandSpec(TypedDict):
    name: str
    arity: int
    flags: List[_CommandFlag]
    acl_categories: List[_AclCategory]
    tips: List[_CommandTip]
    key_specs: List[_KeySpec]
    subcommands: List[str]
    group: str
    since: str
    classes: List[_CommandClass]
    block_timeout: _BlockTimeout | None
    refusal: _Refusal | None

def command_spec(args: Sequence[_Arg], /) -> _CommandSpec | None: ...
def command_keys(
    args: Sequence[_Arg], /, *, not_keys: bool = False, partial: bool = False
) -> list[int] | None: ...
def command_names() -> list[str]: ...
def key_slot(key: _Arg, /) -> int: ...
def command_slot(args: Sequence[_Arg], /) -> int: ...
"""


def _prc_names(prc_h: str, macro: str) -> List[str]:
    """The quoted names of one X-macro map of prc.h, in order."""
    m = re.search(r"#define " + macro + r"\(XX\)((?:[^\n]*\\\n)*[^\n]*)", prc_h)
    if m is None:
        raise GenerationError(f"csrc/core/prc.h has no {macro}")
    return re.findall(r'XX\(\w+,\s*"([^"]*)"\)', m.group(1))


# Client's keyword arguments in pyredisclient/_core.pyi: the option tables of the core
# (PRC_OPTIONS_MAP, csrc/core/prc.h) and of the binding (PYRC_OPTIONS_MAP,
# csrc/binding/binding.h), which Client.__init__ parses.
OPTIONS_BEGIN = (
    "    # -- keyword arguments: generated by scripts/gen_stubs.py from the option tables --"
)
OPTIONS_END = "    # -- end of the generated keyword arguments --"
OPTION_TYPES = {
    "STR": "str | None",
    "INT": "int",
    "BOOL": "bool",
    "DOUBLE": "float",
    "SECONDS": "float | None",
    "SIZE": "int",
    "TLS_VERIFY": "str | None",
    "OBJECT": "Any",
}


def _macro_body(header: str, macro: str, where: str) -> str:
    m = re.search(r"#define " + macro + r"\(XX\)((?:[^\n]*\\\n)*[^\n]*)", header)
    if m is None:
        raise GenerationError(f"{where} has no {macro}")
    return m.group(1)


def option_table(root: Path = ROOT) -> List[Tuple[str, str]]:
    """(keyword, option type) of every keyword argument of _core.Client, in order."""
    out: List[Tuple[str, str]] = []
    for rel, macro in (
        ("csrc/core/prc.h", "PRC_OPTIONS_MAP"),
        ("csrc/binding/binding.h", "PYRC_OPTIONS_MAP"),
    ):
        body = _macro_body((root / rel).read_text(encoding="utf-8"), macro, rel)
        for kind, keyword in re.findall(r'XX\((\w+),\s*\w+,\s*"([^"]+)"', body):
            if kind not in OPTION_TYPES:
                raise GenerationError(f"{rel}: option {keyword} has an unknown type {kind}")
            out.append((keyword, kind))
    return out


def _replace_block(text: str, begin_line: str, end_line: str, lines: List[str]) -> str:
    begin, end = text.find(begin_line), text.find(end_line)
    if begin < 0 or end < begin:
        raise GenerationError(f"{CORE_STUB} lacks the lines {begin_line!r} ... {end_line!r}")
    return text[:begin] + "\n".join([begin_line, *lines, ""]) + text[end:]


def core_stub(root: Path = ROOT) -> str:
    """pyredisclient/_core.pyi with its generated blocks regenerated: the command
    table's vocabularies and functions, and Client's keyword arguments."""
    text = (root / CORE_STUB).read_text(encoding="utf-8")
    prc_h = (root / "csrc" / "core" / "prc.h").read_text(encoding="utf-8")
    block = [""]
    for alias, macro in CORE_VOCABULARIES:
        names = ", ".join(json.dumps(n) for n in _prc_names(prc_h, macro))
        block.append(f"{alias} = Literal[{names}]")
    block.append(CORE_FUNCTIONS.rstrip("\n"))
    text = _replace_block(text, CORE_BEGIN, CORE_END, block)
    classes, aliases = error_classes(root)
    text = _replace_block(
        text, EXC_BEGIN, EXC_END, [_class_stub(*c) for c in classes] + ["", *aliases]
    )
    params = [f"        {kw}: {OPTION_TYPES[kind]} = ...," for kw, kind in option_table(root)]
    init = ["    def __init__(", "        self,", "        *,", *params, "    ) -> None: ..."]
    return _replace_block(text, OPTIONS_BEGIN, OPTIONS_END, init)


# The exception classes: the core's error table (PRC_EXC_MAP and PRC_EXC_ALIAS_MAP in
# csrc/core/prc.h) is their one list. The binding creates them from it; this writes
# their stub block in _core.pyi and the whole of pyredisclient/exceptions.py.
EXC_BEGIN = "# -- exception classes: generated by scripts/gen_stubs.py from csrc/core/prc.h --"
EXC_END = "# -- end of the generated exception classes --"
EXCEPTIONS_MODULE = f"{PACKAGE}/exceptions.py"
EXCEPTIONS_DOC = '''"""The exception hierarchy (defined by the C extension, re-exported here).

GENERATED by python scripts/gen_stubs.py from the error table of csrc/core/prc.h
(PRC_EXC_MAP): do not edit; add or change a class there.

``ConnectionError`` and ``TimeoutError`` also subclass the builtins of the same
names, so ``except OSError`` catches them too. ``DataError`` is also a
``TypeError``. ``ConfigurationError`` is a ``ValueError`` and never a ``RedisError``.
"""
'''


def error_classes(root: Path = ROOT) -> Tuple[List[Tuple[str, str, str | None]], List[str]]:
    """([(class, parent class or "", builtin or None)] in table order, [alias lines])."""
    prc_h = (root / "csrc" / "core" / "prc.h").read_text(encoding="utf-8")
    rows = re.findall(
        r'XX\((\w+),\s*"(\w+)",\s*(\w+),\s*(NULL|"\w+")',
        _macro_body(prc_h, "PRC_EXC_MAP", "csrc/core/prc.h"),
    )
    if not rows:
        raise GenerationError("csrc/core/prc.h: PRC_EXC_MAP lists no class")
    names = {ident: name for ident, name, _, _ in rows}
    classes: List[Tuple[str, str, str | None]] = []
    for _, name, parent, builtin in rows:
        if parent != "NONE" and parent not in names:
            raise GenerationError(f"PRC_EXC_MAP: {name}'s parent {parent} is not a class")
        classes.append(
            (name, names.get(parent, ""), None if builtin == "NULL" else builtin.strip('"'))
        )
    aliases = [
        f"{alias} = {names[ident]}"
        for alias, ident in re.findall(
            r'XX\("(\w+)",\s*(\w+)\)',
            _macro_body(prc_h, "PRC_EXC_ALIAS_MAP", "csrc/core/prc.h"),
        )
    ]
    return classes, aliases


# Attributes a class gets in Python (cluster/routing.py reads them from the message),
# as redis-py's classes of the same names have them.
CLASS_MEMBERS: Dict[str, List[str]] = {
    "AskError": ["slot_id: int", "node_addr: tuple[str, int]", "host: str", "port: int"],
}


def _class_stub(name: str, parent: str, builtin: str | None) -> str:
    bases = ", ".join(b for b in (parent, builtin) if b)
    # A class that shadows its builtin base (ConnectionError) names the builtin
    # before the class exists; mypy flags the redefinition.
    ignore = "  # type: ignore[misc]" if builtin == name else ""
    members = CLASS_MEMBERS.get(name)
    if members:
        body = "\n".join(
            f"    @property\n    def {m.split(':')[0]}(self) -> {m.split(': ')[1]}: ..."
            for m in members
        )
        return f"class {name}({bases}):{ignore}\n{body}"
    return f"class {name}({bases}): ...{ignore}"


def exceptions_module(root: Path = ROOT) -> str:
    """pyredisclient/exceptions.py, from the error table."""
    classes, aliases = error_classes(root)
    names = sorted([name for name, _, _ in classes] + [a.split(" = ")[0] for a in aliases])
    lines = [EXCEPTIONS_DOC, "from ._core import ("]
    lines += [f"    {name}," for name in names]
    lines += [")", "from .config import ConfigurationError", "", "__all__ = ["]
    lines += [f'    "{name}",' for name in sorted([*names, "ConfigurationError"])]
    lines += ["]", ""]
    return "\n".join(lines)


def generate(root: Path = ROOT) -> Dict[str, str]:
    """{stub path relative to the root: the text it must have}, from the sources
    under ``root``, formatted."""
    stubs = {b.stub_path(): ruff_format(b(root).build(), b.stub_path()) for b in STUBS}
    stubs[CORE_STUB] = ruff_format(core_stub(root), CORE_STUB)
    stubs[EXCEPTIONS_MODULE] = ruff_format(exceptions_module(root), EXCEPTIONS_MODULE)
    return stubs


def main(argv: List[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument(
        "--check", action="store_true", help="exit 1 if a committed stub is out of date"
    )
    opts = parser.parse_args(argv)
    try:
        stubs = generate()
    except GenerationError as exc:
        sys.stderr.write(f"gen_stubs: {exc}\n")
        return 2
    stale = False
    for rel, text in stubs.items():
        path = ROOT / rel
        current = path.read_text(encoding="utf-8") if path.exists() else ""
        if text == current:
            if not opts.check:
                sys.stdout.write(f"{rel} is up to date\n")
        elif opts.check:
            stale = True
            sys.stderr.writelines(
                difflib.unified_diff(
                    current.splitlines(True),
                    text.splitlines(True),
                    f"{rel} (committed)",
                    f"{rel} (generated)",
                )
            )
            sys.stderr.write(f"{rel} is out of date: run {COMMAND}\n")
        else:
            path.write_text(text, encoding="utf-8")
            sys.stdout.write(f"wrote {rel}\n")
    return 1 if stale else 0


if __name__ == "__main__":
    sys.exit(main())
