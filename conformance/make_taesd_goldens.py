#!/usr/bin/env python3
"""The tiny AutoencoderTiny (TAESD) of the conformance set and what diffusers computes with it.

Writes, next to this script:
  * tiny-taesd/                 a random-weight diffusers AutoencoderTiny folder: the `madebyollin/taesd` topology
                                (blocks 1,3,3,3 / 3,3,3,1, ReLU, latent_magnitude 3, latent_shift 0.5,
                                scaling_factor 1.0) at 12 channels instead of 64; every weight fp16-representable;
  * golden/taesd_encode.safetensors, golden/taesd_decode.safetensors
                                one AutoencoderTiny call each, with every `encoder.layers.*` / `decoder.layers.*`
                                output caught by forward hooks;
  * golden/pipeline_ddim_eps_taesd.safetensors (+ .png), golden/img2img_ddim_eps_taesd.safetensors
                                diffusers' own StableDiffusionPipeline and StableDiffusionImg2ImgPipeline code on
                                tiny-sd2's UNet and scheduler with tiny-taesd as the VAE;
  * golden/encode_png.safetensors
                                PNGs encoded into latents as the pipelines encode an init image, by tiny-sd2's
                                AutoencoderKL (mean, and one sample) and by tiny-taesd.

diffusers' pipeline modules import `transformers`, which these goldens do not need: the pipelines run with
`text_encoder=None, tokenizer=None, safety_checker=None, feature_extractor=None` and are given
`prompt_embeds=` / `negative_prompt_embeds=` read from golden/pipeline_ddim_eps.safetensors (the tiny-sd2 text
encoder's output for prompts[1] and ""). So that the modules import without transformers installed, a stand-in
`transformers` package (class names only; building any of them fails) is written to a temporary folder and put on
sys.path, unless the real transformers is importable.

Regenerate from the repository root (deterministic; CPU, float32; no network):

    pip install torch==1.13.1 diffusers==0.25.1 safetensors numpy
    python3 conformance/make_taesd_goldens.py
"""
import importlib.util
import json
import os
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
MODEL = os.path.join(HERE, "tiny-taesd")
GOLDEN = os.path.join(HERE, "golden")
CHANNELS = 12


def stand_in_transformers():
    """A package named transformers whose every attribute is a class that refuses to be built."""
    root = tempfile.mkdtemp(prefix="transformers-stand-in-")
    pkg = os.path.join(root, "transformers")
    os.makedirs(pkg)
    with open(os.path.join(pkg, "__init__.py"), "w") as f:
        f.write(
            "class _StandIn:\n"
            "    def __init__(self, *args, **kwargs):\n"
            "        raise RuntimeError(type(self).__name__ + ' is a stand-in: transformers is not installed')\n"
            "def __getattr__(name):\n"
            "    if name.startswith('__'):\n"
            "        raise AttributeError(name)\n"
            "    return type(name, (_StandIn,), {})\n")
    with open(os.path.join(pkg, "utils.py"), "w") as f:   # the constants diffusers' pipeline_utils imports
        f.write("FLAX_WEIGHTS_NAME = 'flax_model.msgpack'\nSAFE_WEIGHTS_NAME = 'model.safetensors'\n"
                "WEIGHTS_NAME = 'pytorch_model.bin'\n")
    meta = os.path.join(root, "transformers-4.36.2.dist-info")   # diffusers reads the version from the metadata
    os.makedirs(meta)
    with open(os.path.join(meta, "METADATA"), "w") as f:
        f.write("Metadata-Version: 2.1\nName: transformers\nVersion: 4.36.2\n")
    sys.path.insert(0, root)


if importlib.util.find_spec("transformers") is None:
    stand_in_transformers()

import numpy as np  # noqa: E402
import torch  # noqa: E402
from diffusers import (AutoencoderTiny, DDIMScheduler, StableDiffusionImg2ImgPipeline,  # noqa: E402
                       StableDiffusionPipeline, UNet2DConditionModel)
from safetensors.torch import load_file, save_file  # noqa: E402

torch.set_grad_enabled(False)


def build_model():
    torch.manual_seed(0)
    vae = AutoencoderTiny(encoder_block_out_channels=(CHANNELS,) * 4, decoder_block_out_channels=(CHANNELS,) * 4)
    with torch.no_grad():
        for p in vae.parameters():
            # torch's default init, rounded to fp16 so that an fp16 copy of the folder holds the same numbers
            p.copy_(p.half().float())
        # torch's init leaves the encoder's latents near 0.1; at TAESD's real magnitude (a few units) the decoder's
        # tanh clamp is exercised too
        vae.encoder.layers[-1].weight.mul_(16).copy_(vae.encoder.layers[-1].weight.half().float())
    vae.eval()
    return vae


