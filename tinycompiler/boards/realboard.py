"""Real boards: checking a generated project with PlatformIO's own parser, and uploading.

Building a real board's project needs PlatformIO's registry (its platform and toolchain packages);
where that is unreachable we can still prove the project is one PlatformIO accepts and that it
selects the right platform, board and framework.
"""

from __future__ import annotations

from pathlib import Path

from tinycompiler.errors import TinyCompilerError

#: seconds for an upload, including a first-time download of the board's platform and toolchain
UPLOAD_TIMEOUT_S = 1800


def validate_project(project_dir, board) -> dict:
    """Parse ``project_dir/platformio.ini`` with ``platformio.project.config.ProjectConfig`` and
    check it is lint-clean, that ``default_envs`` is exactly the board's env, and that the env's
    platform/board/framework are the board's. Returns the env's options (name -> value)."""
    from platformio.project.config import ProjectConfig

    ini = Path(project_dir) / "platformio.ini"
    if not ini.is_file():
        raise TinyCompilerError(f"{project_dir} is not a PlatformIO project (no platformio.ini); run tinyc compile")
    report = ProjectConfig.lint(str(ini))
    problems = [e["message"] for e in report["errors"]] + list(report["warnings"])
    if problems:
        raise TinyCompilerError(f"PlatformIO rejects {ini}: {'; '.join(problems)}")
    config = ProjectConfig(str(ini))
    config.validate(silent=True)
    env = board.env_name
    if config.default_envs() != [env]:
        raise TinyCompilerError(f"{ini}: default_envs is {config.default_envs()}, expected [{env!r}]")
    options = dict(config.items(env=env))
    want = {"board": board.platformio.board, "framework": [board.platformio.framework] if board.platformio.framework else []}
    if board.platformio.local_platform_dir is None:
        want["platform"] = board.platformio.platform
    got = {"board": options.get("board"), "framework": options.get("framework", []),
           "platform": options.get("platform")}
    wrong = [f"{k} is {got[k]!r}, expected {v!r}" for k, v in want.items() if got[k] != v]
    if wrong:
        raise TinyCompilerError(f"{ini} env {env}: {'; '.join(wrong)}")
    return options


def upload(project_dir, board, upload_port: str = None, timeout: float = UPLOAD_TIMEOUT_S) -> None:
    """Build and flash the project onto a connected real ``board`` (``pio run -t upload``).

    ``upload_port`` is the serial/debug port when PlatformIO cannot find it alone (e.g. /dev/ttyACM0).
    Needs PlatformIO's registry the first time (to fetch the board's platform and toolchain).
    """
    from tinycompiler.boards.platformio import _first_errors, run_pio

    if board.emulated:
        raise TinyCompilerError(f"board {board.id} is emulated: there is nothing to flash; boot it with QEMU "
                                f"(tinycompiler.boards.qemu.start)")
    validate_project(project_dir, board)
    project_dir = Path(project_dir).resolve()  # pio runs with the project as its cwd
    args = ["run", "-d", str(project_dir), "-e", board.env_name, "-t", "upload"]
    if upload_port:
        args += ["--upload-port", upload_port]
    res = run_pio(args, Path(project_dir), timeout)
    if res.returncode != 0:
        raise TinyCompilerError(f"upload to {board.id} failed: {_first_errors(res.stdout + res.stderr)} "
                                f"(is the board connected, and PlatformIO's registry reachable?)")
