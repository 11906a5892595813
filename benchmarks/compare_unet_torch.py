#!/usr/bin/env python3
"""Side-by-side: one SD2 UNet forward in Stitch and in PyTorch on this CPU, same weights, same inputs.

The PyTorch side is written out by hand with the ops diffusers' UNet2DConditionModel runs (conv2d, group_norm,
linear, layer_norm, and its classic attention: baddbmm + softmax + bmm), so no diffusers is needed. The weights
are read from the model folder's safetensors with struct + json + numpy (no safetensors package). Both sides run
on the same number of threads; the script prints max-abs and relative errors and time(Stitch) / time(PyTorch).

    benchmarks/compare_unet_torch.py --model DIR            # a diffusers SD2 folder (e.g. from make-random-model)
    benchmarks/compare_unet_torch.py --make-model DIR       # first writes a random sd2-base model there

PyTorch comes from Debian's python3-torch (installed with apt if missing); run with the system python3. Debian's
torch calls whatever libblas.so.3 the system has, by default the unoptimised reference BLAS (about 3 GFLOP/s: its
linear layers would be 20x slower than they should), so the script runs PyTorch on OpenBLAS: the system's if
installed, else the libopenblas0-pthread package unpacked into a cache folder (apt-get download, no system change).
"""
import argparse
import glob
import json
import math
import os
import re
import shutil
import struct
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)


def ensure_torch():
    try:
        import torch  # noqa: F401
        import numpy  # noqa: F401
    except ImportError:
        print("PyTorch not found: installing Debian's python3-torch with apt", file=sys.stderr)
        subprocess.run(["apt-get", "install", "-y", "python3-torch", "python3-numpy"], check=True)
        os.execv(sys.executable, [sys.executable] + sys.argv)


def ensure_openblas(threads):
    """Re-runs this script with OpenBLAS first on the library path (once: the marker variable stops the loop)."""
    if os.environ.get("STITCH_COMPARE_BLAS"):
        return
    libs = glob.glob("/usr/lib/*/openblas-pthread/libblas.so.3")
    if not libs:
        cache = os.path.join(os.path.expanduser("~"), ".cache", "stitch", "openblas")
        libs = glob.glob(os.path.join(cache, "root", "usr", "lib", "*", "openblas-pthread", "libblas.so.3"))
        if not libs:
            print("OpenBLAS not found: unpacking Debian's libopenblas0-pthread into " + cache, file=sys.stderr)
            os.makedirs(cache, exist_ok=True)
            try:
                subprocess.run(["apt-get", "download", "libopenblas0-pthread"], cwd=cache, check=True)
                for deb in glob.glob(os.path.join(cache, "libopenblas0-pthread_*.deb")):
                    subprocess.run(["dpkg-deb", "-x", deb, os.path.join(cache, "root")], check=True)
            except (OSError, subprocess.CalledProcessError) as e:
                print(f"could not get OpenBLAS ({e}); PyTorch's linear layers will use the system BLAS", file=sys.stderr)
            libs = glob.glob(os.path.join(cache, "root", "usr", "lib", "*", "openblas-pthread", "libblas.so.3"))
    env = dict(os.environ, STITCH_COMPARE_BLAS="1", OPENBLAS_NUM_THREADS=str(threads), OMP_NUM_THREADS=str(threads))
    if libs:
        env["LD_LIBRARY_PATH"] = os.path.dirname(libs[0]) + (":" + env["LD_LIBRARY_PATH"] if env.get("LD_LIBRARY_PATH") else "")
    os.execve(sys.executable, [sys.executable] + sys.argv, env)


def blas_report():
    """Which BLAS library PyTorch loaded and how fast a 1024^3 matrix product runs on it."""
    import torch
    with open("/proc/self/maps") as f:
        names = sorted({os.path.realpath(line.split()[-1]) for line in f if "blas" in line.split()[-1].lower()})
    a, b = torch.randn(1024, 1024), torch.randn(1024, 1024)
    best = float("inf")
    for _ in range(3):
        t0 = time.perf_counter()
        torch.mm(a, b)
        best = min(best, time.perf_counter() - t0)
    lib = os.path.join(*names[0].split(os.sep)[-2:]) if names else "unknown BLAS"   # e.g. openblas-pthread/libblas.so.3
    return f"{lib}, 1024^3 matmul {2 * 1024 ** 3 / best / 1e9:.0f} GFLOP/s"


# ---- safetensors, read and written by hand ----

