"""SCons build script of the offline bare-metal Cortex-M dev-platform.

Uses arm-none-eabi-* from PATH (Debian's gcc-arm-none-eabi + newlib), this platform's start-up
file, the linker script tinycompiler renders into the project (``board_build.ldscript``: the
board's real memory map and this model's RAM layout), and the machine flags from the board
manifest it generates there (``build.machine_flags``...). ``pio run -t upload`` runs the
firmware in QEMU (``build.qemu_machine``) instead of flashing anything.
"""

import os

from SCons.Script import AlwaysBuild, Default, DefaultEnvironment

env = DefaultEnvironment()
board = env.BoardConfig()
platform_dir = env.PioPlatform().get_dir()

# -mcpu/-mfpu/-mfloat-abi must reach the compiler, the assembler AND the link (the link picks the
# newlib multilib with the same float ABI), which build_flags alone would not do.
machine = list(board.get("build.machine_flags"))

env.Replace(
    AR="arm-none-eabi-gcc-ar",
    AS="arm-none-eabi-gcc",
    CC="arm-none-eabi-gcc",
    CXX="arm-none-eabi-g++",
    GDB="gdb-multiarch",
    OBJCOPY="arm-none-eabi-objcopy",
    RANLIB="arm-none-eabi-gcc-ranlib",
    SIZETOOL="arm-none-eabi-size",
    ARFLAGS=["rc"],
    PROGNAME="firmware",
    PROGSUFFIX=".elf",
    SIZEPROGREGEXP=r"^(?:\.text|\.data|\.rodata|\.ARM\.exidx)\s+(\d+).*",
    SIZEDATAREGEXP=r"^(?:\.data|\.bss|\.stack)\s+(\d+).*",
    SIZECHECKCMD="$SIZETOOL -A -d $SOURCES",
    SIZEPRINTCMD="$SIZETOOL -B -d $SOURCES",
    LDSCRIPT_PATH=os.path.join(env.subst("$PROJECT_DIR"), board.get("build.ldscript", "tc_memory.ld")),
)

env.Append(
    ASFLAGS=machine + ["-x", "assembler-with-cpp"],
    CCFLAGS=machine + ["-ffunction-sections", "-fdata-sections"],
    LINKFLAGS=machine + [
        "-nostartfiles",
        "--specs=nosys.specs",
        "-Wl,--gc-sections",
    ],
    LIBS=["c", "m", "gcc", "nosys"],
)

# The start-up file (vector table, .data/.bss, FPU enable, main, semihosting exit) is part of
# every firmware built for this platform.
env.BuildSources(os.path.join("$BUILD_DIR", "tc_startup"), os.path.join(platform_dir, "startup"))

target_elf = env.BuildProgram()
target_size = env.Alias("size", target_elf, env.VerboseAction("$SIZEPRINTCMD", "Calculating size $SOURCE"))
AlwaysBuild(target_size)

# "Upload" = boot in QEMU with the console on stdio; the firmware ends the run through semihosting.
env.Replace(
    UPLOADER="qemu-system-arm",
    UPLOADCMD="$UPLOADER -M %s -nographic -semihosting-config enable=on,target=native "
              "-icount shift=7,align=off,sleep=off -kernel $SOURCE" % board.get("build.qemu_machine"),
)
AlwaysBuild(env.Alias("upload", target_elf, env.VerboseAction("$UPLOADCMD", "Running $SOURCE in QEMU")))

Default([target_elf, target_size])