def hooked(vae, part, keep):
    """Forward hooks on the entries `keep` of `<part>.layers`; returns (outputs dict, remove function)."""
    acts, handles = {}, []
    for i in keep:
        layer = getattr(vae, part).layers[i]
        def hook(module, inputs, output, name=f"act.{part}.layers.{i}"):
            # the first call only: diffusers' get_activation returns one shared nn.ReLU, so the hook on decoder
            # layers.1 also fires inside every block
            acts.setdefault(name, output.detach().clone())
        handles.append(layer.register_forward_hook(hook))
    return acts, lambda: [h.remove() for h in handles]


def info(**kw):
    return {"info": json.dumps(kw, sort_keys=True)}


def main():
    vae = build_model()
    vae.save_pretrained(MODEL, safe_serialization=True)
    vae = AutoencoderTiny.from_pretrained(MODEL).eval()   # what a user loads

    # (g) single calls: encode an image in [-1, 1), decode latents beyond tanh's linear range
    gen = torch.Generator().manual_seed(45)
    x = torch.rand(2, 3, 64, 96, generator=gen) * 2 - 1
    # conv_in, the first block, the first stride-2 conv, the last block, conv_out
    acts, remove = hooked(vae, "encoder", [0, 1, 2, 13, 14])
    latents = vae.encode(x).latents
    remove()
    save_file({"x": x, "latents": latents, **acts}, os.path.join(GOLDEN, "taesd_encode.safetensors"),
              info(case="AutoencoderTiny(tiny-taesd).encode(x).latents", x="uniform [-1, 1), generator seed 45"))

    gen = torch.Generator().manual_seed(46)
    z = torch.randn(2, 4, 8, 12, generator=gen) * 2
    # conv_in, its ReLU, the first block, the first upsample and conv after it, the last block, conv_out
    acts, remove = hooked(vae, "decoder", [0, 1, 2, 5, 6, 17, 18])
    out = vae.decode(z).sample
    remove()
    save_file({"z": z, "out": out, **acts}, os.path.join(GOLDEN, "taesd_decode.safetensors"),
              info(case="AutoencoderTiny(tiny-taesd).decode(z).sample", z="2 * randn, generator seed 46"))

    # (h) diffusers' pipelines on tiny-sd2 with the tiny VAE swapped in
    sd2 = os.path.join(HERE, "tiny-sd2")
    unet = UNet2DConditionModel.from_pretrained(os.path.join(sd2, "unet")).eval()
    scheduler = DDIMScheduler.from_pretrained(os.path.join(sd2, "scheduler"))
    ref = load_file(os.path.join(GOLDEN, "pipeline_ddim_eps.safetensors"))
    embeds = ref["prompt_embeds"]   # [2, 77, 32]: "" then prompts[1]
    parts = dict(vae=vae, text_encoder=None, tokenizer=None, unet=unet, scheduler=scheduler, safety_checker=None,
                 feature_extractor=None, requires_safety_checker=False)
    decoded = {}

    def catch(module, inputs, output):
        decoded["z"] = inputs[0].detach().clone()
        decoded["raw"] = output.detach().clone()

    handle = vae.decoder.register_forward_hook(catch)
    pipe = StableDiffusionPipeline(**parts)
    image = pipe(prompt_embeds=embeds[1:], negative_prompt_embeds=embeds[:1], latents=ref["init_noise"],
                 num_inference_steps=8, guidance_scale=7.5, height=128, width=192, output_type="pt").images
    uint8 = (image[0].permute(1, 2, 0) * 255).round().to(torch.uint8)
    print("pipeline: final latents vs pipeline_ddim_eps", (decoded["z"] - ref["final_latents"]).abs().max().item())
    save_file({"prompt_embeds": embeds, "init_noise": ref["init_noise"], "final_latents": decoded["z"],
               "image_raw": decoded["raw"], "image": image, "image_uint8_hwc": uint8},
              os.path.join(GOLDEN, "pipeline_ddim_eps_taesd.safetensors"),
              info(case="StableDiffusionPipeline(tiny-sd2 unet + scheduler, vae=tiny-taesd)", steps=8, guidance=7.5,
                   height=128, width=192, latents="init_noise", prompt_embeds="pipeline_ddim_eps prompt_embeds"))
    write_png(os.path.join(GOLDEN, "pipeline_ddim_eps_taesd.png"), uint8.numpy())

    img2img = StableDiffusionImg2ImgPipeline(**parts)
    init = uint8.permute(2, 0, 1)[None].float() / 255   # the txt2img PNG as the init image, [0, 1]
    image2 = img2img(prompt_embeds=embeds[1:], negative_prompt_embeds=embeds[:1], image=init, strength=0.6,
                     num_inference_steps=8, guidance_scale=7.5, generator=torch.Generator().manual_seed(7),
                     output_type="pt").images
    handle.remove()
    save_file({"prompt_embeds": embeds, "init_image_uint8_hwc": uint8, "final_latents": decoded["z"],
               "image_raw": decoded["raw"], "image": image2},
              os.path.join(GOLDEN, "img2img_ddim_eps_taesd.safetensors"),
              info(case="StableDiffusionImg2ImgPipeline(tiny-sd2 unet + scheduler, vae=tiny-taesd)", steps=8,
                   guidance=7.5, strength=0.6, generator_seed=7, image="pipeline_ddim_eps_taesd.png"))
    # (i) PNGs encoded as the pipelines encode an init image (VaeImageProcessor: [0, 1] -> [-1, 1]), then scaled
    from diffusers import AutoencoderKL
    from diffusers.image_processor import VaeImageProcessor
    kl = AutoencoderKL.from_pretrained(os.path.join(sd2, "vae")).eval()
    kl_png = torch.from_numpy(read_png(os.path.join(GOLDEN, "pipeline_ddim_eps.png")))
    processor = VaeImageProcessor(vae_scale_factor=8)
    x_kl = processor.preprocess(kl_png.permute(2, 0, 1)[None].float() / 255)
    x_tiny = processor.preprocess(init)
    dist = kl.encode(x_kl).latent_dist
    save_file({"kl_image_uint8_hwc": kl_png, "kl_mean": dist.mean * kl.config.scaling_factor,
               "kl_sample_seed5": dist.sample(torch.Generator().manual_seed(5)) * kl.config.scaling_factor,
               "taesd_image_uint8_hwc": uint8, "taesd_latents": vae.encode(x_tiny).latents * vae.config.scaling_factor},
              os.path.join(GOLDEN, "encode_png.safetensors"),
              info(case="PNG -> VaeImageProcessor.preprocess -> encode -> * scaling_factor",
                   kl="tiny-sd2/vae on pipeline_ddim_eps.png: latent_dist.mean, latent_dist.sample(Generator seed 5)",
                   taesd="tiny-taesd on pipeline_ddim_eps_taesd.png: .latents"))
    print("encode latents", latents.abs().max().item(), "decode out", out.abs().max().item(),
          "image_raw", decoded["raw"].abs().max().item())


