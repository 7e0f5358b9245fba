"""What `--precision bf16` does on the machine running the example checks (standard library only).
The cpu backend multiplies bf16 operands only where the CPU has AVX512-BF16 (the avx512_bf16 flag of
/proc/cpuinfo; CPUs with AMX-BF16 have it too) and INTERNVL_CPU_ISA does not force avx2 or avx512;
elsewhere the bf16 request falls back to the f32 products (include/internvl/backend/cpu/precision.hpp).
So a bf16 run must differ from the f32 run where bf16_products() is true, proving that the flag reached
the context, and equal it exactly where it is false.
  bf16_products()                  whether this machine's cpu backend runs bf16 products
  check_bf16_run(check, what, err) checks, through check(condition, text), that a bf16 run at relative L2
                                   distance err from the f32 run differs from it or equals it as above"""
import os
import pathlib


def bf16_products():
    if os.environ.get("INTERNVL_CPU_ISA", "") in ("avx2", "avx512"):
        return False
    cpuinfo = pathlib.Path("/proc/cpuinfo")
    return cpuinfo.is_file() and "avx512_bf16" in cpuinfo.read_text().split()


def check_bf16_run(check, what, err):
    expected = bf16_products()
    check((err > 0) == expected, f"{what}: --precision bf16 {'differs from' if expected else 'equals'} the f32 run "
          f"({'bf16' if expected else 'no bf16'} products on this CPU; relative L2 {err:.2e})")
