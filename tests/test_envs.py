"""Static checks of the per-stage conda environments (envs/*.yaml) against the workflow, for
`snakemake --sdm conda`: every rule that runs code names an env file that exists; every env takes
packages from conda-forge only and pins every dependency; and each env provides the third-party
packages its rules' scripts import, directly or through the `mis` modules they import."""

from __future__ import annotations

import ast
import re
import sys
from pathlib import Path

import pytest
import yaml

from conftest import REPO

SRC = REPO / "src"
RULE_FILES = [REPO / "Snakefile", *sorted((REPO / "workflow" / "rules").glob("*.smk"))]
ENV_FILES = sorted((REPO / "envs").glob("*.yaml"))

# Import name -> distributions that provide it, where the names differ (conda-forge or PyPI
# spelling; compared after normalize()). Any other import is provided by the distribution of its name.
PROVIDERS = {
    "PIL": {"pillow"},
    "yaml": {"pyyaml"},
    "sklearn": {"scikit-learn"},
    "skimage": {"scikit-image"},
    "scikit_posthocs": {"scikit-posthocs"},
    "matplotlib": {"matplotlib", "matplotlib-base"},
    "seaborn": {"seaborn", "seaborn-base"},
    "open_clip": {"open-clip-torch"},
    "DISTS_pytorch": {"dists-pytorch"},
}
CONDA_PIN = re.compile(r"^[A-Za-z0-9_.\-]+==?[0-9][A-Za-z0-9_.+!]*(=[A-Za-z0-9_.]+)?$")  # name=1.2.3[=build]
PIP_PIN = re.compile(r"^[A-Za-z0-9_.\-]+(\[[A-Za-z0-9_,\-]+\])?==[0-9][A-Za-z0-9_.+!]*$")  # name[extra]==1.2.3


