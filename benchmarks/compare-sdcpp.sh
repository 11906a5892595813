#!/usr/bin/env bash
# Side by side: Stitch and stable-diffusion.cpp on this CPU, one full-size random SD2-base model, 512×512,
# Euler, 3 steps, CFG 7 (one guided UNet call per step: batch 2), the same prompt, seed and thread count.
#
#   benchmarks/compare-sdcpp.sh [--work DIR] [--threads N] [--steps N] [--size PX] [--stitch-opts "JVM OPTIONS"]
#
# 1. Builds stable-diffusion.cpp at a pinned commit from its public repository (ggml is its pinned submodule) for
#    the CPU with ggml's llamafile sgemm (GGML_LLAMAFILE, its fastest CPU setting), once, into WORK/sdcpp.
# 2. Writes a random sd2-base model (f32) with `stitch make-random-model` and the same weights as one original
#    checkpoint with `stitch convert --to-ldm` (stable-diffusion.cpp reads that; Stitch reads the diffusers folder),
#    once, into WORK (about 10 GB of disk for both).
# 3. Runs each under `/usr/bin/time -v`: stable-diffusion.cpp with flash attention (`--fa`), Stitch's `generate`
#    with `--json`, and prints per-step, VAE decode, text encoder, total and peak-RSS times and Stitch ÷ sd.cpp.
#
# A full run takes about ten minutes of two cores (plus the build, the first time). Nothing is written into the
# repository; the fetched source stays in WORK. Needs git, cmake, a C++ compiler, GNU time and python3.
# --stitch-opts is passed to the JVM (STITCH_JAVA_OPTS), e.g. "-Dstitch.conv=direct" for the direct convolutions.
set -euo pipefail

SDCPP_URL=https://github.com/leejet/stable-diffusion.cpp.git
SDCPP_COMMIT=97d2990807fe6d558e395f8764198d7c7e7b411c   # its ggml submodule: 8e800cef2948046cc47f9db6090491c6128ca42c
GGML_COMMIT=8e800cef2948046cc47f9db6090491c6128ca42c

here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
work="${HOME}/.cache/stitch/compare-sdcpp"
threads="$(nproc)"
steps=3
size=512
stitch_opts=""
prompt="a photograph of an astronaut riding a horse"
while [ $# -gt 0 ]; do
  case "$1" in
    --work) work="$2"; shift 2 ;;
    --threads) threads="$2"; shift 2 ;;
    --steps) steps="$2"; shift 2 ;;
    --size) size="$2"; shift 2 ;;
    --stitch-opts) stitch_opts="$2"; shift 2 ;;
    -h|--help) sed -n '2,18p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "compare-sdcpp: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
done
for tool in git cmake python3; do
  command -v "$tool" >/dev/null || { echo "compare-sdcpp: $tool is not installed" >&2; exit 2; }
done
[ -x /usr/bin/time ] || { echo "compare-sdcpp: GNU time (/usr/bin/time) is not installed" >&2; exit 2; }
mkdir -p "$work"

# ---- 1. stable-diffusion.cpp ---------------------------------------------------------------------------------------
sd="$work/sdcpp/build/bin/sd-cli"
if [ ! -x "$sd" ]; then
  echo "compare-sdcpp: building stable-diffusion.cpp ${SDCPP_COMMIT:0:7} (ggml ${GGML_COMMIT:0:7}, llamafile sgemm)" >&2
  rm -rf "$work/sdcpp"
  git clone --quiet "$SDCPP_URL" "$work/sdcpp"
  git -C "$work/sdcpp" -c advice.detachedHead=false checkout --quiet "$SDCPP_COMMIT"
  git -C "$work/sdcpp" submodule update --quiet --init --recursive
  got="$(git -C "$work/sdcpp/ggml" rev-parse HEAD)"
  [ "$got" = "$GGML_COMMIT" ] || { echo "compare-sdcpp: ggml is at $got, expected $GGML_COMMIT" >&2; exit 1; }
  cmake -S "$work/sdcpp" -B "$work/sdcpp/build" -DCMAKE_BUILD_TYPE=Release -DGGML_LLAMAFILE=ON >"$work/sdcpp-cmake.log" 2>&1
  cmake --build "$work/sdcpp/build" --target sd-cli -j "$threads" >"$work/sdcpp-build.log" 2>&1 \
    || { echo "compare-sdcpp: build failed, see $work/sdcpp-build.log" >&2; exit 1; }
fi

# ---- 2. one random full-size model, in both layouts -----------------------------------------------------------------
model="$work/sd2-base"
ckpt="$work/sd2-base.safetensors"
if [ ! -f "$model/model_index.json" ]; then
  rm -rf "$model"
  "$here/stitch" make-random-model --config sd2-base --seed 0 --out "$model"
fi
# --force: a yaml left beside a removed checkpoint is rewritten with it
[ -f "$ckpt" ] || "$here/stitch" convert --to-ldm --from "$model" --to "$ckpt" --force

