"""Every Numba function of the package is compiled through ``synlearn.core.jit.njit``.

Bit-identity of a run alone and inside a batch needs the project's options on every
kernel (cached, no fastmath, NumPy error model; see ``synlearn/core/jit.py``). The
source of ``src/synlearn`` is read with ``ast`` (nothing is imported for the policy
itself) and must not:

- use Numba's compiling entry points (``numba.njit``, ``numba.jit``, ``vectorize``,
  ``guvectorize``, ``jitclass``, ``cfunc``, ``stencil``, ``numba.experimental``), by
  attribute or by ``from numba import ...``, anywhere but ``core/jit.py``;
- decorate (or wrap) a function with an ``njit``/``jit``-like name that is not the
  wrapper imported from ``synlearn.core.jit``;
- pass ``fastmath=`` or ``error_model=`` to the wrapper, or options through ``**``
  (which would hide them from this check).
"""

from __future__ import annotations

import ast
import importlib
from dataclasses import dataclass, field
from pathlib import Path

import numba
import pytest

import synlearn

PACKAGE_DIR = Path(__file__).resolve().parents[2] / "src" / "synlearn"
WRAPPER_MODULE = "synlearn.core.jit"
WRAPPER = f"{WRAPPER_MODULE}.njit"
# Names under ``numba`` that compile a function or class.
NUMBA_COMPILERS = {"njit", "jit", "vectorize", "guvectorize", "jitclass", "cfunc",
                   "generated_jit", "stencil", "experimental"}
# Names that look like a JIT decorator and so must be the project's wrapper.
JIT_LIKE = NUMBA_COMPILERS - {"experimental"}
FORBIDDEN_OPTIONS = {"fastmath", "error_model"}


@dataclass
class PolicyReport:
    violations: list[str] = field(default_factory=list)
    jitted: list[str] = field(default_factory=list)  # functions compiled by the wrapper


def _absolute(module: str, is_package: bool, level: int, name: str | None) -> str:
    """The absolute module of ``from <level dots><name> import ...`` inside ``module``."""
    if level == 0:
        return name or ""
    parts = module.split(".")
    base = parts if is_package else parts[:-1]
    base = base[: len(base) - (level - 1)]
    return ".".join(base + ([name] if name else []))


