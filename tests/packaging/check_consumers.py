#!/usr/bin/env python3
"""internvl used the two ways a project outside this tree uses it, each building tests/packaging/consumer/main.cpp
and running it on a JPEG fixture (its height, width and sum of samples must be Pillow's; its rms_norm rows must
have mean square 1):
  installed   `meson install` of a build with everything optional off, into a temporary prefix: every header
              under include/internvl is installed, and the program compiles with the compiler's command and
              `pkg-config --cflags --libs internvl` alone (the generated internvl.pc), and, where cmake is
              on PATH, in a CMake project through pkg_check_modules (consumer/CMakeLists.txt);
  subproject  a project with subprojects/internvl linked to this tree and `dependency('internvl')`: it
              builds, and the subproject adds none of its tests, benchmarks or examples.
Usage: check_consumers.py SOURCE_ROOT MESON PKG_CONFIG CXX [CXX_ARGS...]"""
import json
import os
import pathlib
import shutil
import subprocess
import sys
import tempfile

from PIL import Image

root, meson, pkg_config, cxx = pathlib.Path(sys.argv[1]), [sys.argv[2]], sys.argv[3], sys.argv[4:]
consumer = root / "tests" / "packaging" / "consumer"
image = root / "tests" / "golden" / "image" / "q90_420.jpg"
failures = []


def check(ok, what, detail=""):
    print(("ok   " if ok else "FAIL ") + what)
    if not ok:
        failures.append(what)
        if detail:
            print(detail[-3000:])


def run(command, **kwargs):
    return subprocess.run([str(c) for c in command], capture_output=True, text=True, **kwargs)


def check_program(how, program):
    with Image.open(image) as opened:
        pixels = opened.convert("RGB")
    want = (pixels.height, pixels.width, sum(sum(p) for p in pixels.getdata()))
    result = run([program, image])
    fields = result.stdout.split()
    ok = result.returncode == 0 and len(fields) == 4
    got = tuple(int(f) for f in fields[:3]) if ok else None
    check(ok and got == want and float(fields[3]) < 1e-5,
          f"{how}: the program decodes {image.name} as Pillow does {want} and normalises its rows: {result.stdout.strip()}",
          result.stderr)


work = pathlib.Path(tempfile.mkdtemp())
try:
    # Installed, used through pkg-config.
    prefix, build = work / "prefix", work / "build"
    setup = run(meson + ["setup", build, root, f"--prefix={prefix}", "-Dtests=disabled", "-Dbenchmarks=disabled",
                         "-Dexamples=disabled", "-Dcuda=disabled"])
    check(setup.returncode == 0, "installed: meson setup with everything optional off", setup.stdout + setup.stderr)
    install = run(meson + ["install", "-C", build, "--quiet"])
    check(install.returncode == 0, "installed: meson install", install.stdout + install.stderr)
    headers = sorted(p.relative_to(root / "include") for p in (root / "include" / "internvl").rglob("*") if p.is_file())
    absent = [str(h) for h in headers if not (prefix / "include" / h).is_file()]
    check(not absent, f"installed: all {len(headers)} headers under include/internvl", "absent: " + " ".join(absent))
    pc_dirs = sorted({str(p.parent) for p in prefix.rglob("internvl.pc")})
    flags = run([pkg_config, "--cflags", "--libs", "internvl"], env={**os.environ, "PKG_CONFIG_PATH": ":".join(pc_dirs)})
    check(flags.returncode == 0 and pc_dirs, f"installed: pkg-config internvl ({flags.stdout.strip()})", flags.stderr)
    compiled = run(cxx + ["-std=c++20", "-O1", "-march=x86-64-v3", consumer / "main.cpp", "-o", work / "main"]
                   + flags.stdout.split())
    check(compiled.returncode == 0, "installed: the program compiles with pkg-config's flags alone", compiled.stderr)
    if compiled.returncode == 0:
        check_program("installed", work / "main")
    # The same install from a CMake project (pkg_check_modules), where CMake is present (setup.sh does not
    # install it).
    if shutil.which("cmake"):
        env = {**os.environ, "PKG_CONFIG_PATH": ":".join(pc_dirs)}
        configured = run(["cmake", "-S", consumer, "-B", work / "cmake", "-DCMAKE_BUILD_TYPE=Release"], env=env)
        built = run(["cmake", "--build", work / "cmake"], env=env) if configured.returncode == 0 else configured
        check(built.returncode == 0, "installed: a CMake project builds the program (pkg_check_modules)",
              configured.stdout + configured.stderr + built.stdout + built.stderr)
        if built.returncode == 0:
            check_program("installed, CMake", work / "cmake" / "main")
    else:
        print("skip installed: a CMake project (no cmake on PATH)")

    # A Meson subproject.
    project = work / "consumer"
    shutil.copytree(consumer, project)
    (project / "subprojects").mkdir()
    (project / "subprojects" / "internvl").symlink_to(root)
    setup = run(meson + ["setup", project / "build", project, "--wrap-mode=forcefallback"])
    check(setup.returncode == 0, "subproject: meson setup", setup.stdout + setup.stderr)
    targets = json.loads(run(meson + ["introspect", project / "build", "--targets"]).stdout or "[]")
    extra = [t["name"] for t in targets if t["subproject"] == "internvl" and t["build_by_default"]]
    check(setup.returncode == 0 and not extra,
          "subproject: none of internvl's tests, benchmarks or examples is built by default", " ".join(extra))
    if setup.returncode == 0 and not extra:
        built = run(meson + ["compile", "-C", project / "build"])
        check(built.returncode == 0, "subproject: meson compile", built.stdout + built.stderr)
        if built.returncode == 0:
            check_program("subproject", project / "build" / "main")
finally:
    shutil.rmtree(work)
print(f"{len(failures)} failed" if failures else "all passed")
sys.exit(1 if failures else 0)