# ---- 3. the runs ------------------------------------------------------------------------------------------------------
# the launcher rebuilds the CLI when its sources are newer than the jar: do that here, not inside Stitch's timing
"$here/stitch" --version >/dev/null
load_before="$(cut -d' ' -f1-3 /proc/loadavg)"
echo "compare-sdcpp: stable-diffusion.cpp, ${size}x${size}, $steps steps, $threads threads" >&2
/usr/bin/time -v -o "$work/sdcpp.time" "$sd" -m "$ckpt" -p "$prompt" -W "$size" -H "$size" --steps "$steps" \
  --cfg-scale 7 --sampling-method euler -s 0 -t "$threads" --fa -o "$work/sdcpp.png" -v >"$work/sdcpp.log" 2>&1 \
  || { echo "compare-sdcpp: stable-diffusion.cpp failed, see $work/sdcpp.log" >&2; exit 1; }
load_middle="$(cut -d' ' -f1-3 /proc/loadavg)"
echo "compare-sdcpp: Stitch, ${size}x${size}, $steps steps, $threads threads" >&2
STITCH_JAVA_OPTS="-Dstitch.threads=$threads $stitch_opts" /usr/bin/time -v -o "$work/stitch.time" \
  "$here/stitch" generate --model "$model" --prompt "$prompt" --width "$size" --height "$size" --steps "$steps" \
  --guidance 7 --scheduler euler --seed 0 --out "$work/stitch.png" --json "$work/stitch.json" >"$work/stitch.log" 2>&1 \
  || { echo "compare-sdcpp: Stitch failed, see $work/stitch.log" >&2; exit 1; }
load_after="$(cut -d' ' -f1-3 /proc/loadavg)"

# ---- 4. the table -----------------------------------------------------------------------------------------------------
python3 - "$work" "$steps" "$threads" "$load_before" "$load_middle" "$load_after" "$stitch_opts" <<'EOF'
import json, re, sys
work, steps, threads, lb, lm, la, opts = sys.argv[1:8]
steps = int(steps)

def rss_gb(path):
    m = re.search(r"Maximum resident set size \(kbytes\): (\d+)", open(path).read())
    return int(m.group(1)) * 1024 / 1e9

def elapsed(path):
    m = re.search(r"Elapsed \(wall clock\) time \(h:mm:ss or m:ss\): ([\d:.]+)", open(path).read())
    s = 0.0
    for part in m.group(1).split(":"):
        s = s * 60 + float(part)
    return s

log = open(f"{work}/sdcpp.log", errors="replace").read()
def grab(pattern):
    m = re.findall(pattern, log)
    return float(m[-1]) if m else float("nan")
# the progress bar reports each step's time as "i/n - 12.34s/it" (or "it/s" under a second)
per = {}
for i, n, v, unit in re.findall(r"(\d+)/(\d+) - ([\d.]+)(s/it|it/s)", log.replace("\r", "\n")):
    if int(n) == steps and float(v) > 0:
        per[int(i)] = float(v) if unit == "s/it" else 1 / float(v)
sd = {
    "text encoder (2 prompts)": grab(r"get_learned_condition completed, taking ([\d.]+)s"),
    "UNet step (mean)": sum(per.values()) / len(per) if per else grab(r"sampling completed, taking ([\d.]+)s") / steps,
    "VAE decode": grab(r"decode_first_stage completed, taking ([\d.]+)s"),
    "whole run (wall)": elapsed(f"{work}/sdcpp.time"),
    "peak RSS (GB)": rss_gb(f"{work}/sdcpp.time"),
}
st = json.load(open(f"{work}/stitch.json"))
stitch = {
    "text encoder (2 prompts)": st["text_encoder_s"],
    "UNet step (mean)": st["step_mean_s"],
    "VAE decode": st["vae_decode_s"],
    "whole run (wall)": elapsed(f"{work}/stitch.time"),
    "peak RSS (GB)": rss_gb(f"{work}/stitch.time"),
}
cpu = "unknown CPU"
flags = ""
for line in open("/proc/cpuinfo"):
    if line.startswith("model name") and cpu == "unknown CPU":
        cpu = line.split(":", 1)[1].strip()
    if line.startswith("flags") and not flags:
        flags = line
width = "AVX-512" if " avx512f" in flags else "AVX2" if " avx2" in flags else "no AVX2"
print(f"\n{cpu} ({width}), {threads} threads; load average {lb} before, {lm} between, {la} after"
      + (f"; Stitch JVM options: {opts}" if opts.strip() else ""))
print(f"{'':26} {'Stitch':>10} {'sd.cpp':>10} {'Stitch/sd.cpp':>14}")
for k in sd:
    unit = "" if k.startswith("peak") else " s"
    print(f"{k:26} {stitch[k]:>8.2f}{unit:2} {sd[k]:>8.2f}{unit:2} {stitch[k] / sd[k]:>13.2f}x")
if per:
    print("sd.cpp steps: " + ", ".join(f"{per[i]:.2f}" for i in sorted(per)) + " s; Stitch steps: "
          + ", ".join(f"{s:.2f}" for s in st["step_s"]) + " s")
EOF