class _Checker(ast.NodeVisitor):
    def __init__(self, module: str, is_package: bool):
        self.module, self.is_package = module, is_package
        self.exempt = module == WRAPPER_MODULE
        self.aliases: dict[str, str] = {}  # local name -> dotted origin
        self.found: set[tuple[int, str]] = set()
        self.jitted: list[str] = []
        self.scope: list[str] = []

    def flag(self, node: ast.AST, message: str) -> None:
        self.found.add((node.lineno, message))

    def resolve(self, node: ast.AST) -> str | None:
        """Dotted origin of a name or attribute chain, through the module's imports."""
        if isinstance(node, ast.Name):
            return self.aliases.get(node.id, f"{self.module}.{node.id}")
        if isinstance(node, ast.Attribute):
            base = self.resolve(node.value)
            return None if base is None else f"{base}.{node.attr}"
        return None

    def check_numba(self, node: ast.AST, origin: str | None) -> None:
        if self.exempt or not origin:
            return
        parts = origin.split(".")
        if parts[0] == "numba" and NUMBA_COMPILERS & set(parts[1:]):
            self.flag(node, f"{origin} is used directly; use {WRAPPER}")

    # imports --------------------------------------------------------------------------

    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            if alias.asname:
                self.aliases[alias.asname] = alias.name
            else:
                top = alias.name.split(".")[0]
                self.aliases[top] = top
            self.check_numba(node, alias.name)

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        source = _absolute(self.module, self.is_package, node.level, node.module)
        for alias in node.names:
            origin = f"{source}.{alias.name}"
            self.aliases[alias.asname or alias.name] = origin
            self.check_numba(node, origin)

    # uses -----------------------------------------------------------------------------

    def visit_Attribute(self, node: ast.Attribute) -> None:
        self.check_numba(node, self.resolve(node))
        self.generic_visit(node)

    def visit_Call(self, node: ast.Call) -> None:
        origin = self.resolve(node.func)
        if origin == WRAPPER:
            for keyword in node.keywords:
                if keyword.arg is None:
                    self.flag(node, f"options passed to {WRAPPER} through **; pass them by name")
                elif keyword.arg in FORBIDDEN_OPTIONS:
                    self.flag(node, f"{keyword.arg}= passed to {WRAPPER}")
        elif origin and origin.split(".")[-1] in JIT_LIKE and not self.exempt:
            self.flag(node, f"{origin} is called; use {WRAPPER}")
        self.generic_visit(node)

    def visit_decorated(self, node: ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
        for decorator in node.decorator_list:
            target = decorator.func if isinstance(decorator, ast.Call) else decorator
            origin = self.resolve(target)
            if origin == WRAPPER:
                self.jitted.append(".".join([*self.scope, node.name]))
            elif origin and (origin.split(".")[-1] in JIT_LIKE
                             or origin.split(".")[0] == "numba"):
                self.flag(decorator, f"{node.name} is decorated with {origin}, not {WRAPPER}")
        self.scope.append(node.name)
        self.generic_visit(node)
        self.scope.pop()

    visit_FunctionDef = visit_AsyncFunctionDef = visit_ClassDef = visit_decorated


def check_source(source: str, module: str, is_package: bool = False) -> PolicyReport:
    """The JIT-policy violations of one module's source.

    Parameters
    ----------
    source : str
        Python source.
    module : str
        Its dotted module name (relative imports are resolved against it).
    is_package : bool
        True for an ``__init__.py``.
    """
    tree = ast.parse(source)
    checker = _Checker(module, is_package)
    # Imports first, wherever they are, so that a use above a late import is resolved.
    for node in ast.walk(tree):
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            checker.visit(node)
    checker.visit(tree)
    return PolicyReport(
        violations=[f"{module}:{line}: {message}" for line, message in sorted(checker.found)],
        jitted=checker.jitted,
    )


def package_modules() -> list[tuple[str, Path]]:
    modules = []
    for path in sorted(PACKAGE_DIR.rglob("*.py")):
        relative = path.relative_to(PACKAGE_DIR.parent).with_suffix("")
        parts = list(relative.parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        modules.append((".".join(parts), path))
    return modules


def package_report() -> dict[str, PolicyReport]:
    return {module: check_source(path.read_text(encoding="utf-8"), module,
                                 path.name == "__init__.py")
            for module, path in package_modules()}


# -- the package -------------------------------------------------------------------------


def test_package_follows_the_jit_policy():
    reports = package_report()
    assert WRAPPER_MODULE in reports
    violations = [v for report in reports.values() for v in report.violations]
    assert not violations, "\n".join(violations)
    # Not vacuous: the kernels of every family with kernels were seen, through the wrapper.
    jitted = {module for module, report in reports.items() if report.jitted}
    expected = {f"synlearn.{family}.kernels" for family in synlearn.FAMILIES
                if (PACKAGE_DIR / family / "kernels.py").exists()}
    assert expected and expected <= jitted


def test_compiled_functions_carry_the_project_options():
    # The same policy at run time: what the wrapper actually built (no compilation).
    checked = 0
    for module, report in package_report().items():
        if not report.jitted:
            continue
        namespace = vars(importlib.import_module(module))
        for name in report.jitted:
            if not isinstance(namespace.get(name), numba.core.dispatcher.Dispatcher):
                continue  # nested or a method (not a module attribute), or rebound
            dispatcher = namespace[name]
            options = dispatcher.targetoptions
            assert options.get("fastmath") is False, f"{module}.{name}"
            assert options.get("error_model") == "numpy", f"{module}.{name}"
            assert options.get("nogil") is True, f"{module}.{name}"
            assert type(dispatcher._cache).__name__ == "FunctionCache", f"{module}.{name}"
            checked += 1
    assert checked >= 10


# -- the checker -------------------------------------------------------------------------

KERNELS = "synlearn.reservoir.kernels"

F = "def f():\n    pass\n"  # a function for a decorator to apply to
WRAPPED = "from ..core.jit import njit\n"

VIOLATING = {
    "numba.njit": "import numba\n@numba.njit\n" + F,
    "numba.jit call": "import numba as nb\nf = nb.jit(lambda x: x)\n",
    "numba.njit reference": "import numba\ncompile_ = numba.njit\n",
    "from numba import njit": "from numba import njit\n@njit\n" + F,
    "from numba import jit as": "from numba import jit as fast\n@fast(nopython=True)\n" + F,
    "vectorize": "from numba import vectorize\n",
    "guvectorize": "import numba\n@numba.guvectorize(['void(f8[:])'], '(n)')\n" + F,
    "jitclass": "from numba.experimental import jitclass\n@jitclass\nclass C:\n    pass\n",
    "old jitclass": "from numba import jitclass\n",
    "import experimental": "import numba.experimental\n",
    "from numba import experimental": "from numba import experimental\n",
    "numba.core njit": "from numba.core.decorators import njit\n",
    "njit not imported": "@njit\n" + F,
    "njit from elsewhere": "from .helpers import njit\n@njit\n" + F,
    "fastmath decorator": WRAPPED + "@njit(fastmath=True)\n" + F,
    "fastmath flags": "from synlearn.core.jit import njit\n@njit(fastmath={'contract'})\n" + F,
    "fastmath module attr": "from ..core import jit\n@jit.njit(fastmath=True)\n" + F,
    "fastmath alias": "from ..core.jit import njit as fast\n@fast(cache=True, fastmath=True)\n" + F,
    "fastmath call": WRAPPED + F + "g = njit(fastmath=True)(f)\n",
    "error_model": WRAPPED + "@njit(error_model='python')\n" + F,
    "options by **": WRAPPED + "OPTIONS = {}\n@njit(**OPTIONS)\n" + F,
    "nested": "def outer():\n    from numba import njit\n\n    @njit\n    def f():\n        pass\n",
}

COMPLIANT = {
    "bare": WRAPPED + "@njit\n" + F,
    "options": WRAPPED + "@njit(_nrt=False)\n" + F,
    "absolute": "from synlearn.core.jit import njit\n@njit(inline='always')\n" + F,
    "module attr": "from ..core import jit\n@jit.njit\n" + F,
    "other numba": "import numba\nfrom numba import prange, types\nT = numba.float64\n",
    "other decorator": "import functools\n@functools.cache\n" + F,
}


@pytest.mark.parametrize("source", VIOLATING.values(), ids=VIOLATING.keys())
def test_checker_rejects_a_violation(source):
    assert check_source(source, KERNELS).violations


@pytest.mark.parametrize("source", COMPLIANT.values(), ids=COMPLIANT.keys())
def test_checker_accepts_compliant_source(source):
    report = check_source(source, KERNELS)
    assert report.violations == []


def test_checker_records_the_wrapped_functions_and_resolves_relative_imports():
    source = WRAPPED + "@njit\n" + F + "class A:\n    @njit\n    def g():\n        pass\n"
    assert check_source(source, KERNELS).jitted == ["f", "A.g"]
    # ``..`` is synlearn from synlearn/reservoir/__init__.py as from reservoir/kernels.py,
    # but synlearn.reservoir one package deeper
    assert check_source(source, "synlearn.reservoir", is_package=True).violations == []
    assert check_source(source, "synlearn.reservoir.sub", is_package=True).violations
    assert check_source(source, "synlearn.reservoir.sub.kernels").violations


def test_only_the_wrapper_module_may_use_numba_njit():
    source = "import numba\ndef njit(f):\n    return numba.njit(cache=True)(f)\n"
    assert check_source(source, WRAPPER_MODULE).violations == []
    assert check_source(source, "synlearn.core.stats").violations


@pytest.mark.parametrize(("old", "new"), [
    ("from ..core.jit import njit", "from numba import njit"),
    ("from ..core.jit import njit", "import numba\nnjit = numba.njit"),
    ("\n@njit\n", "\n@njit(fastmath=True)\n"),
])
def test_a_violation_in_a_real_kernel_module_is_caught(old, new):
    # the first package module that contains the pattern, e.g. a family's kernels
    sources = {m: p.read_text(encoding="utf-8") for m, p in package_modules()}
    module = next(m for m, source in sources.items() if old in source and m != WRAPPER_MODULE)
    assert check_source(sources[module], module).violations == []
    assert check_source(sources[module].replace(old, new, 1), module).violations
