"""Packaging: what fdl imports is what pyproject.toml declares.

Every third-party module that an fdl module imports at module level (outside any
function) must come from a runtime dependency (``[project] dependencies``), so that
``pip install fdl`` without extras imports every module. Optional packages (the
``plot`` and ``bench`` extras) are imported inside the functions that need them, and
each of those must be declared somewhere (or be listed below as an optional fallback).
Read from the sources with ``ast``: nothing is imported or installed.
"""

import ast
import pathlib
import re
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "fdl"

# Import name -> distribution name, where they differ.
DISTRIBUTIONS = {"sklearn": "scikit-learn", "faiss": "faiss-cpu"}

# Imported lazily but declared nowhere: the code works without them.
UNDECLARED_FALLBACKS = {
    "torchvision": "fdl.bench.torch_nets uses its own ResNet definitions without it",
}

# fdl modules that import an optional package at module level, and are themselves only
# imported inside functions (so ``import fdl.bench`` works without it).
OPTIONAL_MODULES = {
    "fdl.bench.torch_nets": "torch",
}

# Packages that must never be imported at module level anywhere in fdl.
OPTIONAL_PACKAGES = ("matplotlib", "torch", "torchvision", "flax", "optax", "equinox", "faiss",
                     "scipy")


def _normalise(name):
    return re.sub(r"[-_.]+", "-", name).lower()


def _requirement_name(requirement):
    return _normalise(re.match(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)", requirement).group(1))


def _load_pyproject():
    text = (ROOT / "pyproject.toml").read_text()
    try:
        import tomllib  # Python >= 3.11
    except ImportError:
        return _parse_dependencies(text)
    project = tomllib.loads(text)["project"]
    return project["dependencies"], project.get("optional-dependencies", {})


def _parse_dependencies(text):
    """The two tables this test needs, for Python 3.10 (no tomllib): ``dependencies``
    under ``[project]`` and the lists under ``[project.optional-dependencies]``."""
    section, runtime, extras = None, [], {}
    for match in re.finditer(r"^\[([^\]]+)\]|^([A-Za-z0-9_-]+)\s*=\s*\[(.*?)\]", text,
                             re.MULTILINE | re.DOTALL):
        if match.group(1):
            section = match.group(1).strip()
            continue
        items = re.findall(r"\"([^\"]+)\"", re.sub(r"#.*", "", match.group(3)))
        if section == "project" and match.group(2) == "dependencies":
            runtime = items
        elif section == "project.optional-dependencies":
            extras[match.group(2)] = items
    return runtime, extras


def _module_name(path):
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path):
    """``(line, imported module, at module level?)`` for every import in the file;
    relative imports resolved to absolute names."""
    name = _module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = []

    def visit(node, in_function):
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.Import):
                found.extend((child.lineno, alias.name, not in_function) for alias in child.names)
            elif isinstance(child, ast.ImportFrom):
                base = child.module or ""
                if child.level:
                    anchor = package.rsplit(".", child.level - 1)[0] if child.level > 1 else package
                    base = f"{anchor}.{base}" if base else anchor
                found.append((child.lineno, base, not in_function))
                # `from fdl.bench import torch_nets` imports the module fdl.bench.torch_nets.
                found.extend((child.lineno, f"{base}.{alias.name}", not in_function)
                             for alias in child.names if base.startswith("fdl"))
            visit(child, in_function or isinstance(
                child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)))

    visit(ast.parse(path.read_text(), str(path)), False)
    return found


def _third_party(module):
    top = module.split(".")[0]
    return top and top != "fdl" and top not in sys.stdlib_module_names


SOURCES = sorted(PACKAGE.rglob("*.py"))
IMPORTS = {path: _imports(path) for path in SOURCES}
RUNTIME, EXTRAS = _load_pyproject()


def _where(path, line, module):
    return f"{path.relative_to(ROOT)}:{line}: import {module}"


def test_the_sources_are_found():
    assert len(SOURCES) > 50 and ROOT / "fdl" / "__init__.py" in SOURCES


def test_the_pyproject_is_read():
    runtime = {_requirement_name(r) for r in RUNTIME}
    assert {"jax", "numpy", "scikit-learn"} <= runtime
    assert "matplotlib" in {_requirement_name(r) for r in EXTRAS["plot"]}
    assert _parse_dependencies((ROOT / "pyproject.toml").read_text()) == (RUNTIME, EXTRAS)


def test_module_level_imports_are_runtime_dependencies():
    runtime = {_requirement_name(r) for r in RUNTIME}
    wrong = []
    for path, imports in IMPORTS.items():
        if _module_name(path) in OPTIONAL_MODULES:
            continue
        for line, module, top_level in imports:
            top = module.split(".")[0]
            if top_level and _third_party(module) \
                    and _normalise(DISTRIBUTIONS.get(top, top)) not in runtime:
                wrong.append(_where(path, line, module))
    assert not wrong, (
        "module-level imports of packages that are not runtime dependencies (declare them "
        "in [project] dependencies, or import them inside the function that needs them):\n"
        + "\n".join(wrong))


@pytest.mark.parametrize("package", OPTIONAL_PACKAGES)
def test_optional_packages_are_imported_lazily(package):
    wrong = [_where(path, line, module)
             for path, imports in IMPORTS.items() if _module_name(path) not in OPTIONAL_MODULES
             for line, module, top_level in imports
             if top_level and module.split(".")[0] == package]
    assert not wrong, (f"{package} is optional: import it inside the function that needs it, "
                       "not at module level:\n" + "\n".join(wrong))


def test_optional_modules_are_imported_lazily():
    wrong = [_where(path, line, module)
             for path, imports in IMPORTS.items()
             for line, module, top_level in imports
             if top_level and module in OPTIONAL_MODULES]
    assert not wrong, ("these fdl modules need an optional package "
                       f"({OPTIONAL_MODULES}); import them inside functions:\n" + "\n".join(wrong))


def test_lazy_imports_are_declared_somewhere():
    declared = {_requirement_name(r) for r in RUNTIME}
    declared |= {_requirement_name(r) for extra in EXTRAS.values() for r in extra}
    wrong = [_where(path, line, module)
             for path, imports in IMPORTS.items()
             for line, module, _ in imports
             if _third_party(module) and module.split(".")[0] not in UNDECLARED_FALLBACKS
             and _normalise(DISTRIBUTIONS.get(module.split(".")[0], module.split(".")[0]))
             not in declared]
    assert not wrong, ("imports of packages declared in no dependency list or extra of "
                       "pyproject.toml:\n" + "\n".join(wrong))
