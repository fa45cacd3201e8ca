"""Copy into a root directory only what the action runs: the interpreter, the shared libraries it and every loaded
extension module need (found with ldd), the modules the action imports (found by importing every module of the
action), and its installed dependencies. Run at image build time by the Dockerfile's collecting stage:

    python scripts/image-files.py ROOT ACTION_DIR

A standard-library module that is imported is copied with its whole top-level package, so modules the package
imports lazily come along; the container tests are the proof that nothing the action runs is missing.
"""

import ast
import contextlib
import importlib
import os
import pkgutil
import shutil
import subprocess
import sys
import sysconfig

ROOT, ACTION = sys.argv[1], sys.argv[2]
# Loaded at start-up or by name at run time (codecs), not by an import statement of the action.
ALWAYS = ["encodings", "site", "sitecustomize", "_sysconfigdata__x86_64-linux-gnu", "runpy"]
EXTRA_FILES = ["/etc/nsswitch.conf", "/etc/ld.so.cache"]


def copy(path: str, contents: bool = True) -> None:
    """Copy path into ROOT at the same place, recreating every symlink on the way (and what it points to).

    A directory is copied with its contents, or only created (contents=False) when it is a symlink's target
    on the way to a file.
    """
    path = os.path.abspath(path)
    current = ""
    for part in path.strip("/").split("/"):
        current += "/" + part
        if os.path.islink(current):
            target = ROOT + current
            if not os.path.lexists(target):
                os.makedirs(os.path.dirname(target), exist_ok=True)
                os.symlink(os.readlink(current), target)
            rest = path[len(current) :]
            if rest:  # a linked directory on the way: create it, then go on inside it
                copy(os.path.realpath(current), contents=False)
                copy(os.path.realpath(current) + rest, contents)
            else:  # the link itself: follow it one step, it may point to another link
                copy(os.path.join(os.path.dirname(current), os.readlink(current)), contents)
            return
    target = ROOT + path
    if os.path.isdir(path):
        if contents:
            shutil.copytree(path, target, symlinks=True, dirs_exist_ok=True, ignore=already_copied)
        else:
            os.makedirs(target, exist_ok=True)
    elif not os.path.lexists(target):
        os.makedirs(os.path.dirname(target), exist_ok=True)
        shutil.copy2(path, target)


def already_copied(directory: str, names: list[str]) -> list[str]:
    """Nothing twice (a symlink cannot be overwritten), and no bytecode (compiled again for the image)."""
    return [name for name in names if name == "__pycache__" or os.path.lexists(f"{ROOT}{directory}/{name}")]


def shared_libraries(binary: str) -> list[str]:
    out = subprocess.run(["ldd", binary], capture_output=True, text=True, check=False).stdout
    return [word for line in out.splitlines() for word in line.split() if word.startswith("/")]


def imported_names(directory: str) -> set[str]:
    """Every module named by an import statement in the .py files under directory, lazy ones included."""
    names: set[str] = set()
    for folder, _, files in os.walk(directory):
        for file in files:
            if file.endswith(".py"):
                with open(os.path.join(folder, file), "rb") as source:
                    tree = ast.parse(source.read())
                for node in ast.walk(tree):
                    if isinstance(node, ast.Import):
                        names.update(alias.name for alias in node.names)
                    elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                        names.add(node.module)
    return names


def import_what_the_action_imports() -> None:
    """Import every module of the action, and every module any of them names (lazy imports too)."""
    sys.path.insert(0, ACTION)
    for name in ALWAYS:
        with contextlib.suppress(ImportError):
            importlib.import_module(name)
    action = importlib.import_module("certyn_action")
    for info in pkgutil.walk_packages(action.__path__, "certyn_action."):
        importlib.import_module(info.name)
    for name in sorted(imported_names(ACTION)):
        importlib.import_module(name)


def copy_loaded_modules() -> list[str]:
    """Copy what the loaded modules came from; return the extension modules (shared objects) among them."""
    paths = sysconfig.get_paths()
    stdlib, purelib = paths["stdlib"], paths["purelib"]
    extensions = []
    for module in list(sys.modules.values()):
        file = getattr(module, "__file__", None)
        if not file or file.startswith(ACTION):
            continue
        if file.startswith(purelib + "/"):  # an installed package: all of it
            copy(os.path.join(purelib, file[len(purelib) + 1 :].split("/")[0]))
        elif file.startswith(stdlib + "/") and not file.startswith(stdlib + "/lib-dynload/"):
            copy(os.path.join(stdlib, file[len(stdlib) + 1 :].split("/")[0]))  # its whole top-level package
        else:
            copy(file)
        if file.endswith(".so"):
            extensions.append(file)
    for name in os.listdir(purelib):  # the installed packages' metadata
        copy(os.path.join(purelib, name))
    return extensions


def main() -> None:
    import_what_the_action_imports()
    binaries = [os.path.realpath(sys.executable), *copy_loaded_modules()]
    copy(sys.executable)
    for binary in binaries:
        for library in shared_libraries(binary):
            copy(library)
    for file in EXTRA_FILES:
        if os.path.exists(file):
            copy(file)
    tmp = ROOT + "/tmp"  # noqa: S108 - the image's own /tmp, world-writable and sticky like any /tmp
    os.makedirs(tmp, exist_ok=True)
    os.chmod(tmp, 0o1777)  # noqa: S103


main()