def normalize(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def rules() -> list[tuple[str, Path, str]]:
    """(rule name, file, body) of every rule; rules may be indented (defined inside an `if`). A rule
    defined in a loop (``rule:`` with a ``name:`` directive) is named by its pattern, such as
    ``plot_{figure_name}``."""
    found = []
    for path in RULE_FILES:
        text = path.read_text()
        starts = list(re.finditer(r"^[ \t]*rule( (\w+))?:", text, re.MULTILINE))
        for start, end in zip(starts, [*starts[1:], None]):
            body = text[start.end() : end.start() if end else None]
            name = start[2] or re.search(r"^\s*name:\s*f?\"([^\"]+)\"", body, re.MULTILINE)[1]
            found.append((name, path, body))
    return found


def directive(body: str, name: str) -> str | None:
    """The quoted value of ``name:`` in a rule body, on its line or the next one."""
    match = re.search(rf"^\s*{name}:\s*[\"']([^\"']+)[\"']", body, re.MULTILINE)
    return match[1] if match else None


def runs_code(body: str) -> bool:
    return any(re.search(rf"^\s*{d}:", body, re.MULTILINE) for d in ("script", "shell", "notebook", "wrapper"))


def env_of(body: str, rule_file: Path) -> Path:
    return (rule_file.parent / directive(body, "conda")).resolve()


def load_env(path: Path) -> dict:
    return yaml.safe_load(path.read_text())


def provided(env: dict) -> set[str]:
    """Normalized names of every conda and pip dependency of an env."""
    names = set()
    for dep in env["dependencies"]:
        for spec in dep["pip"] if isinstance(dep, dict) else [dep]:
            names.add(normalize(re.split(r"[=<>\[ ]", spec, maxsplit=1)[0]))
    return names


def module_file(module: str) -> Path | None:
    """The source file of a `mis` module or package, or None if ``module`` is not one."""
    base = SRC.joinpath(*module.split("."))
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def imported(path: Path, functions: frozenset[str] | None = None) -> set[str]:
    """Dotted names a file imports anywhere (lazy imports in functions included); for
    ``from package import name`` both ``package`` and ``package.name``. With ``functions``: only
    what importing the module and calling those of its functions imports (its top-level statements,
    classes included, and the bodies of the module's functions they reach by name)."""
    tree = ast.parse(path.read_text())
    roots: list[ast.AST] = [tree]
    if functions is not None:
        defined = {node.name: node for node in tree.body if isinstance(node, ast.FunctionDef)}
        roots = [node for node in tree.body if not isinstance(node, ast.FunctionDef)]
        reached, todo = set(), [*functions, *(n.id for r in roots for n in ast.walk(r) if isinstance(n, ast.Name))]
        while todo:
            name = todo.pop()
            if name in defined and name not in reached:
                reached.add(name)
                todo += [node.id for node in ast.walk(defined[name]) if isinstance(node, ast.Name)]
        roots += [defined[name] for name in reached]
    names = set()
    for node in (node for root in roots for node in ast.walk(root)):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def third_party_imports(script: Path) -> set[str]:
    """Top-level third-party packages a script needs, following `mis` imports transitively: an
    import of ``mis.a.b`` runs ``mis/__init__.py`` and ``mis/a/__init__.py`` too, and ``from mis.a.b
    import f`` needs what the module imports and what calling ``f`` imports (heavy imports are kept
    inside the functions that need them, so that a stage loads only its own)."""
    todo: list[tuple[Path, frozenset[str] | None]] = [(script, None)]
    seen, packages = set(), set()
    while todo:
        path, functions = todo.pop()
        if (path, functions) in seen:
            continue
        seen.add((path, functions))
        names = imported(path, functions)
        for name in names:
            top = name.split(".")[0]
            if top != "mis":
                if top not in sys.stdlib_module_names and top != "__future__":
                    packages.add(top)
                continue
            parts = name.split(".")
            packages_of = [module_file(".".join(parts[:i])) for i in range(1, len(parts))]
            todo += [(f, frozenset()) for f in packages_of if f]
            module = module_file(name)
            if module:  # `from mis.a import f, g`: the module, and calling f and g; `import mis.a`: all of it
                used = frozenset(n[len(name) + 1 :] for n in names if n.rpartition(".")[0] == name)
                functions = used and not any(module_file(f"{name}.{u}") for u in used)
                todo.append((module, used if functions else None))
    return packages


RULES = rules()
CODE_RULES = [(name, path, body) for name, path, body in RULES if runs_code(body)]
RULE_IDS = [name for name, _, _ in CODE_RULES]


def test_rules_are_found() -> None:
    assert {"prepare_images", "extract_activations", "compute_mis", "plot_{figure_name}"} <= set(RULE_IDS)


@pytest.mark.parametrize(("rule", "rule_file", "body"), CODE_RULES, ids=RULE_IDS)
def test_rule_names_an_existing_env(rule: str, rule_file: Path, body: str) -> None:
    assert directive(body, "conda"), f"rule {rule} ({rule_file.name}) has no conda: directive"
    env = env_of(body, rule_file)
    assert env.is_file(), f"rule {rule}: {env} does not exist"
    assert env.parent == REPO / "envs", f"rule {rule}: env {env} is not in envs/"


@pytest.mark.parametrize("env_file", ENV_FILES, ids=[p.stem for p in ENV_FILES])
def test_env_is_pinned_and_conda_forge_only(env_file: Path) -> None:
    env = load_env(env_file)
    assert env["channels"] == ["conda-forge", "nodefaults"], f"{env_file.name}: channels {env['channels']}"
    for dep in env["dependencies"]:
        if isinstance(dep, dict):
            assert set(dep) == {"pip"}, f"{env_file.name}: unexpected entry {dep}"
            unpinned = [spec for spec in dep["pip"] if not PIP_PIN.match(spec)]
            assert not unpinned, f"{env_file.name}: pip packages without an exact `==` pin: {unpinned}"
        else:
            assert CONDA_PIN.match(dep), f"{env_file.name}: {dep!r} is not pinned as name=version"


def test_env_versions_match_requirements() -> None:
    """A package in both an env and requirements.txt has the same version (the tested one)."""
    tested: dict[str, set[str]] = {}
    for line in (REPO / "requirements.txt").read_text().splitlines():
        if match := re.match(r"^([A-Za-z0-9_.\-]+)(\[[^\]]*\])?==([^;\s]+)", line):
            tested.setdefault(normalize(match[1]), set()).add(match[3])
    aliases = {"matplotlib-base": "matplotlib", "seaborn-base": "seaborn"}  # conda-forge splits
    for env_file in ENV_FILES:
        for dep in load_env(env_file)["dependencies"]:
            for spec in dep["pip"] if isinstance(dep, dict) else [dep]:
                match = re.match(r"^([^=\[]+)(\[.*\])?==?([^=]+)", spec)  # unpinned: test above
                name = normalize(match[1]) if match else ""
                versions = tested.get(aliases.get(name, name))
                if versions and name != "python":
                    assert match[3] in versions, f"{env_file.name}: {spec}, requirements.txt: {versions}"


@pytest.mark.parametrize(("rule", "rule_file", "body"), CODE_RULES, ids=RULE_IDS)
def test_env_provides_what_the_script_imports(rule: str, rule_file: Path, body: str) -> None:
    script = directive(body, "script")
    if script is None:
        pytest.skip(f"rule {rule} runs no Python script")
    env_file = env_of(body, rule_file)
    available = provided(load_env(env_file))
    missing = {
        package
        for package in third_party_imports((rule_file.parent / script).resolve())
        if not {normalize(p) for p in PROVIDERS.get(package, {package})} & available
    }
    assert not missing, (
        f"rule {rule}: {env_file.name} lacks {sorted(missing)} (imported by {script} or the mis modules it uses)"
    )


def test_import_walk_follows_mis_modules() -> None:
    """The walk reaches torch from extract_activations.py only through mis.stages."""
    script = REPO / "workflow" / "scripts" / "extract_activations.py"
    assert "torch" not in {name.split(".")[0] for name in imported(script)}
    assert {"torch", "timm", "numpy"} <= third_party_imports(script)