def read_safetensors(path):
    """name -> float32 torch tensor (F32, F16 and BF16 are widened)."""
    import numpy as np
    import torch
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
    raw = np.memmap(path, dtype=np.uint8, mode="r", offset=8 + n)
    out = {}
    for name, e in header.items():
        if name == "__metadata__":
            continue
        begin, end = e["data_offsets"]
        b = raw[begin:end]
        if e["dtype"] == "F32":
            a = b.view("<f4").astype(np.float32)
        elif e["dtype"] == "F16":
            a = b.view("<f2").astype(np.float32)
        elif e["dtype"] == "BF16":
            a = (b.view("<u2").astype(np.uint32) << 16).view(np.float32)
        else:
            raise SystemExit(f"{path}: tensor {name} has dtype {e['dtype']}, expected F32, F16 or BF16")
        out[name] = torch.from_numpy(np.ascontiguousarray(a).reshape(e["shape"]))
    return out


def write_safetensors(path, tensors):
    header, blobs, offset = {}, [], 0
    for name, t in tensors.items():
        data = t.contiguous().numpy().astype("<f4").tobytes()
        header[name] = {"dtype": "F32", "shape": list(t.shape), "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    h = json.dumps(header).encode()
    h += b" " * (-len(h) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)


# ---- the UNet, as diffusers 0.25 computes it (SD2 configs: linear projections, GEGLU, no class embedding) ----

class UNet:
    def __init__(self, config, w):
        self.c, self.w = config, w

    def p(self, name):
        return self.w[name]

    def linear(self, x, name, bias=True):
        import torch.nn.functional as F
        return F.linear(x, self.p(name + ".weight"), self.w.get(name + ".bias") if bias else None)

    def conv(self, x, name, stride=1, padding=1):
        import torch.nn.functional as F
        return F.conv2d(x, self.p(name + ".weight"), self.p(name + ".bias"), stride=stride, padding=padding)

    def group_norm(self, x, name, eps):
        import torch.nn.functional as F
        return F.group_norm(x, self.c["norm_num_groups"], self.p(name + ".weight"), self.p(name + ".bias"), eps)

    def layer_norm(self, x, name):
        import torch.nn.functional as F
        return F.layer_norm(x, x.shape[-1:], self.p(name + ".weight"), self.p(name + ".bias"), 1e-5)

    def resnet(self, x, emb, name):
        import torch.nn.functional as F
        eps = self.c["norm_eps"]
        h = self.conv(F.silu(self.group_norm(x, name + ".norm1", eps)), name + ".conv1")
        h = h + self.linear(F.silu(emb), name + ".time_emb_proj")[:, :, None, None]
        h = self.conv(F.silu(self.group_norm(h, name + ".norm2", eps)), name + ".conv2")
        if name + ".conv_shortcut.weight" in self.w:
            x = self.conv(x, name + ".conv_shortcut", padding=0)
        return x + h

    def attention(self, x, context, heads, name):
        """diffusers' AttnProcessor: baddbmm(q, k^T) · scale, softmax, bmm with v."""
        import torch
        b, n, _ = x.shape
        q = self.linear(x, name + ".to_q", bias=False)
        k = self.linear(context, name + ".to_k", bias=False)
        v = self.linear(context, name + ".to_v", bias=False)
        d = q.shape[-1] // heads

        def split(t):
            return t.reshape(b, t.shape[1], heads, d).permute(0, 2, 1, 3).reshape(b * heads, t.shape[1], d)

        q, k, v = split(q), split(k), split(v)
        empty = torch.empty(q.shape[0], q.shape[1], k.shape[1], dtype=q.dtype)
        probs = torch.baddbmm(empty, q, k.transpose(-1, -2), beta=0, alpha=d ** -0.5).softmax(dim=-1)
        out = torch.bmm(probs, v).reshape(b, heads, n, d).permute(0, 2, 1, 3).reshape(b, n, heads * d)
        return self.linear(out, name + ".to_out.0")

    def transformer(self, x, context, heads, name):
        import torch.nn.functional as F
        b, ch, hh, ww = x.shape
        h = self.group_norm(x, name + ".norm", 1e-6).permute(0, 2, 3, 1).reshape(b, hh * ww, ch)
        h = self.linear(h, name + ".proj_in")
        t = name + ".transformer_blocks.0"
        h = self.attention(self.layer_norm(h, t + ".norm1"), self.layer_norm(h, t + ".norm1"), heads, t + ".attn1") + h
        h = self.attention(self.layer_norm(h, t + ".norm2"), context, heads, t + ".attn2") + h
        value, gate = self.linear(self.layer_norm(h, t + ".norm3"), t + ".ff.net.0.proj").chunk(2, dim=-1)
        h = self.linear(value * F.gelu(gate), t + ".ff.net.2") + h
        h = self.linear(h, name + ".proj_out").reshape(b, hh, ww, ch).permute(0, 3, 1, 2)
        return h + x

    def forward(self, sample, timesteps, context):
        import torch
        import torch.nn.functional as F
        c = self.c
        heads = c["attention_head_dim"]
        heads = heads if isinstance(heads, list) else [heads] * len(c["block_out_channels"])
        half = c["block_out_channels"][0] // 2
        freqs = torch.exp(-math.log(10000) * torch.arange(half, dtype=torch.float32) / (half - c.get("freq_shift", 0)))
        arg = timesteps[:, None].float() * freqs[None]
        t_emb = torch.cat([torch.cos(arg), torch.sin(arg)], dim=-1)   # flip_sin_to_cos
        emb = self.linear(F.silu(self.linear(t_emb, "time_embedding.linear_1")), "time_embedding.linear_2")

        x = self.conv(sample, "conv_in")
        skips = [x]
        layers = c["layers_per_block"]
        for i, kind in enumerate(c["down_block_types"]):
            for j in range(layers):
                x = self.resnet(x, emb, f"down_blocks.{i}.resnets.{j}")
                if kind == "CrossAttnDownBlock2D":
                    x = self.transformer(x, context, heads[i], f"down_blocks.{i}.attentions.{j}")
                skips.append(x)
            if f"down_blocks.{i}.downsamplers.0.conv.weight" in self.w:
                x = self.conv(x, f"down_blocks.{i}.downsamplers.0.conv", stride=2)
                skips.append(x)

        x = self.resnet(x, emb, "mid_block.resnets.0")
        x = self.transformer(x, context, heads[-1], "mid_block.attentions.0")
        x = self.resnet(x, emb, "mid_block.resnets.1")

        up_heads = list(reversed(heads))
        for i, kind in enumerate(c["up_block_types"]):
            for j in range(layers + 1):
                x = torch.cat([x, skips.pop()], dim=1)
                x = self.resnet(x, emb, f"up_blocks.{i}.resnets.{j}")
                if kind == "CrossAttnUpBlock2D":
                    x = self.transformer(x, context, up_heads[i], f"up_blocks.{i}.attentions.{j}")
            if f"up_blocks.{i}.upsamplers.0.conv.weight" in self.w:
                size = skips[-1].shape[2:] if skips else None   # diffusers resizes to the next skip's size
                x = F.interpolate(x, size=size, mode="nearest") if size is not None else F.interpolate(x, scale_factor=2.0, mode="nearest")
                x = self.conv(x, f"up_blocks.{i}.upsamplers.0.conv")

        x = F.silu(self.group_norm(x, "conv_norm_out", c["norm_eps"]))
        return self.conv(x, "conv_out")


def stitch_command():
    return [os.path.join(ROOT, "stitch")]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    g = ap.add_mutually_exclusive_group(required=True)
    g.add_argument("--model", help="diffusers SD2 model folder")
    g.add_argument("--make-model", metavar="DIR", help="write a random sd2-base model to DIR first (about 5 GB)")
    ap.add_argument("--threads", type=int, default=2, help="threads on both sides (default 2)")
    ap.add_argument("--batch", type=int, default=2, help="UNet batch (default 2: one image with guidance)")
    ap.add_argument("--latent", type=int, default=64, help="latent side (default 64: a 512x512 image)")
    ap.add_argument("--timestep", type=float, default=801.0)
    ap.add_argument("--repeat", type=int, default=1, help="timed calls after one warm-up call, best taken (default 1)")
    a = ap.parse_args()

    ensure_torch()
    ensure_openblas(a.threads)
    import torch
    print("load average at start: %.1f %.1f %.1f (other work on this machine slows both sides)" % os.getloadavg(), flush=True)

    model = a.model
    if a.make_model:
        model = a.make_model
        if not os.path.isdir(os.path.join(model, "unet")):
            subprocess.run(stitch_command() + ["make-random-model", "--config", "sd2-base", "--out", model], check=True)
    with open(os.path.join(model, "unet", "config.json")) as f:
        config = json.load(f)
    for key, want in [("use_linear_projection", True)]:
        if config.get(key, False) != want:
            raise SystemExit(f"{model}/unet/config.json: {key} must be {want} (an SD2 UNet)")

    work = tempfile.mkdtemp(prefix="stitch-compare-")
    try:
        torch.manual_seed(0)
        ctx_dim = config["cross_attention_dim"]
        inputs = {
            "sample": torch.randn(a.batch, config["in_channels"], a.latent, a.latent),
            "timestep": torch.tensor([a.timestep]),
            "encoder_hidden_states": torch.randn(a.batch, 77, ctx_dim),
        }
        in_file, out_file = os.path.join(work, "inputs.safetensors"), os.path.join(work, "stitch_out.safetensors")
        write_safetensors(in_file, inputs)

        # Stitch first, in its own process, so the two never hold the weights at the same time.
        env = dict(os.environ)
        env["STITCH_JAVA_OPTS"] = (env.get("STITCH_JAVA_OPTS", "") + f" -Dstitch.threads={a.threads}").strip()
        cmd = stitch_command() + ["unet-forward", "--model", model, "--inputs", in_file, "--out", out_file, "--repeat", str(a.repeat)]
        print("Stitch:", " ".join(cmd[1:]), f"({a.threads} threads)", flush=True)
        run = subprocess.run(cmd, env=env, capture_output=True, text=True)
        sys.stdout.write(run.stdout)
        if run.returncode != 0:
            sys.stderr.write(run.stderr)
            raise SystemExit(f"stitch failed (exit code {run.returncode})")
        m = re.search(r"best: ([0-9.]+) s, cpu ([0-9.]+) s", run.stdout)
        t_stitch, cpu_stitch = float(m.group(1)), float(m.group(2))
        ours = read_safetensors(out_file)["out"]

        torch.set_num_threads(a.threads)
        print(f"PyTorch {torch.__version__}: {a.threads} threads, batch {a.batch}, latents {a.latent}x{a.latent}; {blas_report()}", flush=True)
        t0 = time.perf_counter()
        unet = UNet(config, read_safetensors(os.path.join(model, "unet", "diffusion_pytorch_model.safetensors")))
        print(f"loaded weights: {time.perf_counter() - t0:.3f} s", flush=True)
        t = inputs["timestep"].expand(a.batch)
        with torch.no_grad():
            t0, c0 = time.perf_counter(), time.process_time()
            ref = unet.forward(inputs["sample"], t, inputs["encoder_hidden_states"])
            print(f"first call: {time.perf_counter() - t0:.3f} s (cpu {time.process_time() - c0:.3f} s)", flush=True)
            best, best_cpu = float("inf"), float("inf")
            for i in range(a.repeat):
                t0, c0 = time.perf_counter(), time.process_time()
                unet.forward(inputs["sample"], t, inputs["encoder_hidden_states"])
                s, cpu = time.perf_counter() - t0, time.process_time() - c0
                best, best_cpu = min(best, s), min(best_cpu, cpu)
                print(f"call {i + 1}: {s:.3f} s (cpu {cpu:.3f} s)", flush=True)
        t_torch, cpu_torch = best, best_cpu

        if not torch.isfinite(ours).all():
            raise SystemExit("Stitch output has non-finite values")
        diff = (ours.double() - ref.double())
        max_abs = diff.abs().max().item()
        scale = ref.abs().max().item()
        rel_l2 = (diff.norm() / ref.double().norm()).item()
        print(f"outputs: max-abs difference {max_abs:.3g} (max |ref| {scale:.3g}, relative {max_abs / scale:.3g}), relative L2 {rel_l2:.3g}")
        ok = max_abs <= 1e-3 * max(1.0, scale)
        print(f"agreement: {'OK' if ok else 'FAILED'} (tolerance max-abs <= 1e-3 * max(1, max|ref|))")
        print("load average at end: %.1f %.1f %.1f" % os.getloadavg())
        print(f"cpu time: Stitch {cpu_stitch:.3f} s, PyTorch {cpu_torch:.3f} s, ratio {cpu_stitch / cpu_torch:.2f}"
              " (steadier than wall time when other work shares the machine)")
        print(f"time: Stitch {t_stitch:.3f} s, PyTorch {t_torch:.3f} s, ratio time(Stitch)/time(PyTorch) = {t_stitch / t_torch:.2f}")
        return 0 if ok else 1
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
