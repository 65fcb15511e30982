"""What a container's command line would run, learned from the code itself: the command is
parsed by its own click/typer definition (so a wrong option fails here, not in a pod), and a
service's `main` is run with the I/O taken out, recording the relays, projections and jobs it
starts and the settings classes it reads."""

import contextlib
import importlib
import os
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any
from unittest import mock

import typer
from pydantic_settings import BaseSettings

import shared.http
from shared import migrate, process
from shared.config import KinerjaSettings
from shared.projections.projection import Projection, load_projection

ROOT = Path(__file__).resolve().parents[2]
# the kit's own commands read the common settings and nothing else
KIT_COMMANDS = {"shared.relay", "shared.projections", "shared.migrate"}


def service_names() -> list[str]:
    """Every service with a command line of its own: `services/<name>/__main__.py`."""
    return sorted(main.parent.name for main in (ROOT / "services").glob("*/__main__.py"))


@dataclass
class Run:
    """What one process would do."""

    module: str
    relays: list[str] = field(default_factory=list)
    projections: list[Projection] = field(default_factory=list)
    jobs: int = 0  # workers beside the API that are neither a relay nor a projection
    serves_api: bool = False
    migrates: list[str] = field(default_factory=list)
    settings: set[type[BaseSettings]] = field(default_factory=set)
    envvars: set[str] = field(default_factory=set)  # typer options read from the environment


def entry_module(module: str) -> ModuleType:
    """What `python -m <module>` runs: the package's __main__, or the module itself."""
    package = ROOT / module.replace(".", "/")
    return importlib.import_module(f"{module}.__main__" if package.is_dir() else module)


def click_command(module: str) -> Any:
    """The click command (typer's own copy of click) behind `python -m <module>`."""
    loaded = entry_module(module)
    app = getattr(loaded, "app", None)
    if not isinstance(app, typer.Typer):
        app = typer.Typer(add_completion=False)
        app.command()(loaded.main)
    return typer.main.get_command(app)


def parse(module: str, args: Sequence[str]) -> tuple[Any, dict[str, Any]]:
    """The (sub)command and its parameters, as the command line would give them; raises the
    usage error the command would print for what it refuses."""
    command = click_command(module)
    if hasattr(command, "commands"):  # a group: its first argument names the command
        name, *args = args
        assert name in command.commands, f"python -m {module}: no command {name}"
        command = command.commands[name]
    context = command.make_context(module, list(args))
    return command, dict(context.params)


def envvars(command: Any) -> set[str]:
    found: set[str] = set()
    for param in command.params:
        names = param.envvar if isinstance(param.envvar, list | tuple) else [param.envvar]
        found |= {name for name in names if name}
    return found


def http_settings() -> set[type[BaseSettings]]:
    """What the HTTP layer reads once a request comes (bearer tokens, for one)."""
    found: set[type[BaseSettings]] = set()
    for path in Path(shared.http.__file__).parent.glob("*.py"):
        module = importlib.import_module(f"shared.http.{path.stem}")
        found |= {
            value
            for value in vars(module).values()
            if isinstance(value, type)
            and issubclass(value, BaseSettings)
            and value.__module__ == module.__name__
        }
    return found


def run(args: Sequence[str], env: Mapping[str, str] = {}) -> Run:
    """What `args` (`python -m <module> ...`) would run with the container's `env`."""
    assert list(args[:2]) == ["python", "-m"], f"{args}: not `python -m <module> ...`"
    module, rest = args[2], list(args[3:])
    with only_environment(env):
        command, params = parse(module, rest)
        found = Run(module, envvars=envvars(command))
        if module in KIT_COMMANDS:
            found.settings.add(KinerjaSettings)
            if module == "shared.relay":
                found.relays.append(params["service"])
            elif module == "shared.projections":
                found.projections.append(load_projection(params["spec"]))
            else:
                found.migrates += migrate.service_names() if params["every"] else params["service"]
        else:
            _run_service(entry_module(module), command, rest, found)
    return found


def _run_service(module: ModuleType, command: Any, args: list[str], found: Run) -> None:
    started: list[object] = []

    def relay(settings: KinerjaSettings, service: str, **_: object) -> object:
        found.relays.append(service)
        started.append(worker := object())
        return worker

    def projection(settings: KinerjaSettings, projected: Projection) -> object:
        found.projections.append(projected)
        started.append(worker := object())
        return worker

    async def serve(app: object, host: str, port: int, workers: Sequence[object]) -> None:
        found.serves_api = True
        found.jobs = len([w for w in workers if not any(w is s for s in started)])

    def spawned(arguments: list[str], *_: object) -> object:
        # the journal's relay and projections moved to a child process: recorded above, the
        # same workers, not a job of their own
        started.append(worker := object())
        return worker

    original = BaseSettings.__init__

    def reading(self: BaseSettings, *args: Any, **kwargs: Any) -> None:
        found.settings.add(type(self))
        original(self, *args, **kwargs)

    with contextlib.ExitStack() as patches:
        patches.enter_context(mock.patch.object(process, "relay", relay))
        patches.enter_context(mock.patch.object(process, "projection", projection))
        patches.enter_context(mock.patch.object(process, "serve", serve))
        patches.enter_context(mock.patch.object(module, "start_process"))
        patches.enter_context(mock.patch.object(BaseSettings, "__init__", reading))
        if hasattr(module, "worker_process"):
            patches.enter_context(mock.patch.object(module.worker_process, "spawned", spawned))
        command.main(args, standalone_mode=False)
    if found.serves_api:
        found.settings |= http_settings()


@contextlib.contextmanager
def only_environment(env: Mapping[str, str]) -> Iterator[None]:
    """The container's KINERJA_* variables and none of this machine's."""
    kept = {name: value for name, value in os.environ.items() if not name.startswith("KINERJA_")}
    with mock.patch.dict(os.environ, kept | dict(env), clear=True):
        yield


def settings_variables(settings: type[BaseSettings]) -> set[str]:
    """The variables a settings class reads: its prefix and each field's name."""
    prefix = settings.model_config.get("env_prefix", "")
    return {f"{prefix}{name}".upper() for name in settings.model_fields}