def read_png(path):
    """An 8-bit RGB PNG without interlacing (as written here and by diffusers' goldens) -> uint8 [H, W, 3]."""
    import struct
    import zlib
    with open(path, "rb") as f:
        data = f.read()
    pos, idat, w, h = 8, b"", 0, 0
    while pos < len(data):
        n, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + n]
        if kind == b"IHDR":
            w, h, depth, color = struct.unpack(">IIBB", body[:10])
            assert depth == 8 and color == 2, "8-bit RGB expected"
        elif kind == b"IDAT":
            idat += body
        pos += 12 + n
    raw, stride, bpp = zlib.decompress(idat), w * 3, 3
    out, prev = np.zeros((h, stride), np.uint8), np.zeros(stride, np.int32)
    for y in range(h):
        ftype, line = raw[y * (stride + 1)], np.frombuffer(raw, np.uint8, stride, y * (stride + 1) + 1).astype(np.int32)
        cur = np.zeros(stride, np.int32)
        for i in range(stride):
            a = cur[i - bpp] if i >= bpp else 0
            b, c = prev[i], prev[i - bpp] if i >= bpp else 0
            if ftype == 0:
                p = 0
            elif ftype == 1:
                p = a
            elif ftype == 2:
                p = b
            elif ftype == 3:
                p = (a + b) // 2
            else:
                pa, pb, pc = abs(b - c), abs(a - c), abs(a + b - 2 * c)
                p = a if pa <= pb and pa <= pc else b if pb <= pc else c
            cur[i] = (line[i] + p) & 0xFF
        out[y], prev = cur, cur
    return out.reshape(h, w, 3)


def write_png(path, hwc):
    import struct
    import zlib
    h, w, _ = hwc.shape
    raw = b"".join(b"\x00" + hwc[y].tobytes() for y in range(h))

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    with open(path, "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0))
                + chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b""))


if __name__ == "__main__":
    main()
