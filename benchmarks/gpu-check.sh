#!/usr/bin/env bash
# The GPU check, in two steps (docs/gpu.md explains each line it prints).
#
#   benchmarks/gpu-check.sh pack [DIR]   here, with JDK 25, Maven and nvcc: builds everything and packs into DIR
#                                        (default gpu-pack/) a jlinked JRE, the jars, the kernels' test classes and
#                                        JUnit's console launcher, plus this script.
#   DIR/gpu-check.sh run                 there, on a GPU machine with the NVIDIA driver and nothing else (no JDK, no
#                                        network): the GPU tests with -Dstitch.gpu=required, compute-sanitizer on the
#                                        parity suite when installed, then timings; prints a short table.
#                                        Logs go to $GPU_CHECK_LOGS (default DIR/logs).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
mode="${1:-}"

pack() {
  local root; root="$(cd "$here/.." && pwd)"
  local dir="${1:-$root/gpu-pack}"
  . "$root/scripts/find-jdk.sh"
  local jdk="$STITCH_JAVA_HOME"
  command -v nvcc >/dev/null || [ -x /usr/local/cuda/bin/nvcc ] ||
    { echo "gpu-check: nvcc not found: a pack built here would have no CUDA kernels" >&2; exit 2; }
  rm -rf "$dir"
  mkdir -p "$dir/lib" "$dir/lib-test"
  echo "gpu-check: building (tests are not run here)"
  "$root/build" -q -DskipTests -pl benchmarks -am package dependency:copy-dependencies \
    -DincludeScope=runtime -DoutputDirectory="$dir/lib"
  cp "$root"/{kernels,engine,benchmarks}/target/stitch-*-0.1.0-SNAPSHOT.jar "$dir/lib/"
  # The timings need the kernels, the engine and their libraries only; the device tool carries at most 64 MiB.
  find "$dir/lib" -name '*.jar' ! -name 'stitch-kernels-*' ! -name 'stitch-engine-*' ! -name 'stitch-benchmarks-*' \
    ! -name 'jcuda*' ! -name 'jackson*' -delete
  cp -r "$root/kernels/target/test-classes" "$dir/test-classes"
  [ -f "$dir/test-classes/dev/stitch/kernels/cuda/CudaParityTest.class" ] || { echo "gpu-check: test classes missing" >&2; exit 1; }
  "$jdk/bin/jar" tf "$(ls "$dir"/lib/stitch-kernels-*.jar)" | grep -c 'cuda/gemm.sm_90.cubin' >/dev/null ||
    { echo "gpu-check: the kernels jar has no CUDA images" >&2; exit 1; }
  local junit; junit="$(sed -n 's:.*<junit.version>5\.\(.*\)</junit.version>.*:1.\1:p' "$root/pom.xml")"
  "$root/build" -q -N dependency:copy -Dartifact="org.junit.platform:junit-platform-console-standalone:$junit" \
    -DoutputDirectory="$dir/lib-test"
  # JUnit's launcher also wants the test engines' own dependencies; the standalone jar carries them all.
  # JCuda's natives jar holds NVRTC and PTX-compiler bindings we never load: keep only the driver's library.
  local natives; natives="$(ls "$dir"/lib/jcuda-natives-*.jar)"
  (cd "$dir" && mkdir -p n && cd n && "$jdk/bin/jar" xf "$natives" && rm -f lib/libJNvPTXCompiler-* lib/libJNvrtc-* lib/libJCudaRuntime-* &&
    "$jdk/bin/jar" cf "$natives" . && cd .. && rm -rf n)
  local strip=(--strip-debug)
  command -v objcopy >/dev/null && strip=(--strip-java-debug-attributes --strip-native-debug-symbols "objcopy=$(command -v objcopy)")
  "$jdk/bin/jlink" --add-modules java.base,java.logging,java.management,java.naming,java.xml,jdk.incubator.vector,jdk.unsupported \
    "${strip[@]}" --no-header-files --no-man-pages --compress zip-9 --output "$dir/jre"
  cp "$here/gpu-check.sh" "$dir/gpu-check.sh"
  echo "gpu-check: packed $(du -sh "$dir" | cut -f1) into $dir; on the GPU machine run: $(basename "$dir")/gpu-check.sh run"
}

