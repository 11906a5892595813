#!/usr/bin/env bash
# Compiles each kernels/src/main/cuda/*.cu to cubin for sm_80 and sm_90 and to PTX for compute_80 (which newer GPUs
# JIT-compile), into TARGET/cuda-images/dev/stitch/kernels/cuda/, a resource folder of the kernels jar.
# ptxas's register and spill report (-Xptxas -v) goes to TARGET/cuda-build.log and, summarised, to stdout.
# Without nvcc it says so and exits 0: the build then simply has no CUDA kernels (CudaBackend reports that).
# A .cu file is recompiled only when it, a .cuh header or this script is newer than its outputs.
set -euo pipefail
src="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
target="${1:?usage: build.sh TARGET_DIR}"
out="$target/cuda-images/dev/stitch/kernels/cuda"
logs="$target/cuda-logs"

nvcc="$(command -v nvcc || true)"
[ -z "$nvcc" ] && [ -x /usr/local/cuda/bin/nvcc ] && nvcc=/usr/local/cuda/bin/nvcc
if [ -z "$nvcc" ]; then
  echo "[cuda] nvcc not found: building without CUDA kernels (the cuda backend will be unavailable)"
  rm -rf "$out"
  exit 0
fi
mkdir -p "$out" "$logs"
rm -f "$logs/.changed"
flags=(-O3 -std=c++17 -lineinfo -Xptxas -v -I "$src")

build_one() { # $1 = name of a .cu file without extension
  local n="$1" f="$src/$1.cu" stale=0 o
  for o in "$out/$n.sm_80.cubin" "$out/$n.sm_90.cubin" "$out/$n.compute_80.ptx" "$logs/$n.log"; do
    [ -f "$o" ] || { stale=1; break; }
    for dep in "$f" "$src"/*.cuh "$src/build.sh"; do [ "$dep" -nt "$o" ] && stale=1; done
  done
  [ "$stale" = 1 ] || return 0
  local start=$SECONDS
  {
    "$nvcc" "${flags[@]}" -cubin -arch=sm_80 -o "$out/$n.sm_80.cubin" "$f" &&
    "$nvcc" "${flags[@]}" -cubin -arch=sm_90 -o "$out/$n.sm_90.cubin" "$f" &&
    "$nvcc" -O3 -std=c++17 -lineinfo -I "$src" -ptx -arch=compute_80 -o "$out/$n.compute_80.ptx" "$f"
  } > "$logs/$n.log.tmp" 2>&1 || { cat "$logs/$n.log.tmp" >&2; echo "[cuda] nvcc failed on $n.cu" >&2; return 1; }
  mv "$logs/$n.log.tmp" "$logs/$n.log"
  echo "[cuda] compiled $n.cu in $((SECONDS - start)) s"
  touch "$logs/.changed"
}
export -f build_one
export src out logs nvcc
export flags_str="${flags[*]}"

names=()
for f in "$src"/*.cu; do names+=("$(basename "$f" .cu)"); done
# flags is an array: re-create it inside each job
printf '%s\n' "${names[@]}" |
  xargs -P "$(nproc 2>/dev/null || echo 2)" -I{} bash -c 'read -ra flags <<< "$flags_str"; build_one "$1"' _ {}

# Drop images of .cu files that no longer exist; record what this build holds.
for o in "$out"/*.cubin "$out"/*.ptx; do
  [ -e "$o" ] || continue
  b="$(basename "$o")"; [ -f "$src/${b%%.*}.cu" ] || rm -f "$o"
done
{ "$nvcc" --version | tail -n 2; printf '%s\n' "${names[@]}"; } > "$out/BUILD"

# The register/spill report, one line per kernel and architecture, goes to cuda-registers.log; the build prints one
# summary line (kernels, most registers, any spills) when something was recompiled.
cat "$logs"/*.log > "$target/cuda-build.log"
if [ ! -e "$logs/.changed" ]; then
  echo "[cuda] kernels up to date (ptxas report: $target/cuda-build.log)"
  exit 0
fi
rm -f "$logs/.changed"
awk '/Compiling entry function/ { fn = $7; gsub(/\x27/, "", fn); arch = $9; gsub(/\x27/, "", arch) }
     /spill stores/ { spill = $5 " B spill stores, " $9 " B spill loads" }
     /Used [0-9]+ registers/ { printf "%-24s %-6s %3d registers, %s\n", fn, arch, $5, spill }' \
  "$target/cuda-build.log" > "$target/cuda-registers.log"
awk '{ n++; if ($3 > max) max = $3; if ($5 != 0 || $9 != 0) spills++ }
     END { printf "[cuda] %d kernel images, at most %d registers, %d with spills (per kernel: %s)\n", n, max, spills, f }' \
  f="$target/cuda-registers.log" "$target/cuda-registers.log"