run() {
  local dir="$here"
  [ -x "$dir/jre/bin/java" ] || { echo "gpu-check: no packed JRE beside this script: run 'benchmarks/gpu-check.sh pack' first" >&2; exit 2; }
  local logs="${GPU_CHECK_LOGS:-$dir/logs}"
  mkdir -p "$logs"
  local java="$dir/jre/bin/java" cp
  cp="$(printf '%s:' "$dir"/lib/*.jar)$dir/test-classes"   # JUnit's launcher does not expand lib/*
  local jvm=(--add-modules jdk.incubator.vector --enable-native-access=ALL-UNNAMED -Xmx24g -Djava.io.tmpdir="${TMPDIR:-/tmp}")
  local junit=("$java" "${jvm[@]}" -Dstitch.gpu=required -jar "$(ls "$dir"/lib-test/junit-platform-console-standalone-*.jar)"
    execute --disable-banner --details=summary --class-path "$cp")
  local rows=()

  local device
  if ! device="$("$java" "${jvm[@]}" -cp "$cp" dev.stitch.benchmarks.GpuCheck --probe 2>"$logs/probe.log")"; then
    echo "gpu-check: $device" >&2
    echo "gpu-check: stopped: this machine has no usable GPU" >&2
    exit 1
  fi
  rows+=("device|$device")
  command -v nvidia-smi >/dev/null && rows+=("driver|$(nvidia-smi --query-gpu=driver_version --format=csv,noheader | head -1)")

  echo "gpu-check: GPU tests (-Dstitch.gpu=required)"
  local tests="PASS"
  "${junit[@]}" --select-package dev.stitch.kernels.cuda > "$logs/tests.log" 2>&1 || tests="FAIL"
  rows+=("gpu tests|$tests  $(grep -E 'tests (successful|failed|skipped)' "$logs/tests.log" | tr -s ' ' | tr '\n' ' ')")

  if command -v compute-sanitizer >/dev/null; then
    echo "gpu-check: compute-sanitizer memcheck on the parity suite"
    local san="PASS"
    compute-sanitizer --tool memcheck --error-exitcode 86 --log-file "$logs/sanitizer.log" \
      "${junit[@]}" --select-class dev.stitch.kernels.cuda.CudaParityTest > "$logs/sanitizer-tests.log" 2>&1 || san="FAIL"
    rows+=("compute-sanitizer|$san  $(grep -m1 'ERROR SUMMARY' "$logs/sanitizer.log" || true)")
  else
    rows+=("compute-sanitizer|not installed")
  fi

  local peaks=()
  if command -v python3 >/dev/null && python3 -c 'import torch; assert torch.cuda.is_available()' 2>/dev/null; then
    echo "gpu-check: measuring the card's peak with PyTorch (8192^3 matmul)"
    local p
    for dt in float16 bfloat16; do
      p="$(python3 - "$dt" <<'PY'
import sys, torch
dt = getattr(torch, sys.argv[1]); n = 8192
a = torch.randn(n, n, device="cuda", dtype=dt); b = torch.randn(n, n, device="cuda", dtype=dt)
for _ in range(3): a @ b
s, e = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
s.record()
for _ in range(10): a @ b
e.record(); torch.cuda.synchronize()
print(f"{2 * n**3 * 10 / s.elapsed_time(e) / 1e9:.0f}")
PY
)"
      rows+=("peak $dt (torch)|$p TFLOP/s")
      [ "$dt" = float16 ] && peaks+=(--peak-f16 "$p") || peaks+=(--peak-bf16 "$p")
    done
  else
    rows+=("peak (torch)|not measured: no python3 with CUDA PyTorch")
  fi

  echo "gpu-check: timings"
  "$java" "${jvm[@]}" -cp "$cp" dev.stitch.benchmarks.GpuCheck "${peaks[@]}" > "$logs/timings.log" 2>&1 ||
    echo "gpu-check: timings failed (see $logs/timings.log)" >&2

  echo
  for r in "${rows[@]}"; do printf '%-44s %s\n' "${r%%|*}" "${r#*|}"; done
  cat "$logs/timings.log"
  [ "$tests" = PASS ]
}

case "$mode" in
  pack) shift; pack "$@" ;;
  run) run ;;
  *) echo "usage: gpu-check.sh pack [DIR] | run" >&2; exit 2 ;;
esac
